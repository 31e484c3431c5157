package northbound

import (
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"testing"

	paho "github.com/eclipse/paho.mqtt.golang"
	"github.com/eclipse/paho.mqtt.golang/packets"
)

// paho's file store panics when it cannot write (here: its folder became a file, as a full
// disk or a lack of descriptors makes every create fail); the safe store survives, counts it,
// and works again once the folder is back.
func TestSafeStoreSurvivesIOErrors(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "store")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	s := newSafeStore(paho.NewFileStore(dir), slog.New(slog.NewTextHandler(io.Discard, nil)), func() int64 { return 0 })
	s.Open()
	pub := packets.NewControlPacket(packets.Publish).(*packets.PublishPacket)
	pub.TopicName, pub.Qos, pub.MessageID, pub.Payload = "facility/s/alarms/P-1", 1, 7, []byte("{}")
	s.Put("o.7", pub)
	if got := s.Get("o.7"); got == nil {
		t.Fatal("a message put is not there")
	}
	if err := os.RemoveAll(dir); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(dir, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	s.Put("o.8", pub) // paho panics inside: os.Create fails
	if s.Failures() == 0 {
		t.Fatal("the failed put was not counted (did the inner store stop panicking?)")
	}
	os.Remove(dir)
	os.MkdirAll(dir, 0o700)
	s.Put("o.9", pub)
	if got := s.Get("o.9"); got == nil {
		t.Error("the store does not work again once its folder is back")
	}
}
