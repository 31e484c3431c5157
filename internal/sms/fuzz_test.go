package sms_test

import (
	"encoding/hex"
	"testing"

	"github.com/facilityd/facilityd/internal/sms"
)

// FuzzDecode: whatever comes over the air or the serial line, Decode and DecodeSubmit return
// an error or a message, never a panic.
func FuzzDecode(f *testing.F) {
	for _, s := range []string{
		"07917283010010F5040BC87238880900F10000993092516195800AE8329BFD4697D9EC37",
		"00062A0D91683108108300F0" + "52106010000023" + "52106010300023" + "00",
		"00440D91683108108300F00008" + "52106010000023" + "09" + "060804123402010031",
		"000409D0417658DE060000" + "52106010000049" + "0131",
		"0051000D91683108108300F00000A7360500032A0202F0797D583C2697CD67745ABD66B7DD6F785C3EA7D7ED777C5E1F168FC965F3199D56AFD96DF71B1E9703",
		"0040" + "00" + "0000" + "00000000000000" + "A0" + "FF00",
	} {
		b, _ := hex.DecodeString(s)
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := sms.Decode(b)
		if err == nil && m == nil {
			t.Fatal("no message and no error")
		}
		sms.DecodeSubmit(b)
	})
}
