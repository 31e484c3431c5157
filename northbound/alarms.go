package northbound

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/facilityd/facilityd/alarms"
)

// AlarmConsumer publishes every journalled alarm transition at QoS 1 on
// facility/{site}/alarms/{device} (a flood summary on facility/{site}/alarms/flood), as the
// JSON of the journalled event, seq included, so a subscriber can drop the duplicate that
// at-least-once delivery allows after a crash. It reads from the alarm journal: an event
// journalled while the broker is away, or just before facilityd died, is published when the
// session is back.
func AlarmConsumer(c *Client, site string) alarms.Consumer {
	return alarms.ConsumerFunc("mqtt-alarms", func(ctx context.Context, e alarms.Event) error {
		body, err := json.Marshal(e)
		if err != nil {
			return fmt.Errorf("alarm event %d: %w", e.Seq, err)
		}
		device := e.Alarm.Device
		if e.Type == alarms.EventFlood {
			device = "flood"
		}
		site := site
		if e.Alarm.Site != "" {
			site = e.Alarm.Site
		}
		// Wait for the session rather than pile messages into paho's store while the broker
		// is away: the journal keeps them, and the journal retries.
		wctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
		if err := c.WaitConnected(wctx); err != nil {
			return err
		}
		return c.Publish(ctx, AlarmTopic(site, device), 1, false, body)
	})
}
