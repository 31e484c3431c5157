package bacnet

import (
	"context"
	"errors"
	"fmt"

	"github.com/facilityd/facilityd/devices"
)

// Quality is the quality a reading with these flags gets: good unless the device reports a
// fault, takes the object out of service or has its value overridden (12.1.10: the value is
// then not the plant's). In-alarm is a state of the plant, left to the alarm rules.
func (f StatusFlags) Quality() devices.Quality {
	if f.Good() {
		return devices.QualityGood
	}
	return devices.QualityBad
}

// ObjectList reads a device's Object_List (12.11): whole when the reply fits, otherwise its
// length (index 0) and then each element, as a device that cannot send the whole list in one
// APDU and does not segment requires (15.5.1.1.3).
func (c *Client) ObjectList(ctx context.Context, p Peer, device ObjectID) ([]ObjectID, error) {
	vs, err := c.ReadProperty(ctx, p, device, PropObjectList, NoIndex)
	var ab *AbortError
	var rej *RejectError
	if errors.As(err, &ab) && ab.TooLong() || errors.As(err, &rej) && rej.Reason == 1 {
		return c.objectListByIndex(ctx, p, device)
	}
	if err != nil {
		return nil, fmt.Errorf("bacnet: object list of %s at %s: %w", device, p, err)
	}
	return objectIDs(device, vs)
}

func (c *Client) objectListByIndex(ctx context.Context, p Peer, device ObjectID) ([]ObjectID, error) {
	n, err := c.ReadProperty(ctx, p, device, PropObjectList, 0)
	if err != nil {
		return nil, fmt.Errorf("bacnet: object list length of %s at %s: %w", device, p, err)
	}
	if len(n) != 1 || n[0].Kind != KindUnsigned || n[0].Uint > 1<<16 {
		return nil, fmt.Errorf("bacnet: object list length of %s is %+v", device, n)
	}
	refs := make([]ReadPropertyRequest, n[0].Uint)
	for i := range refs {
		refs[i] = ReadPropertyRequest{Object: device, Property: PropObjectList, Index: uint32(i + 1)}
	}
	res, err := c.ReadProperties(ctx, p, refs)
	if err != nil {
		return nil, fmt.Errorf("bacnet: object list of %s at %s: %w", device, p, err)
	}
	var vs []Value
	for _, r := range res {
		if r.Err != nil {
			return nil, fmt.Errorf("bacnet: object list of %s element %d: %w", device, r.Index, r.Err)
		}
		vs = append(vs, r.Values...)
	}
	return objectIDs(device, vs)
}

func objectIDs(device ObjectID, vs []Value) ([]ObjectID, error) {
	out := make([]ObjectID, 0, len(vs))
	for _, v := range vs {
		if v.Kind != KindObjectID {
			return nil, fmt.Errorf("bacnet: object list of %s holds a %s", device, v.Kind)
		}
		out = append(out, v.Object)
	}
	return out, nil
}

// ObjectInfo is what discovery tells a person about one object, to draft a profile from.
type ObjectInfo struct {
	ID   ObjectID
	Name string
	// Units is the object's BACnetEngineeringUnits (21), HasUnits false where the object has
	// none (binary and multi-state objects).
	Units    uint32
	HasUnits bool
}

// Describe reads the name and units of each object; an object that does not have a property
// simply lacks it in the result. The error is for the read as a whole.
func (c *Client) Describe(ctx context.Context, p Peer, ids []ObjectID) ([]ObjectInfo, error) {
	var refs []ReadPropertyRequest
	for _, id := range ids {
		refs = append(refs, ReadPropertyRequest{Object: id, Property: PropObjectName, Index: NoIndex},
			ReadPropertyRequest{Object: id, Property: PropUnits, Index: NoIndex})
	}
	res, err := c.ReadProperties(ctx, p, refs)
	if err != nil {
		return nil, err
	}
	out := make([]ObjectInfo, len(ids))
	for i, id := range ids {
		out[i].ID = id
		if name := res[2*i]; name.Err == nil && len(name.Values) == 1 {
			out[i].Name = name.Values[0].String
		}
		if u := res[2*i+1]; u.Err == nil && len(u.Values) == 1 && u.Values[0].Kind == KindEnumerated {
			out[i].Units, out[i].HasUnits = uint32(u.Values[0].Uint), true
		}
	}
	return out, nil
}

// unitSymbols are the symbols of common BACnetEngineeringUnits (21), for readings and draft
// profiles; the rest are shown by number.
var unitSymbols = map[uint32]string{3: "A", 5: "V", 19: "kWh", 27: "Hz", 29: "%RH", 47: "W", 48: "kW",
	53: "Pa", 54: "kPa", 62: "°C", 64: "°F", 95: "", 98: "%"}

// UnitSymbol is the symbol of a BACnetEngineeringUnits value, or "units-N" for one not listed.
func UnitSymbol(u uint32) string {
	if s, ok := unitSymbols[u]; ok {
		return s
	}
	return fmt.Sprintf("units-%d", u)
}
