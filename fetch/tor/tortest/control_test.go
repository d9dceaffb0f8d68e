package tortest

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestReadReply(t *testing.T) {
	tests := []struct {
		name, in string
		code     int
		text     string
		err      string
	}{
		{name: "one line", in: "250 OK\r\n", code: 250, text: "250 OK"},
		{name: "bare LF", in: "250 OK\n", code: 250, text: "250 OK"},
		{name: "error", in: "552 Unrecognized key \"x\"\r\n", code: 552, text: `552 Unrecognized key "x"`},
		{name: "mid lines", in: "250-version=0.4.9.11\r\n250 OK\r\n", code: 250, text: "250-version=0.4.9.11\n250 OK"},
		{
			name: "data",
			in:   "250+circuit-status=\r\n1 BUILT a,b\r\n..dot\r\n.\r\n250 OK\r\nextra\r\n",
			code: 250, text: "250+circuit-status=\n1 BUILT a,b\n..dot\n.\n250 OK",
		},
		{name: "empty data", in: "250+x=\r\n.\r\n250 OK\r\n", code: 250, text: "250+x=\n.\n250 OK"},
		{name: "eof", in: "250-a\r\n", text: "250-a", err: "control port: reading reply: unexpected EOF"},
		{name: "eof in data", in: "250+a\r\nline\r\n", text: "250+a\nline", err: "control port: reading reply: unexpected EOF"},
		{name: "short", in: "250\r\n", text: "250", err: `control port: malformed reply line "250"`},
		{name: "bad code", in: "2x0 OK\r\n", text: "2x0 OK", err: `control port: malformed reply line "2x0 OK"`},
		{name: "signed code", in: "+25 OK\r\n", text: "+25 OK", err: `control port: malformed reply line "+25 OK"`},
		{name: "bad separator", in: "250=OK\r\n", text: "250=OK", err: `control port: malformed reply line "250=OK"`},
		{name: "empty", in: "", err: "control port: reading reply: unexpected EOF"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, text, err := readReply(bufio.NewReader(strings.NewReader(tt.in)))
			if code != tt.code || text != tt.text {
				t.Errorf("got (%d, %q), want (%d, %q)", code, text, tt.code, tt.text)
			}
			if tt.err == "" && err != nil || tt.err != "" && (err == nil || err.Error() != tt.err || !errors.Is(err, ErrControl)) {
				t.Errorf("got error %v, want %q", err, tt.err)
			}
		})
	}
}

func FuzzReadReply(f *testing.F) {
	for _, s := range []string{
		"250 OK\r\n",
		"250-version=0.4.9.11\r\n250 OK\r\n",
		"250+circuit-status=\r\n1 BUILT a\r\n.\r\n250 OK\r\n",
		"552 Unrecognized key\r\n",
		"250+x\r\n",
		"2",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		code, text, err := readReply(bufio.NewReader(strings.NewReader(in)))
		if err != nil {
			if code != 0 || !errors.Is(err, ErrControl) {
				t.Fatalf("error %v with code %d", err, code)
			}
			return
		}
		if code < 100 || code > 999 {
			t.Fatalf("code %d", code)
		}
		last := text[strings.LastIndexByte(text, '\n')+1:]
		if !strings.HasPrefix(last, fmt.Sprintf("%03d ", code)) {
			t.Fatalf("last line %q does not carry code %d", last, code)
		}
		if !strings.HasPrefix(strings.ReplaceAll(in, "\r", ""), strings.ReplaceAll(text, "\r", "")) {
			t.Fatalf("text %q is not a prefix of the input %q", text, in)
		}
	})
}

func TestBootstrapProgress(t *testing.T) {
	tests := []struct {
		in   string
		want int
		ok   bool
	}{
		{`250-status/bootstrap-phase=NOTICE BOOTSTRAP PROGRESS=100 TAG=done SUMMARY="Done"` + "\n250 OK", 100, true},
		{`250-status/bootstrap-phase=NOTICE BOOTSTRAP PROGRESS=5 TAG=conn`, 5, true},
		{`PROGRESS=42`, 42, true},
		{`PROGRESS=`, 0, false},
		{`PROGRESS=101`, 0, false},
		{`PROGRESS=x`, 0, false},
		{`250 OK`, 0, false},
	}
	for _, tt := range tests {
		got, ok := bootstrapProgress(tt.in)
		if got != tt.want || ok != tt.ok {
			t.Errorf("bootstrapProgress(%q) = %d, %v; want %d, %v", tt.in, got, ok, tt.want, tt.ok)
		}
	}
}

// fakeControl serves one control connection on 127.0.0.1: it accepts
// AUTHENTICATE with the hex of cookie, then answers each command from
// replies (raw text) and records what it received.
func fakeControl(t *testing.T, cookie string, replies map[string]string) (addr string, got chan []string) {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	got = make(chan []string, 1)
	go func() {
		c, err := l.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		var lines []string
		defer func() { got <- lines }()
		r := bufio.NewReader(c)
		for {
			line, err := r.ReadString('\n')
			if err != nil {
				return
			}
			line = strings.TrimSuffix(line, "\r\n")
			lines = append(lines, line)
			switch {
			case line == "QUIT":
				io.WriteString(c, "250 closing connection\r\n")
				return
			case strings.HasPrefix(line, "AUTHENTICATE "):
				if line == "AUTHENTICATE "+fmt.Sprintf("%x", cookie) {
					io.WriteString(c, "250 OK\r\n")
				} else {
					io.WriteString(c, "515 Authentication failed: Wrong length on authentication cookie.\r\n")
				}
			default:
				io.WriteString(c, replies[line])
			}
		}
	}()
	return l.Addr().String(), got
}

func TestControlCommand(t *testing.T) {
	cookiePath := filepath.Join(t.TempDir(), "control_auth_cookie")
	if err := os.WriteFile(cookiePath, []byte("\x01\x02secret"), 0o600); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()

	t.Run("ok", func(t *testing.T) {
		addr, got := fakeControl(t, "\x01\x02secret", map[string]string{
			"GETINFO circuit-status": "250+circuit-status=\r\n1 BUILT x\r\n.\r\n250 OK\r\n",
		})
		text, err := controlCommand(ctx, addr, cookiePath, "GETINFO circuit-status")
		if err != nil {
			t.Fatal(err)
		}
		if want := "250+circuit-status=\n1 BUILT x\n.\n250 OK"; text != want {
			t.Errorf("got %q, want %q", text, want)
		}
		want := []string{"AUTHENTICATE 0102736563726574", "GETINFO circuit-status", "QUIT"}
		if lines := <-got; strings.Join(lines, "|") != strings.Join(want, "|") {
			t.Errorf("server got %q, want %q", lines, want)
		}
	})

	t.Run("refused", func(t *testing.T) {
		addr, _ := fakeControl(t, "\x01\x02secret", map[string]string{"SIGNAL BOGUS": "552 Unrecognized signal code \"BOGUS\"\r\n"})
		text, err := controlCommand(ctx, addr, cookiePath, "SIGNAL BOGUS")
		const want = `control port: SIGNAL BOGUS: 552 Unrecognized signal code "BOGUS"`
		if !errors.Is(err, ErrControl) || err.Error() != want || text != `552 Unrecognized signal code "BOGUS"` {
			t.Errorf("got %q, %v; want error %s", text, err, want)
		}
	})

	t.Run("bad cookie", func(t *testing.T) {
		addr, _ := fakeControl(t, "other", nil)
		_, err := controlCommand(ctx, addr, cookiePath, "GETINFO version")
		const want = "control port: AUTHENTICATE: 515 Authentication failed: Wrong length on authentication cookie."
		if !errors.Is(err, ErrControl) || err.Error() != want {
			t.Errorf("got %v, want %s", err, want)
		}
	})

	t.Run("two lines", func(t *testing.T) {
		_, err := controlCommand(ctx, "127.0.0.1:1", cookiePath, "GETINFO version\r\nSIGNAL HALT")
		const want = `control port: command must be one non-empty line, got "GETINFO version\r\nSIGNAL HALT"`
		if !errors.Is(err, ErrControl) || err.Error() != want {
			t.Errorf("got %v, want %s", err, want)
		}
	})
}

func TestCountRouters(t *testing.T) {
	reply := "ns/all=\nr auth0 AAAA BBBB 2026-11-23 10:00:00 127.0.0.1 5000 7000\ns Authority Fast Running V2Dir Valid\nw Bandwidth=0\n" +
		"r relay0 CCCC DDDD 2026-11-23 10:00:00 127.0.0.1 5001 0\ns Fast Running Valid\nrouter-sig r not a router\n"
	if n := countRouters(reply); n != 2 {
		t.Fatalf("countRouters = %d, want 2", n)
	}
	if n := countRouters(""); n != 0 {
		t.Fatalf("countRouters of nothing = %d", n)
	}
}
