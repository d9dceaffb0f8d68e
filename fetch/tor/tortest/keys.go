package tortest

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// isFingerprint reports whether s is 40 upper-case hex digits, the form tor
// writes identity fingerprints in.
func isFingerprint(s string) bool {
	if len(s) != 40 {
		return false
	}
	for _, c := range []byte(s) {
		if !('0' <= c && c <= '9' || 'A' <= c && c <= 'F') {
			return false
		}
	}
	return true
}

// parseFingerprintFile reads the "fingerprint" file tor writes into its
// DataDirectory: "<nickname> <40 hex digits>".
func parseFingerprintFile(data []byte) (string, error) {
	f := strings.Fields(string(data))
	if len(f) != 2 || !isFingerprint(f[1]) {
		return "", fmt.Errorf("%w: malformed fingerprint file %q", ErrKeys, truncate(data))
	}
	return f[1], nil
}

// parseCertIdent finds the v3 identity in an authority certificate made by
// tor-gencert: the line "fingerprint <40 hex digits>".
func parseCertIdent(data []byte) (string, error) {
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) == 2 && f[0] == "fingerprint" {
			if !isFingerprint(f[1]) {
				break
			}
			return f[1], nil
		}
	}
	return "", fmt.Errorf("%w: no fingerprint line in authority certificate", ErrKeys)
}

// truncate shortens data for an error message.
func truncate(data []byte) string {
	const max = 80
	if len(data) > max {
		return string(data[:max]) + "..."
	}
	return string(data)
}

// genAuthorityKeys makes the v3 authority identity, signing key and
// certificate in dir/keys (empty passphrase, valid 12 months) and returns the
// v3 identity. dirAddr is the authority's DirPort address.
func genAuthorityKeys(ctx context.Context, gencert, dir, dirAddr string) (string, error) {
	keys := filepath.Join(dir, "keys")
	if err := os.MkdirAll(keys, 0o700); err != nil {
		return "", fmt.Errorf("%w: %w", ErrKeys, err)
	}
	cert := filepath.Join(keys, "authority_certificate")
	cmd := exec.CommandContext(ctx, gencert, "--create-identity-key", "--passphrase-fd", "0", "-m", "12",
		"-i", filepath.Join(keys, "authority_identity_key"),
		"-s", filepath.Join(keys, "authority_signing_key"),
		"-c", cert, "-a", dirAddr)
	cmd.Stdin = strings.NewReader("\n")
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("%w: tor-gencert in %s: %w: %s", ErrKeys, dir, err, bytes.TrimSpace(out))
	}
	data, err := os.ReadFile(cert)
	if err != nil {
		return "", fmt.Errorf("%w: %w", ErrKeys, err)
	}
	id, err := parseCertIdent(data)
	if err != nil {
		return "", fmt.Errorf("%s: %w", cert, err)
	}
	return id, nil
}

// genRelayKeys makes the relay identity keys in dir (a DataDirectory) and
// returns the identity fingerprint. empty is an empty file used as both
// torrc and defaults torrc so that /etc/tor is never read.
func genRelayKeys(ctx context.Context, tor, dir, name, empty string) (string, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", fmt.Errorf("%w: %w", ErrKeys, err)
	}
	cmd := exec.CommandContext(ctx, tor, "--defaults-torrc", empty, "-f", empty,
		"--DataDirectory", dir, "--ORPort", "127.0.0.1:1", "--Nickname", name, "--list-fingerprint")
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("%w: tor --list-fingerprint in %s: %w: %s", ErrKeys, dir, err, bytes.TrimSpace(out))
	}
	data, err := os.ReadFile(filepath.Join(dir, "fingerprint"))
	if err != nil {
		return "", fmt.Errorf("%w: %w", ErrKeys, err)
	}
	fp, err := parseFingerprintFile(data)
	if err != nil {
		return "", fmt.Errorf("%s: %w", dir, err)
	}
	return fp, nil
}
