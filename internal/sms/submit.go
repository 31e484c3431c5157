package sms

import (
	"encoding/hex"
	"fmt"
	"strings"
	"time"
)

// DefaultMaxParts bounds a concatenated message when SubmitOptions.MaxParts is 0: eight parts
// are 1224 GSM characters or 536 Chinese ones, more than any alert needs.
const DefaultMaxParts = 8

// SubmitOptions are the choices of an SMS-SUBMIT that are not the text.
type SubmitOptions struct {
	// StatusReport sets TP-SRR: the service centre reports delivery (a +CDS later).
	StatusReport bool
	// Ref is the concatenation reference shared by the parts of one long message; give each
	// long message a new one so the phone does not mix two.
	Ref byte
	// Validity is TP-VP, relative (TS 23.040, 9.2.3.12.1): how long the service centre keeps
	// trying; 0 means 24 hours.
	Validity time.Duration
	// MaxParts bounds the number of parts; 0 means DefaultMaxParts, at most 255.
	MaxParts int
}

// PDU is one SMS-SUBMIT as AT+CMGS takes it in PDU mode (TS 27.005, 3.5.1): Hex is the SMSC
// part ("00": the SIM's service centre) followed by the TPDU, and Len the TPDU's length in
// octets, without the SMSC part, which is what AT+CMGS=<length> counts.
type PDU struct {
	Hex string
	Len int
}

// Encode builds the SMS-SUBMIT PDUs that send text to a number: "+8613800138000" is
// international, anything else is sent as dialled. The text goes in the GSM 7-bit alphabet
// when every character fits, else in UCS-2; a long text becomes concatenated parts.
func Encode(to, text string, opts SubmitOptions) ([]PDU, error) {
	da, err := encodeAddress(to)
	if err != nil {
		return nil, err
	}
	alpha, segs, err := plan(text, opts.MaxParts, concatUDHLen)
	if err != nil {
		return nil, err
	}
	fo := byte(mtiSubmit | flagVPFr)
	if opts.StatusReport {
		fo |= flagSR
	}
	out := make([]PDU, len(segs))
	for i, seg := range segs {
		var c *Concat
		first := fo
		if len(segs) > 1 {
			c = &Concat{Ref: uint16(opts.Ref), Count: len(segs), Seq: i + 1}
			first |= flagUDHI
		}
		udl, ud := userData(alpha, seg, c)
		// TS 23.040, 9.2.2.2: FO, TP-MR (0: the modem assigns it), TP-DA, TP-PID, TP-DCS,
		// TP-VP, TP-UDL, TP-UD.
		tpdu := append([]byte{first, 0x00}, da...)
		tpdu = append(tpdu, 0x00, alpha.dcs(), validity(opts.Validity), udl)
		tpdu = append(tpdu, ud...)
		out[i] = PDU{Hex: "00" + strings.ToUpper(hex.EncodeToString(tpdu)), Len: len(tpdu)}
	}
	return out, nil
}

// plan splits text and checks it against the part limit.
// hdr is the length in octets of the concatenation header, UDHL included.
func plan(text string, maxParts, hdr int) (Alphabet, []segment, error) {
	if maxParts <= 0 {
		maxParts = DefaultMaxParts
	}
	maxParts = min(maxParts, 255)
	alpha, segs := split(text, hdr)
	if len(segs) > maxParts {
		return 0, nil, &TooLongError{Chars: textLen(text), Parts: len(segs), MaxParts: maxParts, Alphabet: alpha}
	}
	return alpha, segs, nil
}

// validity is the relative TP-VP octet (TS 23.040, 9.2.3.12.1) for the shortest period not
// below d: 0-143 are (n+1) x 5 minutes, 144-167 are 12 hours + (n-143) x 30 minutes, 168-196
// are (n-166) days, 197-255 are (n-192) weeks.
func validity(d time.Duration) byte {
	switch {
	case d <= 0:
		return 167 // 24 hours
	case d <= 12*time.Hour:
		return byte(max((d+5*time.Minute-1)/(5*time.Minute)-1, 0))
	case d <= 24*time.Hour:
		return byte(143 + (d-12*time.Hour+30*time.Minute-1)/(30*time.Minute))
	case d <= 30*24*time.Hour:
		return byte(166 + (d+24*time.Hour-1)/(24*time.Hour))
	case d <= 63*7*24*time.Hour:
		return byte(192 + (d+7*24*time.Hour-1)/(7*24*time.Hour))
	}
	return 255
}

// Submit is an SMS-SUBMIT read back, for the simulator on the far side of AT+CMGS.
type Submit struct {
	To           string
	StatusReport bool
	MR           int
	Alphabet     Alphabet
	Text         string
	Concat       *Concat
}

// DecodeSubmit reads an SMS-SUBMIT as AT+CMGS carries it: SMSC part, then the TPDU
// (TS 23.040, 9.2.2.2).
func DecodeSubmit(pdu []byte) (*Submit, error) {
	_, n, err := decodeSMSC(pdu)
	if err != nil {
		return nil, err
	}
	b := pdu[n:]
	if len(b) < 2 {
		return nil, fmt.Errorf("sms: SMS-SUBMIT header: %w", ErrTruncated)
	}
	fo := b[0]
	if fo&0x03 != mtiSubmit {
		return nil, fmt.Errorf("sms: TP-MTI %d is not SMS-SUBMIT: %w", fo&0x03, ErrUnsupported)
	}
	s := &Submit{StatusReport: fo&flagSR != 0, MR: int(b[1])}
	to, an, err := decodeAddress(b[2:], "destination")
	if err != nil {
		return nil, err
	}
	s.To = to
	b = b[2+an:]
	vpLen := map[byte]int{0x00: 0, 0x10: 1, 0x08: 7, 0x18: 7}[fo&vpfMask]
	if len(b) < 3+vpLen {
		return nil, fmt.Errorf("sms: SMS-SUBMIT PID, DCS, VP, UDL: %w", ErrTruncated)
	}
	if s.Alphabet, err = alphabetOf(b[1]); err != nil {
		return nil, err
	}
	udl := int(b[2+vpLen])
	ud, err := decodeUserData(s.Alphabet, fo&flagUDHI != 0, udl, b[3+vpLen:])
	if err != nil {
		return nil, err
	}
	s.Text, s.Concat = ud.text, ud.concat
	return s, nil
}

// DecodeHex is Decode of a PDU written in hex, as modems print it.
func DecodeHex(s string) (Message, error) {
	b, err := hex.DecodeString(strings.TrimSpace(s))
	if err != nil {
		return nil, fmt.Errorf("sms: PDU is not hex: %w", err)
	}
	return Decode(b)
}
