package simulators

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
)

// Handler is the simulator control API, which the demo, CI and people at a console use to
// watch the devices and to inject and clear faults while facilityd polls:
//
//	GET    /sim/v1/devices                          every device, its faults and values
//	GET    /sim/v1/devices/{id}                     one device
//	POST   /sim/v1/devices/{id}/faults/{fault}?...  inject (parameters in the query: zone=3)
//	DELETE /sim/v1/devices/{id}/faults/{fault}?...  clear
//	GET    /sim/v1/faults                           the faults of each kind and their parameters
//
// Replies are JSON; errors are {"error": "..."} with 404 for an unknown device and 400 for an
// unknown fault or a bad parameter, each message naming what to fix. It has no authentication:
// serve it on loopback.
func (e *Estate) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /sim/v1/devices", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, map[string]any{"devices": e.Devices()})
	})
	mux.HandleFunc("GET /sim/v1/devices/{id}", func(w http.ResponseWriter, r *http.Request) {
		st, ok := e.Device(r.PathValue("id"))
		if !ok {
			writeError(w, e.unknown(r.PathValue("id")))
			return
		}
		writeJSON(w, http.StatusOK, st)
	})
	mux.HandleFunc("POST /sim/v1/devices/{id}/faults/{fault}", func(w http.ResponseWriter, r *http.Request) {
		e.serveFault(w, r, e.Inject)
	})
	mux.HandleFunc("DELETE /sim/v1/devices/{id}/faults/{fault}", func(w http.ResponseWriter, r *http.Request) {
		e.serveFault(w, r, e.Clear)
	})
	mux.HandleFunc("GET /sim/v1/faults", func(w http.ResponseWriter, r *http.Request) {
		byKind := map[string][]FaultSpec{}
		for k, specs := range kindFaultSpecs {
			byKind[string(k)] = specs
		}
		writeJSON(w, http.StatusOK, map[string]any{"kinds": byKind, "protocol": protocolFaultSpecs})
	})
	return mux
}

// serveFault injects or clears the fault of the path with the query's parameters and answers
// with the device as it is afterwards.
func (e *Estate) serveFault(w http.ResponseWriter, r *http.Request, do func(id, fault string, params map[string]string) error) {
	id, fault := r.PathValue("id"), r.PathValue("fault")
	params := map[string]string{}
	for name, values := range r.URL.Query() {
		if len(values) > 1 {
			writeJSONError(w, http.StatusBadRequest, fmt.Sprintf("parameter %s given %d times; give it once (one fault instance a request)", name, len(values)))
			return
		}
		params[name] = values[0]
	}
	if err := do(id, fault, params); err != nil {
		writeError(w, err)
		return
	}
	st, _ := e.Device(id)
	writeJSON(w, http.StatusOK, st)
}

// writeError answers an Inject or Clear error with the status its sentinel calls for.
func writeError(w http.ResponseWriter, err error) {
	status := http.StatusInternalServerError
	switch {
	case errors.Is(err, ErrUnknownDevice):
		status = http.StatusNotFound
	case errors.Is(err, ErrUnknownFault), errors.Is(err, ErrBadParam):
		status = http.StatusBadRequest
	}
	writeJSONError(w, status, err.Error())
}

func writeJSONError(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, map[string]string{"error": msg})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v)
}
