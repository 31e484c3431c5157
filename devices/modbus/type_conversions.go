package modbus

import (
	"encoding/binary"
	"math"
	"strings"

	"github.com/facilityd/facilityd/devices"
)

// canonical assembles the registers of a multi-register value into big-endian order
// (A B C D ...), undoing the point's word and byte order. regs holds the registers as they
// came off the wire, two bytes each, high byte first.
func canonical(order devices.Order, regs []byte, out []byte) {
	n := len(regs) / 2
	for i := 0; i < n; i++ {
		w := i
		if order.WordsSwapped() {
			w = n - 1 - i
		}
		hi, lo := regs[2*w], regs[2*w+1]
		if order.BytesSwapped() {
			hi, lo = lo, hi
		}
		out[2*i], out[2*i+1] = hi, lo
	}
}

// wire is canonical's inverse: it lays big-endian bytes out in the point's order.
func wire(order devices.Order, value []byte, regs []byte) {
	n := len(value) / 2
	for i := 0; i < n; i++ {
		w := i
		if order.WordsSwapped() {
			w = n - 1 - i
		}
		hi, lo := value[2*i], value[2*i+1]
		if order.BytesSwapped() {
			hi, lo = lo, hi
		}
		regs[2*w], regs[2*w+1] = hi, lo
	}
}

// DecodeRegisters decodes a register point from regs, the raw bytes of its registers starting
// at the point's address (at least p.Width()*2 bytes). It does not allocate except for strings.
func DecodeRegisters(p *devices.Point, regs []byte) devices.Value {
	var buf [8]byte
	n := p.Width() * 2
	if len(regs) < n {
		return devices.Value{Quality: devices.QualityBad}
	}
	switch p.Type {
	case devices.TypeString:
		b := make([]byte, n)
		copy(b, regs[:n])
		if p.Order.BytesSwapped() {
			for i := 0; i+1 < n; i += 2 {
				b[i], b[i+1] = b[i+1], b[i]
			}
		}
		return devices.Value{Text: strings.TrimRight(string(b), "\x00 ")}
	case devices.TypeBit:
		canonical(p.Order, regs[:2], buf[:2])
		return devices.Value{Number: float64(binary.BigEndian.Uint16(buf[:2]) >> p.Bit & 1)}
	}
	canonical(p.Order, regs[:n], buf[:n])
	var raw float64
	switch p.Type {
	case devices.TypeEnum, devices.TypeUint16:
		raw = float64(binary.BigEndian.Uint16(buf[:2]))
	case devices.TypeInt16:
		raw = float64(int16(binary.BigEndian.Uint16(buf[:2])))
	case devices.TypeUint32:
		raw = float64(binary.BigEndian.Uint32(buf[:4]))
	case devices.TypeInt32:
		raw = float64(int32(binary.BigEndian.Uint32(buf[:4])))
	case devices.TypeUint64:
		raw = float64(binary.BigEndian.Uint64(buf[:8]))
	case devices.TypeInt64:
		raw = float64(int64(binary.BigEndian.Uint64(buf[:8])))
	case devices.TypeFloat32:
		raw = float64(math.Float32frombits(binary.BigEndian.Uint32(buf[:4])))
	case devices.TypeFloat64:
		raw = math.Float64frombits(binary.BigEndian.Uint64(buf[:8]))
	default:
		return devices.Value{Quality: devices.QualityBad}
	}
	if math.IsNaN(raw) || math.IsInf(raw, 0) {
		return devices.Value{Number: raw, Quality: devices.QualityBad}
	}
	if p.Type == devices.TypeEnum {
		return devices.Value{Number: raw}
	}
	return devices.Value{Number: raw*p.Scale + p.Offset}
}

// EncodeRegisters is DecodeRegisters' inverse, used by the simulators: it writes v into regs
// (p.Width()*2 bytes) in the point's order. A bit point changes only its own bit of the
// register already in regs. Numbers are unscaled, rounded and clamped to the type's range.
func EncodeRegisters(p *devices.Point, v devices.Value, regs []byte) {
	var buf [8]byte
	n := p.Width() * 2
	if len(regs) < n {
		return
	}
	switch p.Type {
	case devices.TypeString:
		clear(regs[:n])
		copy(regs[:n], v.Text)
		if p.Order.BytesSwapped() {
			for i := 0; i+1 < n; i += 2 {
				regs[i], regs[i+1] = regs[i+1], regs[i]
			}
		}
		return
	case devices.TypeBit:
		canonical(p.Order, regs[:2], buf[:2])
		word := binary.BigEndian.Uint16(buf[:2])
		if v.Number != 0 {
			word |= 1 << p.Bit
		} else {
			word &^= 1 << p.Bit
		}
		binary.BigEndian.PutUint16(buf[:2], word)
		wire(p.Order, buf[:2], regs[:2])
		return
	}
	raw := v.Number
	if p.Type != devices.TypeEnum {
		raw = (v.Number - p.Offset) / p.Scale
	}
	switch p.Type {
	case devices.TypeEnum, devices.TypeUint16:
		binary.BigEndian.PutUint16(buf[:2], uint16(clampRound(raw, 0, math.MaxUint16)))
	case devices.TypeInt16:
		binary.BigEndian.PutUint16(buf[:2], uint16(int16(clampRound(raw, math.MinInt16, math.MaxInt16))))
	case devices.TypeUint32:
		binary.BigEndian.PutUint32(buf[:4], uint32(clampRound(raw, 0, math.MaxUint32)))
	case devices.TypeInt32:
		binary.BigEndian.PutUint32(buf[:4], uint32(int32(clampRound(raw, math.MinInt32, math.MaxInt32))))
	case devices.TypeUint64:
		binary.BigEndian.PutUint64(buf[:8], toUint64(raw))
	case devices.TypeInt64:
		binary.BigEndian.PutUint64(buf[:8], uint64(toInt64(raw)))
	case devices.TypeFloat32:
		binary.BigEndian.PutUint32(buf[:4], math.Float32bits(float32(raw)))
	case devices.TypeFloat64:
		binary.BigEndian.PutUint64(buf[:8], math.Float64bits(raw))
	default:
		return
	}
	wire(p.Order, buf[:n], regs[:n])
}

// toUint64 rounds and clamps v to uint64. float64(math.MaxUint64) is 2^64, one past the
// largest uint64, and converting it is undefined in Go (amd64 gives 2^63): clamp before.
func toUint64(v float64) uint64 {
	v = math.Round(v)
	switch {
	case math.IsNaN(v) || v <= 0:
		return 0
	case v >= 1<<64:
		return math.MaxUint64
	}
	return uint64(v)
}

// toInt64 is toUint64 for int64: float64(math.MaxInt64) is 2^63, past the largest int64.
func toInt64(v float64) int64 {
	v = math.Round(v)
	switch {
	case math.IsNaN(v):
		return 0
	case v >= 1<<63:
		return math.MaxInt64
	case v <= -(1 << 63):
		return math.MinInt64
	}
	return int64(v)
}

func clampRound(v, lo, hi float64) float64 {
	v = math.Round(v)
	switch {
	case math.IsNaN(v):
		return 0
	case v < lo:
		return lo
	case v >= hi:
		return hi
	}
	return v
}

// BitAt reads bit i of a Modbus bit response: eight bits a byte, least significant first
// (MODBUS Application Protocol v1.1b3, 6.1: "the LSB of the first data byte contains the output
// addressed in the query").
func BitAt(data []byte, i int) bool {
	if i/8 >= len(data) {
		return false
	}
	return data[i/8]>>(uint(i)%8)&1 == 1
}

// SetBit is BitAt's inverse, used by the simulators.
func SetBit(data []byte, i int, on bool) {
	if i/8 >= len(data) {
		return
	}
	if on {
		data[i/8] |= 1 << (uint(i) % 8)
	} else {
		data[i/8] &^= 1 << (uint(i) % 8)
	}
}
