package modem

import (
	"strconv"
	"strings"
)

// lineKind is what a line from the modem is (3GPP TS 27.007, 5.7: information responses,
// final result codes, unsolicited result codes).
type lineKind int

const (
	lineInfo      lineKind = iota // part of a command's response, or a PDU
	lineOK                        // final: OK
	lineError                     // final: ERROR, +CME ERROR, +CMS ERROR
	lineCallEnd                   // final for ATD, or unsolicited: BUSY, NO CARRIER, NO ANSWER, NO DIALTONE
	lineConnect                   // final for ATD: CONNECT [<text>]
	lineUnsolicit                 // +CMTI, +CMT, +CDS, +CDSI, RING, +CRING, +CLIP, +CREG, +CEREG
)

// line is one parsed line.
type line struct {
	kind   lineKind
	text   string
	prefix string   // "+CMTI" for "+CMTI: ..."; the result code itself for others
	params []string // the parameters after "prefix:", unquoted
	code   int      // the number of +CME/+CMS ERROR; -1 for a bare ERROR
	cme    string   // "CME" or "CMS" for errors with a code
}

// unsolicited are the result codes a modem sends by itself (TS 27.005, 3.4.1 and 3.4.2 for
// +CMTI, +CMT, +CDS, +CDSI; TS 27.007, 6.10, 7.6 and 7.2 for +CRING/RING, +CLIP, +CREG).
// +CREG and +CEREG are responses while AT+CREG? / AT+CEREG? run.
var unsolicited = map[string]bool{
	"+CMTI": true, "+CMT": true, "+CDS": true, "+CDSI": true, "RING": true, "+CRING": true,
	"+CLIP": true, "+CREG": true, "+CEREG": true,
}

// parseLine reads one line (without its CR LF) from the modem.
func parseLine(s string) line {
	s = strings.TrimSpace(s)
	l := line{text: s, kind: lineInfo, prefix: s}
	switch {
	case s == "OK":
		l.kind = lineOK
		return l
	case s == "ERROR":
		l.kind, l.code = lineError, -1
		return l
	case s == "BUSY" || s == "NO CARRIER" || s == "NO ANSWER" || s == "NO DIALTONE":
		l.kind = lineCallEnd
		return l
	case s == "CONNECT" || strings.HasPrefix(s, "CONNECT "):
		l.kind, l.prefix = lineConnect, "CONNECT"
		return l
	case s == "RING":
		l.kind = lineUnsolicit
		return l
	}
	for _, k := range []string{"+CME ERROR:", "+CMS ERROR:"} {
		if rest, ok := strings.CutPrefix(s, k); ok {
			l.kind, l.cme, l.code = lineError, k[1:4], -1
			if n, err := strconv.Atoi(strings.TrimSpace(rest)); err == nil {
				l.code = n
			}
			return l
		}
	}
	if s == "" || (s[0] != '+' && s[0] != '^') {
		return l
	}
	prefix, rest, ok := strings.Cut(s, ":")
	if !ok {
		return l
	}
	l.prefix, l.params = prefix, splitParams(rest)
	if unsolicited[prefix] {
		l.kind = lineUnsolicit
	}
	return l
}

// splitParams splits `"SM",3,,"a,b"` at the commas outside quotes and removes the quotes.
func splitParams(s string) []string {
	var out []string
	var cur strings.Builder
	quoted := false
	for _, r := range strings.TrimSpace(s) {
		switch {
		case r == '"':
			quoted = !quoted
		case r == ',' && !quoted:
			out = append(out, strings.TrimSpace(cur.String()))
			cur.Reset()
		default:
			cur.WriteRune(r)
		}
	}
	return append(out, strings.TrimSpace(cur.String()))
}

// param is params[i] as a number, or -1 when it is missing or not a number.
func (l line) param(i int) int {
	if i < 0 || i >= len(l.params) {
		return -1
	}
	n, err := strconv.Atoi(l.params[i])
	if err != nil {
		return -1
	}
	return n
}
