package tor

import (
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/cretz/bine/control"
)

func TestFields(t *testing.T) {
	got, err := fields(`a  B=1 C="x y\" z" D=""`)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"a", "B=1", `C="x y\" z"`, `D=""`}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("fields = %q, want %q", got, want)
	}
	_, err = fields(`A="open`)
	if !errors.Is(err, ErrControl) || err.Error() != `tor control port: unterminated quoted string in "A=\"open"` {
		t.Fatalf("unterminated: %v", err)
	}
}

func TestUnquote(t *testing.T) {
	for _, c := range []struct{ in, want, err string }{
		{`"plain"`, "plain", ""},
		{`"a\"b\\c\nd\te\101"`, "a\"b\\c\nd\teA", ""},
		{`""`, "", ""},
		{`"x\"`, "", `tor control port: trailing backslash in "\"x\\\""`},
		{`"a"b"`, "", `tor control port: unescaped quote in "\"a\"b\""`},
		{`"\12"`, "", `tor control port: short octal escape in "\"\\12\""`},
		{`"\777"`, "", `tor control port: bad octal escape in "\"\\777\""`},
		{`x`, "", `tor control port: not a quoted string: "x"`},
	} {
		got, err := unquote(c.in)
		if c.err != "" {
			if err == nil || err.Error() != c.err {
				t.Errorf("unquote(%s) error = %v, want %s", c.in, err, c.err)
			}
			continue
		}
		if err != nil || got != c.want {
			t.Errorf("unquote(%s) = %q, %v; want %q", c.in, got, err, c.want)
		}
	}
}

func TestParsePhase(t *testing.T) {
	got, err := parsePhase(`WARN BOOTSTRAP PROGRESS=5 TAG=conn SUMMARY="Connecting to a relay" WARNING="Connection refused" REASON=CONNECTREFUSED COUNT=3 RECOMMENDATION=ignore HOSTID="ABC" HOSTADDR="127.0.0.1:1"`)
	if err != nil {
		t.Fatal(err)
	}
	want := phase{Severity: "WARN", Progress: 5, Tag: "conn", Summary: "Connecting to a relay", Warning: "Connection refused", Reason: "CONNECTREFUSED"}
	if got != want {
		t.Fatalf("parsePhase = %+v, want %+v", got, want)
	}
	got, err = parsePhase(`NOTICE BOOTSTRAP PROGRESS=100 TAG=done SUMMARY="Done"`)
	if want := (phase{Severity: "NOTICE", Progress: 100, Tag: "done", Summary: "Done"}); err != nil || got != want {
		t.Fatalf("parsePhase = %+v, %v; want %+v", got, err, want)
	}
	for in, msg := range map[string]string{
		`NOTICE CIRCUIT_ESTABLISHED`:               `tor control port: not a bootstrap status: "NOTICE CIRCUIT_ESTABLISHED"`,
		`NOTICE BOOTSTRAP PROGRESS=101 TAG=x`:      `tor control port: bad PROGRESS in "NOTICE BOOTSTRAP PROGRESS=101 TAG=x"`,
		`NOTICE BOOTSTRAP TAG=x`:                   `tor control port: bad PROGRESS in "NOTICE BOOTSTRAP TAG=x"`,
		`NOTICE BOOTSTRAP PROGRESS=1 SUMMARY="a\"`: `tor control port: unterminated quoted string in "NOTICE BOOTSTRAP PROGRESS=1 SUMMARY=\"a\\\""`,
	} {
		if _, err := parsePhase(in); err == nil || err.Error() != msg {
			t.Errorf("parsePhase(%s) error = %v, want %s", in, err, msg)
		}
	}
}

const circuitStatus = "\r\n" +
	`1 BUILT $AAAA~relay1,$BBBB~relay2,$CCCC~relay3 BUILD_FLAGS=NEED_CAPACITY PURPOSE=GENERAL TIME_CREATED=2025-03-04T05:06:07.123456` + "\r\n" +
	`7 BUILT $AAAA~relay1,$DDDD~relay4,$EEEE~relay5,$FFFF~relay6 BUILD_FLAGS=IS_INTERNAL,NEED_CAPACITY PURPOSE=HS_CLIENT_REND HS_STATE=HSCR_JOINED REND_QUERY=abcd TIME_CREATED=2025-03-04T05:06:08.000001 SOCKS_USERNAME="grab-0011" SOCKS_PASSWORD="p w\"d"` + "\r\n" +
	`9 LAUNCHED BUILD_FLAGS=NEED_CAPACITY PURPOSE=GENERAL TIME_CREATED=2025-03-04T05:06:09.5` + "\r\n\r\n"

func TestParseCircuits(t *testing.T) {
	got, err := parseCircuits(2, circuitStatus)
	if err != nil {
		t.Fatal(err)
	}
	want := []Circuit{
		{Instance: 2, ID: "1", Status: "BUILT", Purpose: "GENERAL", PathLen: 3, Created: time.Date(2025, 3, 4, 5, 6, 7, 123456000, time.UTC)},
		{Instance: 2, ID: "7", Status: "BUILT", Purpose: "HS_CLIENT_REND", HSState: "HSCR_JOINED", SOCKSUsername: "grab-0011", PathLen: 4, Created: time.Date(2025, 3, 4, 5, 6, 8, 1000, time.UTC)},
		{Instance: 2, ID: "9", Status: "LAUNCHED", Purpose: "GENERAL", Created: time.Date(2025, 3, 4, 5, 6, 9, 500000000, time.UTC)},
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("parseCircuits =\n%+v\nwant\n%+v", got, want)
	}
	if got, err := parseCircuits(0, "\r\n"); err != nil || got != nil {
		t.Fatalf("empty = %v, %v", got, err)
	}
	for in, msg := range map[string]string{
		"1":                              `tor control port: bad circuit-status line "1"`,
		"A=1 BUILT":                      `tor control port: bad circuit-status line "A=1 BUILT"`,
		"1 BUILT TIME_CREATED=never":     `tor control port: bad TIME_CREATED in "1 BUILT TIME_CREATED=never"`,
		`1 BUILT SOCKS_USERNAME="a"b"c"`: `tor control port: unescaped quote in "\"a\"b\"c\""`,
	} {
		if _, err := parseCircuits(0, in); err == nil || err.Error() != msg {
			t.Errorf("parseCircuits(%s) error = %v, want %s", in, err, msg)
		}
	}
}

func FuzzParseCircuits(f *testing.F) {
	f.Add(circuitStatus)
	f.Add("1 BUILT")
	f.Add(`3 EXTENDED $A~a SOCKS_USERNAME="x\101\"y" TIME_CREATED=2025-01-01T00:00:00`)
	f.Add("\"\\")
	f.Fuzz(func(t *testing.T, body string) {
		cs, err := parseCircuits(1, body)
		if err != nil {
			if !errors.Is(err, ErrControl) {
				t.Fatalf("error %v is not ErrControl", err)
			}
			return
		}
		for _, c := range cs {
			if c.ID == "" || strings.ContainsAny(c.ID, " \"=") || c.Status == "" || c.Instance != 1 || c.PathLen < 0 {
				t.Fatalf("bad circuit %+v from %q", c, body)
			}
		}
	})
}

func FuzzParsePhase(f *testing.F) {
	f.Add(`NOTICE BOOTSTRAP PROGRESS=100 TAG=done SUMMARY="Done"`)
	f.Add(`WARN BOOTSTRAP PROGRESS=5 TAG=conn SUMMARY="Connecting" WARNING="Connection refused" REASON=CONNECTREFUSED`)
	f.Add(`ERR BOOTSTRAP PROGRESS=0 SUMMARY="\"`)
	f.Fuzz(func(t *testing.T, line string) {
		ph, err := parsePhase(line)
		if err != nil {
			if !errors.Is(err, ErrControl) {
				t.Fatalf("error %v is not ErrControl", err)
			}
			return
		}
		if ph.Progress < 0 || ph.Progress > 100 || ph.Severity == "" {
			t.Fatalf("bad phase %+v from %q", ph, line)
		}
	})
}

func TestStreamFailure(t *testing.T) {
	for _, c := range []struct {
		raw  string
		want string // "" when the event is not a failure
	}{
		{"12 FAILED 0 abc.onion:81 REASON=END REMOTE_REASON=EXITPOLICY",
			"stream to abc.onion:81 failed: the exit relay or onion service does not allow this address or port (tor 3: END/EXITPOLICY)"},
		{"13 DETACHED 5 abc.onion:80 SOURCE=CACHE REASON=TIMEOUT",
			"stream to abc.onion:80 was detached from its circuit (tor retries on another): timed out waiting for an answer (tor 3: TIMEOUT)"},
		{"14 FAILED 0 abc.onion:80 REASON=WEIRD",
			"stream to abc.onion:80 failed: unknown reason WEIRD (tor 3: WEIRD)"},
		{"16 FAILED 0 abc.onion:81 REASON=END REMOTE_REASON=DONE",
			"stream to abc.onion:81 failed: the far end refused the stream (an onion service does this for a port it does not offer) (tor 3: END/DONE)"},
		{"15 FAILED 0 abc.onion:80",
			"stream to abc.onion:80 failed: no reason given (tor 3: )"},
		{"12 CLOSED 0 abc.onion:81 REASON=END REMOTE_REASON=EXITPOLICY", ""},
		{"12 SUCCEEDED 4 abc.onion:80", ""},
	} {
		f, ok := streamFailure(3, control.ParseStreamEvent(c.raw))
		if ok != (c.want != "") || (ok && f.String() != c.want) {
			t.Errorf("%s: got %q (%v), want %q", c.raw, f.String(), ok, c.want)
		}
	}
}

func TestReasonText(t *testing.T) {
	if got := ReasonText("END", "CONNECTREFUSED"); got != "the destination refused the connection" {
		t.Errorf("END/CONNECTREFUSED = %q", got)
	}
	if got := ReasonText("END", ""); got != "the far end closed the stream" {
		t.Errorf("END = %q", got)
	}
}
