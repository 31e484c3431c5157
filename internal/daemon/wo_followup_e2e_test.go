package daemon_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/facilityd/facilityd/api"
	"github.com/facilityd/facilityd/workorders"
)

// TestResidentCalledBackOnThreePoints: on the demo, through the API, a resident's household
// repair taken by customer service and done by the zone's technician is called back on three
// points; the technician may not record his own call; customer service's call with the job
// late reopens it to engineering, and the month's problems list it. A handover defect of the
// same home is filed with customer service as its owner and shows on the repair-office list.
func TestResidentCalledBackOnThreePoints(t *testing.T) {
	cfg, _ := demoEstate(t, nil)
	d := startDaemon(t, cfg)
	var o workorders.Order
	if code := post(t, d.API+"/api/v1/workorders", map[string]string{"zone": "north", "location": "3-1-1802", "title": "Kitchen tap leaks",
		"reporter": "Ms Zhang 139", "by": "cs-liu"}, &o); code != http.StatusCreated || o.Category != workorders.CategoryHousehold {
		t.Fatalf("raise: %d %+v", code, o)
	}
	base := d.API + "/api/v1/workorders/" + o.ID + "/"
	for _, a := range []string{"accept", "start", "resolve"} {
		if code := post(t, base+a, map[string]string{"by": "tech-north-1"}, &o); code != http.StatusOK {
			t.Fatalf("%s: %d", a, code)
		}
	}
	if o.FollowUpDue.IsZero() {
		t.Fatal("a resolved household repair has no follow-up due")
	}
	all := map[string]bool{"timeliness": true, "quality": true, "satisfaction": true}
	var refused struct{ Error string }
	if code := post(t, base+"follow_up", map[string]any{"by": "tech-north-1", "points": all}, &refused); code != http.StatusBadRequest || !strings.Contains(refused.Error, "did the job") {
		t.Fatalf("the technician's own call: %d %q", code, refused.Error)
	}
	late := map[string]bool{"timeliness": false, "quality": true, "satisfaction": true}
	if code := post(t, base+"follow_up", map[string]any{"by": "cs-liu", "points": late, "note": "came a day late"}, &o); code != http.StatusOK ||
		o.State != workorders.StateAccepted || o.Reopens != 1 {
		t.Fatalf("customer service's call: %d, state %s, reopens %d", code, o.State, o.Reopens)
	}
	month := time.Now().In(shanghaiTZ(t)).Format("2006-01")
	var pl api.ProblemList
	get(t, d.API+"/api/v1/workorders/problems?month="+month, &pl)
	if len(pl.Problems) != 1 || pl.Problems[0].Order != o.ID || strings.Join(pl.Problems[0].Points, ",") != "timeliness" || pl.Problems[0].Note != "came a day late" {
		t.Fatalf("the month's problems: %+v", pl.Problems)
	}

	var df workorders.Defect
	if code := post(t, d.API+"/api/v1/defects", map[string]string{"home": "3-1-1802", "title": "bathroom tiles cracked at handover", "by": "cs-liu"}, &df); code != http.StatusCreated || df.Owner != "cs-liu" {
		t.Fatalf("defect: %d %+v", code, df)
	}
	var ml api.MeetingList
	get(t, d.API+"/api/v1/defects/meeting", &ml)
	if len(ml.Items) != 1 || ml.Items[0].Defect.ID != df.ID {
		t.Fatalf("repair-office list: %+v", ml.Items)
	}
}

func shanghaiTZ(t *testing.T) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		t.Fatal(err)
	}
	return loc
}
