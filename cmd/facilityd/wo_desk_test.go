package main

import (
	"strings"
	"testing"
	"time"

	"github.com/facilityd/facilityd/workorders"
)

// TestDeskCLI takes a resident's paid request at the desk with `facilityd wo raise` on the
// demo's configuration (its example price list), quotes it, hands the answer over and
// records it, from a shell.
func TestDeskCLI(t *testing.T) {
	rig, run := newWORig(t, workorders.Options{}, nil)
	m := rig.m
	from := time.Now().Add(2 * time.Hour).Format(time.RFC3339)
	to := time.Now().Add(4 * time.Hour).Format(time.RFC3339)
	if _, err := run("wo", "raise", "--title", "Replace the extractor fan", "--by", "cs-liu", "--zone", "north", "--channel", "phone", "--kind", "paid",
		"--resident", "Mrs Zhang", "--home", "3-1-1802", "--contact", "138", "--visit-from", from, "--visit-to", to); err != nil {
		t.Fatalf("raise: %v", err)
	}
	o := mustGet(t, m, "WO-1")
	if o.Desk == nil || o.Desk.Kind != workorders.KindPaid || o.Desk.Visit == nil || o.Desk.Answer.Owner != "cs-liu" {
		t.Fatalf("desk record %+v", o.Desk)
	}
	if _, err := run("wo", "raise", "--title", "x", "--by", "cs-liu", "--channel", "phone", "--resident", "Z", "--home", "3-1-1802", "--visit-from", "tomorrow"); err == nil ||
		!strings.Contains(err.Error(), `--visit-from "tomorrow": write the time as RFC 3339`) {
		t.Fatalf("a window in words: %v", err)
	}
	steps := []struct {
		args []string
		want string // "" succeeds
	}{
		{[]string{"wo", "accept", "WO-1", "--by", "tech-north-1"}, ""},
		{[]string{"wo", "start", "WO-1", "--by", "tech-north-1"}, "a paid job starts only after the charge is quoted"},
		{[]string{"wo", "quote", "WO-1", "--by", "tech-north-1", "--line", "labour"}, `--line "labour": write ITEM=QTY`},
		{[]string{"wo", "quote", "WO-1", "--by", "tech-north-1", "--line", "extractor fan replacement=1", "--line", "labour=1.5"}, ""},
		{[]string{"wo", "start", "WO-1", "--by", "tech-north-1"}, ""},
		{[]string{"wo", "draw", "WO-1", "--by", "tech-north-1", "--line", "fan 100mm=1"}, ""},
		{[]string{"wo", "handover", "WO-1", "--by", "cs-liu", "--to", "cs-ma"}, ""},
		{[]string{"wo", "inform", "WO-1", "--by", "cs-ma", "--note", "Chen comes at two"}, ""},
	}
	for _, s := range steps {
		_, err := run(s.args...)
		if s.want == "" && err != nil || s.want != "" && (err == nil || !strings.Contains(err.Error(), s.want)) {
			t.Fatalf("%v: %v, want %q", s.args, err, s.want)
		}
	}
	o = mustGet(t, m, "WO-1")
	if c := o.Desk.Charge; c == nil || c.Quoted != 12000 || o.State != workorders.StateInProgress || len(o.Materials) != 1 || o.Desk.Answer.AnsweredAt.IsZero() {
		t.Fatalf("order %s, charge %+v, materials %+v, answer %+v", o.State, o.Desk.Charge, o.Materials, o.Desk.Answer)
	}
	out, err := run("wo", "show", "WO-1")
	for _, want := range []string{"phone, paid: Mrs Zhang 3-1-1802 138", "cs-ma told the resident at", "quoted ¥120.00, confirmed ¥0.00"} {
		if err != nil || !strings.Contains(out, want) {
			t.Errorf("wo show: %v, want %q in\n%s", err, want, out)
		}
	}
}
