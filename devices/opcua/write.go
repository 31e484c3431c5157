package opcua

import (
	"context"
	"errors"
	"fmt"

	"github.com/gopcua/opcua/ua"

	"github.com/facilityd/facilityd/devices"
)

// Errors of a write that the caller can tell apart.
var (
	ErrUnknownPoint = errors.New("no such point")
	ErrNotWritable  = errors.New("point is not writable")
	ErrOutOfLimits  = errors.New("value is outside the point's min and max")
	ErrNotConnected = errors.New("no session with the server")
)

// Serves reports whether the device is one of the driver's.
func (d *Driver) Serves(device string) bool {
	for _, dev := range d.devs {
		if dev.Dev.ID == device {
			return true
		}
	}
	return false
}

// Write sets a writable point to v (in engineering units) and reads it back: the value the
// server holds after the write, which is what the caller reports.
func (d *Driver) Write(ctx context.Context, device, point string, v devices.Value) (devices.Value, error) {
	d.mu.Lock()
	s := d.live[device]
	d.mu.Unlock()
	if s == nil {
		for _, dev := range d.devs {
			if dev.Dev.ID == device {
				return devices.Value{}, fmt.Errorf("device %s: %w (the server is unreachable or the session is being opened again)", device, ErrNotConnected)
			}
		}
		return devices.Value{}, fmt.Errorf("device %s: not an OPC UA device of this gateway", device)
	}
	return s.write(ctx, point, v)
}

func (s *session) write(ctx context.Context, point string, v devices.Value) (devices.Value, error) {
	i := -1
	for k := range s.dev.Profile.Points {
		if s.dev.Profile.Points[k].Name == point {
			i = k
		}
	}
	if i < 0 {
		return devices.Value{}, fmt.Errorf("device %s point %q: %w", s.dev.Dev.ID, point, ErrUnknownPoint)
	}
	pt := &s.dev.Profile.Points[i]
	switch {
	case !pt.Writable:
		return devices.Value{}, fmt.Errorf("device %s point %q: %w (mark it writable: true in profile %s)", s.dev.Dev.ID, point, ErrNotWritable, s.dev.Profile.Name)
	case pt.Min != nil && v.Number < *pt.Min, pt.Max != nil && v.Number > *pt.Max:
		return devices.Value{}, fmt.Errorf("device %s point %q: %v: %w", s.dev.Dev.ID, point, v.Number, ErrOutOfLimits)
	}
	s.mu.Lock()
	node, like := s.nodes[i], s.like[i]
	s.mu.Unlock()
	if node == nil {
		return devices.Value{}, fmt.Errorf("device %s point %q: node %s was not found on the server", s.dev.Dev.ID, point, pt.Node)
	}
	wctx, cancel := context.WithTimeout(ctx, s.dev.Dev.Timeout)
	defer cancel()
	if like == nil {
		res, err := s.cl.Read(wctx, &ua.ReadRequest{NodesToRead: []*ua.ReadValueID{{NodeID: node, AttributeID: ua.AttributeIDValue}}})
		if err == nil && len(res.Results) == 1 && res.Results[0].Value != nil {
			like = res.Results[0].Value
		}
	}
	variant, err := encode(pt, v, like)
	if err != nil {
		return devices.Value{}, fmt.Errorf("device %s point %q: %w", s.dev.Dev.ID, point, err)
	}
	res, err := s.cl.Write(wctx, &ua.WriteRequest{NodesToWrite: []*ua.WriteValue{{
		NodeID: node, AttributeID: ua.AttributeIDValue,
		Value: &ua.DataValue{EncodingMask: ua.DataValueValue, Value: variant},
	}}})
	if err != nil {
		return devices.Value{}, fmt.Errorf("device %s point %q: write: %w", s.dev.Dev.ID, point, err)
	}
	if len(res.Results) != 1 || res.Results[0] != ua.StatusOK {
		status := ua.StatusBadUnexpectedError
		if len(res.Results) == 1 {
			status = res.Results[0]
		}
		return devices.Value{}, fmt.Errorf("device %s point %q: the server refused the write: %s", s.dev.Dev.ID, point, status)
	}
	back, err := s.cl.Read(wctx, &ua.ReadRequest{NodesToRead: []*ua.ReadValueID{{NodeID: node, AttributeID: ua.AttributeIDValue}},
		TimestampsToReturn: ua.TimestampsToReturnBoth})
	if err != nil || len(back.Results) != 1 {
		return devices.Value{}, fmt.Errorf("device %s point %q: written, but the read-back failed: %v", s.dev.Dev.ID, point, err)
	}
	got, err := decode(pt, back.Results[0])
	if err != nil {
		return got, fmt.Errorf("device %s point %q: written, but the read-back is %v", s.dev.Dev.ID, point, err)
	}
	return got, nil
}
