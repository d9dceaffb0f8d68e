package httpsrc

import (
	"net"
	"testing"

	"github.com/grab-ir/grab/fetch"
	"github.com/grab-ir/grab/fetch/dial"
	"github.com/grab-ir/grab/fetch/fetchtest"
)

// proxyCounter is a listener that counts the connections made to it and
// closes each at once: enough to see which proxy a request went to.
func proxyCounter(t *testing.T) (addr string, accepted chan struct{}) {
	t.Helper()
	accepted = make(chan struct{}, 64)
	return fetchtest.Listen(t, func(net.Conn) { accepted <- struct{}{} }), accepted
}

// Worker i uses Dialers[i % len(Dialers)], also after a renewal.
func TestConnsSpreadOverDialers(t *testing.T) {
	var addrs [3]string
	var hits [3]chan struct{}
	src := &Source{}
	for i := range addrs {
		addrs[i], hits[i] = proxyCounter(t)
		d, err := dial.New("socks5h://" + addrs[i])
		if err != nil {
			t.Fatal(err)
		}
		src.Dialers = append(src.Dialers, d)
	}
	for worker := range 7 {
		if got, want := src.DialerFor(worker), src.Dialers[worker%3]; got != want {
			t.Fatalf("DialerFor(%d) is not Dialers[%d]", worker, worker%3)
		}
		c := src.Conn(worker)
		for round := range 2 {
			if round == 1 {
				c.(*Conn).Renew()
			}
			if _, err := c.Get(t.Context(), fetch.Request{URL: "http://h.onion/x", Size: -1}); err == nil {
				t.Fatal("a proxy that hangs up gave no error")
			}
			<-hits[worker%3]
			for i, h := range hits {
				if len(h) != 0 {
					t.Fatalf("worker %d, round %d: proxy %d got a connection too", worker, round, i)
				}
			}
		}
		c.Close()
	}
}

// With no Dialers, every worker uses Dialer.
func TestConnsSingleDialer(t *testing.T) {
	addr, hits := proxyCounter(t)
	d, err := dial.New("socks5h://" + addr)
	if err != nil {
		t.Fatal(err)
	}
	src := &Source{Dialer: d}
	for worker := range 3 {
		if src.DialerFor(worker) != d {
			t.Fatalf("DialerFor(%d) is not Dialer", worker)
		}
		if _, err := src.Conn(worker).Get(t.Context(), fetch.Request{URL: "http://h.onion/x", Size: -1}); err == nil {
			t.Fatal("a proxy that hangs up gave no error")
		}
		<-hits
	}
}
