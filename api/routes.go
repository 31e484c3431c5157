package api

import "strings"

// Route is one entry of the API's route table: every route the server serves, with the least
// role that may call it. Server.Handle refuses a pattern that is not here, so a route cannot
// be added without saying who may call it, and the route tests, generated from this table,
// cannot leave it out.
type Route struct {
	// Pattern is the net/http.ServeMux pattern the handler is registered with.
	Pattern string
	// Role is the least role that may call the route once tokens are configured.
	Role Role
	// Stream marks a response that lasts as long as the client listens (server-sent events):
	// it gets a write deadline per event instead of the server's write timeout.
	Stream bool
	// Long marks a response that may take minutes (a CPU profile): it gets LongWriteTimeout.
	Long bool
}

// routes is the route table. Alarm ids hold slashes (FP-1/fire_zone_alarm/03), so the alarm
// actions share one pattern and are told apart by their last segment: see alarmActionRoles.
var routes = []Route{
	{Pattern: "GET /healthz", Role: RoleOpen},
	{Pattern: "GET /metrics", Role: RoleEngineer}, // RoleOpen with http.metrics_open
	// The console's page and its assets hold no data: they must load before anyone signs in.
	{Pattern: "GET /{$}", Role: RoleOpen},
	{Pattern: "GET /ui/", Role: RoleOpen},
	// Every other path answers a JSON 404 and says nothing about the site.
	{Pattern: "/", Role: RoleOpen},
	{Pattern: "/debug/pprof/", Role: RoleAdmin, Long: true},

	{Pattern: "GET /api/v1/session", Role: RolePatrol},
	{Pattern: "GET /api/v1/devices", Role: RolePatrol},
	{Pattern: "GET /api/v1/devices/{id}", Role: RolePatrol},
	{Pattern: "GET /api/v1/devices/{id}/history", Role: RolePatrol},
	{Pattern: "GET /api/v1/devices/{id}/orders", Role: RolePatrol},
	{Pattern: "GET /api/v1/events", Role: RolePatrol, Stream: true},
	{Pattern: "POST /api/v1/devices/{id}/points/{point}", Role: RoleEngineer},
	{Pattern: "GET /api/v1/commands", Role: RolePatrol},

	{Pattern: "GET /api/v1/alarms", Role: RolePatrol},
	{Pattern: "GET /api/v1/alarms/{id...}", Role: RolePatrol},
	{Pattern: "POST /api/v1/alarms/{id...}", Role: RoleAdmin}, // per action: alarmActionRoles

	{Pattern: "GET /api/v1/patrol/alerts", Role: RolePatrol},
	{Pattern: "GET /api/v1/patrol/alerts/{id}", Role: RolePatrol},
	{Pattern: "POST /api/v1/patrol/alerts/{id}/claim", Role: RolePatrol},
	{Pattern: "POST /api/v1/patrol/alerts/{id}/ack", Role: RolePatrol},
	// A claim link's token is its own credential: one alert, one guard, while the alert is open.
	{Pattern: "GET /api/v1/patrol/links/{token}", Role: RoleOpen},
	{Pattern: "POST /api/v1/patrol/links/{token}/claim", Role: RoleOpen},
	{Pattern: "POST /api/v1/patrol/self-test", Role: RoleEngineer},
	{Pattern: "GET /api/v1/patrol/checklist", Role: RolePatrol},
	{Pattern: "POST /api/v1/patrol/checklist/{item}/done", Role: RolePatrol},

	{Pattern: "GET /api/v1/workorders", Role: RolePatrol},
	{Pattern: "POST /api/v1/workorders", Role: RoleCustomerService}, // a resident's request taken at the desk
	{Pattern: "GET /api/v1/workorders/answers", Role: RolePatrol},
	{Pattern: "GET /api/v1/workorders/stocktake", Role: RolePatrol},
	{Pattern: "GET /api/v1/workorders/followups", Role: RolePatrol},
	{Pattern: "GET /api/v1/workorders/report", Role: RolePatrol},
	{Pattern: "POST /api/v1/workorders/schedule", Role: RoleEngineer},
	{Pattern: "GET /api/v1/workorders/{id}", Role: RolePatrol},
	{Pattern: "POST /api/v1/workorders/{id}/{transition}", Role: RoleEngineer}, // per action: workOrderActionRoles
	{Pattern: "GET /api/v1/notices", Role: RolePatrol},
	{Pattern: "POST /api/v1/notices", Role: RoleEngineer}, // an emergency water or power cut
	{Pattern: "GET /api/v1/technicians", Role: RolePatrol},
	{Pattern: "GET /api/v1/ledger", Role: RolePatrol},
	{Pattern: "GET /api/v1/workorders/problems", Role: RolePatrol},
	// The register of handover defects in residents' homes (入伙后的遗留问题).
	{Pattern: "GET /api/v1/defects", Role: RolePatrol},
	{Pattern: "POST /api/v1/defects", Role: RoleEngineer},
	{Pattern: "GET /api/v1/defects/meeting", Role: RolePatrol},
	{Pattern: "POST /api/v1/defects/{id}", Role: RoleEngineer},
	// The residents' half-yearly opinion and year-end satisfaction surveys.
	{Pattern: "POST /api/v1/surveys", Role: RoleEngineer},
	{Pattern: "GET /api/v1/surveys/summary", Role: RolePatrol},
	{Pattern: "GET /api/v1/surveys/{id}", Role: RolePatrol},
	{Pattern: "POST /api/v1/surveys/{id}/answers", Role: RoleEngineer},

	{Pattern: "POST /api/v1/reload", Role: RoleEngineer},
}

// alarmActionRoles is the least role of each POST /api/v1/alarms/{id...}/ACTION; any other
// action needs admin (and is then a 404).
var alarmActionRoles = map[string]Role{
	"ack":      RolePatrol,
	"shelve":   RoleEngineer,
	"unshelve": RoleEngineer,
}

// workOrderActionRoles is the least role of the work-order actions the desk may take: the
// answer to the resident, its hand-over, the 12345 reply, a new visit time, the follow-up
// call and a reopen on the resident's word. Every other action is the engineer's.
var workOrderActionRoles = map[string]Role{
	"inform":      RoleCustomerService,
	"handover":    RoleCustomerService,
	"reply_12345": RoleCustomerService,
	"reschedule":  RoleCustomerService,
	"follow_up":   RoleCustomerService,
	"reopen":      RoleCustomerService,
}

// WorkOrderActionRole is the least role of POST /api/v1/workorders/{id}/ACTION.
func WorkOrderActionRole(action string) Role {
	if role, ok := workOrderActionRoles[strings.ReplaceAll(action, "-", "_")]; ok {
		return role
	}
	return RoleEngineer
}

// AlarmActions lists the alarm actions and their least roles, for tests and documentation.
func AlarmActions() map[string]Role {
	out := make(map[string]Role, len(alarmActionRoles))
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
