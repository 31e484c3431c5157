package daemon

import (
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/facilityd/facilityd/config"
	"github.com/facilityd/facilityd/workorders"
)

const woDevices = `
devices:
  - id: E-1
    profile: elevator
    zone: north
    modbus: {address: "127.0.0.1:15020", unit: 1}
    asset: {make: Otis, contractor: Otis Service, warranty_end: 2027-06-30}
`

func parseWO(t *testing.T, yaml string) *config.Config {
	t.Helper()
	cfg, err := config.Parse("t.yaml", []byte(woDevices+yaml))
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

// TestWorkOrdersConfigDefaults: a file that says nothing of work orders runs the estate's
// defaults, the same whether they come through the YAML defaults or the manager's own.
func TestWorkOrdersConfigDefaults(t *testing.T) {
	wc, err := workOrdersConfig(parseWO(t, ""))
	if err != nil {
		t.Fatal(err)
	}
	got := workorders.ReportOptionsFor(wc)
	want := workorders.ReportOptionsFor(workorders.Default())
	if !reflect.DeepEqual(got, want) {
		t.Errorf("report options %+v, want %+v", got, want)
	}
	// The YAML defaults of config.Default agree with workorders.Default: every scalar the
	// file leaves out maps onto the manager's default.
	d := workorders.Default()
	if wc.Store.Driver != d.Store.Driver || wc.Calendar.Timezone != d.Calendar.Timezone || wc.Calendar.Start != d.Calendar.Start ||
		wc.Calendar.End != d.Calendar.End || wc.DefaultTeam != d.DefaultTeam || wc.Supervisor != d.Supervisor ||
		wc.FollowUp.Repair != d.FollowUp.Repair || wc.FollowUp.Household != d.FollowUp.Household || wc.FollowUp.Target != d.FollowUp.Target ||
		wc.ReworkWindow != d.ReworkWindow || wc.NoticeLead != d.NoticeLead || wc.WarrantyReminder != d.WarrantyReminder ||
		wc.CheckInterval != d.CheckInterval || wc.Retention != d.Retention {
		t.Errorf("YAML defaults %+v differ from workorders.Default %+v", wc, d)
	}
	if wc.Plans != nil || wc.Limits != nil {
		t.Errorf("lists the file leaves out are mapped as written, for the manager to default: plans %v, limits %v", wc.Plans, wc.Limits)
	}
}

// TestWorkOrdersConfigMapping: what an operator writes reaches the manager, plans: [] turns
// the default plans off, and the ledger holds the devices then the assets not polled.
func TestWorkOrdersConfigMapping(t *testing.T) {
	cfg := parseWO(t, `
workorders:
  store: {driver: postgres, dsn: "postgres://wo:pw@db/wo"}
  zones: [{zone: north, team: north-team, butler: wang, supervisor: li}]
  technicians: [{id: t1, name: Chen, team: north-team, handset: h1}]
  duty: [{technician: t1, start: "18:00", end: "08:00", days: [fri]}]
  prices: [{item: labour, unit: hour, price: 35.5}]
  limits: [{category: lighting, accept: 2h, arrive: 3h, complete: 18h, working_hours: true, basis: contract}]
  follow_up: {sampling: [{level: team, share: 1}, {level: quality, share: 0.3, staff: [qa-sun]}]}
  calendar: {days: [mon, tue], holidays: [2026-10-01]}
  plans: []
  homes: [{home: 3-1-1802, zone: north, resident: Ms Zhang, phone: "13900000001", warranty_end: 2027-06-30}]
  survey_sample: 50
  ledger: [{id: TANK-1, kind: water_tank, zone: north, asset: {warranty_end: 2028-01-31}}]
`)
	wc, err := workOrdersConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if wc.Store.Source() != "postgres://wo:pw@db/wo" || wc.Store.Where() != "postgres" {
		t.Errorf("store %+v", wc.Store)
	}
	if s := wc.String(); strings.Contains(s, "pw@") {
		t.Errorf("the DSN shows in %s", s)
	}
	if !reflect.DeepEqual(wc.Zones, []workorders.ZoneTeam{{Zone: "north", Team: "north-team", Butler: "wang", Supervisor: "li"}}) {
		t.Errorf("zones %+v", wc.Zones)
	}
	if !reflect.DeepEqual(wc.Technicians, []workorders.Technician{{ID: "t1", Name: "Chen", Team: "north-team", Handset: "h1"}}) {
		t.Errorf("technicians %+v", wc.Technicians)
	}
	if !reflect.DeepEqual(wc.Duty, []workorders.DutyShift{{Technician: "t1", Start: "18:00", End: "08:00", Days: []string{"fri"}}}) {
		t.Errorf("duty %+v", wc.Duty)
	}
	if !reflect.DeepEqual(wc.Prices, []workorders.PriceItem{{Item: "labour", Unit: "hour", Price: 35.5}}) {
		t.Errorf("prices %+v", wc.Prices)
	}
	bad := parseWO(t, `
workorders:
  technicians: [{id: t1, name: Chen, team: north-team}]
  duty: [{technician: t9, start: "18:00", end: "25:00"}]
`)
	if err := CheckWorkOrders(bad); err == nil || !strings.Contains(err.Error(), "workorders.duty[0] (t9).technician: not in workorders.technicians") ||
		!strings.Contains(err.Error(), `workorders.duty[0] (t9).end: "25:00" is not a time of day (HH:MM)`) {
		t.Errorf("a duty shift of nobody at no time: %v", err)
	}
	want := workorders.TimeLimit{Category: "lighting", Accept: 2 * time.Hour, Arrive: 3 * time.Hour, Complete: 18 * time.Hour, WorkingHours: true, Basis: "contract"}
	if len(wc.Limits) != 1 || wc.Limits[0] != want {
		t.Errorf("limits %+v", wc.Limits)
	}
	if len(wc.FollowUp.Sampling) != 2 || !reflect.DeepEqual(wc.FollowUp.Sampling[1], workorders.SamplingLevel{Level: "quality", Share: 0.3, Staff: []string{"qa-sun"}}) {
		t.Errorf("sampling %+v", wc.FollowUp.Sampling)
	}
	if !reflect.DeepEqual(wc.Homes, []workorders.Home{{Home: "3-1-1802", Zone: "north", Resident: "Ms Zhang", Phone: "13900000001", WarrantyEnd: "2027-06-30"}}) || wc.SurveySample != 50 {
		t.Errorf("homes %+v, survey sample %d", wc.Homes, wc.SurveySample)
	}
	if wc.Plans == nil || len(wc.Plans) != 0 {
		t.Errorf("plans: [] must mean no plans, got %#v", wc.Plans)
	}
	if !reflect.DeepEqual(wc.Calendar.Days, []string{"mon", "tue"}) || !reflect.DeepEqual(wc.Calendar.Holidays, []string{"2026-10-01"}) {
		t.Errorf("calendar %+v", wc.Calendar)
	}
	l := ledger(cfg)
	if len(l) != 2 || l[0].ID != "E-1" || l[0].Profile != "elevator" || l[0].Asset == nil || l[0].Asset.Contractor != "Otis Service" ||
		l[1].ID != "TANK-1" || l[1].Kind != "water_tank" || l[1].Asset == nil || l[1].Asset.WarrantyEnd != "2028-01-31" {
		t.Errorf("ledger %+v", l)
	}
}

// TestCheckWorkOrders: check-config refuses what the manager would refuse at start, with
// the key to fix, even where the file is fine and the default it leaves in place is not.
func TestCheckWorkOrders(t *testing.T) {
	tests := []struct{ name, yaml, want string }{
		{"defaults", "", ""},
		{"a longer notice lead than a default plan's lead time", "workorders: {notice_lead: 96h}",
			"workorders.plans[2] (secondary-water-check).ahead: 72h0m0s is less than workorders.notice_lead 96h0m0s"},
		{"its own plans under the same lead", "workorders: {notice_lead: 96h, plans: []}", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := CheckWorkOrders(parseWO(t, tc.yaml))
			if tc.want == "" {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want %q", err, tc.want)
			}
		})
	}
}
