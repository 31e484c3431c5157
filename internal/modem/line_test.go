package modem

import (
	"reflect"
	"testing"
)

func TestParseLine(t *testing.T) {
	tests := []struct {
		in     string
		kind   lineKind
		prefix string
		params []string
		code   int
	}{
		{"OK", lineOK, "OK", nil, 0},
		{"ERROR", lineError, "ERROR", nil, -1},
		{"+CMS ERROR: 331", lineError, "+CMS ERROR: 331", nil, 331},
		{"+CME ERROR: 10", lineError, "+CME ERROR: 10", nil, 10},
		{"+CME ERROR: SIM not inserted", lineError, "+CME ERROR: SIM not inserted", nil, -1},
		{`+CMTI: "SM",3`, lineUnsolicit, "+CMTI", []string{"SM", "3"}, 0},
		{"+CMT: ,24", lineUnsolicit, "+CMT", []string{"", "24"}, 0},
		{"+CDS: 25", lineUnsolicit, "+CDS", []string{"25"}, 0},
		{"RING", lineUnsolicit, "RING", nil, 0},
		{"NO CARRIER", lineCallEnd, "NO CARRIER", nil, 0},
		{"BUSY", lineCallEnd, "BUSY", nil, 0},
		{"CONNECT 9600", lineConnect, "CONNECT", nil, 0},
		{"+CMGS: 17", lineInfo, "+CMGS", []string{"17"}, 0},
		{`+CLCC: 1,0,3,0,0,"+8613800138000",145`, lineInfo, "+CLCC", []string{"1", "0", "3", "0", "0", "+8613800138000", "145"}, 0},
		{`+COPS: 0,0,"CHINA MOBILE, 4G",7`, lineInfo, "+COPS", []string{"0", "0", "CHINA MOBILE, 4G", "7"}, 0},
		{"0891683108100005F0240D91", lineInfo, "0891683108100005F0240D91", nil, 0},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			l := parseLine(tt.in)
			if l.kind != tt.kind || l.prefix != tt.prefix || !reflect.DeepEqual(l.params, tt.params) || l.code != tt.code {
				t.Errorf("got kind %d prefix %q params %q code %d", l.kind, l.prefix, l.params, l.code)
			}
		})
	}
}

// FuzzParseLine: whatever noise the line carries, parsing it and reading its parameters
// never panics.
func FuzzParseLine(f *testing.F) {
	for _, s := range []string{"OK", "+CMS ERROR: 331", `+CMTI: "SM",3`, `+CLCC: 1,0,3,0,0,"+86",145`, "+CME ERROR:", `"+:,"`, "> "} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		l := parseLine(s)
		for i := -1; i <= len(l.params); i++ {
			l.param(i)
		}
	})
}

// FuzzDispatch: any sequence of lines fed to the router, with and without a command in
// flight, neither panics nor blocks.
func FuzzDispatch(f *testing.F) {
	f.Add("+CMT: ,5\n00\nOK\n+CMTI: \"SM\",1\nBUSY\n+CMGR: 0,,3\n", true)
	f.Add("+CDS: 3\n\n+CREG: 1\nNO CARRIER\nERROR", false)
	f.Fuzz(func(t *testing.T, in string, inFlight bool) {
		m, err := New(nopRW{}, Config{}, nil)
		if err != nil {
			t.Fatal(err)
		}
		if inFlight {
			m.start("AT+CREG?", true)
		}
		for _, s := range splitLines(in) {
			m.dispatch(s)
		}
		m.promptSeen()
	})
}

func splitLines(s string) []string {
	var out []string
	start := 0
	for i := 0; i < len(s); i++ {
		if s[i] == '\n' {
			out = append(out, s[start:i])
			start = i + 1
		}
	}
	return append(out, s[start:])
}

type nopRW struct{}

func (nopRW) Read([]byte) (int, error)    { select {} }
func (nopRW) Write(b []byte) (int, error) { return len(b), nil }
func (nopRW) Close() error                { return nil }
