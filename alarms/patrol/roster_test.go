package patrol

import (
	"slices"
	"testing"
	"time"

	"github.com/facilityd/facilityd/alarms"
)

func at(day, hh, mm int) time.Time { return time.Date(2026, 11, day, hh, mm, 0, 0, shanghai) }

func TestShiftAtCrossesMidnight(t *testing.T) {
	t.Parallel()
	r, err := NewRoster(*testConfig(t))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		at   time.Time
		want string
	}{
		{"evening start", at(26, 18, 0), "night"},
		{"a minute before", at(26, 17, 59), "day"},
		{"midnight", at(27, 0, 0), "night"},
		{"last night minute", at(27, 7, 59), "night"},
		{"day starts", at(27, 8, 0), "day"},
		{"in UTC, 23:30 is 07:30 local next day", time.Date(2026, 11, 26, 23, 30, 0, 0, time.UTC), "night"},
		{"in UTC, 00:30 is 08:30 local", time.Date(2026, 11, 27, 0, 30, 0, 0, time.UTC), "day"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := r.ShiftAt(tt.at); got != tt.want {
				t.Errorf("ShiftAt(%s) = %q, want %q", tt.at, got, tt.want)
			}
		})
	}
}

func TestRouteDefaults(t *testing.T) {
	t.Parallel()
	r, err := NewRoster(*testConfig(t))
	if err != nil {
		t.Fatal(err)
	}
	all := []string{"mqtt", "webhook", "console", "wecom", "dingtalk", "feishu"}
	urgent := append(slices.Clone(all), "sms")
	console := []string{"console"}
	tests := []struct {
		name         string
		prio         alarms.Priority
		class        alarms.Class
		zone         string
		at           time.Time
		wantGuards   []string
		wantChannels []string
		wantEscalate time.Duration
	}{
		{"fire at night: group and supervisor at once", alarms.PriorityCritical, alarms.ClassLifeSafety, "north", at(26, 23, 0), []string{"g1", "g2", "sup-n"}, urgent, 60 * time.Second},
		{"fire just before 08:00: still the night shift", alarms.PriorityCritical, alarms.ClassLifeSafety, "north", at(27, 7, 59), []string{"g1", "g2", "sup-n"}, urgent, 60 * time.Second},
		{"fire at 08:00: the day shift", alarms.PriorityCritical, alarms.ClassLifeSafety, "north", at(27, 8, 0), []string{"g4", "sup-d"}, urgent, 60 * time.Second},
		{"life safety of high priority still escalates at 60 s", alarms.PriorityHigh, alarms.ClassLifeSafety, "south", at(27, 2, 0), []string{"g3", "sup-n"}, urgent, 60 * time.Second},
		{"critical equipment (flooded pit)", alarms.PriorityCritical, alarms.ClassEquipment, "south", at(27, 2, 0), []string{"g3", "sup-n"}, urgent, 60 * time.Second},
		{"high at night: the zone's group only", alarms.PriorityHigh, alarms.ClassEquipment, "south", at(27, 2, 0), []string{"g3"}, all, 5 * time.Minute},
		{"high by day", alarms.PriorityHigh, alarms.ClassEquipment, "south", at(27, 12, 0), []string{"g4"}, all, 5 * time.Minute},
		{"medium at night: console only", alarms.PriorityMedium, alarms.ClassEquipment, "north", at(26, 23, 0), nil, console, 0},
		{"medium by day: group on the handset", alarms.PriorityMedium, alarms.ClassEquipment, "north", at(27, 10, 0), []string{"g4"}, []string{"mqtt", "console"}, 15 * time.Minute},
		{"low at 17:59: day", alarms.PriorityLow, alarms.ClassTrouble, "north", at(26, 17, 59), []string{"g4"}, []string{"mqtt", "console"}, 0},
		{"low at 18:00: night, console only", alarms.PriorityLow, alarms.ClassTrouble, "north", at(26, 18, 0), nil, console, 0},
		{"communication loss: engineering on the console", alarms.PriorityMedium, alarms.ClassCommunication, "north", at(26, 23, 0), nil, console, 0},
		{"a silent fire panel (high) at night: the zone's group", alarms.PriorityHigh, alarms.ClassCommunication, "north", at(26, 23, 0), []string{"g1", "g2"}, all, 5 * time.Minute},
		{"a silent fire panel (high) by day: the zone's group", alarms.PriorityHigh, alarms.ClassCommunication, "north", at(27, 10, 0), []string{"g4"}, all, 5 * time.Minute},
		{"critical communication loss: group and supervisor", alarms.PriorityCritical, alarms.ClassCommunication, "north", at(26, 23, 0), []string{"g1", "g2", "sup-n"}, urgent, 60 * time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := r.Route(alarms.Alarm{Priority: tt.prio, Class: tt.class, Zone: tt.zone}, tt.at)
			if !slices.Equal(got.Guards, tt.wantGuards) {
				t.Errorf("guards = %v, want %v", got.Guards, tt.wantGuards)
			}
			if !slices.Equal(got.Channels, tt.wantChannels) {
				t.Errorf("channels = %v, want %v", got.Channels, tt.wantChannels)
			}
			if got.Timing.Escalate != tt.wantEscalate {
				t.Errorf("escalate after %v, want %v", got.Timing.Escalate, tt.wantEscalate)
			}
		})
	}
}

func TestRouteConfiguredRules(t *testing.T) {
	t.Parallel()
	cfg := testConfig(t)
	cfg.Rules = []Rule{
		{Class: "communication", Zone: "south", Notify: []string{"group"}, Channels: []string{"mqtt"}},
		{Priority: "high", Shift: "night", Notify: []string{"group", "supervisor"}, Channels: []string{"mqtt", "console"}},
		{Notify: []string{"engineering"}, Channels: []string{"console"}},
	}
	r, err := NewRoster(*cfg)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name       string
		alarm      alarms.Alarm
		at         time.Time
		wantGuards []string
	}{
		{"communication loss in south goes to the guards when configured", alarms.Alarm{Priority: alarms.PriorityHigh, Class: alarms.ClassCommunication, Zone: "south"}, at(26, 23, 0), []string{"g3"}},
		{"communication loss elsewhere falls through to high", alarms.Alarm{Priority: alarms.PriorityHigh, Class: alarms.ClassCommunication, Zone: "north"}, at(26, 23, 0), []string{"g1", "g2", "sup-n"}},
		{"high by day falls through to engineering", alarms.Alarm{Priority: alarms.PriorityHigh, Class: alarms.ClassEquipment, Zone: "north"}, at(27, 9, 0), nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := r.Route(tt.alarm, tt.at); !slices.Equal(got.Guards, tt.wantGuards) {
				t.Errorf("guards = %v, want %v", got.Guards, tt.wantGuards)
			}
		})
	}
}
