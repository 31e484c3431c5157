package patrol

import "time"

// Default is the patrol's defaults, written once here; config shows them for the generated
// reference and maps a file onto them. A zero timing turns that timer off, so these are the
// values a site gets by leaving the keys out, not what a zero field means.
//
// The timings are ours: life safety and critical alerts are re-sent every 30 s and climb to
// the supervisor at 60 s (the plans' "never wait" made concrete), high at 2 and 5 minutes,
// medium to the supervisor at 15 minutes. Retention is a year, the estate's practice for duty
// and patrol records (值班、巡查记录). The robots take 20 messages a minute (the vendors'
// documents); a burst of 5 or more becomes one summary, which a guard reads faster than five
// messages (ours). The self-test runs at 09:00, at the start of the day shift (ours).
func Default() Config {
	return Config{
		Retention: 365 * 24 * time.Hour,
		Escalation: Escalation{
			LifeSafety: Timing{Resend: 30 * time.Second, Escalate: 60 * time.Second},
			Critical:   Timing{Resend: 30 * time.Second, Escalate: 60 * time.Second},
			High:       Timing{Resend: 2 * time.Minute, Escalate: 5 * time.Minute},
			Medium:     Timing{Escalate: 15 * time.Minute},
		},
		Lighting: Lighting{Shift: "night"},
		Webhook:  WebhookConfig{Timeout: 5 * time.Second, Retries: 5, BackoffMin: 500 * time.Millisecond, BackoffMax: 30 * time.Second},
		Phones: Phones{
			RatePerMinute: 20, Burst: 5, Retries: 5, SelfTest: "09:00",
			Call: Call{Ring: 30 * time.Second},
			SMS: SMS{
				Modem:   Modem{Baud: 115200},
				Gateway: SMSGateway{Method: "POST", ContentType: "application/json", Timeout: 10 * time.Second},
			},
		},
	}
}
