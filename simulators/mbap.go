package simulators

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// MBAP framing (MODBUS Messaging on TCP/IP Implementation Guide V1.0b, 3.1.3): every request
// and response on a Modbus TCP connection is an MBAP header followed by a PDU.
//
//	transaction identifier  2 bytes  copied from request to response
//	protocol identifier     2 bytes  0 = MODBUS
//	length                  2 bytes  number of following bytes (unit identifier + PDU)
//	unit identifier         1 byte   the device behind a gateway
//
// This file only frames; what a PDU means is pdu.go's business, and the socket is
// modbus_server.go's, so each can be tested without the others.
const (
	mbapHeaderLen = 7
	// maxPDULen is the largest PDU (MODBUS Application Protocol V1.1b3, 4.1: 253 bytes, the
	// serial line ADU limit of 256 minus address and CRC).
	maxPDULen = 253
	// maxADULen is the largest frame on TCP: 7 + 253 = 260 bytes.
	maxADULen = mbapHeaderLen + maxPDULen
)

// errFraming marks a frame the server cannot stay in step with; the connection is closed.
var errFraming = errors.New("modbus tcp framing")

// frame is one MBAP-framed request or response.
type frame struct {
	transaction uint16
	unit        uint8
	pdu         []byte // function code first
}

// readFrame reads one frame from r into buf (at least maxADULen bytes); the returned PDU
// aliases buf. A frame with a protocol identifier other than 0 or a length outside 2-254 is a
// framing error: past it nothing on the stream can be trusted (Implementation Guide 4.4.1.2
// discards such frames; on a stream that means closing the connection).
func readFrame(r io.Reader, buf []byte) (frame, error) {
	if _, err := io.ReadFull(r, buf[:mbapHeaderLen]); err != nil {
		return frame{}, err
	}
	f := frame{
		transaction: binary.BigEndian.Uint16(buf[0:2]),
		unit:        buf[6],
	}
	if proto := binary.BigEndian.Uint16(buf[2:4]); proto != 0 {
		return frame{}, fmt.Errorf("%w: protocol identifier %d is not 0 (MODBUS)", errFraming, proto)
	}
	length := int(binary.BigEndian.Uint16(buf[4:6]))
	if length < 2 || length > maxPDULen+1 {
		return frame{}, fmt.Errorf("%w: length %d is outside 2-%d", errFraming, length, maxPDULen+1)
	}
	pduLen := length - 1
	if _, err := io.ReadFull(r, buf[mbapHeaderLen:mbapHeaderLen+pduLen]); err != nil {
		return frame{}, err
	}
	f.pdu = buf[mbapHeaderLen : mbapHeaderLen+pduLen]
	return f, nil
}

// appendFrame appends f, MBAP header and PDU, to dst.
func appendFrame(dst []byte, f frame) []byte {
	dst = binary.BigEndian.AppendUint16(dst, f.transaction)
	dst = binary.BigEndian.AppendUint16(dst, 0)
	dst = binary.BigEndian.AppendUint16(dst, uint16(len(f.pdu)+1))
	dst = append(dst, f.unit)
	return append(dst, f.pdu...)
}
