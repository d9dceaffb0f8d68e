package tortest

import (
	"errors"
	"strings"
	"testing"
)

const fp40 = "0123456789ABCDEF0123456789ABCDEF01234567"

func TestParseFingerprintFile(t *testing.T) {
	tests := []struct{ in, want, err string }{
		{in: "auth0 " + fp40 + "\n", want: fp40},
		{in: "auth0 " + fp40, want: fp40},
		{in: "auth0 " + strings.ToLower(fp40) + "\n", err: `tor keys: malformed fingerprint file "auth0 ` + strings.ToLower(fp40) + `\n"`},
		{in: "auth0 0123 4567\n", err: `tor keys: malformed fingerprint file "auth0 0123 4567\n"`},
		{in: "", err: `tor keys: malformed fingerprint file ""`},
		{in: strings.Repeat("x", 100), err: `tor keys: malformed fingerprint file "` + strings.Repeat("x", 80) + `..."`},
	}
	for _, tt := range tests {
		got, err := parseFingerprintFile([]byte(tt.in))
		if got != tt.want {
			t.Errorf("parseFingerprintFile(%q) = %q, want %q", tt.in, got, tt.want)
		}
		if tt.err == "" && err != nil || tt.err != "" && (err == nil || err.Error() != tt.err || !errors.Is(err, ErrKeys)) {
			t.Errorf("parseFingerprintFile(%q): error %v, want %q", tt.in, err, tt.err)
		}
	}
}

// A certificate as tor-gencert writes it, with the keys cut short.
const testCert = `dir-key-certificate-version 3
dir-address 127.0.0.1:5001
fingerprint ` + fp40 + `
dir-key-published 2026-11-23 11:29:47
dir-key-expires 2027-11-23 11:29:47
dir-identity-key
-----BEGIN RSA PUBLIC KEY-----
MIIBigKCAYEA
-----END RSA PUBLIC KEY-----
`

func TestParseCertIdent(t *testing.T) {
	tests := []struct{ in, want, err string }{
		{in: testCert, want: fp40},
		{in: "fingerprint " + fp40, want: fp40},
		{in: "dir-address 127.0.0.1:5001\n", err: "tor keys: no fingerprint line in authority certificate"},
		{in: "fingerprint 0123\nfingerprint " + fp40, err: "tor keys: no fingerprint line in authority certificate"},
	}
	for _, tt := range tests {
		got, err := parseCertIdent([]byte(tt.in))
		if got != tt.want {
			t.Errorf("parseCertIdent(%q) = %q, want %q", tt.in, got, tt.want)
		}
		if tt.err == "" && err != nil || tt.err != "" && (err == nil || err.Error() != tt.err || !errors.Is(err, ErrKeys)) {
			t.Errorf("parseCertIdent(%q): error %v, want %q", tt.in, err, tt.err)
		}
	}
}

func FuzzParseKeys(f *testing.F) {
	f.Add([]byte(testCert))
	f.Add([]byte("auth0 " + fp40 + "\n"))
	f.Add([]byte("fingerprint\n"))
	f.Fuzz(func(t *testing.T, in []byte) {
		for name, parse := range map[string]func([]byte) (string, error){
			"fingerprint file": parseFingerprintFile, "certificate": parseCertIdent,
		} {
			got, err := parse(in)
			if err == nil && (!isFingerprint(got) || !strings.Contains(string(in), got)) {
				t.Fatalf("%s: %q from %q", name, got, in)
			}
			if err != nil && (got != "" || !errors.Is(err, ErrKeys)) {
				t.Fatalf("%s: %q with error %v", name, got, err)
			}
		}
	})
}
