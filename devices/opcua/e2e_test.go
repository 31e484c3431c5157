package opcua

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/facilityd/facilityd/devices"
	"github.com/facilityd/facilityd/internal/testenv"
	"github.com/facilityd/facilityd/internal/testutil"
)

const plantNS = "urn:facilityd:test:plant"

// chiller is the profile of testdata/server.js's chiller, every point by browse path.
func chiller() *Profile {
	four, twelve := 4.0, 12.0
	p := &Profile{Name: "chiller", Kind: devices.KindGeneric, Namespace: plantNS, Points: []Point{
		{Name: "supply_temp", Node: "/Objects/Plant/Chiller1/SupplyTemp", Type: devices.TypeFloat64, Unit: "°C"},
		{Name: "running", Node: "/Objects/Plant/Chiller1/Running", Type: devices.TypeBool},
		{Name: "setpoint", Node: "/Objects/Plant/Chiller1/Setpoint", Type: devices.TypeFloat64, Unit: "°C", Writable: true, Min: &four, Max: &twelve},
	}}
	if err := p.Validate(); err != nil {
		panic(err)
	}
	return p
}

// longAgo is the test clock's time: a snapshot stamped later than it carries the server's time.
var longAgo = time.Date(2001, 1, 1, 0, 0, 0, 0, time.UTC)

type rig struct {
	t    *testing.T
	logs lockedBuffer
	drv  *Driver
	pki  *PKI
	snap testutil.Recorder[*devices.Snapshot]
	stop func()
}

func startDriver(t *testing.T, conn Connection, prof *Profile, mode Mode) *rig {
	t.Helper()
	pki, err := OpenPKI(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	r := &rig{t: t, pki: pki}
	dev := &Device{Dev: &devices.Device{ID: "chiller-1", Kind: devices.KindGeneric, Interval: 300 * time.Millisecond, Timeout: 3 * time.Second, OfflineAfter: 2},
		Conn: conn, Profile: prof, Mode: mode, Publishing: 100 * time.Millisecond}
	clock := testutil.NewClock(longAgo)
	r.drv, err = New([]*Device{dev}, r.snap.Add, Options{PKI: pki, BackoffMin: 50 * time.Millisecond, BackoffMax: 500 * time.Millisecond,
		Logger: slog.New(slog.NewTextHandler(&r.logs, nil)), Now: clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { r.drv.Run(ctx); close(done) }()
	r.stop = func() { cancel(); <-done }
	t.Cleanup(r.stop)
	return r
}

// since is the snapshots after the n-th.
func (r *rig) since(n int) []*devices.Snapshot {
	all := r.snap.All()
	if n > len(all) {
		return nil
	}
	return all[n:]
}

// waitGood waits for a snapshot after the n-th in which every point is good and supply_temp
// holds a temperature the server produces, and returns its index.
func (r *rig) waitGood(what string, n int) int {
	r.t.Helper()
	found := -1
	testutil.WaitFor(r.t, what, 30*time.Second, func() bool {
		for k, s := range r.since(n) {
			if s.Comm != devices.CommOnline || len(s.Values) != 3 {
				continue
			}
			ok := true
			for _, v := range s.Values {
				ok = ok && v.Quality == devices.QualityGood
			}
			if ok && s.Values[0].Number >= 6 && s.Values[0].Number <= 12 {
				found = n + k
				return true
			}
		}
		return false
	})
	return found
}

// waitLost waits for a snapshot after the n-th that says the device is not online.
func (r *rig) waitLost(what string, n int) int {
	r.t.Helper()
	found := -1
	testutil.WaitFor(r.t, what, 30*time.Second, func() bool {
		for k, s := range r.since(n) {
			if s.Comm != devices.CommOnline {
				found = n + k
				return true
			}
		}
		return false
	})
	return found
}

func none(url string) Connection { return Connection{Endpoint: url, Policy: "None", Mode: "None"} }

func TestNodeSubscriptionReadsByPathWithServerTime(t *testing.T) {
	srv := testenv.NewOPCUAServer(t)
	srv.Start()
	r := startDriver(t, none(srv.URL()), chiller(), ModeSubscribe)
	i := r.waitGood("the chiller's points by subscription", 0)
	s := r.snap.All()[i]
	if !s.Time.After(longAgo.Add(time.Hour)) {
		t.Errorf("snapshot time %v is facilityd's clock, not the server's timestamp", s.Time)
	}
	if s.Values[1].Number != 1 {
		t.Errorf("running = %v, want true", s.Values[1].Number)
	}
	// The supply temperature moves on the server every 100 ms: later snapshots follow it.
	first := s.Values[0].Number
	testutil.WaitFor(t, "a changed supply temperature", 10*time.Second, func() bool {
		for _, s := range r.since(i) {
			if len(s.Values) == 3 && s.Values[0].Quality == devices.QualityGood && s.Values[0].Number != first {
				return true
			}
		}
		return false
	})
}

func TestNodePollReadsByNodeID(t *testing.T) {
	srv := testenv.NewOPCUAServer(t)
	srv.Start()
	prof := &Profile{Name: "chiller-ids", Points: []Point{
		{Name: "supply_temp", Node: "ns=2;i=1001", Type: devices.TypeFloat64},
		{Name: "return_temp", Node: "nsu=" + plantNS + ";i=1002", Type: devices.TypeFloat64, Scale: 10},
		{Name: "missing", Node: "ns=2;s=NoSuchNode", Type: devices.TypeFloat64},
	}}
	if err := prof.Validate(); err != nil {
		t.Fatal(err)
	}
	r := startDriver(t, none(srv.URL()), prof, ModePoll)
	testutil.WaitFor(t, "a polled reading", 30*time.Second, func() bool {
		s, ok := r.snap.Last()
		return ok && len(s.Values) == 3 && s.Values[1].Quality == devices.QualityGood
	})
	s, _ := r.snap.Last()
	if s.Values[0].Quality != devices.QualityGood || s.Values[1].Number != 120 {
		t.Errorf("supply %+v, return %+v: want good values, return 12.0 scaled by 10", s.Values[0], s.Values[1])
	}
	if s.Values[2].Quality != devices.QualityBad {
		t.Errorf("a node the server does not have reads %v, want bad", s.Values[2].Quality)
	}
}

func TestNodeRefusedSubscriptionFallsBackToPolling(t *testing.T) {
	srv := testenv.NewOPCUAServer(t)
	srv.Start("OPCUA_NO_SUBSCRIPTIONS=1")
	r := startDriver(t, none(srv.URL()), chiller(), ModeSubscribe)
	r.waitGood("polled readings from a server that refuses subscriptions", 0)
	if !strings.Contains(r.logs.String(), "polling instead") || !strings.Contains(r.logs.String(), "BadTooManySubscriptions") {
		t.Errorf("the log does not say the subscription was refused and the device is polled:\n%s", r.logs.String())
	}
}

func TestNodeSubscriptionSurvivesServerRestart(t *testing.T) {
	srv := testenv.NewOPCUAServer(t)
	srv.Start()
	r := startDriver(t, none(srv.URL()), chiller(), ModeSubscribe)
	i := r.waitGood("readings before the restart", 0)
	srv.Stop()
	lost := r.waitLost("the device reported not online while the server is down", i)
	srv.Start()
	r.waitGood("readings after the restart, facilityd not restarted", lost)
}

func TestNodeSubscriptionSurvivesNewIDsAndNamespaceOrder(t *testing.T) {
	srv := testenv.NewOPCUAServer(t)
	srv.Start()
	r := startDriver(t, none(srv.URL()), chiller(), ModeSubscribe)
	i := r.waitGood("readings before the restart", 0)
	srv.Stop()
	lost := r.waitLost("the device reported not online while the server is down", i)
	// After this reboot the plant's namespace has index 3, not 2, and its variables other
	// numeric ids: the browse paths find them again.
	srv.Start("OPCUA_ID_BASE=5001", "OPCUA_EXTRA_NS=1")
	r.waitGood("readings after the reboot with new ids", lost)
}

func TestNodeSubscriptionSurvivesDroppedChannel(t *testing.T) {
	srv := testenv.NewOPCUAServer(t)
	srv.Start()
	p := newCutter(t, srv.Port)
	r := startDriver(t, none(p.url()), chiller(), ModeSubscribe)
	i := r.waitGood("readings through the proxy", 0)
	p.cut()
	lost := r.waitLost("the device reported not online once the channel is cut", i)
	r.waitGood("readings after the channel was cut", lost)
	if n := p.accepted(); n > 2+2 {
		t.Errorf("%d connections for one cut: the gateway should open one session again, not one per retry", n)
	}
}

func TestNodeSecureEndpointNeedsTrust(t *testing.T) {
	srv := testenv.NewOPCUAServer(t)
	srv.Start("OPCUA_SECURE=1")
	// A None device against a secure-only server is told what the server offers.
	_, err := dial(context.Background(), none(srv.URL()), nil, nil)
	if err == nil || !strings.Contains(err.Error(), "Basic256Sha256/SignAndEncrypt") {
		t.Fatalf("policy None against a SignAndEncrypt-only server: %v, want the offered endpoints named", err)
	}
	for _, policy := range []string{"Basic256Sha256", "Aes128_Sha256_RsaOaep", "Aes256_Sha256_RsaPss"} {
		t.Run(policy, func(t *testing.T) {
			conn := Connection{Endpoint: srv.URL(), Policy: policy, Mode: "SignAndEncrypt"}
			r := startDriver(t, conn, chiller(), ModeSubscribe)
			// Refused, attempt after attempt, and shown once.
			testutil.WaitFor(t, "three refused attempts", 30*time.Second, func() bool { return r.snap.Len() >= 3 })
			for _, s := range r.snap.All() {
				if s.Comm == devices.CommOnline || !errors.Is(s.Err, ErrUntrusted) {
					t.Fatalf("untrusted server: snapshot %v %v, want refused as untrusted", s.Comm, s.Err)
				}
			}
			if n := strings.Count(r.logs.String(), "server certificate not trusted"); n != 1 {
				t.Errorf("refusal logged %d times, want once:\n%s", n, r.logs.String())
			}
			refused, err := r.pki.Untrusted()
			if err != nil || len(refused) != 1 {
				t.Fatalf("refused certificates %v, %v: want the server's", refused, err)
			}
			if !strings.Contains(r.logs.String(), refused[0]) {
				t.Errorf("the log does not name thumbprint %s", refused[0])
			}
			if _, err := r.pki.Trust(refused[0]); err != nil {
				t.Fatal(err)
			}
			r.waitGood("readings over "+policy+" SignAndEncrypt once trusted", r.snap.Len())
		})
	}
}

func TestNodeIdentitiesAndSign(t *testing.T) {
	srv := testenv.NewOPCUAServer(t)
	srv.Start()
	conn := Connection{Endpoint: srv.URL(), Policy: "Basic256Sha256", Mode: "SignAndEncrypt", Auth: AuthUsername, Username: "operator", Password: "wrong"}
	pki, err := OpenPKI(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	var tp string
	dial(context.Background(), conn, pki, func(s string) { tp = s })
	if _, err := pki.Trust(tp); err != nil {
		t.Fatal(err)
	}
	if cl, err := dial(context.Background(), conn, pki, nil); err == nil {
		cl.Close(context.Background())
		t.Fatal("a wrong password opened a session")
	}
	conn.Password = "secret"
	cl, err := dial(context.Background(), conn, pki, nil)
	if err != nil {
		t.Fatalf("operator/secret: %v", err)
	}
	cl.Close(context.Background())
	// Signed, not encrypted.
	cl, err = dial(context.Background(), Connection{Endpoint: srv.URL(), Policy: "Aes128_Sha256_RsaOaep", Mode: "Sign"}, pki, nil)
	if err != nil {
		t.Fatalf("Aes128_Sha256_RsaOaep/Sign: %v", err)
	}
	cl.Close(context.Background())
	// The certificate identity, with facilityd's application certificate as the user's.
	conn = Connection{Endpoint: srv.URL(), Policy: "Basic256Sha256", Mode: "SignAndEncrypt", Auth: AuthCertificate}
	cl, err = dial(context.Background(), conn, pki, nil)
	if err != nil {
		t.Fatalf("certificate identity: %v", err)
	}
	cl.Close(context.Background())
}

func TestNodeWriteReadsBack(t *testing.T) {
	srv := testenv.NewOPCUAServer(t)
	srv.Start()
	r := startDriver(t, none(srv.URL()), chiller(), ModeSubscribe)
	r.waitGood("readings", 0)
	ctx := context.Background()
	got, err := r.drv.Write(ctx, "chiller-1", "setpoint", devices.Value{Number: 8.5})
	if err != nil || got.Number != 8.5 {
		t.Fatalf("write setpoint 8.5: read back %+v, %v", got, err)
	}
	testutil.WaitFor(t, "the new setpoint in a reading", 10*time.Second, func() bool {
		s, ok := r.snap.Last()
		return ok && len(s.Values) == 3 && s.Values[2].Number == 8.5
	})
	if _, err := r.drv.Write(ctx, "chiller-1", "setpoint", devices.Value{Number: 20}); !errors.Is(err, ErrOutOfLimits) {
		t.Errorf("setpoint 20 above max 12: %v, want ErrOutOfLimits", err)
	}
	if _, err := r.drv.Write(ctx, "chiller-1", "running", devices.Value{Number: 0}); !errors.Is(err, ErrNotWritable) {
		t.Errorf("running is not writable: %v, want ErrNotWritable", err)
	}
}

// cutter is a TCP proxy in front of the server that can drop every connection at once: a
// channel lost on the network while the server stays up.
type cutter struct {
	l     net.Listener
	port  int
	mu    sync.Mutex
	conns []net.Conn
	n     int
}

func newCutter(t *testing.T, port int) *cutter {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	c := &cutter{l: l, port: port}
	t.Cleanup(func() { l.Close(); c.cut() })
	go func() {
		for {
			in, err := l.Accept()
			if err != nil {
				return
			}
			out, err := net.Dial("tcp", "127.0.0.1:"+strconv.Itoa(port))
			if err != nil {
				in.Close()
				continue
			}
			c.mu.Lock()
			c.conns = append(c.conns, in, out)
			c.n++
			c.mu.Unlock()
			go func() { io.Copy(out, in); out.Close() }()
			go func() { io.Copy(in, out); in.Close() }()
		}
	}()
	return c
}

func (c *cutter) url() string { return "opc.tcp://" + c.l.Addr().String() }

func (c *cutter) cut() {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, conn := range c.conns {
		conn.Close()
	}
	c.conns = nil
}

func (c *cutter) accepted() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.n
}

// lockedBuffer is a log sink the driver's goroutines write while the test reads.
type lockedBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}
