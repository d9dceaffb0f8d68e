package job

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// --max-wait, -k and --cacert are saved with the job and built into its
// plan; a resume keeps them unless given again.
func TestNetworkSettingsSaved(t *testing.T) {
	ca := filepath.Join(t.TempDir(), "ca.pem")
	os.WriteFile(ca, []byte("-----BEGIN CERTIFICATE-----\nMIIBhTCCASugAwIBAgIQIRi6zePL6mKjOipn+dNuaTAKBggqhkjOPQQDAjASMRAw\nDgYDVQQKEwdBY21lIENvMB4XDTE3MTAyMDE5NDMwNloXDTE4MTAyMDE5NDMwNlow\nEjEQMA4GA1UEChMHQWNtZSBDbzBZMBMGByqGSM49AgEGCCqGSM49AwEHA0IABD0d\n7VNhbWvZLWPuj/RtHFjvtJBEwOkhbN/BnnE8rnZR8+sbwnc/KhCk3FhnpHZnQz7B\n5aETbbIgmuvewdjvSBSjYzBhMA4GA1UdDwEB/wQEAwICpDATBgNVHSUEDDAKBggr\nBgEFBQcDATAPBgNVHRMBAf8EBTADAQH/MCkGA1UdEQQiMCCCDmxvY2FsaG9zdDo1\nNDUzgg4xMjcuMC4wLjE6NTQ1MzAKBggqhkjOPQQDAgNIADBFAiEA2zpJEPQyz6/l\nWf86aX6PepsntZv2GYlA5UpabfT2EZICICpJ5h/iI+i341gBmLiAFQOyTDT+/wQc\n6MF9+Yw1Yy0t\n-----END CERTIFICATE-----\n"), 0o600)
	s := Defaults()
	s.MaxWait, s.Insecure, s.CACert = "45m", true, ca
	saved, err := s.json()
	if err != nil {
		t.Fatal(err)
	}
	now := Defaults()
	m, err := now.Merge(saved, map[string]bool{})
	if err != nil {
		t.Fatal(err)
	}
	if m.MaxWait != "45m" || !m.Insecure || m.CACert != ca {
		t.Fatalf("merged %+v from %s", m, saved)
	}
	p, err := m.build()
	if err != nil {
		t.Fatal(err)
	}
	if p.maxWait != 45*time.Minute || p.maxBody != 0 || p.tls == nil || !p.tls.InsecureSkipVerify || p.tls.RootCAs == nil {
		t.Fatalf("plan: %v %+v", p.maxWait, p.tls)
	}
	now.MaxWait = "0"
	if m, _ = now.Merge(saved, map[string]bool{"max-wait": true}); m.MaxWait != "0" {
		t.Fatalf("--max-wait given on resume: %q", m.MaxWait)
	}
	var raw map[string]any
	json.Unmarshal(saved, &raw)
	if raw["max_wait"] != "45m" || raw["insecure"] != true || raw["cacert"] != ca {
		t.Fatalf("saved %s", saved)
	}
	for _, bad := range []Settings{{MaxWait: "soon"}, {CACert: filepath.Join(t.TempDir(), "missing.pem")}, {CACert: "/dev/null"}} {
		b := Defaults()
		b.MaxWait, b.CACert = bad.MaxWait, bad.CACert
		if _, err := b.build(); err == nil {
			t.Errorf("%+v accepted", bad)
		}
	}
}

// Through a proxy or grab's Tor, requests look like Tor Browser's; -A and
// -H change that, and refuse what grab sets itself without echoing the
// value.
func TestHTTPHeader(t *testing.T) {
	for _, c := range []struct {
		s    Settings
		ua   []string
		more map[string]string
		err  string
	}{
		{s: Settings{}, ua: nil},
		{s: Settings{Proxy: "socks5h://127.0.0.1:9050"}, ua: []string{"Mozilla/5.0 (Windows NT 10.0; rv:140.0) Gecko/20100101 Firefox/140.0"}, more: map[string]string{"Accept-Language": "en-US,en;q=0.5"}},
		{s: Settings{Tor: true, UserAgent: "curl/8"}, ua: []string{"curl/8"}},
		{s: Settings{Tor: true, Headers: []string{"User-Agent:", "Accept-Language:", "x-case: 42", "X-Case: 43"}}, ua: []string{""},
			more: map[string]string{"Accept-Language": "", "X-Case": "42"}},
		{s: Settings{Headers: []string{"Range: bytes=0-"}}, err: "-H Range: grab sets this header itself"},
		{s: Settings{Headers: []string{"Authorization Bearer s3cret"}}, err: `-H number 1: want "Name: value" on one line`},
	} {
		h, err := c.s.httpHeader()
		if c.err != "" {
			if err == nil || err.Error() != c.err {
				t.Errorf("%+v: %v, want %q", c.s, err, c.err)
			}
			continue
		}
		if err != nil || len(h["User-Agent"]) != len(c.ua) || (len(c.ua) > 0 && h["User-Agent"][0] != c.ua[0]) {
			t.Errorf("%+v: %v %v", c.s, h, err)
		}
		for k, v := range c.more {
			if h.Get(k) != v {
				t.Errorf("%+v: %s %q, want %q", c.s, k, h.Get(k), v)
			}
		}
	}
}
