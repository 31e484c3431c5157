package patrol

import (
	"testing"
	"time"
)

// Due is a pure function of the alert and the time: the same inputs give the same outcome.
func TestDue(t *testing.T) {
	t.Parallel()
	t0 := time.Unix(0, 0)
	base := Alert{ID: "A1", State: StateOpen, Recipients: []string{"g1"}, Supervisor: "sup", Fallback: "chief",
		ResendEvery: 30 * time.Second, EscalateAfter: 60 * time.Second, CreatedAt: t0, SentAt: t0, TimersFrom: t0}
	tests := []struct {
		name      string
		alert     func(Alert) Alert
		at        time.Duration
		want      Action
		wantState State
	}{
		{"nothing before the re-send", nil, 29 * time.Second, "", StateOpen},
		{"re-send", nil, 30 * time.Second, ActionResend, StateOpen},
		{"escalate at 60 s even if the re-send is also due", nil, 60 * time.Second, ActionEscalate, StateEscalated},
		{"no supervisor: only re-sends", func(a Alert) Alert { a.Supervisor = ""; return a }, 60 * time.Second, ActionResend, StateOpen},
		{"claimed: nothing", func(a Alert) Alert { a.State, a.Owner = StateClaimed, "g1"; return a }, time.Hour, "", StateClaimed},
		{"acked: nothing", func(a Alert) Alert { a.State = StateAcked; return a }, time.Hour, "", StateAcked},
		{"cleared: nothing", func(a Alert) Alert { a.State = StateCleared; return a }, time.Hour, "", StateCleared},
		{"held: nothing", func(a Alert) Alert { a.Held = "shelved by op"; return a }, time.Hour, "", StateOpen},
		{"fallback after a second period", func(a Alert) Alert {
			a.State, a.EscalatedAt, a.SentAt = StateEscalated, t0.Add(60*time.Second), t0.Add(90*time.Second)
			return a
		}, 120 * time.Second, ActionEscalate, StateEscalated},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			a := base
			if tt.alert != nil {
				a = tt.alert(a)
			}
			got, notices := Due(a, t0.Add(tt.at))
			again, _ := Due(a, t0.Add(tt.at))
			if got.State != again.State || got.Sends != again.Sends {
				t.Fatal("Due is not pure")
			}
			var action Action
			if len(notices) > 0 {
				action = notices[0].Action
			}
			if action != tt.want || got.State != tt.wantState {
				t.Errorf("got %q in %s, want %q in %s", action, got.State, tt.want, tt.wantState)
			}
		})
	}
}
