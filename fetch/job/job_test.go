package job

import (
	"net/url"
	"testing"
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
		if got := DefaultOutput(u); got != want {
			t.Errorf("DefaultOutput(%s) = %q, want %q", raw, got, want)
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
