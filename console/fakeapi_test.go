package console_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/facilityd/facilityd/alarms"
	"github.com/facilityd/facilityd/console"
)

// fakeAPI is a hand-written stand-in for facilityd's API as docs/ describes it (alarms,
// patrol alerts, work orders, the event stream, role tokens), so the console's pages can be
// driven in a browser before every engine is merged. It keeps what it was asked to do.
type fakeAPI struct {
	mu     sync.Mutex
	alarms []alarms.Alarm
	alerts []fakeAlert
	orders []fakeOrder
	lamps  []map[string]any // the night lighting checklist's items
	subs   map[chan string]bool
	tokens map[string]fakeToken
	done   chan struct{}
	acts   []string // "claim ALERT by", "ack ALARM by", "shelve ALARM by reason", "accept ORDER by"
}

type fakeToken struct{ name, role string }

// fakeAlert has the JSON shape of alarms/patrol.Alert.
type fakeAlert struct {
	ID        string          `json:"id"`
	Zone      string          `json:"zone"`
	AlarmID   string          `json:"alarm"`
	Alarms    []alarms.Alarm  `json:"alarms"`
	Message   string          `json:"message"`
	Priority  alarms.Priority `json:"priority"`
	Class     alarms.Class    `json:"class"`
	State     string          `json:"state"`
	Owner     string          `json:"owner,omitempty"`
	ClaimedAt time.Time       `json:"claimed_at,omitzero"`
	CreatedAt time.Time       `json:"created_at"`
}

type fakeOrder struct {
	ID         string    `json:"id"`
	State      string    `json:"state"`
	Category   string    `json:"category"`
	Title      string    `json:"title"`
	Device     string    `json:"device"`
	Zone       string    `json:"zone"`
	Team       string    `json:"team"`
	Priority   string    `json:"priority"`
	AcceptBy   time.Time `json:"accept_by"`
	CompleteBy time.Time `json:"complete_by,omitzero"`
	CreatedAt  time.Time `json:"created_at"`
	UpdatedAt  time.Time `json:"updated_at"`
	// Desk is a desk request's record, as workorders.Desk marshals it.
	Desk map[string]any `json:"desk,omitempty"`
	// ConfinedSpace and Permit are a confined-space job's, as workorders.Permit marshals it.
	ConfinedSpace bool           `json:"confined_space,omitempty"`
	Permit        map[string]any `json:"permit,omitempty"`
	// Since is what GET /api/v1/workorders/{id} adds for an equipment repair awaiting
	// verification (api.OrderView): awaits_verification and readings_since_repair.
	Since map[string]any `json:"-"`
}

var roleRank = map[string]int{"patrol": 1, "customer_service": 2, "engineer": 3, "admin": 4}

func newFakeAPI() *fakeAPI {
	return &fakeAPI{subs: map[chan string]bool{}, tokens: map[string]fakeToken{}, done: make(chan struct{})}
}

// raise adds an active alarm and its patrol alert, and tells the event stream.
func (f *fakeAPI) raise(a alarms.Alarm) {
	f.mu.Lock()
	a.State, a.Active, a.ActivatedAt, a.UpdatedAt = alarms.StateUnacknowledged, true, time.Now(), time.Now()
	f.alarms = append(f.alarms, a)
	f.alerts = append(f.alerts, fakeAlert{ID: fmt.Sprintf("A%d", len(f.alerts)+1), Zone: a.Zone, AlarmID: a.ID, Alarms: []alarms.Alarm{a},
		Message: a.Message, Priority: a.Priority, Class: a.Class, State: "open", CreatedAt: time.Now()})
	f.mu.Unlock()
	f.publish("alarm", map[string]any{"type": "raised", "alarm": a})
}

func (f *fakeAPI) publish(event string, v any) {
	data, _ := json.Marshal(v)
	f.mu.Lock()
	defer f.mu.Unlock()
	for c := range f.subs {
		select {
		case c <- "event: " + event + "\ndata: " + string(data) + "\n\n":
		default:
		}
	}
}

func (f *fakeAPI) did() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.acts...)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func writeErr(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, map[string]string{"error": msg})
}

// handler serves the console and the fake API, with role checks like api/auth.go's.
func (f *fakeAPI) handler() http.Handler {
	mux := http.NewServeMux()
	console.Register(mux)
	guard := func(need string, h func(w http.ResponseWriter, r *http.Request, who fakeToken)) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			who := fakeToken{role: "admin"}
			if len(f.tokens) > 0 {
				tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
				if !ok {
					writeErr(w, http.StatusUnauthorized, "missing token: send Authorization: Bearer TOKEN")
					return
				}
				if who, ok = f.tokens[tok]; !ok {
					writeErr(w, http.StatusUnauthorized, "unknown token")
					return
				}
				if roleRank[who.role] < roleRank[need] {
					writeErr(w, http.StatusForbidden, fmt.Sprintf("%s %s needs role %s; token %q has role %s", r.Method, r.URL.Path, need, who.name, who.role))
					return
				}
			}
			h(w, r, who)
		}
	}
	body := func(r *http.Request) map[string]any {
		m := map[string]any{}
		_ = json.NewDecoder(r.Body).Decode(&m)
		return m
	}
	mux.HandleFunc("GET /api/v1/session", guard("patrol", func(w http.ResponseWriter, r *http.Request, who fakeToken) {
		writeJSON(w, 200, map[string]any{"open": len(f.tokens) == 0, "name": who.name, "role": who.role})
	}))
	mux.HandleFunc("GET /api/v1/devices", guard("patrol", func(w http.ResponseWriter, r *http.Request, _ fakeToken) {
		writeJSON(w, 200, map[string]any{"devices": []map[string]any{
			{"id": "FP-1", "kind": "fire_panel", "building": "B1", "zone": "north", "comm": "online"},
			{"id": "L2-1", "kind": "elevator", "building": "B2", "zone": "south", "comm": "online"},
		}})
	}))
	mux.HandleFunc("GET /api/v1/alarms", guard("patrol", func(w http.ResponseWriter, r *http.Request, _ fakeToken) {
		f.mu.Lock()
		defer f.mu.Unlock()
		writeJSON(w, 200, map[string]any{"alarms": f.alarms})
	}))
	mux.HandleFunc("POST /api/v1/alarms/{id}/{action}", func(w http.ResponseWriter, r *http.Request) {
		need := map[string]string{"ack": "patrol", "shelve": "engineer"}[r.PathValue("action")]
		if need == "" {
			writeErr(w, 404, "no such route: "+r.Method+" "+r.URL.Path)
			return
		}
		guard(need, func(w http.ResponseWriter, r *http.Request, who fakeToken) {
			b := body(r)
			f.mu.Lock()
			defer f.mu.Unlock()
			for i := range f.alarms {
				a := &f.alarms[i]
				if a.ID != r.PathValue("id") {
					continue
				}
				if r.PathValue("action") == "shelve" {
					if a.Class == alarms.ClassLifeSafety {
						writeErr(w, http.StatusConflict, "alarm "+a.ID+" is life safety: it cannot be shelved")
						return
					}
					a.Shelved, a.ShelvedBy = true, who.name
					f.acts = append(f.acts, fmt.Sprintf("shelve %s %v %v", a.ID, b["by"], b["reason"]))
				} else {
					a.State, a.AckedBy, a.AckedAt = alarms.StateAcknowledged, fmt.Sprint(b["by"]), time.Now()
					f.acts = append(f.acts, fmt.Sprintf("ack %s %v", a.ID, b["by"]))
				}
				writeJSON(w, 200, a)
				return
			}
			writeErr(w, 404, "no alarm "+r.PathValue("id"))
		})(w, r)
	})
	mux.HandleFunc("GET /api/v1/patrol/alerts", guard("patrol", func(w http.ResponseWriter, r *http.Request, _ fakeToken) {
		f.mu.Lock()
		defer f.mu.Unlock()
		writeJSON(w, 200, map[string]any{"alerts": f.alerts})
	}))
	mux.HandleFunc("POST /api/v1/patrol/alerts/{id}/claim", guard("patrol", func(w http.ResponseWriter, r *http.Request, _ fakeToken) {
		b := body(r)
		f.mu.Lock()
		for i := range f.alerts {
			a := &f.alerts[i]
			if a.ID != r.PathValue("id") {
				continue
			}
			if a.Owner != "" {
				f.mu.Unlock()
				writeErr(w, http.StatusConflict, "alert "+a.ID+" is already claimed by "+a.Owner)
				return
			}
			a.Owner, a.ClaimedAt, a.State = fmt.Sprint(b["by"]), time.Now(), "claimed"
			f.acts = append(f.acts, fmt.Sprintf("claim %s %v", a.ID, b["by"]))
			out := *a
			f.mu.Unlock()
			f.publish("patrol", map[string]any{"type": "claim", "alert": out})
			writeJSON(w, 200, out)
			return
		}
		f.mu.Unlock()
		writeErr(w, 404, "no such alert")
	}))
	mux.HandleFunc("GET /api/v1/patrol/checklist", guard("patrol", func(w http.ResponseWriter, r *http.Request, _ fakeToken) {
		f.mu.Lock()
		defer f.mu.Unlock()
		writeJSON(w, 200, map[string]any{"checklists": []map[string]any{{"id": "lighting/demo/2026-11-26", "date": "2026-11-26", "items": f.lamps}}})
	}))
	mux.HandleFunc("POST /api/v1/patrol/checklist/{item}/done", guard("patrol", func(w http.ResponseWriter, r *http.Request, _ fakeToken) {
		b := body(r)
		f.mu.Lock()
		defer f.mu.Unlock()
		for _, it := range f.lamps {
			if it["id"] == r.PathValue("item") {
				it["done"], it["done_by"], it["done_at"] = true, b["by"], time.Now()
				f.acts = append(f.acts, fmt.Sprintf("checked %s %v", it["id"], b["by"]))
				writeJSON(w, 200, it)
				return
			}
		}
		writeErr(w, 404, "no checklist item")
	}))
	mux.HandleFunc("GET /api/v1/workorders", guard("patrol", func(w http.ResponseWriter, r *http.Request, _ fakeToken) {
		f.mu.Lock()
		defer f.mu.Unlock()
		writeJSON(w, 200, map[string]any{"orders": f.orders})
	}))
	mux.HandleFunc("GET /api/v1/workorders/{id}", guard("patrol", func(w http.ResponseWriter, r *http.Request, _ fakeToken) {
		f.mu.Lock()
		defer f.mu.Unlock()
		for _, o := range f.orders {
			if o.ID != r.PathValue("id") {
				continue
			}
			b, _ := json.Marshal(o)
			var view map[string]any
			_ = json.Unmarshal(b, &view)
			if o.State == "resolved" && o.Since != nil {
				view["awaits_verification"], view["readings_since_repair"] = true, o.Since
			}
			writeJSON(w, 200, view)
			return
		}
		writeErr(w, 404, "no order "+r.PathValue("id"))
	}))
	mux.HandleFunc("POST /api/v1/workorders/{id}/{transition}", guard("customer_service", func(w http.ResponseWriter, r *http.Request, who fakeToken) {
		b := body(r)
		tr := r.PathValue("transition")
		if desk := tr == "follow_up" || tr == "reopen"; !desk && roleRank[who.role] < roleRank["engineer"] {
			writeErr(w, http.StatusForbidden, fmt.Sprintf("%s %s needs role engineer; token %q has role %s", r.Method, r.URL.Path, who.name, who.role))
			return
		}
		next := map[string]string{"accept": "accepted", "start": "in_progress", "resolve": "resolved", "cancel": "cancelled", "verify": "closed"}[tr]
		act := fmt.Sprintf("%s %s %v", tr, r.PathValue("id"), b["by"])
		if tr == "follow_up" {
			// A repair's call: three points, satisfied only when all are; else reopened.
			p, _ := b["points"].(map[string]any)
			next = "followed_up"
			for _, k := range []string{"timeliness", "quality", "satisfaction"} {
				act += fmt.Sprintf(" %s=%v", k, p[k])
				if p[k] != true {
					next = "accepted"
				}
			}
		}
		f.mu.Lock()
		defer f.mu.Unlock()
		for i := range f.orders {
			o := &f.orders[i]
			if o.ID == r.PathValue("id") && next != "" {
				o.State, o.UpdatedAt = next, time.Now()
				o.CompleteBy = time.Now().Add(4 * time.Hour)
				f.acts = append(f.acts, act)
				writeJSON(w, 200, o)
				return
			}
		}
		writeErr(w, 404, "no order "+r.PathValue("id"))
	}))
	mux.HandleFunc("GET /api/v1/events", guard("patrol", func(w http.ResponseWriter, r *http.Request, _ fakeToken) {
		c := make(chan string, 16)
		f.mu.Lock()
		f.subs[c] = true
		f.mu.Unlock()
		defer func() {
			f.mu.Lock()
			delete(f.subs, c)
			f.mu.Unlock()
		}()
		w.Header().Set("Content-Type", "text/event-stream")
		w.Header().Set("Cache-Control", "no-store")
		fl := w.(http.Flusher)
		fmt.Fprint(w, ": facilityd events\n\n")
		fl.Flush()
		for {
			select {
			case m := <-c:
				fmt.Fprint(w, m)
				fl.Flush()
			case <-r.Context().Done():
				return
			case <-f.done:
				return
			}
		}
	}))
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeErr(w, 404, "no such route: "+r.Method+" "+r.URL.Path)
	})
	return mux
}
