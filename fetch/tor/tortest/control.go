package tortest

import (
	"bufio"
	"context"
	"encoding/hex"
	"fmt"
	"io"
	"net"
	"os"
	"strconv"
	"strings"
	"time"
)

// maxReply bounds the size of one control-port reply we accept.
const maxReply = 4 << 20

// readReply reads one control-port reply (control-spec section 2.3): lines
// "NNN-text" and "NNN+text" (the latter followed by data lines up to a lone
// "."), ended by "NNN text". It returns the status code of the final line and
// every line as sent, without CR LF, joined by "\n".
func readReply(r *bufio.Reader) (int, string, error) {
	var (
		b    strings.Builder
		data bool
	)
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			if err == io.EOF {
				err = io.ErrUnexpectedEOF
			}
			return 0, b.String(), fmt.Errorf("%w: reading reply: %w", ErrControl, err)
		}
		line = strings.TrimSuffix(strings.TrimSuffix(line, "\n"), "\r")
		if b.Len()+len(line) > maxReply {
			return 0, b.String(), fmt.Errorf("%w: reply longer than %d bytes", ErrControl, maxReply)
		}
		if b.Len() > 0 {
			b.WriteByte('\n')
		}
		b.WriteString(line)
		if data {
			data = line != "."
			continue
		}
		if len(line) < 4 {
			return 0, b.String(), fmt.Errorf("%w: malformed reply line %q", ErrControl, line)
		}
		code, err := strconv.Atoi(line[:3])
		if err != nil || code < 100 {
			return 0, b.String(), fmt.Errorf("%w: malformed reply line %q", ErrControl, line)
		}
		switch line[3] {
		case '-':
		case '+':
			data = true
		case ' ':
			return code, b.String(), nil
		default:
			return 0, b.String(), fmt.Errorf("%w: malformed reply line %q", ErrControl, line)
		}
	}
}

// controlCommand connects to the control port at addr, authenticates with the
// cookie file, sends cmd and returns the reply text. A reply whose status is
// not 2xx is an error that carries the text.
func controlCommand(ctx context.Context, addr, cookiePath, cmd string) (string, error) {
	if cmd == "" || strings.ContainsAny(cmd, "\r\n") {
		return "", fmt.Errorf("%w: command must be one non-empty line, got %q", ErrControl, cmd)
	}
	cookie, err := os.ReadFile(cookiePath)
	if err != nil {
		return "", fmt.Errorf("%w: reading cookie: %w", ErrControl, err)
	}
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return "", fmt.Errorf("%w: %w", ErrControl, err)
	}
	defer conn.Close()
	stop := context.AfterFunc(ctx, func() { conn.SetDeadline(time.Unix(1, 0)) })
	defer stop()

	r := bufio.NewReader(conn)
	exchange := func(line, what string) (string, error) {
		if _, err := io.WriteString(conn, line+"\r\n"); err != nil {
			return "", fmt.Errorf("%w: %w", ErrControl, err)
		}
		code, text, err := readReply(r)
		if err != nil {
			return text, err
		}
		if code/100 != 2 {
			return text, fmt.Errorf("%w: %s: %s", ErrControl, what, text)
		}
		return text, nil
	}
	if _, err := exchange("AUTHENTICATE "+hex.EncodeToString(cookie), "AUTHENTICATE"); err != nil {
		return "", err
	}
	text, err := exchange(cmd, cmd)
	if err != nil {
		if ctx.Err() != nil {
			err = fmt.Errorf("%w: %w", err, ctx.Err())
		}
		return text, err
	}
	io.WriteString(conn, "QUIT\r\n")
	return text, nil
}

// bootstrapProgress finds PROGRESS=N in a status/bootstrap-phase reply.
func bootstrapProgress(reply string) (int, bool) {
	_, rest, ok := strings.Cut(reply, "PROGRESS=")
	if !ok {
		return 0, false
	}
	end := strings.IndexFunc(rest, func(r rune) bool { return r < '0' || r > '9' })
	if end >= 0 {
		rest = rest[:end]
	}
	n, err := strconv.Atoi(rest)
	if err != nil || n > 100 {
		return 0, false
	}
	return n, true
}

// countRouters counts the routers in a GETINFO ns/all reply: one "r" line
// each.
func countRouters(reply string) int {
	n := 0
	for _, line := range strings.Split(reply, "\n") {
		if strings.HasPrefix(line, "r ") {
			n++
		}
	}
	return n
}
