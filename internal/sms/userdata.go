package sms

import (
	"fmt"
	"unicode/utf16"
	"unicode/utf8"
)

// Capacities of the user data (TS 23.040, 9.2.3.16 and 9.2.3.24.1): a single part carries 140
// octets, that is 160 septets or 70 UCS-2 units; a concatenated part loses 6 octets to its
// header (UDHL, IEI 0x00, IEDL, ref, count, seq), leaving 153 septets (one fill bit, 9.2.3.24)
// or 67 UCS-2 units.
const (
	maxSeptets       = 160
	maxUnits         = 70
	concatUDHLen     = 6 // octets of the 8-bit reference header including UDHL
	concatUDHSeptets = 7 // (6*8 + 1 fill bit) / 7
)

// segment is the text of one part: GSM 7-bit septets or UTF-16 code units.
type segment struct {
	septets []byte
	units   []uint16
}

// split chooses the alphabet for text (GSM 7-bit when every character is in the default
// alphabet or its extension table, else UCS-2) and cuts it into parts.
func split(text string, hdr int) (Alphabet, []segment) {
	if septets, ok := toGSM7(text); ok {
		return GSM7, splitSeptets(septets, maxSeptets-(hdr*8+6)/7)
	}
	return UCS2, splitUnits(utf16.Encode([]rune(text)), (140-hdr)/2)
}

// splitSeptets cuts septets into parts of at most per (153 with the 8-bit reference header), never between an escape and the
// character it extends (TS 23.040, 9.2.3.24.1 does not allow a character to straddle parts).
func splitSeptets(s []byte, per int) []segment {
	if len(s) <= maxSeptets {
		return []segment{{septets: s}}
	}
	var out []segment
	for len(s) > 0 {
		n := min(len(s), per)
		if n < len(s) && s[n-1] == escape && !escapedAt(s, n-1) {
			n--
		}
		out = append(out, segment{septets: s[:n]})
		s = s[n:]
	}
	return out
}

// escapedAt says septet i is itself the character after an escape (an escaped 0x1B would be
// one, though the table has none; counting escapes back is the safe reading).
func escapedAt(s []byte, i int) bool {
	run := 0
	for j := i - 1; j >= 0 && s[j] == escape; j-- {
		run++
	}
	return run%2 == 1
}

// splitUnits cuts UTF-16 units into parts of at most per (67 with the 8-bit reference header), never between the two halves of a
// surrogate pair.
func splitUnits(u []uint16, per int) []segment {
	if len(u) <= maxUnits {
		return []segment{{units: u}}
	}
	var out []segment
	for len(u) > 0 {
		n := min(len(u), per)
		if n < len(u) && utf16.IsSurrogate(rune(u[n-1])) && u[n-1] < 0xDC00 {
			n--
		}
		out = append(out, segment{units: u[:n]})
		u = u[n:]
	}
	return out
}

// userData gives TP-UDL and TP-UD for a segment, with the concatenation header when c is set.
func userData(a Alphabet, seg segment, c *Concat) (byte, []byte) {
	var udh []byte
	if c != nil {
		udh = []byte{concatUDHLen - 1, 0x00, 0x03, byte(c.Ref), byte(c.Count), byte(c.Seq)}
	}
	if a == GSM7 {
		start := 0
		if udh != nil {
			start = concatUDHSeptets
		}
		ud := packSeptets(seg.septets, start)
		copy(ud, udh)
		return byte(start + len(seg.septets)), ud
	}
	ud := append([]byte{}, udh...)
	for _, u := range seg.units {
		ud = append(ud, byte(u>>8), byte(u))
	}
	return byte(len(ud)), ud
}

// alphabetOf reads TP-DCS (TS 23.038, 4). Reserved codings are read as the GSM 7-bit default
// alphabet, as the standard asks of a receiver; compressed text is not supported.
func alphabetOf(dcs byte) (Alphabet, error) {
	switch dcs >> 4 {
	case 0x0, 0x1, 0x2, 0x3, 0x4, 0x5, 0x6, 0x7: // general data coding, with or without auto-deletion
		if dcs&0x20 != 0 {
			return 0, fmt.Errorf("sms: DCS 0x%02X says compressed text: %w", dcs, ErrUnsupported)
		}
		switch dcs >> 2 & 0x3 {
		case 1:
			return Data8, nil
		case 2:
			return UCS2, nil
		}
		return GSM7, nil
	case 0xE: // message waiting indication, store message, UCS-2
		return UCS2, nil
	case 0xF: // data coding / message class: bit 2 is the alphabet
		if dcs&0x04 != 0 {
			return Data8, nil
		}
	}
	return GSM7, nil
}

// decodedUD is the user data of a DELIVER or SUBMIT, read.
type decodedUD struct {
	text   string
	data   []byte
	concat *Concat
}

// decodeUserData reads TP-UD of udl units (septets for GSM 7-bit, else octets) from ud,
// splitting off the header when TP-UDHI is set (TS 23.040, 9.2.3.24).
func decodeUserData(a Alphabet, udhi bool, udl int, ud []byte) (decodedUD, error) {
	var out decodedUD
	octets := udl
	if a == GSM7 {
		octets = (udl*7 + 7) / 8
	}
	if octets > len(ud) {
		return out, fmt.Errorf("sms: user data of %d octets, %d present: %w", octets, len(ud), ErrTruncated)
	}
	ud = ud[:octets]
	skip := 0
	if udhi {
		if len(ud) < 1 || int(ud[0])+1 > len(ud) {
			return out, fmt.Errorf("sms: user data header: %w", ErrTruncated)
		}
		c, err := parseUDH(ud[1 : 1+int(ud[0])])
		if err != nil {
			return out, err
		}
		out.concat = c
		skip = 1 + int(ud[0])
	}
	switch a {
	case GSM7:
		start := (skip*8 + 6) / 7
		septets, _ := unpackSeptets(ud, udl, min(start, udl))
		out.text = fromGSM7(septets)
	case UCS2:
		body := ud[skip:]
		units := make([]uint16, len(body)/2)
		for i := range units {
			units[i] = uint16(body[2*i])<<8 | uint16(body[2*i+1])
		}
		out.text = string(utf16.Decode(units))
	default:
		out.data = append([]byte{}, ud[skip:]...)
	}
	return out, nil
}

// parseUDH walks the information elements of a user data header and keeps concatenation
// (IEI 0x00, 8-bit reference, 9.2.3.24.1; IEI 0x08, 16-bit reference, 9.2.3.24.8). An element
// with count 0 or a sequence number outside 1..count is ignored, as 9.2.3.24.1 asks.
func parseUDH(h []byte) (*Concat, error) {
	var c *Concat
	for len(h) > 0 {
		if len(h) < 2 || int(h[1])+2 > len(h) {
			return nil, fmt.Errorf("sms: user data header element: %w", ErrTruncated)
		}
		iei, data := h[0], h[2:2+int(h[1])]
		h = h[2+int(h[1]):]
		var next *Concat
		switch {
		case iei == 0x00 && len(data) == 3:
			next = &Concat{Ref: uint16(data[0]), Count: int(data[1]), Seq: int(data[2])}
		case iei == 0x08 && len(data) == 4:
			next = &Concat{Ref: uint16(data[0])<<8 | uint16(data[1]), Count: int(data[2]), Seq: int(data[3])}
		}
		if next != nil && next.Count > 0 && next.Seq >= 1 && next.Seq <= next.Count {
			c = next
		}
	}
	return c, nil
}

// textLen counts characters for error messages.
func textLen(s string) int { return utf8.RuneCountInString(s) }
