package bacnet

import (
	"fmt"
)

// PDUType is the APDU type in the high nibble of its first octet (ASHRAE 135-2020, 20.1.1).
type PDUType uint8

const (
	PDUConfirmedRequest   PDUType = 0 // 20.1.2
	PDUUnconfirmedRequest PDUType = 1 // 20.1.3
	PDUSimpleACK          PDUType = 2 // 20.1.4
	PDUComplexACK         PDUType = 3 // 20.1.5
	PDUSegmentACK         PDUType = 4 // 20.1.6
	PDUError              PDUType = 5 // 20.1.7
	PDUReject             PDUType = 6 // 20.1.8
	PDUAbort              PDUType = 7 // 20.1.9
)

// maxAPDUSizes are the lengths coded by max-APDU-length-accepted (20.1.2.5); codes above 5
// are reserved.
var maxAPDUSizes = [...]int{50, 128, 206, 480, 1024, 1476}

// MaxAPDUCode returns the code for the largest listed length not above n (20.1.2.5).
func MaxAPDUCode(n int) uint8 {
	c := 0
	for i, s := range maxAPDUSizes {
		if s <= n {
			c = i
		}
	}
	return uint8(c)
}

// maxSegmentsCounts are the counts coded by max-segments-accepted (20.1.2.4): 0 unspecified,
// 7 more than 64 (taken as 64 here, the most this package will assume).
var maxSegmentsCounts = [...]int{0, 2, 4, 8, 16, 32, 64, 64}

// APDU is one application layer message: the fields of its header (20.1) and the service
// data that follows.
type APDU struct {
	Type PDUType
	// Segmented, MoreFollows: SEG and MOR of a confirmed request or complex ACK (20.1.2.1-2).
	Segmented, MoreFollows bool
	// SegmentedResponseAccepted: SA of a confirmed request (20.1.2.3).
	SegmentedResponseAccepted bool
	MaxSegments               int // 20.1.2.4, decoded; 0 unspecified
	MaxAPDU                   int // 20.1.2.5, decoded in octets
	InvokeID                  uint8
	Sequence                  uint8 // sequence-number of a segment, or of a segment ACK
	WindowSize                uint8 // proposed-window-size, or actual-window-size of a segment ACK
	// NAK and Server: flags of a segment ACK (20.1.6.1-2); Server also of an abort (20.1.9.1).
	NAK, Server bool
	// Service is the service choice, or the reject or abort reason.
	Service uint8
	Data    []byte
}

// AppendAPDU appends the header of a and its data.
func AppendAPDU(dst []byte, a APDU) ([]byte, error) {
	first := byte(a.Type) << 4
	switch a.Type {
	case PDUConfirmedRequest:
		first |= flag(a.Segmented, 0x08) | flag(a.MoreFollows, 0x04) | flag(a.SegmentedResponseAccepted, 0x02)
		segs := 0
		for i := 1; i < 7; i++ {
			if maxSegmentsCounts[i] <= a.MaxSegments {
				segs = i
			}
		}
		if a.MaxSegments > 64 {
			segs = 7
		}
		dst = append(dst, first, byte(segs)<<4|MaxAPDUCode(a.MaxAPDU), a.InvokeID)
		if a.Segmented {
			dst = append(dst, a.Sequence, a.WindowSize)
		}
		dst = append(dst, a.Service)
	case PDUComplexACK:
		first |= flag(a.Segmented, 0x08) | flag(a.MoreFollows, 0x04)
		dst = append(dst, first, a.InvokeID)
		if a.Segmented {
			dst = append(dst, a.Sequence, a.WindowSize)
		}
		dst = append(dst, a.Service)
	case PDUUnconfirmedRequest:
		dst = append(dst, first, a.Service)
	case PDUSimpleACK, PDUError, PDUReject:
		dst = append(dst, first, a.InvokeID, a.Service)
	case PDUSegmentACK:
		dst = append(dst, first|flag(a.NAK, 0x02)|flag(a.Server, 0x01), a.InvokeID, a.Sequence, a.WindowSize)
	case PDUAbort:
		dst = append(dst, first|flag(a.Server, 0x01), a.InvokeID, a.Service)
	default:
		return nil, fmt.Errorf("bacnet: apdu type %d is reserved", a.Type)
	}
	return append(dst, a.Data...), nil
}

func flag(b bool, bit byte) byte {
	if b {
		return bit
	}
	return 0
}

// DecodeAPDU reads the header of an APDU. Data shares b.
func DecodeAPDU(b []byte) (APDU, error) {
	if len(b) < 1 {
		return APDU{}, ErrTruncated
	}
	a := APDU{Type: PDUType(b[0] >> 4)}
	f := b[0]
	var need int
	switch a.Type {
	case PDUConfirmedRequest:
		a.Segmented, a.MoreFollows, a.SegmentedResponseAccepted = f&0x08 != 0, f&0x04 != 0, f&0x02 != 0
		need = 4
	case PDUComplexACK:
		a.Segmented, a.MoreFollows = f&0x08 != 0, f&0x04 != 0
		need = 3
	case PDUUnconfirmedRequest:
		need = 2
	case PDUSimpleACK, PDUError, PDUReject, PDUAbort:
		a.Server = a.Type == PDUAbort && f&0x01 != 0
		need = 3
	case PDUSegmentACK:
		a.NAK, a.Server = f&0x02 != 0, f&0x01 != 0
		need = 4
	default:
		return APDU{}, fmt.Errorf("bacnet: apdu type %d is reserved", a.Type)
	}
	if a.Segmented {
		need += 2
	}
	if len(b) < need {
		return APDU{}, ErrTruncated
	}
	return decodeAPDUFields(a, b)
}

func decodeAPDUFields(a APDU, b []byte) (APDU, error) {
	p := 1
	switch a.Type {
	case PDUConfirmedRequest:
		code := b[1] & 0x0f
		if int(code) >= len(maxAPDUSizes) {
			return APDU{}, fmt.Errorf("bacnet: max-apdu-length-accepted code %d is reserved", code)
		}
		a.MaxSegments, a.MaxAPDU = maxSegmentsCounts[b[1]>>4&7], maxAPDUSizes[code]
		p = 2
	case PDUUnconfirmedRequest:
		a.Service, a.Data = b[1], b[2:]
		return a, nil
	case PDUSegmentACK:
		a.InvokeID, a.Sequence, a.WindowSize = b[1], b[2], b[3]
		a.Data = b[4:]
		return a, nil
	}
	a.InvokeID = b[p]
	p++
	if a.Segmented {
		a.Sequence, a.WindowSize = b[p], b[p+1]
		p += 2
	}
	a.Service, a.Data = b[p], b[p+1:]
	return a, nil
}
