package opcua

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/facilityd/facilityd/devices"
	"github.com/facilityd/facilityd/internal/testenv"
	"github.com/facilityd/facilityd/internal/testutil"
)

func TestNodeBrowseWritesDraftProfile(t *testing.T) {
	srv := testenv.NewOPCUAServer(t)
	srv.Start()
	entries, err := Browse(context.Background(), none(srv.URL()), nil, "/Objects/Plant")
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]Entry{}
	for _, e := range entries {
		got[e.Path] = e
	}
	sp := got["/Objects/Plant/Chiller1/Setpoint"]
	if len(entries) != 4 || sp.DataType != "Double" || !sp.Writable || got["/Objects/Plant/Chiller1/Running"].Writable {
		t.Fatalf("browse found %+v: want the chiller's four variables, the setpoint alone writable", entries)
	}
	if sp.NodeID != "nsu="+plantNS+";i=1004" {
		t.Errorf("setpoint node id %q, want its namespace by URI", sp.NodeID)
	}
	data, err := DraftProfile("chiller", "/Objects/Plant", entries)
	if err != nil {
		t.Fatal(err)
	}
	prof, err := ParseProfile("draft", data)
	if err != nil {
		t.Fatalf("the draft does not read back: %v\n%s", err, data)
	}
	if prof.Namespace != plantNS || !strings.Contains(string(data), "name: chiller1_supply_temp") {
		t.Errorf("draft:\n%s", data)
	}
	// The draft, unchanged, reads the server.
	r := startDriver(t, none(srv.URL()), prof, ModePoll)
	testutil.WaitFor(t, "a reading through the draft profile", 30*time.Second, func() bool {
		s, ok := r.snap.Last()
		if !ok || s.Comm != devices.CommOnline {
			return false
		}
		for _, v := range s.Values {
			if v.Quality != devices.QualityGood {
				return false
			}
		}
		return true
	})
}
