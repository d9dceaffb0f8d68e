package fetch

import (
	"fmt"
	"os"
	"reflect"
	"testing"
)

// TestMain fails the package's tests if any of them wrote to idle, the
// active shared by every file no request has touched.
func TestMain(m *testing.M) {
	code := m.Run()
	if code == 0 && !reflect.ValueOf(idle).Elem().IsZero() {
		fmt.Fprintln(os.Stderr, "a test wrote to idle")
		code = 1
	}
	os.Exit(code)
}
