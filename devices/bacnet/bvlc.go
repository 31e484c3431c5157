package bacnet

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"
)

// BVLCFunction is a BVLL message type (ASHRAE 135-2020, J.2, Table J-1).
type BVLCFunction uint8

const (
	BVLCResult                       BVLCFunction = 0x00 // J.2.1
	BVLCForwardedNPDU                BVLCFunction = 0x04 // J.2.9
	BVLCRegisterForeignDevice        BVLCFunction = 0x05 // J.2.6
	BVLCDistributeBroadcastToNetwork BVLCFunction = 0x09 // J.2.10
	BVLCOriginalUnicastNPDU          BVLCFunction = 0x0a // J.2.11
	BVLCOriginalBroadcastNPDU        BVLCFunction = 0x0b // J.2.12
)

// BVLC result codes (J.2.1.1).
const (
	ResultSuccessful               uint16 = 0x0000
	ResultRegisterForeignDeviceNAK uint16 = 0x0030
	ResultDistributeBroadcastNAK   uint16 = 0x0060
)

// bvlcTypeIP is the BVLC type of BACnet/IP (J.2: X'81').
const bvlcTypeIP = 0x81

// BVLC is one BACnet Virtual Link Layer message of BACnet/IP (Annex J.2).
type BVLC struct {
	Function BVLCFunction
	// Origin is the B/IP address of the original source of a Forwarded-NPDU (J.2.9).
	Origin netip.AddrPort
	// Result is the code of a BVLC-Result (J.2.1).
	Result uint16
	// TTL is the time-to-live in seconds of a Register-Foreign-Device (J.2.6).
	TTL uint16
	// NPDU is the network layer message carried by the NPDU-carrying functions.
	NPDU []byte
}

// AppendBVLC appends m with its 4-octet header: type, function and the length of the whole
// message including the header (J.2).
func AppendBVLC(dst []byte, m BVLC) ([]byte, error) {
	start := len(dst)
	dst = append(dst, bvlcTypeIP, byte(m.Function), 0, 0)
	switch m.Function {
	case BVLCResult:
		dst = binary.BigEndian.AppendUint16(dst, m.Result)
	case BVLCRegisterForeignDevice:
		dst = binary.BigEndian.AppendUint16(dst, m.TTL)
	case BVLCForwardedNPDU:
		if !m.Origin.Addr().Is4() {
			return nil, fmt.Errorf("bacnet: forwarded-npdu origin %s is not IPv4", m.Origin)
		}
		a := m.Origin.Addr().As4()
		dst = binary.BigEndian.AppendUint16(append(dst, a[:]...), m.Origin.Port())
		dst = append(dst, m.NPDU...)
	case BVLCOriginalUnicastNPDU, BVLCOriginalBroadcastNPDU, BVLCDistributeBroadcastToNetwork:
		dst = append(dst, m.NPDU...)
	default:
		return nil, fmt.Errorf("bacnet: bvlc function 0x%02x is not sent by this package", uint8(m.Function))
	}
	n := len(dst) - start
	if n > 0xffff {
		return nil, fmt.Errorf("bacnet: bvlc message of %d octets", n)
	}
	binary.BigEndian.PutUint16(dst[start+2:], uint16(n))
	return dst, nil
}

// DecodeBVLC reads one BVLL message. The NPDU it returns shares b.
func DecodeBVLC(b []byte) (BVLC, error) {
	if len(b) < 4 {
		return BVLC{}, ErrTruncated
	}
	if b[0] != bvlcTypeIP {
		return BVLC{}, fmt.Errorf("bacnet: bvlc type 0x%02x is not BACnet/IP (0x81)", b[0])
	}
	m := BVLC{Function: BVLCFunction(b[1])}
	if n := int(binary.BigEndian.Uint16(b[2:])); n != len(b) {
		return BVLC{}, fmt.Errorf("bacnet: bvlc length %d in a datagram of %d octets", n, len(b))
	}
	body := b[4:]
	switch m.Function {
	case BVLCResult, BVLCRegisterForeignDevice:
		if len(body) != 2 {
			return BVLC{}, fmt.Errorf("bacnet: bvlc function 0x%02x with %d octets", b[1], len(body))
		}
		m.Result = binary.BigEndian.Uint16(body)
		if m.Function == BVLCRegisterForeignDevice {
			m.TTL, m.Result = m.Result, 0
		}
	case BVLCForwardedNPDU:
		if len(body) < 6 {
			return BVLC{}, ErrTruncated
		}
		m.Origin = netip.AddrPortFrom(netip.AddrFrom4([4]byte(body[:4])), binary.BigEndian.Uint16(body[4:]))
		m.NPDU = body[6:]
	case BVLCOriginalUnicastNPDU, BVLCOriginalBroadcastNPDU, BVLCDistributeBroadcastToNetwork:
		m.NPDU = body
	default:
		return BVLC{}, errUnhandledBVLC
	}
	return m, nil
}

// errUnhandledBVLC is returned for BVLL functions a client has no use for (the broadcast
// distribution and foreign-device tables, which only a BBMD keeps).
var errUnhandledBVLC = errors.New("bacnet: bvlc function not handled")
