package opcua

import (
	"context"
	"log/slog"
	"net"
	"strconv"
	"testing"
	"time"

	"github.com/gopcua/opcua/id"
	"github.com/gopcua/opcua/server"
	"github.com/gopcua/opcua/ua"

	"github.com/facilityd/facilityd/devices"
	"github.com/facilityd/facilityd/internal/testutil"
)

// startGopcua runs gopcua's in-process server (security None, anonymous only) with one
// variable, Plant.Flow = 42.5, in namespace urn:facilityd:test:inprocess, and returns its URL.
func startGopcua(t *testing.T, port int) (*server.Server, string) {
	t.Helper()
	s := server.New(server.EnableSecurity("None", ua.MessageSecurityModeNone),
		server.EnableAuthMode(ua.UserTokenTypeAnonymous), server.EndPoint("127.0.0.1", port),
		server.SetLogger(slog.New(slog.DiscardHandler)))
	root, _ := s.Namespace(0)
	if err := s.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	ns := server.NewNodeNameSpace(s, "urn:facilityd:test:inprocess")
	root.Objects().AddRef(ns.Objects(), id.HasComponent, true)
	flow := ns.AddNewVariableStringNode("Plant.Flow", 42.5)
	ns.Objects().AddRef(flow, id.HasComponent, true)
	return s, "opc.tcp://127.0.0.1:" + strconv.Itoa(port)
}

// TestInProcessPollThenOffline: without Node.js, a device polled by node id with its namespace
// by URI reads the server's value; once the server is gone the device turns offline, every
// point comm_fail, after offline_after failed attempts.
func TestInProcessPollThenOffline(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	srv, url := startGopcua(t, port)
	prof := &Profile{Name: "flow", Points: []Point{
		{Name: "flow", Node: "nsu=urn:facilityd:test:inprocess;s=Plant.Flow", Type: devices.TypeFloat64, Scale: 2},
	}}
	if err := prof.Validate(); err != nil {
		t.Fatal(err)
	}
	var rec testutil.Recorder[*devices.Snapshot]
	dev := &Device{Dev: &devices.Device{ID: "FM-1", Interval: 100 * time.Millisecond, Timeout: time.Second, OfflineAfter: 2},
		Conn: Connection{Endpoint: url}, Profile: prof, Mode: ModePoll}
	drv, err := New([]*Device{dev}, rec.Add, Options{BackoffMin: 20 * time.Millisecond, BackoffMax: 100 * time.Millisecond,
		Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { drv.Run(ctx); close(done) }()
	defer func() { cancel(); <-done }()

	testutil.WaitFor(t, "the flow read", 10*time.Second, func() bool {
		s, ok := rec.Last()
		return ok && s.Comm == devices.CommOnline && len(s.Values) == 1 && s.Values[0].Quality == devices.QualityGood
	})
	if s, _ := rec.Last(); s.Values[0].Number != 85 {
		t.Errorf("flow %v, want 42.5 scaled by 2", s.Values[0].Number)
	}
	srv.Close()
	testutil.WaitFor(t, "the device offline", 10*time.Second, func() bool {
		s, ok := rec.Last()
		return ok && s.Comm == devices.CommOffline && len(s.Values) == 1 && s.Values[0].Quality == devices.QualityCommFail
	})
}
