package job

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func TestReadURLList(t *testing.T) {
	list := "# case 42\nhttp://a.onion/x/\n\n  http://b.onion/y.zip  \n#http://c.onion/\n"
	want := []string{"http://a.onion/x/", "http://b.onion/y.zip"}
	got, err := ReadURLList("-", strings.NewReader(list))
	if err != nil || !reflect.DeepEqual(got, want) {
		t.Fatalf("stdin: %q %v", got, err)
	}
	name := filepath.Join(t.TempDir(), "urls.txt")
	if err := os.WriteFile(name, []byte(list), 0o600); err != nil {
		t.Fatal(err)
	}
	if got, err = ReadURLList(name, nil); err != nil || !reflect.DeepEqual(got, want) {
		t.Fatalf("file: %q %v", got, err)
	}
	var ue *UsageError
	if _, err := ReadURLList(name+".missing", nil); !errors.As(err, &ue) || !strings.HasPrefix(ue.Msg, "-i: ") {
		t.Fatalf("missing file: %v", err)
	}
}
