package bacnet

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// npduVersion is the BACnet protocol version (ASHRAE 135-2020, 6.2.1: X'01').
const npduVersion = 0x01

// Priority is the network priority of an NPDU (6.2.2, bits 1 and 0 of the control octet).
type Priority uint8

const (
	PriorityNormal        Priority = 0
	PriorityUrgent        Priority = 1
	PriorityCriticalEquip Priority = 2
	PriorityLifeSafety    Priority = 3
)

// Address is a BACnet network address beyond the local network (6.2.2): a network number and
// the MAC address of the station on it. An empty MAC with a network number is a broadcast on
// that network (6.2.2: DLEN 0); Net 0xFFFF is a global broadcast.
type Address struct {
	Net uint16
	MAC []byte
}

// GlobalBroadcast is DNET X'FFFF' (6.2.2).
const GlobalBroadcast = 0xffff

// DefaultHopCount is the hop count of a message to a remote network (6.2: the originator
// sets it to X'FF').
const DefaultHopCount = 0xff

// NPDU is the network layer header and the APDU (or network layer message) it carries.
type NPDU struct {
	ExpectingReply bool
	Priority       Priority
	Dest           *Address // DNET/DADR, nil for the local network
	Source         *Address // SNET/SADR, set by a router forwarding from another network
	HopCount       uint8
	// NetworkMessage marks a network layer message (6.2.2, bit 7): MessageType says which,
	// and APDU holds its data.
	NetworkMessage bool
	MessageType    uint8
	APDU           []byte
}

// AppendNPDU appends n: version, control octet, the addresses present and the hop count
// (6.2).
func AppendNPDU(dst []byte, n NPDU) ([]byte, error) {
	ctl := byte(n.Priority & 3)
	if n.NetworkMessage {
		ctl |= 0x80
	}
	if n.Dest != nil {
		ctl |= 0x20
	}
	if n.Source != nil {
		ctl |= 0x08
	}
	if n.ExpectingReply {
		ctl |= 0x04
	}
	dst = append(dst, npduVersion, ctl)
	if n.Dest != nil {
		if len(n.Dest.MAC) > 0xff {
			return nil, fmt.Errorf("bacnet: destination mac of %d octets", len(n.Dest.MAC))
		}
		dst = binary.BigEndian.AppendUint16(dst, n.Dest.Net)
		dst = append(append(dst, byte(len(n.Dest.MAC))), n.Dest.MAC...)
	}
	if n.Source != nil {
		// 6.2.2: SLEN 0 is invalid, and SNET X'FFFF' is not a source network.
		if len(n.Source.MAC) == 0 || len(n.Source.MAC) > 0xff || n.Source.Net == GlobalBroadcast {
			return nil, fmt.Errorf("bacnet: source address %d/%x is not a station", n.Source.Net, n.Source.MAC)
		}
		dst = binary.BigEndian.AppendUint16(dst, n.Source.Net)
		dst = append(append(dst, byte(len(n.Source.MAC))), n.Source.MAC...)
	}
	if n.Dest != nil {
		dst = append(dst, n.HopCount)
	}
	if n.NetworkMessage {
		dst = append(dst, n.MessageType)
	}
	return append(dst, n.APDU...), nil
}

// DecodeNPDU reads the network layer header of b. The APDU it returns shares b.
func DecodeNPDU(b []byte) (NPDU, error) {
	if len(b) < 2 {
		return NPDU{}, ErrTruncated
	}
	if b[0] != npduVersion {
		return NPDU{}, fmt.Errorf("bacnet: npdu version %d (want 1)", b[0])
	}
	ctl := b[1]
	n := NPDU{NetworkMessage: ctl&0x80 != 0, ExpectingReply: ctl&0x04 != 0, Priority: Priority(ctl & 3)}
	p := 2
	var err error
	if ctl&0x20 != 0 {
		if n.Dest, p, err = decodeAddress(b, p); err != nil {
			return NPDU{}, err
		}
	}
	if ctl&0x08 != 0 {
		if n.Source, p, err = decodeAddress(b, p); err != nil {
			return NPDU{}, err
		}
		if len(n.Source.MAC) == 0 {
			return NPDU{}, errors.New("bacnet: npdu source with SLEN 0") // 6.2.2
		}
	}
	if n.Dest != nil {
		if len(b) < p+1 {
			return NPDU{}, ErrTruncated
		}
		n.HopCount, p = b[p], p+1
	}
	if n.NetworkMessage {
		if len(b) < p+1 {
			return NPDU{}, ErrTruncated
		}
		n.MessageType, p = b[p], p+1
		// 6.2: message types X'80' to X'FF' are proprietary and carry a vendor id.
		if n.MessageType >= 0x80 {
			if len(b) < p+2 {
				return NPDU{}, ErrTruncated
			}
			p += 2
		}
	}
	n.APDU = b[p:]
	return n, nil
}

func decodeAddress(b []byte, p int) (*Address, int, error) {
	if len(b) < p+3 {
		return nil, 0, ErrTruncated
	}
	a := &Address{Net: binary.BigEndian.Uint16(b[p:])}
	l := int(b[p+2])
	p += 3
	if len(b) < p+l {
		return nil, 0, ErrTruncated
	}
	if l > 0 {
		a.MAC = append([]byte(nil), b[p:p+l]...)
	}
	return a, p + l, nil
}
