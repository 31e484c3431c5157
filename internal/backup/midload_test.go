package backup_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	mqtt "github.com/mochi-mqtt/server/v2"
	"github.com/mochi-mqtt/server/v2/hooks/auth"
	"github.com/mochi-mqtt/server/v2/listeners"
	"github.com/mochi-mqtt/server/v2/packets"

	"github.com/facilityd/facilityd/alarms"
	"github.com/facilityd/facilityd/alarms/patrol"
	"github.com/facilityd/facilityd/api"
	"github.com/facilityd/facilityd/config"
	"github.com/facilityd/facilityd/devices/commands"
	"github.com/facilityd/facilityd/internal/backup"
	"github.com/facilityd/facilityd/internal/daemon/daemontest"
	"github.com/facilityd/facilityd/simulators"
	"github.com/facilityd/facilityd/workorders"
)

// alarmSeqs is a loopback broker that records the seq of every alarm event published on
// facility/+/alarms/#, so the test sees what facilityd's MQTT consumer delivers.
type alarmSeqs struct {
	url  string
	mu   sync.Mutex
	seqs []uint64
}

func startBroker(t *testing.T) *alarmSeqs {
	t.Helper()
	addr := daemontest.FreeAddr(t)
	srv := mqtt.New(&mqtt.Options{InlineClient: true, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err := srv.AddHook(new(auth.AllowHook), nil); err != nil {
		t.Fatal(err)
	}
	if err := srv.AddListener(listeners.NewTCP(listeners.Config{ID: "t", Address: addr})); err != nil {
		t.Fatal(err)
	}
	if err := srv.Serve(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	b := &alarmSeqs{url: "tcp://" + addr}
	err := srv.Subscribe("facility/+/alarms/#", 1, func(_ *mqtt.Client, _ packets.Subscription, pk packets.Packet) {
		var e struct {
			Seq uint64 `json:"seq"`
		}
		if json.Unmarshal(pk.Payload, &e) == nil {
			b.mu.Lock()
			b.seqs = append(b.seqs, e.Seq)
			b.mu.Unlock()
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// take returns the seqs recorded since the last take.
func (b *alarmSeqs) take() []uint64 {
	b.mu.Lock()
	defer b.mu.Unlock()
	s := b.seqs
	b.seqs = nil
	return s
}

// faults are the ones the load toggles: an equipment fault, an entrapment and a fire alarm,
// so that alarms, patrol alerts and work orders are all being written.
var faults = []struct {
	device, fault string
	params        map[string]string
}{
	{"P-2", "vfd_fault", map[string]string{"code": "4"}},
	{"L1-1", "entrapment", nil},
	{"FP-1", "zone_alarm", map[string]string{"zone": "3"}},
}

// load injects and clears faults and writes a lighting point through the API until ctx ends,
// then clears every fault.
func load(ctx context.Context, t *testing.T, estate *simulators.Estate, apiURL string) {
	for i := 0; ctx.Err() == nil; i++ {
		f := faults[i%len(faults)]
		if (i/len(faults))%2 == 0 {
			estate.Inject(f.device, f.fault, f.params)
		} else {
			estate.Clear(f.device, f.fault, f.params)
		}
		body := strings.NewReader(`{"value": ` + map[bool]string{true: "true", false: "false"}[i%2 == 0] + `, "reason": "backup under load", "by": "eng-zhang"}`)
		if resp, err := http.Post(apiURL+"/api/v1/devices/LP-1/points/circuit_03_command", "application/json", body); err == nil {
			resp.Body.Close()
		}
		select {
		case <-ctx.Done():
		case <-time.After(50 * time.Millisecond): // the load's own pace, not a wait for a timer
		}
	}
	for _, f := range faults {
		estate.Clear(f.device, f.fault, f.params)
	}
}

// seen is what the running daemon shows through its API: the ids of orders, patrol alerts
// and command records.
type seen struct {
	orders, alerts map[string]bool
	commands       map[int64]bool
}

func look(t *testing.T, apiURL string) seen {
	var ol api.OrderList
	daemontest.Get(t, apiURL+"/api/v1/workorders", &ol)
	var al struct{ Alerts []patrol.Alert }
	daemontest.Get(t, apiURL+"/api/v1/patrol/alerts", &al)
	var cl struct{ Commands []commands.Record }
	daemontest.Get(t, apiURL+"/api/v1/commands?limit=1000", &cl)
	s := seen{orders: map[string]bool{}, alerts: map[string]bool{}, commands: map[int64]bool{}}
	for _, o := range ol.Orders {
		s.orders[o.ID] = true
	}
	for _, a := range al.Alerts {
		s.alerts[a.ID] = true
	}
	for _, c := range cl.Commands {
		s.commands[c.ID] = true
	}
	return s
}

// restoredConfig is cfg with every state path under a new, empty state_dir.
func restoredConfig(t *testing.T, cfg *config.Config) *config.Config {
	c := *cfg
	c.StateDir = filepath.Join(t.TempDir(), "restored")
	c.Spool.Dir, c.Alarms.Journal, c.Patrol.Store, c.WorkOrders.Store.Path, c.MQTT.StoreDir, c.Commands.Store = "", "", "", "", "", ""
	if err := c.ResolveState(); err != nil {
		t.Fatal(err)
	}
	return &c
}

// TestBackupMidLoad takes a backup of the demo estate's daemon while faults come and go and
// plant writes are made, restores it into an empty folder and finds there everything written
// before the backup began; facilityd then runs on the restored state and its consumers go on
// from their restored cursors instead of delivering again.
func TestBackupMidLoad(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the demo estate")
	}
	broker := startBroker(t)
	cfg, estate := daemontest.DemoEstateOn(t, nil, broker.url)
	daemontest.WithPatrol(t, cfg)
	cfg.Patrol.Store = "" // under state_dir, with the other stores
	cfg.HTTP.Operators = append(cfg.HTTP.Operators, "eng-zhang")
	d := daemontest.Start(t, cfg)

	ctx, stopLoad := context.WithCancel(context.Background())
	loaded := make(chan struct{})
	go func() { defer close(loaded); load(ctx, t, estate, d.API) }()
	daemontest.WaitFor(t, "orders, patrol alerts and plant writes", 30*time.Second, func() bool {
		s := look(t, d.API)
		return len(s.orders) > 1 && len(s.alerts) > 1 && len(s.commands) > 5 && journalHead(t, cfg.Alarms.Journal) >= 10
	})
	before := look(t, d.API)
	headBefore := journalHead(t, cfg.Alarms.Journal)

	out := filepath.Join(t.TempDir(), "state.tar.gz")
	m, err := backup.Create(context.Background(), cfg, "", out, backup.Options{Version: "test"})
	if err != nil {
		t.Fatal(err)
	}
	// The load goes on past the backup: the daemon journals more than the archive holds (a
	// busy machine may take a moment to get there).
	afterBackup := journalHead(t, cfg.Alarms.Journal)
	daemontest.WaitFor(t, "the journal growing after the backup", 30*time.Second, func() bool {
		return journalHead(t, cfg.Alarms.Journal) > afterBackup
	})
	stopLoad()
	<-loaded
	if err := d.Stop(); err != nil {
		t.Fatal(err)
	}
	stores := 0
	for _, f := range m.Files {
		if f.Kind == backup.KindSQLite {
			stores++
		}
	}
	if stores != 4 {
		t.Fatalf("manifest lists %d SQLite stores, want the alarm journal, patrol store, command journal and order book", stores)
	}

	to := restoredConfig(t, cfg)
	if _, err := backup.Restore(context.Background(), to, out, backup.RestoreOptions{Check: backup.CheckStore}); err != nil {
		t.Fatal(err)
	}
	head, cursors := checkJournal(t, cfg.Alarms.Journal, to.Alarms.Journal, headBefore)
	checkRestored(t, to, before)

	t.Logf("backup at seq %d (at least %d): %d orders, %d alerts, %d plant writes; cursors %v",
		head, headBefore, len(before.orders), len(before.alerts), len(before.commands), cursors)

	// facilityd on the restored state: its MQTT consumer goes on after its cursor.
	inflight := mqttInflight(t, to.MQTT.StoreDir)
	broker.take()
	r := daemontest.Start(t, to)
	if err := estate.Inject("L1-2", "entrapment", nil); err != nil {
		t.Fatal(err)
	}
	var got []uint64
	daemontest.WaitFor(t, "a new alarm event on MQTT from the restored facilityd", 30*time.Second, func() bool {
		got = append(got, broker.take()...)
		for _, s := range got {
			if s > head {
				return true
			}
		}
		return false
	})
	if err := r.Stop(); err != nil {
		t.Fatal(err)
	}
	t.Logf("the restored facilityd published seqs %v", got)
	again := 0
	for _, s := range got {
		if s <= cursors["mqtt-alarms"] {
			again++
		}
	}
	// Only QoS 1 messages still in flight in the restored session store may come again.
	if again > inflight {
		t.Errorf("the restored facilityd published %d alarm events again that its mqtt-alarms cursor (%d) had delivered (in flight: %d): %v",
			again, cursors["mqtt-alarms"], inflight, got)
	}
}

// journalHead is the last seq in the journal at path, read beside the running daemon.
func journalHead(t *testing.T, path string) uint64 {
	t.Helper()
	j, err := alarms.OpenJournal(path)
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	evs, err := j.Since(context.Background(), 0, 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	if len(evs) == 0 {
		return 0
	}
	return evs[len(evs)-1].Seq
}

// checkJournal finds in the restored journal every event of the original up to the
// restored head (no fewer than headBefore), the same, and the consumers' cursors.
func checkJournal(t *testing.T, orig, restored string, headBefore uint64) (uint64, map[string]uint64) {
	t.Helper()
	read := func(path string) ([]alarms.Event, map[string]uint64) {
		j, err := alarms.OpenJournal(path)
		if err != nil {
			t.Fatal(err)
		}
		defer j.Close()
		evs, err := j.Since(context.Background(), 0, 1<<20)
		if err != nil {
			t.Fatal(err)
		}
		cur := map[string]uint64{}
		for _, name := range []string{"patrol", "workorders", "mqtt-alarms"} {
			if cur[name], err = j.Cursor(name); err != nil {
				t.Fatal(err)
			}
		}
		return evs, cur
	}
	all, _ := read(orig)
	got, cursors := read(restored)
	if len(all) <= len(got) {
		t.Errorf("the daemon journalled nothing after the backup (%d events): it did not go on running", len(all))
	}
	if len(got) == 0 || got[len(got)-1].Seq < headBefore {
		t.Fatalf("restored journal ends at %d events, want every event up to seq %d journalled before the backup", len(got), headBefore)
	}
	head := got[len(got)-1].Seq
	for i, e := range got {
		if i >= len(all) || all[i].Seq != e.Seq || all[i].Alarm.ID != e.Alarm.ID || all[i].Type != e.Type {
			t.Fatalf("restored event %d (seq %d %s %s) is not the original's", i, e.Seq, e.Alarm.ID, e.Type)
		}
	}
	for name, c := range cursors {
		if c == 0 || c > head {
			t.Errorf("restored cursor %s at %d, want the consumer's position (1..%d)", name, c, head)
		}
	}
	return head, cursors
}

// checkRestored opens the restored order book, patrol store and command journal and finds
// every order, alert and record the daemon showed before the backup.
func checkRestored(t *testing.T, to *config.Config, before seen) {
	t.Helper()
	ctx := context.Background()
	wo, err := workorders.OpenStore(ctx, "sqlite", to.WorkOrders.Store.Path)
	if err != nil {
		t.Fatal(err)
	}
	defer wo.Close()
	orders, err := wo.List(ctx, workorders.Filter{})
	if err != nil {
		t.Fatal(err)
	}
	have := map[string]bool{}
	for _, o := range orders {
		have[o.ID] = true
	}
	for id := range before.orders {
		if !have[id] {
			t.Errorf("order %s, open before the backup, is not in the restored order book", id)
		}
	}
	ps, err := patrol.OpenStore(to.Patrol.Store)
	if err != nil {
		t.Fatal(err)
	}
	defer ps.Close()
	alerts, err := ps.Alerts()
	if err != nil {
		t.Fatal(err)
	}
	have = map[string]bool{}
	for _, a := range alerts {
		have[a.ID] = true
	}
	for id := range before.alerts {
		if !have[id] {
			t.Errorf("patrol alert %s, raised before the backup, is not in the restored patrol store", id)
		}
	}
	cs, err := commands.OpenStore(to.Commands.Store)
	if err != nil {
		t.Fatal(err)
	}
	defer cs.Close()
	recs, err := cs.List(ctx, "", 1000)
	if err != nil {
		t.Fatal(err)
	}
	haveRec := map[int64]bool{}
	for _, r := range recs {
		haveRec[r.ID] = true
	}
	for id := range before.commands {
		if !haveRec[id] {
			t.Errorf("plant write %d, journalled before the backup, is not in the restored command journal", id)
		}
	}
}

// mqttInflight counts the outgoing messages of the restored MQTT session store.
func mqttInflight(t *testing.T, dir string) int {
	entries, _ := os.ReadDir(dir)
	n := 0
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), "o.") {
			n++
		}
	}
	return n
}
