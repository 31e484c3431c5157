// Package api is facilityd's HTTP interface: health, Prometheus metrics and the JSON API over
// the live cache. JSON in and out; errors are {"error": "..."} with a fitting status code.
package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/facilityd/facilityd/devices"
	"github.com/facilityd/facilityd/devices/commands"
)

// Server serves the API.
type Server struct {
	latest  *devices.Latest
	gather  prometheus.Gatherer
	log     *slog.Logger
	mux     *http.ServeMux
	started time.Time
	auth    *Auth
	handler http.Handler // mux behind auth and the body limit
	// commands, once registered, says which points of a device may be written.
	commands Commands

	policy     Policy
	actors     map[string]bool
	listenHost string // the host of the bound address, a name the API answers to
	streams    streamGate

	tlsCert, tlsKey string

	brokerAccepting func() bool // the embedded broker's, if any
}

// UseBroker reports the embedded broker in /healthz: a broker that no longer accepts
// connections leaves handsets without alerts, so the daemon is not healthy.
func (s *Server) UseBroker(accepting func() bool) { s.brokerAccepting = accepting }

// MaxBodyBytes bounds a request body: the API takes small JSON commands only.
const MaxBodyBytes = 1 << 20

// UseAuth guards every route with a's tokens (nil or no tokens: open). Call it before serving.
func (s *Server) UseAuth(a *Auth) {
	s.auth = a
	s.handler = nil
}

// UseTLS serves HTTPS with the PEM certificate and key files.
func (s *Server) UseTLS(certFile, keyFile string) { s.tlsCert, s.tlsKey = certFile, keyFile }

// New builds the API over the live cache; gather supplies /metrics.
func New(latest *devices.Latest, gather prometheus.Gatherer, log *slog.Logger) *Server {
	if log == nil {
		log = slog.Default()
	}
	s := &Server{latest: latest, gather: gather, log: log, mux: http.NewServeMux(), started: time.Now(), policy: Policy{MaxStreams: DefaultMaxStreams}}
	s.Handle("GET /healthz", http.HandlerFunc(s.health))
	s.Handle("GET /metrics", promhttp.HandlerFor(gather, promhttp.HandlerOpts{ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelWarn)}))
	s.Handle("GET /api/v1/devices", http.HandlerFunc(s.listDevices))
	s.Handle("GET /api/v1/devices/{id}", http.HandlerFunc(s.getDevice))
	s.Handle("/", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusNotFound, "no such route: "+r.Method+" "+r.URL.Path)
	}))
	return s
}

// Handle adds a route, for other components that serve through the same listener. The
// pattern must be in the route table (Routes), which says who may call it; any other panics,
// as a programming error the first test run shows.
func (s *Server) Handle(pattern string, h http.Handler) {
	rt, ok := routeByPattern(pattern)
	if !ok {
		panic("api: route " + quote(pattern) + " is not in the route table (api/routes.go): add it there with its role")
	}
	if rt.Stream {
		h = s.stream(h)
	}
	if rt.Long {
		h = long(h)
	}
	s.mux.Handle(pattern, h)
}

// stream admits at most Policy.MaxStreams clients, and at most streamShare of them per token
// (per remote address in open mode), and lifts the server's write timeout for
// them: the handler sets a deadline per event instead.
func (s *Server) stream(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		who := streamHolder(r)
		switch s.streams.enter(who, s.policy.MaxStreams) {
		case streamsFull:
			w.Header().Set("Retry-After", "30")
			writeError(w, http.StatusServiceUnavailable, fmt.Sprintf("too many event streams (http.max_streams %d): close another console or raise the limit", s.policy.MaxStreams))
			return
		case streamsShareFull:
			w.Header().Set("Retry-After", "30")
			writeError(w, http.StatusServiceUnavailable, fmt.Sprintf("too many event streams for %s (%d of http.max_streams %d): close another of its consoles", who, streamShare(s.policy.MaxStreams), s.policy.MaxStreams))
			return
		}
		defer s.streams.leave(who)
		_ = http.NewResponseController(w).SetWriteDeadline(time.Now().Add(StreamWriteTimeout))
		h.ServeHTTP(w, r)
	})
}

// long lets a handler write for up to LongWriteTimeout. net/http/pprof refuses a profile
// longer than the server's WriteTimeout, which it finds in the context; it is hidden here, the
// deadline having been extended.
func long(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_ = http.NewResponseController(w).SetWriteDeadline(time.Now().Add(LongWriteTimeout))
		h.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), http.ServerContextKey, struct{}{})))
	})
}

// ServeHTTP makes Server an http.Handler: the Host, origin and content-type checks, then the
// tokens, then the route.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h := s.handler
	if h == nil {
		h = s.auth.Wrap(s.mux)
	}
	if !s.guard(w, r) {
		return
	}
	if r.Body != nil {
		r.Body = http.MaxBytesReader(w, r.Body, MaxBodyBytes)
	}
	h.ServeHTTP(w, s.withActors(r))
}

// ListenAndServe serves the API on addr until ctx ends; see Serve.
func (s *Server) ListenAndServe(ctx context.Context, addr string, ready func(net.Addr)) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	return s.ServeListener(ctx, ln, addr, ready)
}

// ServeListener serves the API on ln, bound beforehand to the configured addr (so that a taken
// port fails the start rather than the run), until ctx ends; see Serve. addr's host is the
// name requests may give in Host besides loopback.
func (s *Server) ServeListener(ctx context.Context, ln net.Listener, addr string, ready func(net.Addr)) error {
	s.handler = s.auth.Wrap(s.mux)
	return serveOn(ctx, ln, s, func(a net.Addr) {
		if host, _, err := net.SplitHostPort(a.String()); err == nil {
			s.listenHost = host
		}
		if h, _, err := net.SplitHostPort(addr); err == nil && h != "" {
			s.listenHost = h // the configured name, e.g. gateway.estate.lan
		}
		if ready != nil {
			ready(a)
		}
	}, s.tlsCert, s.tlsKey)
}

// Serve serves h on addr, with timeouts that keep a slow or idle client from holding a
// connection, until ctx ends; then it shuts down, letting requests in flight finish for up to
// five seconds. ready, if not nil, receives the bound address.
func Serve(ctx context.Context, addr string, h http.Handler, ready func(net.Addr)) error {
	return serve(ctx, addr, h, ready, "", "")
}

func serve(ctx context.Context, addr string, h http.Handler, ready func(net.Addr), certFile, keyFile string) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	return serveOn(ctx, ln, h, ready, certFile, keyFile)
}

func serveOn(ctx context.Context, ln net.Listener, h http.Handler, ready func(net.Addr), certFile, keyFile string) error {
	var err error
	if ready != nil {
		ready(ln.Addr())
	}
	srv := &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      WriteTimeout, // a stream sets its own deadline per event
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
	}
	errc := make(chan error, 1)
	go func() {
		if certFile != "" {
			errc <- srv.ServeTLS(ln, certFile, keyFile)
			return
		}
		errc <- srv.Serve(ln)
	}()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	err = srv.Shutdown(shutdownCtx)
	if serveErr := <-errc; !errors.Is(serveErr, http.ErrServerClosed) && err == nil {
		err = serveErr
	}
	return err
}

type healthResponse struct {
	Status  string         `json:"status"`
	Uptime  string         `json:"uptime"`
	Devices map[string]int `json:"devices"`
	// Broker is the embedded broker's state: "accepting" or "not accepting" (absent with
	// mqtt.url).
	Broker string `json:"broker,omitempty"`
}

func (s *Server) health(w http.ResponseWriter, r *http.Request) {
	counts := map[string]int{}
	for _, st := range s.latest.List() {
		counts[st.Comm.String()]++
	}
	resp, code := healthResponse{Status: "ok", Uptime: time.Since(s.started).Round(time.Second).String(), Devices: counts}, http.StatusOK
	if s.brokerAccepting != nil {
		resp.Broker = "accepting"
		if !s.brokerAccepting() {
			resp.Broker, resp.Status, code = "not accepting", "degraded", http.StatusServiceUnavailable
		}
	}
	writeJSON(w, code, resp)
}

// DeviceSummary is one device in GET /api/v1/devices.
type DeviceSummary struct {
	ID       string       `json:"id"`
	Kind     devices.Kind `json:"kind"`
	Site     string       `json:"site"`
	Building string       `json:"building,omitempty"`
	Zone     string       `json:"zone,omitempty"`
	Profile  string       `json:"profile"`
	Address  string       `json:"address,omitempty"`
	Unit     *uint8       `json:"unit,omitempty"`
	// Endpoint, Security and Auth say where and how an OPC UA device is read:
	// opc.tcp://host:port, policy/mode ("Basic256Sha256/SignAndEncrypt") and the identity.
	Endpoint  string            `json:"endpoint,omitempty"`
	Security  string            `json:"security,omitempty"`
	Auth      string            `json:"auth,omitempty"`
	Comm      devices.Comm      `json:"comm"`
	LastPoll  *time.Time        `json:"last_poll,omitempty"`
	LastOK    *time.Time        `json:"last_ok,omitempty"`
	LastError string            `json:"last_error,omitempty"`
	Polls     uint64            `json:"polls"`
	Failures  uint64            `json:"failures"`
	Tags      map[string]string `json:"tags,omitempty"`
}

// DeviceDetail is GET /api/v1/devices/{id}: the summary, the latest readings, and the points a
// write may go to (whatever the caller's role: the console hides controls by role itself).
type DeviceDetail struct {
	DeviceSummary
	Readings []devices.Reading   `json:"readings"`
	Writable []commands.Writable `json:"writable,omitempty"`
}

func summary(st *devices.State) DeviceSummary {
	d := st.Device
	out := DeviceSummary{
		ID: d.ID, Kind: d.Kind, Site: d.Site, Building: d.Building, Zone: d.Zone,
		Comm: st.Comm, LastError: st.LastError, Polls: st.Polls, Failures: st.Failures, Tags: d.Tags,
	}
	if d.Profile != nil {
		out.Profile = d.Profile.Name
	}
	if d.Modbus != nil {
		out.Address = d.Modbus.Address
		unit := d.Modbus.Unit
		out.Unit = &unit
	}
	if d.BACnet != nil {
		out.Address = d.BACnet.Address // empty for a device found by Who-Is
	}
	if o := d.OPCUA; o != nil {
		out.Endpoint, out.Security, out.Auth = o.Endpoint, o.Security, o.Auth
	}
	if !st.LastPoll.IsZero() {
		t := st.LastPoll
		out.LastPoll = &t
	}
	if !st.LastOK.IsZero() {
		t := st.LastOK
		out.LastOK = &t
	}
	return out
}

func (s *Server) listDevices(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	list := []DeviceSummary{}
	for _, st := range s.latest.List() {
		if !match(q.Get("kind"), string(st.Device.Kind)) || !match(q.Get("zone"), st.Device.Zone) ||
			!match(q.Get("building"), st.Device.Building) || !match(q.Get("comm"), st.Comm.String()) {
			continue
		}
		list = append(list, summary(&st))
	}
	writeJSON(w, http.StatusOK, map[string]any{"devices": list})
}

func match(filter, value string) bool { return filter == "" || filter == value }

func (s *Server) getDevice(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	st, ok := s.latest.Get(id)
	if !ok {
		writeError(w, http.StatusNotFound, "no device "+quote(id)+"; GET /api/v1/devices lists them")
		return
	}
	readings := st.Readings()
	if readings == nil {
		readings = []devices.Reading{}
	}
	detail := DeviceDetail{DeviceSummary: summary(&st), Readings: readings}
	if s.commands != nil {
		detail.Writable = s.commands.Writable(id)
	}
	writeJSON(w, http.StatusOK, detail)
}

func quote(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v)
}

func writeError(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, map[string]string{"error": msg})
}
