package simulators

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gopcua/opcua/id"
	uaserver "github.com/gopcua/opcua/server"
	"github.com/gopcua/opcua/server/attrs"
	"github.com/gopcua/opcua/ua"
	"github.com/gopcua/opcua/uasc"
)

// OPCUAServer is a simulated OPC UA server: gopcua's in-process server on loopback, security
// None and anonymous only, with one namespace of its own whose variables sit in folders below
// the Objects folder. It stands in for a plant's controller in the demo and for the load of a
// building-management server in `make bench`; the foreign server that decides the end-to-end
// tests is node-opcua's (devices/opcua/testdata).
//
// gopcua's server answers TranslateBrowsePathsToNodeIds with BadServiceUnsupported (v0.8.0,
// server/view_service.go), so the simulator answers it from the paths it built: points located
// by browse path, as a profile should locate them, resolve here as on a full server.
//
// A variable's value lives in the simulator (OPCUAVariable), read by the node through a value
// function that never changes, and the simulator answers Write itself: gopcua v0.8.0's own
// write replaces the node's value function with no lock while subscriptions and reads call it
// from other goroutines, a data race on every write and on every change the plant makes.
type OPCUAServer struct {
	srv *uaserver.Server
	ns  *uaserver.NodeNameSpace
	url string

	mu    sync.Mutex
	nsIdx uint16
	paths map[string]*uaserver.Node // "/Objects/Plant/Chiller1/SupplyTemp" → node
	vars  map[string]*OPCUAVariable // node id ("ns=2;s=Plant.Chiller1.SupplyTemp") → variable
}

// NewOPCUAServer starts a server on addr (host:port; port 0 picks a free one) with the
// namespace named by uri. log, if not nil, hears that it listens; gopcua's own log (printf
// formats given to slog, and errors about its built-in node set at every start) is discarded.
func NewOPCUAServer(addr, uri string, log *slog.Logger) (*OPCUAServer, error) {
	host, port, err := freePort(addr)
	if err != nil {
		return nil, fmt.Errorf("opcua simulator %s: %w", addr, err)
	}
	srv := uaserver.New(uaserver.EnableSecurity("None", ua.MessageSecurityModeNone),
		uaserver.EnableAuthMode(ua.UserTokenTypeAnonymous), uaserver.EndPoint(host, port), uaserver.SetLogger(slog.New(slog.DiscardHandler)))
	root, err := srv.Namespace(0)
	if err != nil {
		return nil, err
	}
	s := &OPCUAServer{srv: srv, url: "opc.tcp://" + net.JoinHostPort(host, strconv.Itoa(port)), paths: map[string]*uaserver.Node{}, vars: map[string]*OPCUAVariable{}}
	// Before Start, which installs gopcua's own handlers where none is registered.
	srv.RegisterHandler(id.TranslateBrowsePathsToNodeIDsRequest_Encoding_DefaultBinary, s.translate)
	srv.RegisterHandler(id.WriteRequest_Encoding_DefaultBinary, s.write)
	if err := srv.Start(context.Background()); err != nil {
		return nil, fmt.Errorf("opcua simulator %s: %w", addr, err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.ns = uaserver.NewNodeNameSpace(srv, uri)
	s.nsIdx = s.ns.ID()
	root.Objects().AddRef(s.ns.Objects(), id.HasComponent, true)
	if log != nil {
		log.Info("opcua server started", "endpoint", s.url, "namespace", uri)
	}
	return s, nil
}

// freePort splits addr and, for port 0, finds a free port on its host (gopcua's server needs
// the port before it listens, to name it in its endpoints).
func freePort(addr string) (string, int, error) {
	host, p, err := net.SplitHostPort(addr)
	if err != nil {
		return "", 0, err
	}
	port, err := strconv.Atoi(p)
	if err != nil {
		return "", 0, fmt.Errorf("port %q: %w", p, err)
	}
	if port != 0 {
		return host, port, nil
	}
	l, err := net.Listen("tcp", net.JoinHostPort(host, "0"))
	if err != nil {
		return "", 0, err
	}
	defer l.Close()
	return host, l.Addr().(*net.TCPAddr).Port, nil
}

// URL is the server's endpoint, opc.tcp://host:port.
func (s *OPCUAServer) URL() string { return s.url }

// Namespace is the index of the simulator's namespace in the server's namespace array.
func (s *OPCUAServer) Namespace() uint16 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.nsIdx
}

// Close stops the server and drops its connections.
func (s *OPCUAServer) Close() error { return s.srv.Close() }

// AddVariable adds a variable at path (folders separated by '/', below the Objects folder,
// e.g. "Plant/Chiller1/SupplyTemp"), with the string node id of its path joined by dots
// ("Plant.Chiller1.SupplyTemp") and value as its first value. Folders are made as needed.
// A read-only variable refuses writes (BadUserAccessDenied).
func (s *OPCUAServer) AddVariable(path string, value any, writable bool) *OPCUAVariable {
	s.mu.Lock()
	defer s.mu.Unlock()
	names := strings.Split(strings.Trim(path, "/"), "/")
	parent, at := s.ns.Objects(), "/Objects"
	for _, name := range names[:len(names)-1] {
		at += "/" + name
		folder, ok := s.paths[at]
		if !ok {
			folder = newFolder(ua.NewStringNodeID(s.nsIdx, strings.ReplaceAll(strings.TrimPrefix(at, "/Objects/"), "/", ".")), name)
			s.ns.AddNode(folder)
			parent.AddRef(folder, id.HasComponent, true)
			s.paths[at] = folder
		}
		parent = folder
	}
	ov := &OPCUAVariable{writable: writable}
	ov.val.Store(stamped(ua.MustVariant(value), time.Now()))
	v := uaserver.NewVariableNode(ua.NewStringNodeID(s.nsIdx, strings.Join(names, ".")), names[len(names)-1], func() *ua.DataValue { return ov.val.Load() })
	s.ns.AddNode(v)
	v.SetBrowseName(names[len(names)-1])
	if !writable {
		_ = v.SetAttribute(ua.AttributeIDAccessLevel, uaserver.DataValueFromValue(uint8(ua.AccessLevelTypeCurrentRead)))
	}
	parent.AddRef(v, id.HasComponent, true)
	s.paths[at+"/"+names[len(names)-1]] = v
	ov.n = v
	s.vars[v.ID().String()] = ov
	return ov
}

// stamped is value as a data value with its source and server timestamps at now.
func stamped(value *ua.Variant, now time.Time) *ua.DataValue {
	return &ua.DataValue{
		EncodingMask: ua.DataValueValue | ua.DataValueSourceTimestamp | ua.DataValueServerTimestamp,
		Value:        value, SourceTimestamp: now, ServerTimestamp: now,
	}
}

// newFolder is a folder object (gopcua v0.8.0's NewFolderNode panics: it makes a variant of a
// ua.NodeClass, which ua.MustVariant does not take).
func newFolder(nodeID *ua.NodeID, name string) *uaserver.Node {
	return uaserver.NewNode(nodeID, map[ua.AttributeID]*ua.DataValue{
		ua.AttributeIDNodeClass:     uaserver.DataValueFromValue(uint32(ua.NodeClassObject)),
		ua.AttributeIDBrowseName:    uaserver.DataValueFromValue(attrs.BrowseName(name)),
		ua.AttributeIDDisplayName:   uaserver.DataValueFromValue(attrs.DisplayName(name, name)),
		ua.AttributeIDDescription:   uaserver.DataValueFromValue(uint32(ua.NodeClassObject)),
		ua.AttributeIDDataType:      uaserver.DataValueFromValue(ua.NewNumericExpandedNodeID(0, id.FolderType)),
		ua.AttributeIDEventNotifier: uaserver.DataValueFromValue(int16(0)),
	}, []*ua.ReferenceDescription{}, nil)
}

// OPCUAVariable is one variable of an OPCUAServer: its node and its present value.
type OPCUAVariable struct {
	n        *uaserver.Node
	val      atomic.Pointer[ua.DataValue]
	writable bool
}

// Set gives a variable a new value, stamped now, and notifies its monitored items.
func (s *OPCUAServer) Set(v *OPCUAVariable, value any) {
	dv := stamped(ua.MustVariant(value), time.Now())
	v.val.Store(dv)
	s.notify(v.n, dv)
}

// write answers Write (OPC UA Part 4, 5.10.4): a writable variable's value takes the written
// one, stamped now, and its monitored items hear it; anything else is refused by its status.
func (s *OPCUAServer) write(_ *uasc.SecureChannel, r ua.Request, _ uint32) (ua.Response, error) {
	req, ok := r.(*ua.WriteRequest)
	if !ok {
		return nil, fmt.Errorf("opcua simulator: write: unexpected %T", r)
	}
	res := &ua.WriteResponse{
		ResponseHeader: &ua.ResponseHeader{Timestamp: time.Now(), RequestHandle: req.RequestHeader.RequestHandle,
			ServiceResult: ua.StatusOK, ServiceDiagnostics: &ua.DiagnosticInfo{}, StringTable: []string{},
			AdditionalHeader: ua.NewExtensionObject(nil)},
		DiagnosticInfos: []*ua.DiagnosticInfo{},
	}
	for _, w := range req.NodesToWrite {
		res.Results = append(res.Results, s.writeOne(w))
	}
	return res, nil
}

// writeOne is one value's write and its status.
func (s *OPCUAServer) writeOne(w *ua.WriteValue) ua.StatusCode {
	if w == nil || w.NodeID == nil {
		return ua.StatusBadNodeIDInvalid
	}
	s.mu.Lock()
	v := s.vars[w.NodeID.String()]
	s.mu.Unlock()
	switch {
	case v == nil:
		return ua.StatusBadNodeIDUnknown
	case w.AttributeID != ua.AttributeIDValue:
		return ua.StatusBadNotWritable
	case !v.writable:
		return ua.StatusBadUserAccessDenied
	case w.Value == nil || w.Value.Value == nil:
		return ua.StatusBadTypeMismatch
	}
	dv := stamped(w.Value.Value, time.Now())
	v.val.Store(dv)
	s.notify(v.n, dv)
	return ua.StatusOK
}

// notify hands a new value to the node's monitored items without waiting. gopcua v0.8.0's own
// ChangeNotification sends on each subscription's queue (100 deep) while it holds the
// monitored items' lock, so once a subscription stops reading (its client gone) the sender
// blocks for ever and the subscription, deleting its items, waits for the same lock: the
// server then serves no subscription again. A full queue drops the change instead; the
// subscription publishes the newest value of each item, which the next change brings. gopcua's
// server still blocks so on its own in two places this cannot reach: the first value of each new
// monitored item (sent by a goroutine of its own, 100 at most before the client reads), and
// CreateMonitoredItems racing a subscription's deletion (the two take the same two locks in
// opposite orders). The demo's four items meet neither; a bench server of thousands of items
// publishes more slowly than its variables change (docs/benchmarks.md).
func (s *OPCUAServer) notify(n *uaserver.Node, dv *ua.DataValue) {
	mis := s.srv.MonitoredItemService
	mis.Mu.Lock()
	defer mis.Mu.Unlock()
	for _, item := range mis.Nodes[n.ID().String()] {
		if item == nil || item.Sub == nil || item.Req == nil || item.Req.RequestedParameters == nil {
			continue
		}
		select {
		case item.Sub.NotifyChannel <- &ua.MonitoredItemNotification{ClientHandle: item.Req.RequestedParameters.ClientHandle, Value: dv}:
		default:
		}
	}
}

// Value is a variable's present value (after a client's write, the written one).
func (s *OPCUAServer) Value(v *OPCUAVariable) any {
	dv := v.val.Load()
	if dv == nil || dv.Value == nil {
		return nil
	}
	return dv.Value.Value()
}

// translate answers TranslateBrowsePathsToNodeIds (OPC UA Part 4, 5.8.4) for paths that start
// at the Objects folder and name the simulator's namespace, which is all the simulator serves.
func (s *OPCUAServer) translate(_ *uasc.SecureChannel, r ua.Request, _ uint32) (ua.Response, error) {
	req, ok := r.(*ua.TranslateBrowsePathsToNodeIDsRequest)
	if !ok {
		return nil, fmt.Errorf("opcua simulator: translate: unexpected %T", r)
	}
	res := &ua.TranslateBrowsePathsToNodeIDsResponse{
		ResponseHeader: &ua.ResponseHeader{Timestamp: time.Now(), RequestHandle: req.RequestHeader.RequestHandle,
			ServiceResult: ua.StatusOK, ServiceDiagnostics: &ua.DiagnosticInfo{}, StringTable: []string{},
			AdditionalHeader: ua.NewExtensionObject(nil)},
		DiagnosticInfos: []*ua.DiagnosticInfo{},
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, bp := range req.BrowsePaths {
		res.Results = append(res.Results, s.resolve(bp))
	}
	return res, nil
}

// resolve is one browse path's result: its node, or BadNoMatch.
func (s *OPCUAServer) resolve(bp *ua.BrowsePath) *ua.BrowsePathResult {
	notFound := &ua.BrowsePathResult{StatusCode: ua.StatusBadNoMatch, Targets: []*ua.BrowsePathTarget{}}
	if bp == nil || bp.StartingNode == nil || bp.RelativePath == nil ||
		bp.StartingNode.Namespace() != 0 || bp.StartingNode.IntID() != id.ObjectsFolder {
		return notFound
	}
	at := "/Objects"
	for _, el := range bp.RelativePath.Elements {
		if el == nil || el.TargetName == nil || el.TargetName.NamespaceIndex != s.nsIdx {
			return notFound
		}
		at += "/" + el.TargetName.Name
	}
	n, ok := s.paths[at]
	if !ok {
		return notFound
	}
	return &ua.BrowsePathResult{StatusCode: ua.StatusOK, Targets: []*ua.BrowsePathTarget{
		{TargetID: ua.NewExpandedNodeID(n.ID(), "", 0), RemainingPathIndex: ^uint32(0)},
	}}
}
