package modbus

import (
	"fmt"
	"sort"

	"github.com/facilityd/facilityd/devices"
)

// request is one read: count registers or bits of a table from start, and the profile points
// it carries, by index into the profile's Points.
type request struct {
	table  devices.Table
	start  uint16
	count  uint16
	points []int
}

func (r request) String() string {
	return fmt.Sprintf("read %s %d-%d", r.table, r.start, int(r.start)+int(r.count)-1)
}

// plan merges a profile's points into as few requests as the protocol allows. Points of one
// table are merged while the request stays within 125 registers or 2000 bits and the unmapped
// space between them is at most maxGapRegisters (maxGapBits); the gap is read and discarded.
func plan(p *devices.Profile, maxGapRegisters, maxGapBits int) []request {
	var out []request
	for _, table := range []devices.Table{devices.TableCoil, devices.TableDiscrete, devices.TableHolding, devices.TableInput} {
		var idx []int
		for i := range p.Points {
			if p.Points[i].Table == table {
				idx = append(idx, i)
			}
		}
		if len(idx) == 0 {
			continue
		}
		sort.SliceStable(idx, func(a, b int) bool { return p.Points[idx[a]].Address < p.Points[idx[b]].Address })
		limit, gap := devices.MaxRegisters, maxGapRegisters
		if table.Bits() {
			limit, gap = devices.MaxBits, maxGapBits
		}
		var cur *request
		end := 0
		for _, i := range idx {
			pt := &p.Points[i]
			start, ptEnd := int(pt.Address), pt.End()
			if cur != nil && start-end <= gap && max(end, ptEnd)-int(cur.start) <= limit {
				end = max(end, ptEnd)
				cur.count = uint16(end - int(cur.start))
				cur.points = append(cur.points, i)
				continue
			}
			out = append(out, request{table: table, start: pt.Address, count: uint16(pt.Width()), points: []int{i}})
			cur, end = &out[len(out)-1], ptEnd
		}
	}
	return out
}

// decodeInto decodes every point of r from data, the payload of r's response, into values.
func (r *request) decodeInto(p *devices.Profile, data []byte, values []devices.Value) {
	for _, i := range r.points {
		pt := &p.Points[i]
		off := int(pt.Address) - int(r.start)
		if r.table.Bits() {
			if off/8 >= len(data) {
				values[i] = devices.Value{Quality: devices.QualityBad}
				continue
			}
			v := devices.Value{}
			if BitAt(data, off) {
				v.Number = 1
			}
			values[i] = v
			continue
		}
		if 2*off >= len(data) {
			values[i] = devices.Value{Quality: devices.QualityBad}
			continue
		}
		values[i] = DecodeRegisters(pt, data[2*off:])
	}
}
