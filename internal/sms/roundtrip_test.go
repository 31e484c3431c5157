package sms_test

import (
	"encoding/hex"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/facilityd/facilityd/internal/sms"
)

// asDeliver turns an SMS-SUBMIT hex PDU into the SMS-DELIVER the recipient's phone would get,
// field by field (TS 23.040, 9.2.2.2 to 9.2.2.1): the destination becomes the originator, the
// validity period goes, a fixed SCTS (2025-06-01 12:00:00 +08:00) comes, user data stays.
func asDeliver(t *testing.T, submitHex string) []byte {
	t.Helper()
	b, err := hex.DecodeString(submitHex)
	if err != nil {
		t.Fatal(err)
	}
	b = b[1+int(b[0]):] // SMSC part
	fo := b[0]
	daLen := 2 + (int(b[2])+1)/2
	da := b[2 : 2+daLen]
	rest := b[2+daLen:]
	pid, dcs := rest[0], rest[1]
	if fo&0x18 != 0x10 {
		t.Fatalf("first octet %02X: want relative validity", fo)
	}
	udlAndUD := rest[3:]
	out := []byte{0x00, fo & 0x40} // no SMSC; DELIVER keeps TP-UDHI only
	out = append(out, da...)
	out = append(out, pid, dcs, 0x52, 0x60, 0x10, 0x21, 0x00, 0x00, 0x23)
	return append(out, udlAndUD...)
}

func TestRoundTrip(t *testing.T) {
	var en, zh strings.Builder
	for en.Len() < 500 {
		en.WriteString("Pump P-3 dry run; ")
	}
	for utf8.RuneCountInString(zh.String()) < 500 {
		zh.WriteString("三号楼地下室集水井水位高，")
	}
	tests := []struct {
		name      string
		text      string
		alphabet  sms.Alphabet
		wantParts int
	}{
		{"GSM text", "Fire alarm zone 3 @ tower-A, reply 1 to claim", sms.GSM7, 1},
		{"extension characters", "Cost €12 [pump] {A17} ~ok^ |x| \\", sms.GSM7, 1},
		{"chinese", "电梯困人：2号楼1号梯，请立即前往", sms.UCS2, 1},
		{"emoji", "Flood 🌊 pit 🚨 now", sms.UCS2, 1},
		{"160 GSM characters fit one part", strings.Repeat("x", 160), sms.GSM7, 1},
		{"161 need two", strings.Repeat("x", 161), sms.GSM7, 2},
		{"70 chinese fit one part", strings.Repeat("水", 70), sms.UCS2, 1},
		{"71 need two", strings.Repeat("水", 71), sms.UCS2, 2},
		{"500 english characters", en.String()[:500], sms.GSM7, 4},
		{"500 chinese characters", string([]rune(zh.String())[:500]), sms.UCS2, 8},
		{"escape pairs across the 153 boundary", strings.Repeat("a", 152) + strings.Repeat("€", 10), sms.GSM7, 2},
		{"surrogate pairs across the 67 boundary", strings.Repeat("水", 66) + strings.Repeat("🔥", 10), sms.UCS2, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pdus, err := sms.Encode("+8613800138000", tt.text, sms.SubmitOptions{Ref: 7})
			if err != nil {
				t.Fatal(err)
			}
			if len(pdus) != tt.wantParts {
				t.Errorf("%d parts, want %d", len(pdus), tt.wantParts)
			}
			r := sms.NewReassembler(time.Minute)
			now := time.Now()
			var got *sms.Deliver
			for i, p := range pdus {
				if p.Len != len(p.Hex)/2-1 {
					t.Errorf("part %d: Len %d, hex has %d TPDU octets", i+1, p.Len, len(p.Hex)/2-1)
				}
				m, err := sms.Decode(asDeliver(t, p.Hex))
				if err != nil {
					t.Fatalf("part %d: %v", i+1, err)
				}
				d := m.(*sms.Deliver)
				if d.Alphabet != tt.alphabet {
					t.Errorf("part %d alphabet %v, want %v", i+1, d.Alphabet, tt.alphabet)
				}
				if strings.ContainsRune(d.Text, utf8.RuneError) {
					t.Errorf("part %d has a broken character: %q", i+1, d.Text)
				}
				if j, ok := r.Add(d, now); ok {
					got = j
				} else if i == len(pdus)-1 {
					t.Fatal("last part did not complete the message")
				}
			}
			if got == nil || got.Text != tt.text || got.From != "+8613800138000" {
				t.Fatalf("joined %+v, want text %q", got, tt.text)
			}
		})
	}
}

// TestEncodeDeliverRoundTrip: the simulator's SMS-DELIVER encoder against Decode, with both
// kinds of concatenation reference and an alphanumeric sender.
func TestEncodeDeliverRoundTrip(t *testing.T) {
	at := time.Date(2025, 6, 1, 23, 59, 30, 0, time.FixedZone("", -(5*3600+45*60)))
	tests := []struct {
		name, from, text string
		opts             sms.DeliverOptions
	}{
		{"reply", "+8613800138000", "1 A17", sms.DeliverOptions{SMSC: "+8613800100500"}},
		{"alphanumeric", "Estate", "Water off tomorrow 9-12", sms.DeliverOptions{}},
		{"long, 16-bit ref", "10086", strings.Repeat("收到，马上到。", 30), sms.DeliverOptions{Ref: 0xBEEF, Ref16: true}},
		{"long GSM, 16-bit ref", "10086", strings.Repeat("ok{} ", 80), sms.DeliverOptions{Ref: 0x0102, Ref16: true}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pdus, err := sms.EncodeDeliver(tt.from, tt.text, at, tt.opts)
			if err != nil {
				t.Fatal(err)
			}
			r := sms.NewReassembler(time.Minute)
			var got *sms.Deliver
			for _, p := range pdus {
				m, err := sms.DecodeHex(p.Hex)
				if err != nil {
					t.Fatal(err)
				}
				d := m.(*sms.Deliver)
				if d.SMSC != tt.opts.SMSC || !d.Time.Equal(at) {
					t.Errorf("SMSC %q time %v, want %q %v", d.SMSC, d.Time, tt.opts.SMSC, at)
				}
				if len(pdus) > 1 && d.Concat.Ref != tt.opts.Ref {
					t.Errorf("ref %X, want %X", d.Concat.Ref, tt.opts.Ref)
				}
				got, _ = r.Add(d, at)
			}
			if got == nil || got.From != tt.from || got.Text != tt.text {
				t.Fatalf("got %+v, want %q from %q", got, tt.text, tt.from)
			}
		})
	}
}

func TestDecodeSubmit(t *testing.T) {
	pdus, err := sms.Encode("+8613800138000", strings.Repeat("告警", 40), sms.SubmitOptions{StatusReport: true, Ref: 9})
	if err != nil {
		t.Fatal(err)
	}
	b, _ := hex.DecodeString(pdus[1].Hex)
	s, err := sms.DecodeSubmit(b)
	if err != nil {
		t.Fatal(err)
	}
	if s.To != "+8613800138000" || !s.StatusReport || s.Concat == nil || *s.Concat != (sms.Concat{Ref: 9, Count: 2, Seq: 2}) {
		t.Errorf("got %+v", s)
	}
	if want := string([]rune(strings.Repeat("告警", 40))[67:]); s.Text != want {
		t.Errorf("part 2 text %q", s.Text)
	}
}
