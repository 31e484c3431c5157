package workorders

import (
	"context"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/facilityd/facilityd/internal/testutil"
)

type fakeSMS struct {
	mu   sync.Mutex
	sent []string // "to: text"
}

func (f *fakeSMS) SendSMS(_ context.Context, to, text string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.sent = append(f.sent, to+": "+text)
	return nil
}

func (f *fakeSMS) texts() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.sent...)
}

// TestHomeWarrantyReminder: a month before a home's warranty ends, at the start of the working
// day, the resident gets one SMS; ticking on, and a restart of the gateway, send no second one.
// A resident without a phone, or a site without SMS, is reminded through the zone's butler. The
// equipment's warranty still reaches engineering only.
func TestHomeWarrantyReminder(t *testing.T) {
	ctx := context.Background()
	cfg, devs := estate()
	cfg.Homes = []Home{
		{Home: "3-1-1802", Zone: "north", Resident: "Ms Zhang", Phone: "13900000001", WarrantyEnd: "2026-04-15"},
		{Home: "5-2-0301", Zone: "south", Resident: "Mr Li", WarrantyEnd: "2026-04-15"},
	}
	path := filepath.Join(t.TempDir(), "wo.db")
	clock := testutil.NewClock(time.Date(2026, 3, 1, 9, 0, 0, 0, shanghai))
	sms := &fakeSMS{}
	notes := &fakeNotifier{}
	start := func() *Manager {
		st := mustOpen(t, "sqlite", path)
		m, err := New(cfg, "estate", devs, st, Options{Clock: clock.Now, Notifier: notes, SMS: sms})
		if err != nil {
			t.Fatal(err)
		}
		return m
	}
	m := start()
	tick := func(m *Manager) {
		t.Helper()
		if err := m.Tick(ctx); err != nil {
			t.Fatal(err)
		}
		if _, err := m.DeliverOutbox(ctx); err != nil {
			t.Fatal(err)
		}
	}
	// 15 March 2026 is a Sunday: the reminder waits for Monday 09:00.
	for _, at := range []time.Time{
		time.Date(2026, 3, 14, 9, 0, 0, 0, shanghai),
		time.Date(2026, 3, 15, 12, 0, 0, 0, shanghai),
		time.Date(2026, 3, 16, 8, 59, 0, 0, shanghai),
	} {
		clock.Set(at)
		tick(m)
		if got := sms.texts(); len(got) != 0 {
			t.Fatalf("%v: texted before a month ahead's working day: %v", at, got)
		}
	}
	clock.Set(time.Date(2026, 3, 16, 9, 0, 0, 0, shanghai))
	tick(m)
	for i := 0; i < 3; i++ {
		clock.Step(24 * time.Hour)
		tick(m)
	}
	m2 := start() // the gateway restarts: the outbox remembers the reminder
	tick(m2)
	got := sms.texts()
	if len(got) != 1 || !strings.HasPrefix(got[0], "13900000001: ") || !strings.Contains(got[0], "3-1-1802") || !strings.Contains(got[0], "2026-04-15") {
		t.Fatalf("SMS to residents: %v, want one to Ms Zhang", got)
	}
	pass := notes.ofType("home_warranty")
	var butler []Notification
	for _, n := range pass {
		if n.Phone == "" {
			butler = append(butler, n)
		}
	}
	if len(butler) != 1 || butler[0].To[0] != "butler-zhao" || butler[0].Home != "5-2-0301" || !strings.Contains(butler[0].Message, "tell the resident") {
		t.Fatalf("the resident without a phone: %+v", butler)
	}
	for _, n := range notes.ofType("warranty") {
		if n.Device == "" {
			t.Fatalf("a home's warranty reached engineering: %+v", n)
		}
	}
}

// TestHomeWarrantyWithoutSMS: a site without an SMS channel reminds through customer service.
func TestHomeWarrantyWithoutSMS(t *testing.T) {
	r := newRig(t, time.Date(2026, 3, 16, 10, 0, 0, 0, shanghai), func(c *Config) {
		c.Homes = []Home{{Home: "3-1-1802", Zone: "north", Resident: "Ms Zhang", Phone: "13900000001", WarrantyEnd: "2026-04-15"}}
	})
	if err := r.m.Tick(context.Background()); err != nil {
		t.Fatal(err)
	}
	n := r.notes.ofType("home_warranty")
	if len(n) != 1 || n[0].Phone != "" || n[0].To[0] != "butler-wang" || !strings.Contains(n[0].Message, "13900000001") {
		t.Fatalf("reminder without SMS: %+v", n)
	}
}

func TestHomesValidate(t *testing.T) {
	c := Default()
	c.Homes = []Home{{Home: "3-1-1802", WarrantyEnd: "2026-13-01"}, {Home: "3-1-1802"}}
	err := c.Validate()
	if err == nil || !strings.Contains(err.Error(), "workorders.homes[0] (3-1-1802).warranty_end") || !strings.Contains(err.Error(), "workorders.homes[1].home: missing or repeated") {
		t.Fatalf("validate: %v", err)
	}
}
