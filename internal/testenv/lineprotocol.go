package testenv

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// Line is one parsed line of InfluxDB line protocol.
type Line struct {
	Measurement string
	Tags        map[string]string
	// Fields hold typed values: float64, int64, bool or string.
	Fields map[string]any
	// Time is the timestamp in ns; HasTime is false when the line has none.
	Time    int64
	HasTime bool
}

// ParseLine parses one line of line protocol (without its final newline) strictly: a line that
// InfluxDB would refuse or read differently is an error. It is the checker of the encoder's
// tests and fuzzing, and of the spool's end-to-end tests.
func ParseLine(s string) (Line, error) {
	l, n, err := parseLine(s)
	if err == nil && n != len(s) {
		return l, fmt.Errorf("trailing bytes at %d", n)
	}
	return l, err
}

// parseLine parses one line and returns how many bytes it took (up to, not including, the
// newline that ends it).
func parseLine(s string) (Line, int, error) {
	l, p, err := parseLineAt(s)
	return l, p.i, err
}

func parseLineAt(s string) (Line, *lpParser, error) {
	l := Line{Tags: map[string]string{}, Fields: map[string]any{}}
	p := &lpParser{s: s}
	var err error
	if l.Measurement, err = p.name(false); err != nil || l.Measurement == "" {
		return l, p, fmt.Errorf("measurement: %v", orEmpty(err))
	}
	for p.peek() == ',' {
		p.i++
		k, err := p.name(true)
		if err != nil || k == "" || p.peek() != '=' {
			return l, p, fmt.Errorf("tag key at %d: %v", p.i, orEmpty(err))
		}
		p.i++
		v, err := p.name(true)
		if err != nil || v == "" {
			return l, p, fmt.Errorf("tag %s value: %v", k, orEmpty(err))
		}
		l.Tags[k] = v
	}
	if p.peek() != ' ' {
		return l, p, fmt.Errorf("expected a space before the fields at %d", p.i)
	}
	p.i++
	for {
		k, err := p.name(true)
		if err != nil || k == "" || p.peek() != '=' {
			return l, p, fmt.Errorf("field key at %d: %v", p.i, orEmpty(err))
		}
		p.i++
		v, err := p.value()
		if err != nil {
			return l, p, fmt.Errorf("field %s: %w", k, err)
		}
		if _, dup := l.Fields[k]; dup {
			return l, p, fmt.Errorf("field %s twice", k)
		}
		l.Fields[k] = v
		if p.peek() != ',' {
			break
		}
		p.i++
	}
	if p.i == len(s) || p.peek() == '\n' {
		return l, p, nil
	}
	if p.peek() != ' ' {
		return l, p, fmt.Errorf("expected a space before the timestamp at %d", p.i)
	}
	p.i++
	start := p.i
	for p.i < len(s) && s[p.i] != '\n' {
		p.i++
	}
	ts, err := strconv.ParseInt(s[start:p.i], 10, 64)
	if err != nil {
		return l, p, fmt.Errorf("timestamp: %w", err)
	}
	l.Time, l.HasTime = ts, true
	return l, p, nil
}

// ParseLines parses newline-separated lines; an empty last line is allowed.
func ParseLines(s string) ([]Line, error) {
	var out []Line
	for rest := s; rest != ""; {
		l, n, err := parseLine(rest)
		if err != nil {
			return out, fmt.Errorf("line %d %q: %w", len(out)+1, rest, err)
		}
		out = append(out, l)
		if n == len(rest) {
			break
		}
		rest = rest[n+1:] // past the newline
	}
	return out, nil
}

func orEmpty(err error) error {
	if err == nil {
		return errors.New("empty or missing")
	}
	return err
}

type lpParser struct {
	s string
	i int
}

func (p *lpParser) peek() byte {
	if p.i < len(p.s) {
		return p.s[p.i]
	}
	return 0
}

// name reads a measurement, tag key/value or field key up to an unescaped separator.
func (p *lpParser) name(equals bool) (string, error) {
	var b strings.Builder
	for p.i < len(p.s) {
		c := p.s[p.i]
		switch {
		case c == '\\' && p.i+1 < len(p.s) && (p.s[p.i+1] == ',' || p.s[p.i+1] == ' ' || p.s[p.i+1] == '\\' || (equals && p.s[p.i+1] == '=')):
			b.WriteByte(p.s[p.i+1])
			p.i += 2
		case c == ',' || c == ' ' || (equals && c == '='):
			return b.String(), nil
		case c < 0x20 || c == 0x7f:
			return "", fmt.Errorf("control character %#x at %d", c, p.i)
		default:
			b.WriteByte(c)
			p.i++
		}
	}
	return b.String(), nil
}

func (p *lpParser) value() (any, error) {
	if p.peek() == '"' {
		var b strings.Builder
		for p.i++; p.i < len(p.s); p.i++ {
			c := p.s[p.i]
			if c == '\\' && p.i+1 < len(p.s) && (p.s[p.i+1] == '"' || p.s[p.i+1] == '\\') {
				p.i++
				b.WriteByte(p.s[p.i])
				continue
			}
			if c == '"' {
				p.i++
				return b.String(), nil
			}
			b.WriteByte(c)
		}
		return nil, errors.New("unterminated string")
	}
	start := p.i
	for p.i < len(p.s) && p.s[p.i] != ',' && p.s[p.i] != ' ' && p.s[p.i] != '\n' {
		p.i++
	}
	raw := p.s[start:p.i]
	switch raw {
	case "t", "T", "true", "True", "TRUE":
		return true, nil
	case "f", "F", "false", "False", "FALSE":
		return false, nil
	}
	if n, ok := strings.CutSuffix(raw, "i"); ok {
		v, err := strconv.ParseInt(n, 10, 64)
		if err != nil {
			return nil, fmt.Errorf("integer %q: %w", raw, err)
		}
		return v, nil
	}
	v, err := strconv.ParseFloat(raw, 64)
	if err != nil || raw == "" || strings.ContainsAny(raw, "xXpP_nN") {
		return nil, fmt.Errorf("number %q is not a line protocol float", raw)
	}
	return v, nil
}
