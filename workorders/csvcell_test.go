package workorders

import (
	"bytes"
	"encoding/csv"
	"testing"
)

// TestReportCSVNeutralisesFormulas: a name typed by a person that starts like a formula opens in
// a spreadsheet as text (a leading single quote, OWASP CSV injection), and figures stay numbers.
func TestReportCSVNeutralisesFormulas(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, cell, want string
	}{
		{name: "hyperlink", cell: `=HYPERLINK("http://evil.example","click")`, want: `'=HYPERLINK("http://evil.example","click")`},
		{name: "at", cell: "@SUM(A1:A9)", want: "'@SUM(A1:A9)"},
		{name: "plus", cell: "+1+cmd|' /C calc'!A0", want: "'+1+cmd|' /C calc'!A0"},
		{name: "minus", cell: "-2+3", want: "'-2+3"},
		{name: "tab", cell: "\t=1", want: "'\t=1"},
		{name: "carriage return", cell: "\r=1", want: "'\r=1"},
		{name: "plain name", cell: "tech-chen", want: "tech-chen"},
		{name: "chinese name", cell: "陈工", want: "陈工"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			rep := &Report{Month: "2026-03", ByTechnician: []Workload{{Name: tc.cell, Orders: 3}}}
			var b bytes.Buffer
			if err := rep.WriteCSV(&b); err != nil {
				t.Fatal(err)
			}
			rows, err := csv.NewReader(&b).ReadAll()
			if err != nil {
				t.Fatal(err)
			}
			var found bool
			for _, row := range rows {
				if row[0] == "technician" && row[2] == "orders" {
					found = true
					if row[1] != tc.want || row[3] != "3" {
						t.Errorf("row %q, want name %q and the number 3", row, tc.want)
					}
				}
			}
			if !found {
				t.Fatalf("no technician row in %q", rows)
			}
		})
	}
}
