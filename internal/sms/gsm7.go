package sms

// The GSM 7-bit default alphabet and its extension table, 3GPP TS 23.038, 6.2.1 and 6.2.1.1.

// escape is the septet that switches the next one to the extension table (TS 23.038, 6.2.1.1).
const escape = 0x1B

// gsmBasic maps each septet 0x00-0x7F to its character (TS 23.038, 6.2.1); 0x1B is the escape
// and decodes through gsmExt.
var gsmBasic = [128]rune{
	'@', '£', '$', '¥', 'è', 'é', 'ù', 'ì', 'ò', 'Ç', '\n', 'Ø', 'ø', '\r', 'Å', 'å',
	'Δ', '_', 'Φ', 'Γ', 'Λ', 'Ω', 'Π', 'Ψ', 'Σ', 'Θ', 'Ξ', '\x1b', 'Æ', 'æ', 'ß', 'É',
	' ', '!', '"', '#', '¤', '%', '&', '\'', '(', ')', '*', '+', ',', '-', '.', '/',
	'0', '1', '2', '3', '4', '5', '6', '7', '8', '9', ':', ';', '<', '=', '>', '?',
	'¡', 'A', 'B', 'C', 'D', 'E', 'F', 'G', 'H', 'I', 'J', 'K', 'L', 'M', 'N', 'O',
	'P', 'Q', 'R', 'S', 'T', 'U', 'V', 'W', 'X', 'Y', 'Z', 'Ä', 'Ö', 'Ñ', 'Ü', '§',
	'¿', 'a', 'b', 'c', 'd', 'e', 'f', 'g', 'h', 'i', 'j', 'k', 'l', 'm', 'n', 'o',
	'p', 'q', 'r', 's', 't', 'u', 'v', 'w', 'x', 'y', 'z', 'ä', 'ö', 'ñ', 'ü', 'à',
}

// gsmExt is the default extension table (TS 23.038, 6.2.1.1): the septet after an escape.
var gsmExt = map[byte]rune{
	0x0A: '\f', 0x14: '^', 0x28: '{', 0x29: '}', 0x2F: '\\',
	0x3C: '[', 0x3D: '~', 0x3E: ']', 0x40: '|', 0x65: '€',
}

var (
	basicOf = map[rune]byte{}
	extOf   = map[rune]byte{}
)

func init() {
	for i, r := range gsmBasic {
		if i != escape {
			basicOf[r] = byte(i)
		}
	}
	for s, r := range gsmExt {
		extOf[r] = s
	}
}

// toGSM7 gives the septets of text, one or two (escape + septet) per character, or false when
// a character is in neither table.
func toGSM7(text string) ([]byte, bool) {
	out := make([]byte, 0, len(text))
	for _, r := range text {
		if s, ok := basicOf[r]; ok {
			out = append(out, s)
		} else if s, ok := extOf[r]; ok {
			out = append(out, escape, s)
		} else {
			return nil, false
		}
	}
	return out, true
}

// fromGSM7 decodes septets. An escape followed by a septet the extension table lacks shows
// the basic table's character (TS 23.038, 6.2.1.1, note 1); a trailing escape is a space.
func fromGSM7(septets []byte) string {
	out := make([]rune, 0, len(septets))
	for i := 0; i < len(septets); i++ {
		s := septets[i] & 0x7F
		if s != escape {
			out = append(out, gsmBasic[s])
			continue
		}
		if i+1 == len(septets) {
			out = append(out, ' ')
			break
		}
		i++
		n := septets[i] & 0x7F
		if r, ok := gsmExt[n]; ok {
			out = append(out, r)
		} else if n != escape {
			out = append(out, gsmBasic[n])
		} else {
			out = append(out, ' ')
		}
	}
	return string(out)
}

// packSeptets packs septets into octets, least significant bit first (TS 23.038, 6.1.2.1.1),
// starting at septet position start: the first start*7 bits are left zero, for a user-data
// header and its fill bits (TS 23.040, 9.2.3.24).
func packSeptets(septets []byte, start int) []byte {
	total := start + len(septets)
	out := make([]byte, (total*7+7)/8)
	for i, s := range septets {
		bit := (start + i) * 7
		idx, shift := bit/8, uint(bit%8)
		out[idx] |= (s & 0x7F) << shift
		if shift > 1 {
			out[idx+1] |= (s & 0x7F) >> (8 - shift)
		}
	}
	return out
}

// unpackSeptets reads septets start..count-1 of packed user data; false when the data is
// shorter than count septets need.
func unpackSeptets(ud []byte, count, start int) ([]byte, bool) {
	if (count*7+7)/8 > len(ud) {
		return nil, false
	}
	out := make([]byte, 0, max(count-start, 0))
	for i := start; i < count; i++ {
		bit := i * 7
		idx, shift := bit/8, uint(bit%8)
		v := ud[idx] >> shift
		if shift > 1 {
			v |= ud[idx+1] << (8 - shift)
		}
		out = append(out, v&0x7F)
	}
	return out, true
}
