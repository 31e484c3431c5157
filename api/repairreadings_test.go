package api

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/facilityd/facilityd/alarms"
	"github.com/facilityd/facilityd/devices"
	"github.com/facilityd/facilityd/workorders"
)

// TestReadingsBesideVerification: GET of a pump-trip repair awaiting the supervisor's verify
// shows the pump's readings since the repair (none from before it); once verified, or for an
// order not on that path, it shows none.
func TestReadingsBesideVerification(t *testing.T) {
	srv, latest := testServer(t)
	st, err := workorders.OpenStore(context.Background(), "sqlite", filepath.Join(t.TempDir(), "wo.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	cfg := workorders.Default()
	cfg.Zones = []workorders.ZoneTeam{{Zone: "north", Team: "north-team", Supervisor: "sup-li"}}
	now := time.Date(2026, 3, 3, 10, 0, 0, 0, time.UTC)
	m, err := workorders.New(cfg, "s", []workorders.Device{{ID: "P-1", Kind: "pump", Zone: "north", Site: "s"}}, st, workorders.Options{Clock: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	pst, _ := latest.Get("P-1")
	pump := pst.Device
	rings := devices.NewHistory([]*devices.Device{pump}, time.Hour, 1<<20)
	RegisterWorkOrders(srv, m, &RepairReadings{Latest: latest, Rings: rings})
	_, col, _ := pump.Profile.Point("pressure")
	record := func(at time.Time, pressure float64) {
		vals := make([]devices.Value, len(pump.Profile.Points))
		vals[col] = devices.Value{Number: pressure, Quality: devices.QualityGood}
		rings.Record(&devices.Snapshot{Device: pump, Time: at, Values: vals})
	}

	o, err := m.HandleAlarm(context.Background(), alarms.Event{Type: alarms.EventRaised, At: now,
		Alarm: alarms.Alarm{ID: "P-1/pump_trip", Device: "P-1", Kind: "pump", Zone: "north", Rule: "pump_trip", Class: alarms.ClassEquipment}})
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range []string{"accept", "start"} {
		if rec := sendWO(t, srv, "POST", "/api/v1/workorders/"+o.ID+"/"+a, `{"by":"tech-chen"}`, nil); rec.Code != 200 {
			t.Fatalf("%s: %d %s", a, rec.Code, rec.Body)
		}
	}
	record(now.Add(10*time.Minute), 0.4) // the trip: pressure gone
	now = now.Add(20 * time.Minute)
	sendWO(t, srv, "POST", "/api/v1/workorders/"+o.ID+"/resolve", `{"by":"tech-chen","note":"relay reset"}`, nil)
	resolved := now
	for i := 1; i <= 5; i++ {
		record(resolved.Add(time.Duration(i)*time.Minute), 3.1+float64(i)/10)
	}
	now = now.Add(10 * time.Minute)

	var got OrderView
	if rec := sendWO(t, srv, "GET", "/api/v1/workorders/"+o.ID, "", &got); rec.Code != 200 || got.Order == nil || got.State != workorders.StateResolved || !got.AwaitsVerification {
		t.Fatalf("get: %d %s; want resolved, awaiting verification", rec.Code, rec.Body)
	}
	sr := got.SinceRepair
	if sr == nil || sr.Device != "P-1" || !sr.Since.Equal(resolved) {
		t.Fatalf("readings since the repair: %+v", sr)
	}
	var pressure *RepairSeries
	for i := range sr.Points {
		if sr.Points[i].Point == "pressure" {
			pressure = &sr.Points[i]
		}
	}
	if pressure == nil || len(pressure.Values) != 5 || pressure.Unit != "bar" || pressure.Values[0][1] != 3.2 || pressure.Values[4][1] != 3.6 {
		t.Fatalf("pressure since the repair: %+v, want the five readings after it and not the 0.4 bar before", pressure)
	}
	if rec := sendWO(t, srv, "POST", "/api/v1/workorders/"+o.ID+"/verify", `{"by":"sup-li","note":"pressure steady at 3.6 bar"}`, nil); rec.Code != 200 {
		t.Fatalf("verify: %d %s", rec.Code, rec.Body)
	}
	rec := sendWO(t, srv, "GET", "/api/v1/workorders/"+o.ID, "", nil)
	if strings.Contains(rec.Body.String(), "readings_since_repair") || strings.Contains(rec.Body.String(), "awaits_verification") || !strings.Contains(rec.Body.String(), `"state": "closed"`) {
		t.Fatalf("a verified order: %s", rec.Body)
	}
}

// TestThin: at most n samples, spread evenly, the oldest and newest kept.
func TestThin(t *testing.T) {
	var s []devices.Sample
	for i := range 1000 {
		s = append(s, devices.Sample{Time: int64(i)})
	}
	got := thin(s, RepairSamples)
	if len(got) != RepairSamples || got[0].Time != 0 || got[len(got)-1].Time != 999 {
		t.Fatalf("%d samples from %d to %d", len(got), got[0].Time, got[len(got)-1].Time)
	}
	for i := 1; i < len(got); i++ {
		if got[i].Time <= got[i-1].Time {
			t.Fatalf("not in order at %d", i)
		}
	}
	if short := thin(s[:10], RepairSamples); len(short) != 10 {
		t.Fatalf("%d of 10 kept", len(short))
	}
}
