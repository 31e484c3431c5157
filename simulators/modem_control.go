package simulators

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
)

// ModemFaults are the faults a simulated modem takes over the control API.
var ModemFaults = []string{"no_signal", "no_sim"}

// Handler serves the modem's control API, beside the estate's:
//
//	GET    /sim/v1/modems/{id}                    state: signal, SIM, stored messages, calls answered as
//	GET    /sim/v1/modems/{id}/sent               messages sent, parts joined
//	GET    /sim/v1/modems/{id}/calls              calls made
//	POST   /sim/v1/modems/{id}/incoming           {"from": "+86...", "text": "1 A17"}: a text arrives
//	PUT    /sim/v1/modems/{id}/answer             {"result": "answered|busy|no_answer|failed"}
//	POST   /sim/v1/modems/{id}/faults/{fault}     inject no_signal or no_sim
//	DELETE /sim/v1/modems/{id}/faults/{fault}     clear it
//
// JSON in and out; errors are {"error": "..."}: 404 for another modem's id, 400 for a bad
// body or an unknown fault. No authentication: serve it on loopback.
func (m *Modem) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /sim/v1/modems/{id}", m.mine(func(w http.ResponseWriter, r *http.Request) {
		modemJSON(w, http.StatusOK, m.state())
	}))
	mux.HandleFunc("GET /sim/v1/modems/{id}/sent", m.mine(func(w http.ResponseWriter, r *http.Request) {
		modemJSON(w, http.StatusOK, map[string]any{"sent": modemOrEmpty(m.Sent())})
	}))
	mux.HandleFunc("GET /sim/v1/modems/{id}/calls", m.mine(func(w http.ResponseWriter, r *http.Request) {
		modemJSON(w, http.StatusOK, map[string]any{"calls": modemOrEmpty(m.Calls())})
	}))
	mux.HandleFunc("POST /sim/v1/modems/{id}/incoming", m.mine(m.serveIncoming))
	mux.HandleFunc("PUT /sim/v1/modems/{id}/answer", m.mine(m.serveAnswer))
	mux.HandleFunc("POST /sim/v1/modems/{id}/faults/{fault}", m.mine(func(w http.ResponseWriter, r *http.Request) {
		m.serveFault(w, r, true)
	}))
	mux.HandleFunc("DELETE /sim/v1/modems/{id}/faults/{fault}", m.mine(func(w http.ResponseWriter, r *http.Request) {
		m.serveFault(w, r, false)
	}))
	return mux
}

// ModemState is what GET /sim/v1/modems/{id} shows.
type ModemState struct {
	ID       string     `json:"id"`
	Signal   bool       `json:"signal"`
	SIM      bool       `json:"sim"`
	Stored   int        `json:"stored"`
	Answer   CallAnswer `json:"answer"`
	Sent     int        `json:"sent"`
	Calls    int        `json:"calls"`
	Faults   []string   `json:"faults"`
	PDUMode  bool       `json:"pdu_mode"`
	Indicate bool       `json:"indicate_new_messages"`
}

func (m *Modem) state() ModemState {
	m.mu.Lock()
	defer m.mu.Unlock()
	st := ModemState{ID: m.id, Signal: !m.noSignal, SIM: !m.noSIM, Stored: len(m.store), Answer: m.answer,
		Sent: len(m.sent), Calls: len(m.calls), Faults: []string{}, PDUMode: true, Indicate: m.mt != 0}
	if m.noSignal {
		st.Faults = append(st.Faults, "no_signal")
	}
	if m.noSIM {
		st.Faults = append(st.Faults, "no_sim")
	}
	return st
}

// mine answers 404 for another modem's id.
func (m *Modem) mine(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if id := r.PathValue("id"); id != m.id {
			modemError(w, http.StatusNotFound, fmt.Sprintf("no modem %q here; this one is %q", id, m.id))
			return
		}
		h(w, r)
	}
}

func (m *Modem) serveIncoming(w http.ResponseWriter, r *http.Request) {
	var body struct {
		From string `json:"from"`
		Text string `json:"text"`
	}
	if !modemDecodeBody(w, r, &body) {
		return
	}
	if body.From == "" || body.Text == "" {
		modemError(w, http.StatusBadRequest, `give "from" (a phone number) and "text"`)
		return
	}
	if err := m.Deliver(body.From, body.Text); err != nil {
		modemError(w, http.StatusBadRequest, err.Error())
		return
	}
	modemJSON(w, http.StatusAccepted, m.state())
}

func (m *Modem) serveAnswer(w http.ResponseWriter, r *http.Request) {
	var body struct {
		Result CallAnswer `json:"result"`
	}
	if !modemDecodeBody(w, r, &body) {
		return
	}
	switch body.Result {
	case CallAnswered, CallBusy, CallNoAnswer, CallFailed:
	default:
		modemError(w, http.StatusBadRequest, fmt.Sprintf(`"result" %q: want answered, busy, no_answer or failed`, body.Result))
		return
	}
	m.AnswerCalls(body.Result)
	modemJSON(w, http.StatusOK, m.state())
}

func (m *Modem) serveFault(w http.ResponseWriter, r *http.Request, inject bool) {
	switch f := r.PathValue("fault"); f {
	case "no_signal":
		m.SetSignal(!inject)
	case "no_sim":
		m.SetSIM(!inject)
	default:
		modemError(w, http.StatusBadRequest, fmt.Sprintf("modem fault %q: want one of %v", f, ModemFaults))
		return
	}
	modemJSON(w, http.StatusOK, m.state())
}

func modemDecodeBody(w http.ResponseWriter, r *http.Request, v any) bool {
	dec := json.NewDecoder(io.LimitReader(r.Body, 64<<10))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		modemError(w, http.StatusBadRequest, "body: "+err.Error())
		return false
	}
	return true
}

func modemOrEmpty[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

func modemError(w http.ResponseWriter, status int, msg string) {
	modemJSON(w, status, map[string]string{"error": msg})
}

func modemJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v)
}
