package sms

import (
	"fmt"
	"strings"
)

// Type-of-address octets (3GPP TS 23.040, 9.1.2.5): bit 7 set, type of number in bits 6-4,
// numbering plan in bits 3-0.
const (
	toaInternational = 0x91 // TON international, NPI ISDN/E.164
	toaUnknown       = 0x81 // TON unknown, NPI ISDN/E.164
	tonMask          = 0x70
	tonInternational = 0x10
	tonAlphanumeric  = 0x50 // TON 101: GSM 7-bit default alphabet, TS 23.038
)

// encodeAddress writes an address field (TS 23.040, 9.1.2.5): the count of useful semi-octets,
// the type of address, then the digits in swapped semi-octets with an F filler when odd
// (TS 23.040, 9.1.2.3). A leading + makes the number international.
func encodeAddress(number string) ([]byte, error) {
	toa := byte(toaUnknown)
	digits := number
	if strings.HasPrefix(number, "+") {
		toa, digits = toaInternational, number[1:]
	}
	if digits == "" || len(digits) > 20 {
		return nil, fmt.Errorf("sms: phone number %q: want 1-20 digits, optionally after +", number)
	}
	for _, c := range digits {
		if !isAddressDigit(c) {
			return nil, fmt.Errorf("sms: phone number %q: %q is not a digit, *, #, a, b or c", number, c)
		}
	}
	out := []byte{byte(len(digits)), toa}
	return append(out, semiOctets(digits)...), nil
}

func isAddressDigit(c rune) bool {
	return c >= '0' && c <= '9' || c == '*' || c == '#' || c == 'a' || c == 'b' || c == 'c'
}

// semiOctets packs digits two to an octet, the first in the low nibble (TS 23.040, 9.1.2.3).
func semiOctets(digits string) []byte {
	out := make([]byte, 0, (len(digits)+1)/2)
	for i := 0; i < len(digits); i += 2 {
		lo := nibbleOf(digits[i])
		hi := byte(0xF)
		if i+1 < len(digits) {
			hi = nibbleOf(digits[i+1])
		}
		out = append(out, hi<<4|lo)
	}
	return out
}

// nibbleOf is the BCD value of a digit; *, #, a, b, c are 0xA-0xE (TS 24.008, 10.5.4.7).
func nibbleOf(c byte) byte {
	switch c {
	case '*':
		return 0xA
	case '#':
		return 0xB
	case 'a', 'b', 'c':
		return c - 'a' + 0xC
	}
	return c - '0'
}

const nibbleDigits = "0123456789*#abc"

// decodeAddress reads an address field at b[0], giving the address and the octets it took.
// An alphanumeric address (TON 101) is GSM 7-bit packed; its length still counts semi-octets.
func decodeAddress(b []byte, what string) (string, int, error) {
	if len(b) < 2 {
		return "", 0, fmt.Errorf("sms: %s address: %w", what, ErrTruncated)
	}
	n, toa := int(b[0]), b[1]
	octets := (n + 1) / 2
	if len(b) < 2+octets {
		return "", 0, fmt.Errorf("sms: %s address of %d semi-octets: %w", what, n, ErrTruncated)
	}
	body := b[2 : 2+octets]
	if toa&tonMask == tonAlphanumeric {
		septets, _ := unpackSeptets(body, n*4/7, 0)
		return fromGSM7(septets), 2 + octets, nil
	}
	var sb strings.Builder
	if toa&tonMask == tonInternational && n > 0 {
		sb.WriteByte('+')
	}
	for i := 0; i < n; i++ {
		v := body[i/2] >> (4 * uint(i%2)) & 0xF
		if v == 0xF {
			break
		}
		sb.WriteByte(nibbleDigits[v])
	}
	return sb.String(), 2 + octets, nil
}

// decodeSMSC reads the SMSC information that modems put before a TPDU in PDU mode
// (TS 27.005, 3.1; TS 24.011, 8.2.5.1): a length in octets (0: none), then type and digits.
func decodeSMSC(b []byte) (string, int, error) {
	if len(b) < 1 {
		return "", 0, fmt.Errorf("sms: SMSC address: %w", ErrTruncated)
	}
	n := int(b[0])
	if n == 0 {
		return "", 1, nil
	}
	if len(b) < 1+n || n > 11 {
		return "", 0, fmt.Errorf("sms: SMSC address of %d octets: %w", n, ErrTruncated)
	}
	// Re-read it as an address field whose length counts semi-octets.
	field := append([]byte{byte((n - 1) * 2)}, b[1:1+n]...)
	addr, _, err := decodeAddress(field, "SMSC")
	return addr, 1 + n, err
}
