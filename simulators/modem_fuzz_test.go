package simulators_test

import (
	"bytes"
	"context"
	"io"
	"testing"

	"github.com/facilityd/facilityd/simulators"
)

// FuzzModemCommands: whatever bytes arrive on the simulated modem's serial line (commands,
// PDUs after the prompt, noise), it answers or refuses them and never panics.
func FuzzModemCommands(f *testing.F) {
	f.Add([]byte("ATE0\rAT+CMEE=1\rAT+CMGS=23\r0011000B916407281553F80000AA0AE8329BFD4697D9EC37\x1a"))
	f.Add([]byte("AT+CMGS=7\r00\x1aAT+CMGR=-1\rAT+CMGD=x,4\rATD;\rAT+CLCC\rATH\r"))
	f.Add([]byte("AT+CNMI=2,9\rAT+CPIN=\"\rAT+CMGL=4\r\x1b\x1a\r\n"))
	f.Add([]byte("ATE0\rAT+CMEE=1\r\xf0\xf0\xf0\xf0AT\r0011000B916407281553F80000AA0AE83A"))
	f.Fuzz(func(t *testing.T, in []byte) {
		m := simulators.NewModem("fuzz")
		rw := struct {
			io.Reader
			io.Writer
		}{bytes.NewReader(in), io.Discard}
		if err := m.Serve(context.Background(), rw); err != nil {
			t.Fatal(err)
		}
	})
}
