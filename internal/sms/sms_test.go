package sms_test

import (
	"encoding/hex"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/facilityd/facilityd/internal/sms"
)

// TestEncodeReference compares Encode with PDUs computed apart from this package: the first
// is the SMS-SUBMIT example published with the GSM 03.40 tutorials ("hellohello" to
// +46708251358, validity 4 days); the others come from testdata/reference.py, a Python
// encoder that packs septets as a bit string (run it to regenerate).
func TestEncodeReference(t *testing.T) {
	long := make([]byte, 200)
	for i := range long {
		long[i] = byte('a' + i%26)
	}
	tests := []struct {
		name, to, text string
		opts           sms.SubmitOptions
		want           []string
		lens           []int
	}{
		{"published hellohello", "+46708251358", "hellohello", sms.SubmitOptions{Validity: 96 * time.Hour},
			// 00 SMSC | 11 SUBMIT+VPF relative | 00 MR | 0B 91 6407281553F8 | 00 PID | 00 DCS |
			// AA = 170 - 166 = 4 days | 0A septets | E8329BFD4697D9EC37
			[]string{"0011000B916407281553F80000AA0AE8329BFD4697D9EC37"}, []int{23}},
		{"chinese UCS-2", "+8613800138000", "告警：3号楼水泵故障", sms.SubmitOptions{},
			[]string{"0011000D91683108108300F00008A714544A8B66FF1A003353F7697C6C346CF56545969C"}, []int{35}},
		{"extension table, national number, status report", "10086", "Pump €5 [A]{b}", sms.SubmitOptions{StatusReport: true},
			[]string{"00310005810180F60000A713D07A1B0EDA946BA00D2FB8F16D50E24D0A"}, []int{28}},
		{"emoji as a surrogate pair", "+8613800138000", "Fire 🔥 alarm", sms.SubmitOptions{},
			[]string{"0011000D91683108108300F00008A71A00460069007200650020D83DDD2500200061006C00610072006D"}, []int{41}},
		{"two GSM parts with fill bit", "+8613800138000", string(long), sms.SubmitOptions{Ref: 0x2A},
			[]string{
				"0051000D91683108108300F00000A7A00500032A0201C2E231B96C3EA3D3EA35BBED7EC3E3F239BD6EBFE3F3FAB0784C2E9BCFE8B47ACD6EBBDFF0B87C4EAFDBEFF8BC3E2C1E93CBE6333AAD5EB3DBEE373C2E9FD3EBF63B3EAF0F8BC7E4B2F98C4EABD7ECB6FB0D8FCBE7F4BAFD8ECFEBC3E231B96C3EA3D3EA35BBED7EC3E3F239BD6EBFE3F3FAB0784C2E9BCFE8B47ACD6EBBDFF0B87C4EAFDBEF",
				"0051000D91683108108300F00000A7360500032A0202F0797D583C2697CD67745ABD66B7DD6F785C3EA7D7ED777C5E1F168FC965F3199D56AFD96DF71B1E9703",
			}, []int{155, 63}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := sms.Encode(tt.to, tt.text, tt.opts)
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(tt.want) {
				t.Fatalf("%d parts, want %d", len(got), len(tt.want))
			}
			for i := range got {
				if got[i].Hex != tt.want[i] || got[i].Len != tt.lens[i] {
					t.Errorf("part %d:\n got %s (len %d)\nwant %s (len %d)", i+1, got[i].Hex, got[i].Len, tt.want[i], tt.lens[i])
				}
			}
		})
	}
}

// TestDecodePublishedDeliver reads the SMS-DELIVER example published with the GSM 03.40
// tutorials, byte by byte:
//
//	07 91 7283010010F5  SMSC +27381000015
//	04                  DELIVER, TP-MMS (no more messages)
//	0B C8 7238880900F1  sender 27838890001 (TON abbreviated: no +)
//	00 00               PID, DCS GSM 7-bit
//	99309251619580      1999-03-29 15:16:59, zone 0x80: 08 quarters = GMT+2
//	0A E8329BFD4697D9EC37  10 septets "hellohello"
func TestDecodePublishedDeliver(t *testing.T) {
	m, err := sms.DecodeHex("07917283010010F5040BC87238880900F10000993092516195800AE8329BFD4697D9EC37")
	if err != nil {
		t.Fatal(err)
	}
	d, ok := m.(*sms.Deliver)
	if !ok {
		t.Fatalf("got %T, want *sms.Deliver", m)
	}
	want := time.Date(1999, 3, 29, 15, 16, 59, 0, time.FixedZone("", 2*3600))
	if d.SMSC != "+27381000015" || d.From != "27838890001" || d.Text != "hellohello" || !d.Time.Equal(want) {
		t.Errorf("got SMSC %q from %q text %q at %v", d.SMSC, d.From, d.Text, d.Time)
	}
	if _, off := d.Time.Zone(); off != 2*3600 {
		t.Errorf("zone offset %d, want +2h", off)
	}
}

// TestDecodeByHand: PDUs assembled here field by field, each field checked against the clause.
func TestDecodeByHand(t *testing.T) {
	tests := []struct {
		name string
		pdu  string
		from string
		text string
		at   string // RFC 3339
		c    *sms.Concat
	}{
		{
			// 00 no SMSC | 04 DELIVER | 09 D0: 9 useful semi-octets, TON alphanumeric (101) |
			// "Alarm", 5 septets (35 bits) packed LSB first: A 0x41 fills octet 0 with bit 0 of
			// l (0) = 41; l>>1 = 0x36 plus a's low two bits (01) at bits 6-7 = 76; then 58 DE 06
			// (the same packing testdata/reference.py does) | 00 PID | 00 DCS
			name: "alphanumeric sender, zone west of GMT",
			pdu:  "000409D0417658DE060000" + "52106010000049" + "0131",
			// 25-01-06 01:00:00, zone 0x49: tens 1 with sign bit 8 set, units 4 -> -14 quarters
			from: "Alarm", text: "1", at: "2025-01-06T01:00:00-03:30",
		},
		{
			// 00 no SMSC | 44 DELIVER with TP-UDHI | OA +8613800138000 | 00 PID | 08 DCS UCS-2 |
			// SCTS | UDL 09: header 06 (UDHL) 08 04 1234 02 01 (IEI 0x08, 16-bit reference 0x1234,
			// part 1 of 2), then 0031 = "1"
			name: "UCS-2 with 16-bit concatenation reference",
			pdu:  "00440D91683108108300F00008" + "52106010000023" + "09" + "060804123402010031",
			// zone 0x23: tens 3, units 2 -> 32 quarters = +8h
			from: "+8613800138000", text: "1", at: "2025-01-06T01:00:00+08:00",
			c: &sms.Concat{Ref: 0x1234, Count: 2, Seq: 1},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := sms.DecodeHex(tt.pdu)
			if err != nil {
				t.Fatal(err)
			}
			d := m.(*sms.Deliver)
			at, _ := time.Parse(time.RFC3339, tt.at)
			if d.From != tt.from || d.Text != tt.text || !d.Time.Equal(at) {
				t.Errorf("got from %q text %q at %v; want %q %q %v", d.From, d.Text, d.Time, tt.from, tt.text, at)
			}
			if (d.Concat == nil) != (tt.c == nil) || d.Concat != nil && *d.Concat != *tt.c {
				t.Errorf("concat %+v, want %+v", d.Concat, tt.c)
			}
		})
	}
}

// TestDecodeStatusReport: a report assembled by hand (TS 23.040, 9.2.2.3): 00 no SMSC | 06
// STATUS-REPORT with TP-SRQ clear... (0x06 = MTI 10 + MMS) | MR 2A | RA +8613800138000 |
// SCTS and DT | ST.
func TestDecodeStatusReport(t *testing.T) {
	tests := []struct {
		name                       string
		st                         string
		delivered, pending, failed bool
	}{
		{"delivered", "00", true, false, false},
		{"replaced still counts as completed", "02", true, false, false},
		{"congestion, still trying", "20", false, true, false},
		{"unknown subscriber, permanent", "41", false, false, true},
		{"no more attempts after temporary error", "62", false, false, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pdu := "00062A0D91683108108300F0" + "52106010000023" + "52106010300023" + tt.st
			m, err := sms.DecodeHex(pdu)
			if err != nil {
				t.Fatal(err)
			}
			r := m.(*sms.StatusReport)
			if r.Ref != 0x2A || r.Recipient != "+8613800138000" {
				t.Errorf("ref %d recipient %q", r.Ref, r.Recipient)
			}
			if r.Discharge.Minute() != 3 {
				t.Errorf("discharge %v, want minute 03", r.Discharge)
			}
			if r.Delivered() != tt.delivered || r.Pending() != tt.pending || r.Failed() != tt.failed {
				t.Errorf("delivered %v pending %v failed %v", r.Delivered(), r.Pending(), r.Failed())
			}
		})
	}
}

// TestDecodeTruncated: every prefix of valid PDUs is an error wrapping ErrTruncated (or decodes,
// for the prefixes that happen to be complete), and never a panic.
func TestDecodeTruncated(t *testing.T) {
	for _, full := range []string{
		"07917283010010F5040BC87238880900F10000993092516195800AE8329BFD4697D9EC37",
		"00062A0D91683108108300F0" + "52106010000023" + "52106010300023" + "00",
		"00440D91683108108300F00008" + "52106010000023" + "09" + "060804123402010031",
	} {
		b, _ := hex.DecodeString(full)
		for n := 0; n < len(b); n++ {
			_, err := sms.Decode(b[:n])
			if err == nil {
				t.Errorf("%s cut to %d octets decoded without error", full, n)
			} else if !errors.Is(err, sms.ErrTruncated) {
				t.Errorf("%s cut to %d octets: %v, want ErrTruncated", full, n, err)
			}
		}
	}
}

func TestEncodeTooLong(t *testing.T) {
	_, err := sms.Encode("+8613800138000", strings.Repeat("故障", 300), sms.SubmitOptions{})
	var tl *sms.TooLongError
	if !errors.As(err, &tl) || tl.Chars != 600 || tl.MaxParts != sms.DefaultMaxParts || tl.Parts != 9 {
		t.Fatalf("err %v (%+v), want TooLongError for 600 characters in 9 parts", err, tl)
	}
	if !strings.Contains(err.Error(), "600 characters") {
		t.Errorf("message %q does not name the length", err)
	}
}

func TestEncodeBadNumber(t *testing.T) {
	for _, to := range []string{"", "+", "138-0013-8000", "+86 138"} {
		if _, err := sms.Encode(to, "x", sms.SubmitOptions{}); err == nil {
			t.Errorf("Encode(%q) took the number", to)
		}
	}
}
