package patrol

import (
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/facilityd/facilityd/alarms"
	"github.com/facilityd/facilityd/devices"
	"github.com/facilityd/facilityd/locale"
)

// entrapment runs the real alarm engine, in lang, on an elevator of building 3 stopped
// between floors with its alarm button pressed, and returns the event it journals.
func entrapment(t *testing.T, lang locale.Locale) alarms.Event {
	t.Helper()
	p, _ := devices.Builtin("elevator")
	dev := &devices.Device{ID: "E-7", Kind: p.Kind, Site: "estate", Building: "3", Zone: "south", Profile: p}
	j, err := alarms.OpenJournal(filepath.Join(t.TempDir(), "alarms.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { j.Close() })
	var got []alarms.Event
	eng, err := alarms.New(alarms.Config{Locale: lang}, []*devices.Device{dev}, j, func() time.Time { return night },
		alarms.SinkFunc(func(e alarms.Event) { got = append(got, e) }))
	if err != nil {
		t.Fatal(err)
	}
	snap := &devices.Snapshot{Device: dev, Time: night, Comm: devices.CommOnline, Values: make([]devices.Value, len(p.Points))}
	_, i, _ := p.Point("fault_code")
	snap.Values[i].Number = 21
	eng.Observe(snap)
	if len(got) != 1 {
		t.Fatalf("%d events from an entrapment, want 1", len(got))
	}
	return got[0]
}

// TestHandsetAlertsInChinese follows an entrapment through the night in zh-CN: every notice a
// guard's handset shows is Chinese and says which elevator, which building, and 困人.
func TestHandsetAlertsInChinese(t *testing.T) {
	t.Parallel()
	cfg := testConfig(t)
	cfg.Locale = "zh-CN"
	r := newRig(t, cfg, night, Deps{})
	e := entrapment(t, locale.ZhCN)
	if err := r.s.Handle(e); err != nil {
		t.Fatal(err)
	}
	check := func(want Action, phrase string) Message {
		t.Helper()
		m := r.ch.next(t)
		if m.Type != want {
			t.Fatalf("got %s, want %s", m.Type, want)
		}
		for _, s := range []string{"电梯 E-7", "3栋", "困人", phrase} {
			if !strings.Contains(m.Text, s) {
				t.Errorf("%s reads %q: no %q", m.Type, m.Text, s)
			}
		}
		return m
	}
	check(ActionAlert, "【紧急】")
	r.clock.Step(30 * time.Second)
	r.s.Tick()
	check(ActionResend, "第 2 次提醒")
	r.clock.Step(30 * time.Second)
	r.s.Tick()
	check(ActionEscalate, "无人认领已 1 分钟，已上报")
	if _, err := r.s.Claim("A"+itoa(e.Seq), "g3"); err != nil {
		t.Fatal(err)
	}
	check(ActionClaim, "Zhao 已认领")
	if err := r.s.Handle(next(e, alarms.EventCleared)); err != nil {
		t.Fatal(err)
	}
	check(ActionClear, "已恢复")
}

func TestHandsetAlertsInEnglish(t *testing.T) {
	t.Parallel()
	r := newRig(t, testConfig(t), night, Deps{})
	e := entrapment(t, locale.EN)
	if err := r.s.Handle(e); err != nil {
		t.Fatal(err)
	}
	m := r.ch.next(t)
	if want := "[critical] Elevator E-7, building 3: passengers trapped"; m.Text != want {
		t.Errorf("alert reads %q, want %q", m.Text, want)
	}
}

func TestFloodSummaryInChinese(t *testing.T) {
	t.Parallel()
	cfg := testConfig(t)
	cfg.Locale = "zh-CN"
	r := newRig(t, cfg, night, Deps{})
	a := raised("P-1/pump_trip", "north", alarms.PriorityHigh, alarms.ClassEquipment).Alarm
	b := raised("P-2/pit_high_high", "north", alarms.PriorityHigh, alarms.ClassEquipment).Alarm
	e := alarms.Event{Seq: nextSeq(), Type: alarms.EventFlood, Notify: true, Flood: []alarms.Alarm{a, b},
		Alarm: alarms.Alarm{ID: "flood/estate", Site: "estate", Priority: alarms.PriorityHigh}}
	if err := r.s.Handle(e); err != nil {
		t.Fatal(err)
	}
	m := r.ch.next(t)
	if want := "estate 报警泛滥：共 2 条报警（P-1/pump_trip、P-2/pit_high_high）"; m.Message != want {
		t.Errorf("flood summary %q, want %q", m.Message, want)
	}
}
