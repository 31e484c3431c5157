package patrol

import (
	"context"
	"errors"
)

// ErrNoSMS is a text asked of a patrol without an SMS channel (patrol.phones.sms).
var ErrNoSMS = errors.New("no SMS channel: configure patrol.phones.sms (a modem or a gateway)")

// SendSMS texts a number through the patrol's SMS channel, the modem or the gateway: the
// one way the gateway reaches a resident's phone (work orders' warranty reminders).
func (s *Service) SendSMS(ctx context.Context, to, text string) error {
	for _, c := range s.chans {
		if sc, ok := c.(*smsChannel); ok {
			return sc.sms.SendSMS(ctx, to, fitSMS(text))
		}
	}
	return ErrNoSMS
}
