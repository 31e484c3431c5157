package opcua

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/gopcua/opcua"
	"github.com/gopcua/opcua/id"
	"github.com/gopcua/opcua/ua"

	"github.com/facilityd/facilityd/devices"
)

// errBroken marks the end of a session that the driver must replace.
var errBroken = errors.New("session broken")

// session is one live session with a server and what was built on it: the points' node ids,
// resolved for this session, and the device's last values. Nothing of it outlives the session
// but the values, which the driver hands to the next.
type session struct {
	dev  *Device
	cl   *opcua.Client
	log  *slog.Logger
	now  func() time.Time
	emit func(*devices.Snapshot)

	mu    sync.Mutex
	nodes []*ua.NodeID // by point; nil where the point did not resolve
	state []devices.Value
	like  []*ua.Variant // the last variant read of each point, for the type of a write
}

// resolve finds every point's node id on this session: node ids with a namespace URI take the
// server's index for it now, browse paths are translated in one request (Part 4, 5.8.4). A
// point that does not resolve is bad until the next session; the others go on.
func (s *session) resolve(ctx context.Context) error {
	namespaces := s.cl.Namespaces()
	pts := s.dev.Profile.Points
	s.nodes = make([]*ua.NodeID, len(pts))
	var paths []*ua.BrowsePath
	var pathPoint []int
	nsIndex := -1
	for i, ns := range namespaces {
		if ns == s.dev.Profile.Namespace {
			nsIndex = i
		}
	}
	for i := range pts {
		addr, err := ParseAddress(pts[i].Node)
		if err != nil {
			return err // Validate has seen to this
		}
		if addr.Path == nil {
			n, err := resolveID(addr, namespaces)
			if err != nil {
				s.log.Warn("point not found on the server", "point", pts[i].Name, "node", pts[i].Node, "err", err)
				continue
			}
			s.nodes[i] = n
			continue
		}
		if nsIndex < 0 {
			s.log.Warn("point not found on the server: the profile's namespace is not in the server's namespace array",
				"point", pts[i].Name, "namespace", s.dev.Profile.Namespace, "server_namespaces", namespaces)
			continue
		}
		paths = append(paths, browsePath(addr, uint16(nsIndex)))
		pathPoint = append(pathPoint, i)
	}
	if len(paths) == 0 {
		return nil
	}
	req := &ua.TranslateBrowsePathsToNodeIDsRequest{BrowsePaths: paths}
	var res *ua.TranslateBrowsePathsToNodeIDsResponse
	err := s.cl.Send(ctx, req, func(r ua.Response) error {
		var ok bool
		if res, ok = r.(*ua.TranslateBrowsePathsToNodeIDsResponse); !ok {
			return fmt.Errorf("translate browse paths: unexpected %T", r)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("translate browse paths: %w", err)
	}
	for k, r := range res.Results {
		if k >= len(pathPoint) {
			break
		}
		pt := &pts[pathPoint[k]]
		if r.StatusCode != ua.StatusOK || len(r.Targets) == 0 {
			s.log.Warn("browse path not found on the server", "point", pt.Name, "path", pt.Node, "status", r.StatusCode)
			continue
		}
		s.nodes[pathPoint[k]] = r.Targets[0].TargetID.NodeID
	}
	return nil
}

// set records one point's data value, reporting the time it was taken.
func (s *session) set(i int, dv *ua.DataValue) time.Time {
	pt := &s.dev.Profile.Points[i]
	v, err := decode(pt, dv)
	if err != nil {
		s.log.Debug("bad value", "point", pt.Name, "err", err)
	}
	s.state[i] = v
	if dv != nil && dv.Value != nil {
		s.like[i] = dv.Value
	}
	return valueTime(dv)
}

// snapshot emits the device's values, taken at t (the newest value's time, else now).
func (s *session) snapshot(t time.Time) {
	if t.IsZero() {
		t = s.now()
	}
	s.mu.Lock()
	values := append([]devices.Value(nil), s.state...)
	for i, n := range s.nodes {
		if n == nil {
			values[i] = devices.Value{Quality: devices.QualityBad}
		}
	}
	s.mu.Unlock()
	s.emit(&devices.Snapshot{Device: s.dev.Dev, Time: t, Values: values, Comm: devices.CommOnline})
}

// readAll reads every resolved point once.
func (s *session) readAll(ctx context.Context) error {
	var req ua.ReadRequest
	var idx []int
	for i, n := range s.nodes {
		if n != nil {
			req.NodesToRead = append(req.NodesToRead, &ua.ReadValueID{NodeID: n, AttributeID: ua.AttributeIDValue})
			idx = append(idx, i)
		}
	}
	req.TimestampsToReturn = ua.TimestampsToReturnBoth
	var newest time.Time
	if len(idx) > 0 {
		rctx, cancel := context.WithTimeout(ctx, s.dev.Dev.Timeout)
		res, err := s.cl.Read(rctx, &req)
		cancel()
		if err != nil {
			return fmt.Errorf("%w: read: %v", errBroken, err)
		}
		s.mu.Lock()
		for k, dv := range res.Results {
			if k < len(idx) {
				if t := s.set(idx[k], dv); t.After(newest) {
					newest = t
				}
			}
		}
		s.mu.Unlock()
	} else if err := s.alive(ctx); err != nil {
		return err
	}
	s.snapshot(newest)
	return nil
}

// alive reads the server's state (Part 5, 6.3.1, ServerStatus.State): the cheapest request
// that proves the channel and the session still work.
func (s *session) alive(ctx context.Context) error {
	rctx, cancel := context.WithTimeout(ctx, s.dev.Dev.Timeout)
	defer cancel()
	res, err := s.cl.Read(rctx, &ua.ReadRequest{NodesToRead: []*ua.ReadValueID{
		{NodeID: ua.NewNumericNodeID(0, id.Server_ServerStatus_State), AttributeID: ua.AttributeIDValue},
	}})
	if err != nil {
		return fmt.Errorf("%w: server status: %v", errBroken, err)
	}
	if len(res.Results) == 1 && res.Results[0].Status != ua.StatusOK {
		return fmt.Errorf("%w: server status: %s", errBroken, res.Results[0].Status)
	}
	return nil
}

// poll reads the points every interval until the session breaks or ctx ends.
func (s *session) poll(ctx context.Context) error {
	t := time.NewTicker(s.dev.Dev.Interval)
	defer t.Stop()
	for {
		if err := s.readAll(ctx); err != nil {
			return err
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
		}
	}
}

// errRefused is a subscription the server would not make: the driver polls instead.
var errRefused = errors.New("subscription refused")

// subscribe creates the subscription and a monitored item per resolved point, each with its
// sampling interval and absolute deadband, and delivers the changes until the session breaks.
// The server's status reads every interval prove the session alive between changes.
func (s *session) subscribe(ctx context.Context) error {
	notes := make(chan *opcua.PublishNotificationData, 64)
	sctx, cancel := context.WithTimeout(ctx, s.dev.Dev.Timeout)
	sub, err := s.cl.Subscribe(sctx, &opcua.SubscriptionParameters{Interval: s.dev.Publishing}, notes)
	cancel()
	if err != nil {
		if isStatus(err) {
			return fmt.Errorf("%w: %v", errRefused, err)
		}
		return fmt.Errorf("%w: create subscription: %v", errBroken, err)
	}
	var items []*ua.MonitoredItemCreateRequest
	var idx []int
	for i, n := range s.nodes {
		if n == nil {
			continue
		}
		pt := &s.dev.Profile.Points[i]
		req := opcua.NewMonitoredItemCreateRequestWithDefaults(n, ua.AttributeIDValue, uint32(i))
		req.RequestedParameters.SamplingInterval = float64(pt.Sampling) / float64(time.Millisecond)
		req.RequestedParameters.QueueSize = 1
		if pt.Deadband > 0 {
			req.RequestedParameters.Filter = ua.NewExtensionObject(&ua.DataChangeFilter{
				Trigger: ua.DataChangeTriggerStatusValue, DeadbandType: uint32(ua.DeadbandTypeAbsolute), DeadbandValue: pt.Deadband,
			})
		}
		items = append(items, req)
		idx = append(idx, i)
	}
	if len(items) > 0 {
		mctx, cancel := context.WithTimeout(ctx, s.dev.Dev.Timeout)
		res, err := sub.Monitor(mctx, ua.TimestampsToReturnBoth, items...)
		cancel()
		switch {
		case err != nil && isStatus(err):
			return fmt.Errorf("%w: create monitored items: %v", errRefused, err)
		case err != nil:
			return fmt.Errorf("%w: create monitored items: %v", errBroken, err)
		}
		s.mu.Lock()
		for k, r := range res.Results {
			if k < len(idx) && r.StatusCode != ua.StatusOK {
				pt := &s.dev.Profile.Points[idx[k]]
				s.log.Warn("server refused to monitor the point", "point", pt.Name, "node", pt.Node, "status", r.StatusCode)
				s.nodes[idx[k]] = nil
			}
		}
		s.mu.Unlock()
	}
	// The first values come by the subscription's first publish (Part 4, 5.12.1.4: a new
	// item reports its current value); until then the points read bad.
	alive := time.NewTicker(s.dev.Dev.Interval)
	defer alive.Stop()
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-alive.C:
			if err := s.alive(ctx); err != nil {
				return err
			}
		case n := <-notes:
			if n.Error != nil {
				return fmt.Errorf("%w: publish: %v", errBroken, n.Error)
			}
			switch v := n.Value.(type) {
			case *ua.DataChangeNotification:
				var newest time.Time
				s.mu.Lock()
				for _, item := range v.MonitoredItems {
					if i := int(item.ClientHandle); i < len(s.state) {
						if t := s.set(i, item.Value); t.After(newest) {
							newest = t
						}
					}
				}
				s.mu.Unlock()
				s.snapshot(newest)
			case *ua.StatusChangeNotification:
				// Part 4, 7.20.4: the subscription itself has ended (BadTimeout).
				return fmt.Errorf("%w: subscription status %s", errBroken, v.Status)
			}
		}
	}
}

// isStatus reports whether err is the server's answer (a service result) rather than a failure
// of the channel.
func isStatus(err error) bool {
	var sc ua.StatusCode
	return errors.As(err, &sc) && sc != ua.StatusBadTimeout && sc != ua.StatusBadSecureChannelClosed &&
		sc != ua.StatusBadSessionIDInvalid && sc != ua.StatusBadSessionClosed && sc != ua.StatusBadConnectionClosed &&
		sc != ua.StatusBadSecureChannelIDInvalid && sc != ua.StatusBadCommunicationError
}

// close ends the session on the server, so that a reconnect does not leave sessions behind
// for the server to time out (influxdata/telegraf#18787), and closes the channel.
func (s *session) close() {
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	s.cl.Close(ctx)
}
