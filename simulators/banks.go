package simulators

import (
	"github.com/facilityd/facilityd/devices"
	mb "github.com/facilityd/facilityd/devices/modbus"
	mqttdev "github.com/facilityd/facilityd/devices/mqtt"
)

// banks are a device's four Modbus tables, sized from its profile: each table is as long as
// the highest address a point of that table reaches, so a read past the map is exception 02
// while a gap between points reads as zeros, as on most controllers. Values go in with
// mb.EncodeRegisters and mb.SetBit, the inverses of what facilityd's poller decodes with, so
// the simulators agree with the profiles by construction.
type banks struct {
	profile  *devices.Profile
	coils    []byte // packed, mb.SetBit order
	discrete []byte
	nCoils   int
	nDisc    int
	holding  []byte // two bytes a register, high byte first
	input    []byte
	// json holds the points an MQTT profile locates by JSON path, as the driver reads them.
	json map[string]devices.Value
}

func newBanks(p *devices.Profile) *banks {
	b := &banks{profile: p, json: map[string]devices.Value{}}
	var nHolding, nInput int
	for i := range p.Points {
		pt := &p.Points[i]
		switch pt.Table {
		case devices.TableCoil:
			b.nCoils = max(b.nCoils, pt.End())
		case devices.TableDiscrete:
			b.nDisc = max(b.nDisc, pt.End())
		case devices.TableHolding:
			nHolding = max(nHolding, pt.End())
		case devices.TableInput:
			nInput = max(nInput, pt.End())
		}
	}
	b.coils = make([]byte, (b.nCoils+7)/8)
	b.discrete = make([]byte, (b.nDisc+7)/8)
	b.holding = make([]byte, 2*nHolding)
	b.input = make([]byte, 2*nInput)
	return b
}

// bits returns the packed bank and its length in bits of a bit table.
func (b *banks) bits(t devices.Table) ([]byte, int) {
	if t == devices.TableCoil {
		return b.coils, b.nCoils
	}
	return b.discrete, b.nDisc
}

// registers returns the bank of a register table.
func (b *banks) registers(t devices.Table) []byte {
	if t == devices.TableHolding {
		return b.holding
	}
	return b.input
}

// store writes a point's value into its table.
func (b *banks) store(p *devices.Point, v devices.Value) {
	if p.IsMQTT() {
		b.json[p.Name] = mqttdev.RoundTrip(p, v)
		return
	}
	if p.Table.Bits() {
		bank, _ := b.bits(p.Table)
		mb.SetBit(bank, int(p.Address), v.Number != 0)
		return
	}
	bank := b.registers(p.Table)
	mb.EncodeRegisters(p, v, bank[2*int(p.Address):2*p.End()])
}

// load reads a point back out of its table, exactly as a poller would decode it.
func (b *banks) load(p *devices.Point) devices.Value {
	if p.IsMQTT() {
		return b.json[p.Name]
	}
	if p.Table.Bits() {
		bank, _ := b.bits(p.Table)
		if mb.BitAt(bank, int(p.Address)) {
			return devices.Value{Number: 1}
		}
		return devices.Value{}
	}
	bank := b.registers(p.Table)
	return mb.DecodeRegisters(p, bank[2*int(p.Address):2*p.End()])
}

// readBits copies qty bits from start into a fresh packed slice, or says 02 if the range runs
// past the table.
func (b *banks) readBits(t devices.Table, start, qty uint16) ([]byte, byte) {
	bank, n := b.bits(t)
	if int(start)+int(qty) > n {
		return nil, excIllegalDataAddress
	}
	out := make([]byte, (int(qty)+7)/8)
	for i := 0; i < int(qty); i++ {
		mb.SetBit(out, i, mb.BitAt(bank, int(start)+i))
	}
	return out, 0
}

// readRegisters copies qty registers from start, or says 02 if the range runs past the table.
func (b *banks) readRegisters(t devices.Table, start, qty uint16) ([]byte, byte) {
	bank := b.registers(t)
	if 2*(int(start)+int(qty)) > len(bank) {
		return nil, excIllegalDataAddress
	}
	out := make([]byte, 2*int(qty))
	copy(out, bank[2*int(start):])
	return out, 0
}
