package daemon_test

import (
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/facilityd/facilityd/api"
	"github.com/facilityd/facilityd/config"
	"github.com/facilityd/facilityd/devices"
	"github.com/facilityd/facilityd/internal/daemon"
	"github.com/facilityd/facilityd/internal/daemon/daemontest"
	"github.com/facilityd/facilityd/northbound"
)

// withDevices is cfg with only the devices of the given ids among its MQTT devices.
func withDevices(cfg *config.Config, mqttIDs ...string) *config.Config {
	c := *cfg
	c.Devices = nil
	for _, d := range cfg.Devices {
		if d.MQTT == nil || slices.Contains(mqttIDs, d.ID) {
			c.Devices = append(c.Devices, d)
		}
	}
	return &c
}

// status is the HTTP status of GET url.
func status(t *testing.T, url string) int {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// reload asks the daemon at base to reload its file and returns the status of the answer.
func reload(t *testing.T, base string) int {
	t.Helper()
	resp, err := http.Post(base+"/api/v1/reload", "application/json", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// freshReading waits until device id is online at the API with a reading taken after since.
func freshReading(t *testing.T, base, id string, since time.Time) {
	t.Helper()
	waitFor(t, id+" online with a reading taken after "+since.Format(time.TimeOnly), 15*time.Second, func() bool {
		if status(t, base+"/api/v1/devices/"+id) != http.StatusOK {
			return false
		}
		var dd api.DeviceDetail
		get(t, base+"/api/v1/devices/"+id, &dd)
		return dd.Comm == devices.CommOnline && len(dd.Readings) > 0 && dd.Readings[0].Time.After(since)
	})
}

// TestReloadMQTTDevices: a reload adds and takes away MQTT devices at once, as it does Modbus
// devices: an added device is listened to and online with its readings, a device taken away
// leaves the API, and one added back is heard again; a file that does not load is refused and
// the devices running go on. The simulators publish to a broker of the test's own, which admits
// every client, so that the device accounts of the embedded broker (fixed at start) are not
// what is tested.
func TestReloadMQTTDevices(t *testing.T) {
	broker, err := northbound.StartBroker("127.0.0.1:0", nil, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { broker.Close() })
	full, _ := demoEstateOn(t, nil, broker.URL())
	path := filepath.Join(t.TempDir(), "facilityd.yaml")
	daemontest.WriteConfig(t, path, withDevices(full, "LC-1"))
	cfg, err := config.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	d := daemontest.StartWith(t, cfg, daemon.Options{ConfigPath: path})

	start := time.Now()
	freshReading(t, d.API, "LC-1", start)
	if got := status(t, d.API+"/api/v1/devices/LC-2"); got != http.StatusNotFound {
		t.Fatalf("LC-2, not configured yet: GET answers %d, want 404", got)
	}

	steps := []struct {
		name      string
		mqtt      []string // the MQTT devices of the new file
		heard     []string
		gone      []string
		wantReply int
	}{
		{name: "LC-2 added, LC-1 taken away", mqtt: []string{"LC-2"}, heard: []string{"LC-2"}, gone: []string{"LC-1"}, wantReply: http.StatusOK},
		{name: "LC-1 added back", mqtt: []string{"LC-1", "LC-2"}, heard: []string{"LC-1", "LC-2"}, wantReply: http.StatusOK},
		{name: "a file that does not load", mqtt: nil, heard: []string{"LC-1", "LC-2"}, wantReply: http.StatusUnprocessableEntity},
	}
	for _, st := range steps {
		if st.wantReply == http.StatusOK {
			daemontest.WriteConfig(t, path, withDevices(full, st.mqtt...))
		} else if err := os.WriteFile(path, []byte("site: [not, a, site]\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		at := time.Now()
		if got := reload(t, d.API); got != st.wantReply {
			t.Fatalf("%s: POST /api/v1/reload answered %d, want %d", st.name, got, st.wantReply)
		}
		for _, id := range st.heard {
			freshReading(t, d.API, id, at)
		}
		for _, id := range st.gone {
			if got := status(t, d.API+"/api/v1/devices/"+id); got != http.StatusNotFound {
				t.Errorf("%s: %s taken away, but GET answers %d", st.name, id, got)
			}
		}
	}
	if err := d.Stop(); err != nil {
		t.Fatalf("daemon stopped with %v", err)
	}
}
