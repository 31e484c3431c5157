package modbus

import (
	"errors"
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

// ErrReplyLength is a reply that carries more or fewer registers or bits than were asked
// for: a device or gateway out of step, never data to decode.
var ErrReplyLength = errors.New("reply length does not match the request")

// checkReply checks that data holds exactly what r asked for: 2 bytes a register; a bit a bit,
// rounded up to whole bytes (MODBUS Application Protocol v1.1b3, 6.1-6.4).
func (r request) checkReply(data []byte) error {
	want := 2 * int(r.count)
	unit := "registers"
	got := len(data) / 2
	if r.table == devices.TableCoil || r.table == devices.TableDiscrete {
		want = (int(r.count) + 7) / 8
		unit = "bytes of bits"
		got = len(data)
	}
	if len(data) != want {
		if unit == "registers" {
			return fmt.Errorf("%s: %w: %d bytes (%d %s) for %d asked", r, ErrReplyLength, len(data), got, unit, r.count)
		}
		return fmt.Errorf("%s: %w: %d %s for %d bits asked (%d bytes)", r, ErrReplyLength, got, unit, r.count, want)
	}
	return nil
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
