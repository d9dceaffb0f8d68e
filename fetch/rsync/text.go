package rsync

import (
	"bufio"
	"encoding/base64"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
)

// Protocol versions this client speaks.
const (
	MaxProtocol = 31
	MinProtocol = 27
)

// Limits of the text phase.
const (
	maxLine      = 8 << 10
	maxTextLines = 10_000
)

// defaultAuthDigests is the list of auth digests offered with protocol 30
// and later, best first.
var defaultAuthDigests = []string{"sha512", "sha256", "sha1", "md5", "md4"}

// Module is one line of a daemon's module list.
type Module struct {
	Name, Comment string
}

// readLine reads one line of the text phase without its "\n" and "\r".
func readLine(r *bufio.Reader) (string, error) {
	var b []byte
	for {
		chunk, err := r.ReadSlice('\n')
		b = append(b, chunk...)
		if len(b) > maxLine {
			return "", fmt.Errorf("%w: text line longer than %d bytes", ErrLimit, maxLine)
		}
		if err == bufio.ErrBufferFull {
			continue
		}
		if err != nil {
			if err == io.EOF && len(b) == 0 {
				return "", fmt.Errorf("%w: connection closed during the text phase", ErrTruncated)
			}
			return "", eof(err, "text line")
		}
		break
	}
	return strings.ReplaceAll(strings.TrimSuffix(string(b), "\n"), "\r", ""), nil
}

// greeting is what the two sides agreed in the first lines.
type greeting struct {
	proto       int
	authDigests []string // the daemon's list; nil when it sent none
}

const rsyncd = "@RSYNCD: "

// exchangeGreeting reads the daemon's greeting and answers with the
// protocol the client offers, which the daemon then lowers to its own.
func exchangeGreeting(r *bufio.Reader, w io.Writer, opt *Options) (greeting, error) {
	line, err := readLine(r)
	if err != nil {
		return greeting{}, err
	}
	if strings.HasPrefix(line, "@ERROR") {
		return greeting{}, daemonLineError(line)
	}
	if !strings.HasPrefix(line, rsyncd) {
		return greeting{}, fmt.Errorf("%w: greeting %q", ErrNotRsync, clip(line))
	}
	fields := strings.Fields(line[len(rsyncd):])
	if len(fields) == 0 {
		return greeting{}, fmt.Errorf("%w: greeting %q", ErrNotRsync, clip(line))
	}
	major, _, _ := strings.Cut(fields[0], ".")
	theirs, err := strconv.Atoi(major)
	if err != nil || theirs <= 0 {
		return greeting{}, fmt.Errorf("%w: greeting %q", ErrNotRsync, clip(line))
	}
	offer := opt.protocol()
	var g greeting
	if len(fields) > 1 {
		g.authDigests = fields[1:]
	}
	msg := fmt.Sprintf("%s%d.0", rsyncd, offer)
	if offer >= 30 {
		msg += " " + strings.Join(opt.authDigests(), " ")
	}
	if _, err := io.WriteString(w, msg+"\n"); err != nil {
		return greeting{}, fmt.Errorf("rsync: sending greeting: %w", err)
	}
	g.proto = min(offer, theirs)
	if g.proto < MinProtocol {
		return greeting{}, fmt.Errorf("%w: daemon speaks %d, this client %d to %d", ErrVersion, theirs, MinProtocol, MaxProtocol)
	}
	return g, nil
}

// authDigest is the digest both sides use for the password response.
func (g greeting) authDigest(offered []string, offer int) string {
	if offer >= 30 && g.authDigests != nil {
		for _, d := range offered {
			if slices.Contains(g.authDigests, d) {
				return d
			}
		}
	}
	if g.proto < 30 {
		return "md4-old"
	}
	return "md5"
}

// daemonLineError turns an "@ERROR: ..." line into a DaemonError.
func daemonLineError(line string) error {
	text := strings.TrimSpace(strings.TrimPrefix(strings.TrimPrefix(line, "@ERROR"), ":"))
	return &DaemonError{Kind: classify(text), Text: text}
}

func clip(s string) string {
	if len(s) > 80 {
		return s[:80] + "..."
	}
	return s
}

// openModule asks for module and goes through MOTD and authentication up
// to "@RSYNCD: OK". It returns the MOTD lines. then, if any, is sent with
// the module name: what follows the OK, sent without waiting for it.
func openModule(r *bufio.Reader, w io.Writer, g greeting, module string, opt *Options, then []byte) ([]string, error) {
	if module == "" || strings.ContainsAny(module, "\n\r\x00/") {
		return nil, fmt.Errorf("%w: module name %q", ErrRequest, module)
	}
	if _, err := w.Write(append([]byte(module+"\n"), then...)); err != nil {
		return nil, fmt.Errorf("rsync: sending module name: %w", err)
	}
	var motd []string
	for i := 0; ; i++ {
		if i > maxTextLines {
			return nil, fmt.Errorf("%w: more than %d lines before the module opened", ErrLimit, maxTextLines)
		}
		line, err := readLine(r)
		if err != nil {
			return nil, err
		}
		switch {
		case line == rsyncd+"OK":
			return trimMOTD(motd), nil
		case strings.HasPrefix(line, rsyncd+"AUTHREQD"):
			challenge := strings.TrimSpace(strings.TrimPrefix(line, rsyncd+"AUTHREQD"))
			if opt.User == "" {
				return nil, &DaemonError{Kind: ErrAuthFailed, Text: "module " + module + " needs a user and password"}
			}
			algo := g.authDigest(opt.authDigests(), opt.protocol())
			sum, err := authHash(algo, opt.Password, challenge)
			if err != nil {
				return nil, err
			}
			resp := opt.User + " " + base64.RawStdEncoding.EncodeToString(sum) + "\n"
			if _, err := io.WriteString(w, resp); err != nil {
				return nil, fmt.Errorf("rsync: sending auth response: %w", err)
			}
		case strings.HasPrefix(line, "@ERROR"):
			return nil, daemonLineError(line)
		case line == rsyncd+"EXIT":
			return nil, &DaemonError{Kind: ErrRemote, Text: "daemon ended the session before opening the module"}
		default:
			motd = append(motd, line)
		}
	}
}

// listModules asks for the module list and reads it to "@RSYNCD: EXIT".
// Lines without a tab are MOTD.
func listModules(r *bufio.Reader, w io.Writer) ([]Module, []string, error) {
	if _, err := io.WriteString(w, "\n"); err != nil {
		return nil, nil, fmt.Errorf("rsync: asking for the module list: %w", err)
	}
	var mods []Module
	var motd []string
	for i := 0; ; i++ {
		if i > maxTextLines {
			return nil, nil, fmt.Errorf("%w: module list longer than %d lines", ErrLimit, maxTextLines)
		}
		line, err := readLine(r)
		if err != nil {
			return nil, nil, err
		}
		switch {
		case line == rsyncd+"EXIT":
			return mods, trimMOTD(motd), nil
		case strings.HasPrefix(line, "@ERROR"):
			return nil, nil, daemonLineError(line)
		}
		name, comment, ok := strings.Cut(line, "\t")
		if !ok {
			motd = append(motd, line)
			continue
		}
		mods = append(mods, Module{Name: strings.TrimRight(name, " "), Comment: comment})
	}
}

// trimMOTD drops the empty line a daemon sends after its MOTD.
func trimMOTD(motd []string) []string {
	for len(motd) > 0 && motd[len(motd)-1] == "" {
		motd = motd[:len(motd)-1]
	}
	return motd
}

// sendArgs sends the server's command line (argBytes).
func sendArgs(w io.Writer, proto int, args []string) error {
	if _, err := w.Write(argBytes(proto, args)); err != nil {
		return fmt.Errorf("rsync: sending arguments: %w", err)
	}
	return nil
}

// argBytes is the server's command line: NUL-terminated for protocol 30
// and later, newline-terminated before, and closed by an empty argument.
func argBytes(proto int, args []string) []byte {
	sep := "\n"
	if proto >= 30 {
		sep = "\x00"
	}
	var b strings.Builder
	for _, a := range args {
		b.WriteString(a)
		b.WriteString(sep)
	}
	b.WriteString(sep)
	return []byte(b.String())
}
