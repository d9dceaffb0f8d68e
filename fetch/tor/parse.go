package tor

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// fields splits a control-port reply line into words at spaces. A word may
// hold a quoted string (KEY="a b"), whose spaces do not split it. It fails on
// an unterminated quote.
func fields(line string) ([]string, error) {
	var out []string
	i := 0
	for i < len(line) {
		if line[i] == ' ' {
			i++
			continue
		}
		start := i
		inQuote := false
		for i < len(line) && (inQuote || line[i] != ' ') {
			switch {
			case line[i] == '"':
				inQuote = !inQuote
			case line[i] == '\\' && inQuote:
				i++ // skip the escaped byte
			}
			i++
		}
		if inQuote || i > len(line) {
			return nil, fmt.Errorf("%w: unterminated quoted string in %q", ErrControl, line)
		}
		out = append(out, line[start:i])
	}
	return out, nil
}

// keyValues reads words of the form KEY=VALUE (VALUE possibly quoted) into
// a map; other words are skipped.
func keyValues(words []string) (map[string]string, error) {
	kv := make(map[string]string)
	for _, w := range words {
		k, v, ok := strings.Cut(w, "=")
		if !ok || k == "" || strings.ContainsRune(k, '"') {
			continue
		}
		if strings.HasPrefix(v, `"`) {
			u, err := unquote(v)
			if err != nil {
				return nil, err
			}
			v = u
		}
		kv[k] = v
	}
	return kv, nil
}

// unquote decodes a control-spec QuotedString: backslash escapes \\ \" \n
// \r \t and three-digit octal \NNN.
func unquote(q string) (string, error) {
	if len(q) < 2 || q[0] != '"' || q[len(q)-1] != '"' {
		return "", fmt.Errorf("%w: not a quoted string: %q", ErrControl, q)
	}
	s := q[1 : len(q)-1]
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == '"' {
			return "", fmt.Errorf("%w: unescaped quote in %q", ErrControl, q)
		}
		if c != '\\' {
			b.WriteByte(c)
			continue
		}
		i++
		if i == len(s) {
			return "", fmt.Errorf("%w: trailing backslash in %q", ErrControl, q)
		}
		switch c = s[i]; {
		case c == 'n':
			b.WriteByte('\n')
		case c == 'r':
			b.WriteByte('\r')
		case c == 't':
			b.WriteByte('\t')
		case c >= '0' && c <= '7':
			if i+3 > len(s) {
				return "", fmt.Errorf("%w: short octal escape in %q", ErrControl, q)
			}
			n, err := strconv.ParseUint(s[i:i+3], 8, 8)
			if err != nil {
				return "", fmt.Errorf("%w: bad octal escape in %q", ErrControl, q)
			}
			b.WriteByte(byte(n))
			i += 2
		default:
			b.WriteByte(c)
		}
	}
	return b.String(), nil
}

// phase is one bootstrap status: the value of GETINFO status/bootstrap-phase
// or the body of a STATUS_CLIENT BOOTSTRAP event, such as
//
//	NOTICE BOOTSTRAP PROGRESS=14 TAG=handshake SUMMARY="Handshaking with a relay"
//	WARN BOOTSTRAP PROGRESS=5 TAG=conn SUMMARY="Connecting to a relay" WARNING="Connection refused" REASON=CONNECTREFUSED ...
type phase struct {
	Severity string // NOTICE, WARN or ERR
	Progress int    // 0..100
	Tag      string
	Summary  string
	Warning  string // with Reason, set only on WARN and ERR
	Reason   string
}

// parsePhase parses a bootstrap status line.
func parsePhase(line string) (phase, error) {
	words, err := fields(line)
	if err != nil {
		return phase{}, err
	}
	if len(words) < 2 || words[1] != "BOOTSTRAP" {
		return phase{}, fmt.Errorf("%w: not a bootstrap status: %q", ErrControl, line)
	}
	kv, err := keyValues(words[2:])
	if err != nil {
		return phase{}, err
	}
	p := phase{Severity: words[0], Tag: kv["TAG"], Summary: kv["SUMMARY"], Warning: kv["WARNING"], Reason: kv["REASON"]}
	n, err := strconv.Atoi(kv["PROGRESS"])
	if err != nil || n < 0 || n > 100 {
		return phase{}, fmt.Errorf("%w: bad PROGRESS in %q", ErrControl, line)
	}
	p.Progress = n
	return p, nil
}

// Circuit is one circuit of one tor, from GETINFO circuit-status.
type Circuit struct {
	Instance      int       // which tor (0 with one instance)
	ID            string    // tor's circuit id
	Status        string    // LAUNCHED, BUILT, GUARD_WAIT, EXTENDED, FAILED or CLOSED
	Purpose       string    // GENERAL, HS_CLIENT_REND, HS_CLIENT_INTRO, ...
	HSState       string    // onion-service state such as HSCR_JOINED, "" for others
	SOCKSUsername string    // the isolation username of the streams it carries
	PathLen       int       // number of relays in the path so far
	Created       time.Time // TIME_CREATED, UTC; zero if tor did not say
}

// timeCreated is the layout of TIME_CREATED (UTC, microseconds).
const timeCreated = "2006-01-02T15:04:05.999999999"

// parseCircuits parses the body of GETINFO circuit-status: one line per
// circuit, "ID STATUS [PATH] KEY=VALUE...". Blank lines are skipped.
func parseCircuits(instance int, body string) ([]Circuit, error) {
	var out []Circuit
	for _, line := range strings.Split(body, "\n") {
		line = strings.TrimRight(line, "\r")
		if strings.TrimSpace(line) == "" {
			continue
		}
		words, err := fields(line)
		if err != nil {
			return nil, err
		}
		if len(words) < 2 || strings.ContainsAny(words[0], `="`) || strings.ContainsAny(words[1], `="`) {
			return nil, fmt.Errorf("%w: bad circuit-status line %q", ErrControl, line)
		}
		c := Circuit{Instance: instance, ID: words[0], Status: words[1]}
		rest := words[2:]
		if len(rest) > 0 && !strings.Contains(rest[0], "=") {
			c.PathLen = len(strings.Split(rest[0], ","))
			rest = rest[1:]
		}
		kv, err := keyValues(rest)
		if err != nil {
			return nil, err
		}
		c.Purpose, c.HSState, c.SOCKSUsername = kv["PURPOSE"], kv["HS_STATE"], kv["SOCKS_USERNAME"]
		if s := kv["TIME_CREATED"]; s != "" {
			if c.Created, err = time.ParseInLocation(timeCreated, s, time.UTC); err != nil {
				return nil, fmt.Errorf("%w: bad TIME_CREATED in %q", ErrControl, line)
			}
		}
		out = append(out, c)
	}
	return out, nil
}
