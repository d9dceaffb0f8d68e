package job

import (
	"errors"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/grab-ir/grab/fetch"
)

func TestDefaultOutput(t *testing.T) {
	for raw, want := range map[string]string{
		"http://xxxx.onion/dump/":    "xxxx.onion",
		"http://h:8080/x":            "h_8080",
		"http://../x.jpg":            "grab-output",
		"http://.hidden/x":           "hidden",
		"http://[::1]:81/":           "__1_81",
		"https://%E2%80%AEexe.gpj/x": "_exe.gpj",
	} {
		u, err := url.Parse(raw)
		if err != nil {
			t.Fatal(err)
		}
		if got := defaultOutput(u); got != want {
			t.Errorf("defaultOutput(%s) = %q, want %q", raw, got, want)
		}
	}
}

func TestKept(t *testing.T) {
	s := Defaults()
	s.Only, s.Workers, s.Tor, s.Include, s.Priority = "photos", 32, true, []string{"a/**", "b/*"}, "photos,documents"
	if got, want := s.kept(map[string]bool{"priority": true}), "--include a/** --include b/* --only photos --tor --workers 32"; got != want {
		t.Errorf("kept %q, want %q", got, want)
	}
	if got := s.kept(map[string]bool{"priority": true, "w": true, "only": true, "include": true, "tor": true}); got != "" {
		t.Errorf("everything given again, kept %q", got)
	}
}

// SHA256SUMS is written beneath the folder, never through a link planted
// at its name or at its temporary file's.
func TestWriteSumsNoLinks(t *testing.T) {
	dir := t.TempDir()
	os.MkdirAll(filepath.Join(dir, ".grab"), 0o700)
	victim := filepath.Join(t.TempDir(), "victim")
	os.WriteFile(victim, []byte("precious"), 0o600)
	for _, name := range []string{"SHA256SUMS", "SHA256SUMS.tmp"} {
		os.Symlink(victim, filepath.Join(dir, ".grab", name))
	}
	sum := strings.Repeat("ab", 32)
	if err := writeSums(dir, []fetch.File{{Path: "a/b.jpg", State: fetch.Done, SHA256: sum}}); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(victim); string(b) != "precious" {
		t.Fatalf("written through a link: %q", b)
	}
	b, err := os.ReadFile(filepath.Join(dir, ".grab", "SHA256SUMS"))
	if err != nil || string(b) != sum+"  a/b.jpg\n" {
		t.Fatalf("SHA256SUMS %q, %v", b, err)
	}
	if fi, _ := os.Lstat(filepath.Join(dir, ".grab", "SHA256SUMS")); fi.Mode()&os.ModeSymlink != 0 {
		t.Fatal("SHA256SUMS is still a link")
	}
}

// The manifest is never appended to through a link planted in its place.
func TestManifestNoLinks(t *testing.T) {
	dir := t.TempDir()
	os.MkdirAll(filepath.Join(dir, ".grab"), 0o700)
	victim := filepath.Join(t.TempDir(), "victim")
	os.WriteFile(victim, []byte("precious"), 0o600)
	os.Symlink(victim, filepath.Join(dir, ".grab", "manifest.jsonl"))
	if m, err := openManifest(dir); err == nil {
		m.f.Close()
		t.Fatal("opened the manifest through a link")
	}
	if b, _ := os.ReadFile(victim); string(b) != "precious" {
		t.Fatalf("written through the link: %q", b)
	}
}

// grab's own tor never writes its state through a link at .grab/tor.
func TestTorFolderLinkRefused(t *testing.T) {
	dir := t.TempDir()
	os.MkdirAll(filepath.Join(dir, ".grab"), 0o700)
	outside := t.TempDir()
	os.Symlink(outside, filepath.Join(dir, ".grab", "tor"))
	s := Defaults()
	s.Output, s.Tor, s.TorPath = dir, true, "/bin/true" // found: the link is refused before tor would run
	_, err := startTor(t.Context(), nil, nil, &s)
	if !errors.Is(err, fetch.ErrLink) {
		t.Fatalf("startTor: %v, want ErrLink", err)
	}
	if left, _ := os.ReadDir(outside); len(left) != 0 {
		t.Fatalf("written through the link: %v", left)
	}
}
