package simulators

import (
	"bytes"
	"testing"

	"github.com/facilityd/facilityd/devices"
)

// fakeData is a data model of 16 coils, 16 discrete inputs, 8 holding and 8 input registers
// that records writes.
type fakeData struct {
	coils, discrete []byte
	holding, input  []byte
}

func newFakeData() *fakeData {
	f := &fakeData{coils: []byte{0b1010_0101, 0xFF}, discrete: []byte{0x0F, 0}, holding: make([]byte, 16), input: make([]byte, 16)}
	for i := range f.input {
		f.input[i] = byte(i)
	}
	return f
}

func (f *fakeData) readBits(t devices.Table, start, qty uint16) ([]byte, byte) {
	b := &banks{coils: f.coils, discrete: f.discrete, nCoils: 16, nDisc: 16}
	return b.readBits(t, start, qty)
}

func (f *fakeData) readRegisters(t devices.Table, start, qty uint16) ([]byte, byte) {
	b := &banks{holding: f.holding, input: f.input}
	return b.readRegisters(t, start, qty)
}

func (f *fakeData) writeCoils(start, qty uint16, packed []byte) byte {
	if int(start)+int(qty) > 16 {
		return excIllegalDataAddress
	}
	for i := 0; i < int(qty); i++ {
		on := packed[i/8]>>(i%8)&1 == 1
		j := int(start) + i
		if on {
			f.coils[j/8] |= 1 << (j % 8)
		} else {
			f.coils[j/8] &^= 1 << (j % 8)
		}
	}
	return 0
}

func (f *fakeData) writeRegisters(start uint16, regs []byte) byte {
	if 2*int(start)+len(regs) > len(f.holding) {
		return excIllegalDataAddress
	}
	copy(f.holding[2*int(start):], regs)
	return 0
}

func TestServePDU(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		req  []byte
		want []byte
	}{
		{"read coils", []byte{0x01, 0, 0, 0, 10}, []byte{0x01, 2, 0b1010_0101, 0b11}},
		{"read coils from an odd start", []byte{0x01, 0, 2, 0, 3}, []byte{0x01, 1, 0b001}},
		{"read discrete inputs", []byte{0x02, 0, 0, 0, 8}, []byte{0x02, 1, 0x0F}},
		{"read input registers", []byte{0x04, 0, 1, 0, 2}, []byte{0x04, 4, 2, 3, 4, 5}},
		{"read holding registers", []byte{0x03, 0, 0, 0, 1}, []byte{0x03, 2, 0, 0}},
		{"write single coil off", []byte{0x05, 0, 0, 0x00, 0x00}, []byte{0x05, 0, 0, 0x00, 0x00}},
		{"write single register", []byte{0x06, 0, 3, 0x12, 0x34}, []byte{0x06, 0, 3, 0x12, 0x34}},
		{"write multiple coils", []byte{0x0F, 0, 4, 0, 9, 2, 0xFF, 0x01}, []byte{0x0F, 0, 4, 0, 9}},
		{"write multiple registers", []byte{0x10, 0, 6, 0, 2, 4, 1, 2, 3, 4}, []byte{0x10, 0, 6, 0, 2}},

		{"unknown function 01", []byte{0x2B, 0x0E, 1, 0}, []byte{0xAB, 0x01}},
		{"read FIFO queue unsupported 01", []byte{0x18, 0, 0}, []byte{0x98, 0x01}},
		{"read past the table 02", []byte{0x04, 0, 7, 0, 2}, []byte{0x84, 0x02}},
		{"read coils past the table 02", []byte{0x01, 0, 15, 0, 2}, []byte{0x81, 0x02}},
		{"zero registers 03", []byte{0x03, 0, 0, 0, 0}, []byte{0x83, 0x03}},
		{"126 registers 03", []byte{0x04, 0, 0, 0, 126}, []byte{0x84, 0x03}},
		{"2001 bits 03", []byte{0x02, 0, 0, 0x07, 0xD1}, []byte{0x82, 0x03}},
		{"quantity checked before address 03", []byte{0x03, 0xFF, 0xFF, 0, 0}, []byte{0x83, 0x03}},
		{"short read request 03", []byte{0x03, 0, 0, 0}, []byte{0x83, 0x03}},
		{"coil value other than FF00 or 0000 03", []byte{0x05, 0, 0, 0x12, 0x34}, []byte{0x85, 0x03}},
		{"byte count does not match quantity 03", []byte{0x10, 0, 0, 0, 2, 2, 1, 2}, []byte{0x90, 0x03}},
		{"write 124 registers 03", append([]byte{0x10, 0, 0, 0, 124, 248}, make([]byte, 248)...), []byte{0x90, 0x03}},
		{"write coils past the table 02", []byte{0x0F, 0, 15, 0, 2, 1, 3}, []byte{0x8F, 0x02}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := servePDU(newFakeData(), tt.req); !bytes.Equal(got, tt.want) {
				t.Fatalf("servePDU(% x) = % x, want % x", tt.req, got, tt.want)
			}
		})
	}
}

func TestServePDUWritesReachTheData(t *testing.T) {
	t.Parallel()
	f := newFakeData()
	servePDU(f, []byte{0x05, 0, 1, 0xFF, 0x00})
	servePDU(f, []byte{0x10, 0, 6, 0, 2, 4, 1, 2, 3, 4})
	if f.coils[0]&0b10 == 0 {
		t.Errorf("coil 1 still off after write single coil FF00")
	}
	if !bytes.Equal(f.holding[12:16], []byte{1, 2, 3, 4}) {
		t.Errorf("holding 6-7 = % x, want 01 02 03 04", f.holding[12:16])
	}
}
