// Package safetext makes text that came from a server safe to print on a
// terminal. A reason phrase, a file name or an error string may carry
// ESC, BEL, CR or backspace, which can clear the screen, move the cursor
// or overwrite a line to fake a summary; String escapes every control
// character (C0, DEL, C1 and the Unicode bidirectional overrides) as a
// visible \xNN or \u{NNNN}, and invalid UTF-8 as \xNN, so what the user
// reads is what arrived. cmd/grab passes every message through it.
package safetext
