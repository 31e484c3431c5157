package simulators

import (
	"bytes"
	"errors"
	"io"
	"testing"
)

func TestReadFrame(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		in      []byte
		want    frame
		wantErr error
	}{
		{
			name: "read holding registers",
			in:   []byte{0x12, 0x34, 0, 0, 0, 6, 7, 0x03, 0, 10, 0, 2},
			want: frame{transaction: 0x1234, unit: 7, pdu: []byte{0x03, 0, 10, 0, 2}},
		},
		{
			name: "function code alone",
			in:   []byte{0, 1, 0, 0, 0, 2, 1, 0x2B},
			want: frame{transaction: 1, unit: 1, pdu: []byte{0x2B}},
		},
		{
			name:    "protocol identifier not modbus",
			in:      []byte{0, 1, 0, 1, 0, 6, 1, 0x03, 0, 0, 0, 1},
			wantErr: errFraming,
		},
		{
			name:    "length without a function code",
			in:      []byte{0, 1, 0, 0, 0, 1, 1},
			wantErr: errFraming,
		},
		{
			name:    "length past the largest PDU",
			in:      []byte{0, 1, 0, 0, 0x01, 0x00, 1},
			wantErr: errFraming,
		},
		{
			name:    "stream ends inside the PDU",
			in:      []byte{0, 1, 0, 0, 0, 6, 1, 0x03, 0},
			wantErr: io.ErrUnexpectedEOF,
		},
		{
			name:    "stream ends inside the header",
			in:      []byte{0, 1, 0},
			wantErr: io.ErrUnexpectedEOF,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			buf := make([]byte, maxADULen)
			got, err := readFrame(bytes.NewReader(tt.in), buf)
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("err = %v, want %v", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("err = %v", err)
			}
			if got.transaction != tt.want.transaction || got.unit != tt.want.unit || !bytes.Equal(got.pdu, tt.want.pdu) {
				t.Fatalf("frame = %+v, want %+v", got, tt.want)
			}
			if again := appendFrame(nil, got); !bytes.Equal(again, tt.in) {
				t.Fatalf("appendFrame = % x, want the input % x", again, tt.in)
			}
		})
	}
}

func TestReadFrameLargestADU(t *testing.T) {
	t.Parallel()
	in := appendFrame(nil, frame{transaction: 9, unit: 2, pdu: bytes.Repeat([]byte{0x10}, maxPDULen)})
	if len(in) != maxADULen {
		t.Fatalf("largest frame is %d bytes, want %d", len(in), maxADULen)
	}
	f, err := readFrame(bytes.NewReader(in), make([]byte, maxADULen))
	if err != nil || len(f.pdu) != maxPDULen {
		t.Fatalf("readFrame of a 260-byte frame: pdu %d bytes, err %v", len(f.pdu), err)
	}
}
