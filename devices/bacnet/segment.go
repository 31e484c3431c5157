package bacnet

import (
	"errors"
	"fmt"
)

// DefaultWindowSize is the actual-window-size this package accepts for a segmented complex
// ACK: the most segments a device may send before it waits for a Segment-ACK (ASHRAE
// 135-2020, 20.1.2.8 and 20.1.6.4: 1 to 127). Ours: 16 is wide enough that a 64-segment object list takes four
// round trips, small enough that a lost window costs little.
const DefaultWindowSize = 16

// maxReassembled bounds what one reassembly keeps (ours: 64 segments of the largest
// BACnet/IP APDU, 20.1.2.4's largest listed count), so that a device cannot make the client
// hold an unbounded reply.
const maxReassembled = 64 * 1476

// ErrOutOfWindow is a segment whose sequence number is not the one expected next; it is
// discarded and answered with a negative Segment-ACK (5.4.4.3, SegmentReceivedOutOfOrder).
var ErrOutOfWindow = errors.New("bacnet: segment out of order or out of the window")

// reassembly is the receiving half of a segmented complex ACK (5.2, 5.4.4.3): the state of
// one transaction in SEGMENTED_CONF. add is a pure step of that state and the segment in; the
// caller sends the Segment-ACK it returns and keeps waiting until done.
type reassembly struct {
	window   uint8 // actual-window-size, fixed by the first segment
	next     uint8 // sequence number expected next (modulo 256, 5.1)
	inWindow uint8 // segments received since the last Segment-ACK
	started  bool
	service  uint8
	data     []byte
}

// add takes one segment of the ACK. ack is the Segment-ACK to send (nil when none is due);
// done means the last segment is in and data holds the whole service data.
func (r *reassembly) add(a APDU, ours uint8) (ack *APDU, done bool, err error) {
	if a.Type != PDUComplexACK || !a.Segmented {
		return nil, false, fmt.Errorf("bacnet: %d-type apdu inside a segmented reply", a.Type)
	}
	if !r.started {
		// 5.4.4.2: the first segment has sequence number 0; its proposed-window-size and
		// ours give the actual window, which the Segment-ACK of each window carries (5.2).
		if a.Sequence != 0 {
			return nil, false, ErrOutOfWindow
		}
		if a.WindowSize < 1 || a.WindowSize > 127 {
			return nil, false, fmt.Errorf("bacnet: proposed-window-size %d (20.1.2.8: 1 to 127)", a.WindowSize)
		}
		r.window, r.started, r.service = min(a.WindowSize, ours), true, a.Service
		if r.window < 1 {
			r.window = 1
		}
	} else if a.Sequence != r.next || a.Service != r.service {
		// 5.4.4.3: a duplicate or a segment past a gap is discarded; the negative ACK names
		// the last one received in order, so the sender resumes after it.
		return r.nak(a), false, ErrOutOfWindow
	}
	if len(r.data)+len(a.Data) > maxReassembled {
		return nil, false, fmt.Errorf("bacnet: segmented reply longer than %d octets", maxReassembled)
	}
	r.data = append(r.data, a.Data...)
	r.next, r.inWindow = a.Sequence+1, r.inWindow+1
	// 5.4.4.3: acknowledge the last segment, and each full window (the first segment of
	// the transaction included, 5.4.4.2).
	if !a.MoreFollows || r.inWindow == r.window || a.Sequence == 0 {
		r.inWindow = 0
		return &APDU{Type: PDUSegmentACK, InvokeID: a.InvokeID, Sequence: a.Sequence, WindowSize: r.window}, !a.MoreFollows, nil
	}
	return nil, false, nil
}

// nak is the negative Segment-ACK for an unexpected segment: sequence number of the last
// segment received in order (5.4.4.3).
func (r *reassembly) nak(a APDU) *APDU {
	w := r.window
	if w == 0 {
		w = 1
	}
	return &APDU{Type: PDUSegmentACK, NAK: true, InvokeID: a.InvokeID, Sequence: r.next - 1, WindowSize: w}
}
