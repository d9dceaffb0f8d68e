package job

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"strings"
)

// ReadURLList reads an -i list of URLs: one per line, blank lines and #
// comments skipped; "-" is stdin.
func ReadURLList(name string, stdin io.Reader) ([]string, error) {
	r := stdin
	if name != "-" {
		f, err := os.Open(name)
		if err != nil {
			return nil, &UsageError{Msg: fmt.Sprintf("-i: %v", err)}
		}
		defer f.Close()
		r = f
	}
	var out []string
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		out = append(out, line)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("reading %s: %w", name, err)
	}
	return out, nil
}
