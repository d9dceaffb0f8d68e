package demo

import (
	"context"
	"io"
	"net"
)

// A relay server models the same circuits and link in front of another
// loopback server (a real rsync daemon, for grab bench --scenario rsync)
// instead of the built-in HTTP dump: every stream is paced as before and
// its bytes counted in Stats.BytesSent and the timeline (not in
// BodyBytes: the backend's protocol is opaque to the demo).

// StartRelay serves backend (host:port on loopback) behind the model m:
// through the SOCKS listener at the onion Host() on port, and directly on
// DirectAddr(), where every TCP connection is its own circuit.
func StartRelay(ctx context.Context, backend string, port int, m Model) (*Server, error) {
	s, err := Start(ctx, &Dump{}, m)
	if err != nil {
		return nil, err
	}
	s.backend, s.backendPort = backend, port
	return s, nil
}

// DirectAddr is the direct listener's host:port.
func (s *Server) DirectAddr() string { return s.httpLn.Addr().String() }

// handOff gives the server's end of a stream to the HTTP handler, or
// connects it to the backend.
func (s *Server) handOff(far net.Conn, st *stream) bool {
	if s.backend == "" {
		return s.pipes.hand(&pipeConn{Conn: far, st: st})
	}
	var d net.Dialer
	up, err := d.DialContext(context.Background(), "tcp", s.backend)
	if err != nil {
		return false
	}
	s.wg.Go(func() {
		defer up.Close()
		defer far.Close()
		done := make(chan struct{})
		go func() { // the stream ended (Close, a cut): stop the backend too
			<-st.done
			up.Close()
		}()
		go func() {
			io.Copy(up, far)
			up.(*net.TCPConn).CloseWrite()
			close(done)
		}()
		io.Copy(far, up)
		far.Close()
		<-done
	})
	return true
}

// socksPort maps the backend's port to the one the SOCKS route serves.
func (s *Server) socksPort(req *socksRequest) {
	if s.backend != "" && req.port == s.backendPort {
		req.port = 80
	}
}
