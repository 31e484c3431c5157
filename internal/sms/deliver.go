package sms

import (
	"encoding/hex"
	"fmt"
	"strings"
	"time"
)

// Decode reads a PDU as a modem gives it in PDU mode (+CMGR, +CMT, +CDS; TS 27.005, 3.1): the
// SMSC part, then an SMS-DELIVER or an SMS-STATUS-REPORT TPDU. It never panics on what the
// network sends; a short PDU is an error wrapping ErrTruncated.
func Decode(pdu []byte) (Message, error) {
	smsc, n, err := decodeSMSC(pdu)
	if err != nil {
		return nil, err
	}
	b := pdu[n:]
	if len(b) < 1 {
		return nil, fmt.Errorf("sms: TPDU: %w", ErrTruncated)
	}
	switch b[0] & 0x03 {
	case mtiDeliver:
		d, err := decodeDeliver(b)
		if d != nil {
			d.SMSC = smsc
		}
		return d, err
	case mtiStatusReport:
		r, err := decodeStatusReport(b)
		if r != nil {
			r.SMSC = smsc
		}
		return r, err
	}
	return nil, fmt.Errorf("sms: TP-MTI %d from the service centre: %w", b[0]&0x03, ErrUnsupported)
}

// decodeDeliver reads an SMS-DELIVER TPDU (TS 23.040, 9.2.2.1): FO, TP-OA, TP-PID, TP-DCS,
// TP-SCTS, TP-UDL, TP-UD.
func decodeDeliver(b []byte) (*Deliver, error) {
	fo := b[0]
	from, n, err := decodeAddress(b[1:], "originating")
	if err != nil {
		return nil, err
	}
	b = b[1+n:]
	if len(b) < 2+7+1 {
		return nil, fmt.Errorf("sms: SMS-DELIVER PID, DCS, SCTS, UDL: %w", ErrTruncated)
	}
	d := &Deliver{From: from, StatusReportIndicated: fo&flagSR != 0, Time: decodeTime(b[2:9])}
	if d.Alphabet, err = alphabetOf(b[1]); err != nil {
		return nil, err
	}
	ud, err := decodeUserData(d.Alphabet, fo&flagUDHI != 0, int(b[9]), b[10:])
	if err != nil {
		return nil, err
	}
	d.Text, d.Data, d.Concat = ud.text, ud.data, ud.concat
	return d, nil
}

// decodeStatusReport reads an SMS-STATUS-REPORT TPDU (TS 23.040, 9.2.2.3): FO, TP-MR, TP-RA,
// TP-SCTS, TP-DT, TP-ST; the optional parameters after it are not needed and not read.
func decodeStatusReport(b []byte) (*StatusReport, error) {
	if len(b) < 2 {
		return nil, fmt.Errorf("sms: SMS-STATUS-REPORT reference: %w", ErrTruncated)
	}
	r := &StatusReport{Ref: int(b[1])}
	to, n, err := decodeAddress(b[2:], "recipient")
	if err != nil {
		return nil, err
	}
	r.Recipient = to
	b = b[2+n:]
	if len(b) < 7+7+1 {
		return nil, fmt.Errorf("sms: SMS-STATUS-REPORT times and status: %w", ErrTruncated)
	}
	r.SCTime, r.Discharge, r.Status = decodeTime(b[0:7]), decodeTime(b[7:14]), b[14]
	return r, nil
}

// decodeTime reads TP-SCTS / TP-DT (TS 23.040, 9.2.3.11): year, month, day, hour, minute,
// second in swapped semi-octets, then the time zone in quarter hours from GMT, whose sign
// is bit 3 of that octet (the tens digit's spare bit). A stamp with a field out of range
// (some networks send rubbish) gives the zero time rather than failing the message.
func decodeTime(b []byte) time.Time {
	var f [6]int
	for i := range f {
		lo, hi := int(b[i]&0xF), int(b[i]>>4)
		if lo > 9 || hi > 9 {
			return time.Time{}
		}
		f[i] = lo*10 + hi
	}
	quarters := int(b[6]&0x07)*10 + int(b[6]>>4)
	if b[6]>>4 > 9 || quarters > 14*4 {
		return time.Time{}
	}
	if b[6]&0x08 != 0 {
		quarters = -quarters
	}
	if f[1] < 1 || f[1] > 12 || f[2] < 1 || f[2] > 31 || f[3] > 23 || f[4] > 59 || f[5] > 59 {
		return time.Time{}
	}
	zone := time.FixedZone(zoneName(quarters), quarters*15*60)
	year := 2000 + f[0]
	if f[0] >= 70 { // two digits: 70-99 are the last century's
		year -= 100
	}
	return time.Date(year, time.Month(f[1]), f[2], f[3], f[4], f[5], 0, zone)
}

func zoneName(quarters int) string {
	sign := '+'
	if quarters < 0 {
		sign, quarters = '-', -quarters
	}
	return fmt.Sprintf("%c%02d%02d", sign, quarters/4, quarters%4*15)
}

// encodeTime writes a TP-SCTS for t in t's own zone, rounded down to whole quarter hours.
func encodeTime(t time.Time) []byte {
	_, off := t.Zone()
	q := off / (15 * 60)
	tz := byte(0)
	if q < 0 {
		tz, q = 0x08, -q
	}
	tz |= byte(q/10) | byte(q%10)<<4
	out := semiOctets(fmt.Sprintf("%02d%02d%02d%02d%02d%02d", t.Year()%100, t.Month(), t.Day(), t.Hour(), t.Minute(), t.Second()))
	return append(out, tz)
}

// DeliverOptions are the parts of an SMS-DELIVER that are not sender, text and time.
type DeliverOptions struct {
	SMSC string // service centre, e.g. "+8613800100500"; empty writes no SMSC part
	Ref  uint16 // concatenation reference
	// Ref16 uses the 16-bit reference element (IEI 0x08) instead of the 8-bit one.
	Ref16 bool
}

// EncodeDeliver builds the SMS-DELIVER PDUs a phone's text from `from` arrives as, for the
// modem simulator and for tests: a number, or an alphanumeric sender such as "Estate".
// PDU.Hex includes the SMSC part, as +CMGR shows it.
func EncodeDeliver(from, text string, at time.Time, opts DeliverOptions) ([]PDU, error) {
	oa, err := encodeOriginator(from)
	if err != nil {
		return nil, err
	}
	smsc, err := encodeSMSC(opts.SMSC)
	if err != nil {
		return nil, err
	}
	hdr := concatUDHLen
	if opts.Ref16 {
		hdr++
	}
	alpha, segs, err := plan(text, 255, hdr)
	if err != nil {
		return nil, err
	}
	out := make([]PDU, len(segs))
	for i, seg := range segs {
		fo := byte(mtiDeliver | flagMMS)
		var ud []byte
		var udl byte
		if len(segs) > 1 {
			fo |= flagUDHI
			udl, ud = concatDeliverUD(alpha, seg, opts, len(segs), i+1)
		} else {
			udl, ud = userData(alpha, seg, nil)
		}
		tpdu := append([]byte{fo}, oa...)
		tpdu = append(tpdu, 0x00, alpha.dcs())
		tpdu = append(tpdu, encodeTime(at)...)
		tpdu = append(append(tpdu, udl), ud...)
		out[i] = PDU{Hex: strings.ToUpper(hex.EncodeToString(append(append([]byte{}, smsc...), tpdu...))), Len: len(tpdu)}
	}
	return out, nil
}

// concatDeliverUD is userData with an 8-bit or, with Ref16, a 16-bit reference header (one
// octet longer: parts of 152 septets or 66 UCS-2 units).
func concatDeliverUD(a Alphabet, seg segment, opts DeliverOptions, count, seq int) (byte, []byte) {
	if !opts.Ref16 {
		return userData(a, seg, &Concat{Ref: opts.Ref, Count: count, Seq: seq})
	}
	udh := []byte{6, 0x08, 0x04, byte(opts.Ref >> 8), byte(opts.Ref), byte(count), byte(seq)}
	if a == GSM7 {
		const start = 8 // 7 octets = 56 bits = 8 septets, no fill bits
		ud := packSeptets(seg.septets, start)
		copy(ud, udh)
		return byte(start + len(seg.septets)), ud
	}
	for _, u := range seg.units {
		udh = append(udh, byte(u>>8), byte(u))
	}
	return byte(len(udh)), udh
}

// encodeOriginator writes TP-OA: digits as encodeAddress does, or an alphanumeric sender
// (TON 101) of GSM characters, packed, its length in useful semi-octets (TS 23.040, 9.1.2.5).
func encodeOriginator(from string) ([]byte, error) {
	if a, err := encodeAddress(from); err == nil {
		return a, nil
	}
	septets, ok := toGSM7(from)
	if !ok || len(septets) == 0 || len(septets) > 11 {
		return nil, fmt.Errorf("sms: sender %q: neither a number nor 1-11 GSM characters", from)
	}
	packed := packSeptets(septets, 0)
	return append([]byte{byte((len(septets)*7 + 3) / 4), 0xD0}, packed...), nil
}

// encodeSMSC writes the SMSC part before a TPDU (TS 24.011, 8.2.5.1): its length in octets
// including the type, or 00 for none.
func encodeSMSC(number string) ([]byte, error) {
	if number == "" {
		return []byte{0}, nil
	}
	a, err := encodeAddress(number)
	if err != nil {
		return nil, err
	}
	return append([]byte{byte(len(a) - 1)}, a[1:]...), nil
}

// EncodeStatusReport builds the SMS-STATUS-REPORT PDU (with SMSC part) a service centre sends
// about message r.Ref, for the modem simulator and tests.
func EncodeStatusReport(r StatusReport) (PDU, error) {
	ra, err := encodeAddress(r.Recipient)
	if err != nil {
		return PDU{}, err
	}
	smsc, err := encodeSMSC(r.SMSC)
	if err != nil {
		return PDU{}, err
	}
	tpdu := append([]byte{mtiStatusReport, byte(r.Ref)}, ra...)
	tpdu = append(tpdu, encodeTime(r.SCTime)...)
	tpdu = append(tpdu, encodeTime(r.Discharge)...)
	tpdu = append(tpdu, r.Status)
	return PDU{Hex: strings.ToUpper(hex.EncodeToString(append(smsc, tpdu...))), Len: len(tpdu)}, nil
}
