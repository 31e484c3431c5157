package api

import "strings"

// Route is one entry of the API's route table: every route the server serves, with the roles
// that may call it. Server.Handle refuses a pattern that is not here, so a route cannot be
// added without saying who may call it, and the route tests, generated from this table,
// cannot leave it out.
type Route struct {
	// Pattern is the net/http.ServeMux pattern the handler is registered with.
	Pattern string
	// Roles are the roles that may call the route once tokens are configured.
	Roles Roles
	// Stream marks a response that lasts as long as the client listens (server-sent events):
	// it gets a write deadline per event instead of the server's write timeout.
	Stream bool
	// Long marks a response that may take minutes (a CPU profile): it gets LongWriteTimeout.
	Long bool
}

// Who may call a route. The roles are a ladder (patrol, customer_service, engineer, admin)
// with one exception: the patrol's own actions — acknowledging an alarm, claiming and
// acknowledging a patrol alert, ticking off the night check — are the guards', the engineers'
// and the admins', never the desk's: customer service reads what the patrol reads and
// takes the residents' side, but does not answer alarms.
var (
	anyone    = AtLeast(RoleOpen)
	readers   = AtLeast(RolePatrol)
	desk      = AtLeast(RoleCustomerService)
	engineers = AtLeast(RoleEngineer)
	admins    = AtLeast(RoleAdmin)
	guards    = readers.Without(RoleCustomerService)
)

// routes is the route table. Alarm ids hold slashes (FP-1/fire_zone_alarm/03), so the alarm
// actions share one pattern and are told apart by their last segment: see alarmActionRoles.
var routes = []Route{
	{Pattern: "GET /healthz", Roles: anyone},
	{Pattern: "GET /metrics", Roles: engineers}, // anyone with http.metrics_open
	// The console's page and its assets hold no data: they must load before anyone signs in.
	{Pattern: "GET /{$}", Roles: anyone},
	{Pattern: "GET /ui/", Roles: anyone},
	// Every other path answers a JSON 404 and says nothing about the site.
	{Pattern: "/", Roles: anyone},
	{Pattern: "/debug/pprof/", Roles: admins, Long: true},

	{Pattern: "GET /api/v1/session", Roles: readers},
	{Pattern: "GET /api/v1/devices", Roles: readers},
	{Pattern: "GET /api/v1/devices/{id}", Roles: readers},
	{Pattern: "GET /api/v1/devices/{id}/history", Roles: readers},
	{Pattern: "GET /api/v1/devices/{id}/orders", Roles: readers},
	{Pattern: "GET /api/v1/events", Roles: readers, Stream: true},
	{Pattern: "POST /api/v1/devices/{id}/points/{point}", Roles: engineers},
	{Pattern: "GET /api/v1/commands", Roles: readers},

	{Pattern: "GET /api/v1/alarms", Roles: readers},
	{Pattern: "GET /api/v1/alarms/{id...}", Roles: readers},
	{Pattern: "POST /api/v1/alarms/{id...}", Roles: admins}, // per action: alarmActionRoles

	{Pattern: "GET /api/v1/patrol/alerts", Roles: readers},
	{Pattern: "GET /api/v1/patrol/alerts/{id}", Roles: readers},
	{Pattern: "POST /api/v1/patrol/alerts/{id}/claim", Roles: guards},
	{Pattern: "POST /api/v1/patrol/alerts/{id}/ack", Roles: guards},
	// A claim link's token is its own credential: one alert, one guard, while the alert is open.
	{Pattern: "GET /api/v1/patrol/links/{token}", Roles: anyone},
	{Pattern: "POST /api/v1/patrol/links/{token}/claim", Roles: anyone},
	{Pattern: "POST /api/v1/patrol/self-test", Roles: engineers},
	{Pattern: "GET /api/v1/patrol/checklist", Roles: readers},
	{Pattern: "POST /api/v1/patrol/checklist/{item}/done", Roles: guards},

	{Pattern: "GET /api/v1/workorders", Roles: readers},
	{Pattern: "POST /api/v1/workorders", Roles: desk}, // a resident's request taken at the desk
	{Pattern: "GET /api/v1/workorders/answers", Roles: readers},
	{Pattern: "GET /api/v1/workorders/stocktake", Roles: readers},
	{Pattern: "GET /api/v1/workorders/followups", Roles: readers},
	{Pattern: "GET /api/v1/workorders/report", Roles: readers},
	{Pattern: "POST /api/v1/workorders/schedule", Roles: engineers},
	{Pattern: "GET /api/v1/workorders/{id}", Roles: readers},
	{Pattern: "POST /api/v1/workorders/{id}/{transition}", Roles: engineers}, // per action: workOrderActionRoles
	{Pattern: "GET /api/v1/notices", Roles: readers},
	{Pattern: "POST /api/v1/notices", Roles: engineers}, // an emergency water or power cut
	{Pattern: "GET /api/v1/technicians", Roles: readers},
	{Pattern: "GET /api/v1/ledger", Roles: readers},
	{Pattern: "GET /api/v1/workorders/problems", Roles: readers},
	// The register of handover defects in residents' homes (入伙后的遗留问题), kept by the desk.
	{Pattern: "GET /api/v1/defects", Roles: readers},
	{Pattern: "POST /api/v1/defects", Roles: desk},
	{Pattern: "GET /api/v1/defects/meeting", Roles: readers},
	{Pattern: "POST /api/v1/defects/{id}", Roles: desk},
	// The residents' half-yearly opinion and year-end satisfaction surveys, run by the desk.
	{Pattern: "POST /api/v1/surveys", Roles: desk},
	{Pattern: "GET /api/v1/surveys/summary", Roles: readers},
	{Pattern: "GET /api/v1/surveys/{id}", Roles: readers},
	{Pattern: "POST /api/v1/surveys/{id}/answers", Roles: desk},

	{Pattern: "POST /api/v1/reload", Roles: engineers},
}

// alarmActionRoles are the roles of each POST /api/v1/alarms/{id...}/ACTION; any other action
// is the admin's (and is then a 404).
var alarmActionRoles = map[string]Roles{
	"ack":      guards,
	"shelve":   engineers,
	"unshelve": engineers,
}

// workOrderActionRoles are the roles of the work-order actions the desk may take: the answer
// to the resident, its hand-over, the 12345 reply, a new visit time, the follow-up call and a
// reopen on the resident's word. Every other action is the engineer's.
var workOrderActionRoles = map[string]Roles{
	"inform":      desk,
	"handover":    desk,
	"reply_12345": desk,
	"reschedule":  desk,
	"follow_up":   desk,
	"reopen":      desk,
}

// WorkOrderActionRoles are the roles that may POST /api/v1/workorders/{id}/ACTION.
func WorkOrderActionRoles(action string) Roles {
	if roles, ok := workOrderActionRoles[strings.ReplaceAll(action, "-", "_")]; ok {
		return roles
	}
	return engineers
}

// AlarmActions lists the alarm actions and the roles of each, for tests and documentation.
func AlarmActions() map[string]Roles {
	out := make(map[string]Roles, len(alarmActionRoles))
	for k, v := range alarmActionRoles {
		out[k] = v
	}
	return out
}

// Routes returns a copy of the route table, so that tests can walk every route.
func Routes() []Route { return append([]Route(nil), routes...) }

func routeByPattern(pattern string) (Route, bool) {
	for _, r := range routes {
		if r.Pattern == pattern {
			return r, true
		}
	}
	return Route{}, false
}
