package workorders

import (
	"context"
	"fmt"
	"strings"
	"time"
)

// SMS texts a resident's phone: the patrol's SMS channel (a modem or an SMS gateway) where
// the site has one. The daemon wires it; without it a resident's reminder goes to customer
// service as a notification to pass on.
type SMS interface {
	SendSMS(ctx context.Context, to, text string) error
}

// SMSFunc adapts a function to SMS.
type SMSFunc func(ctx context.Context, to, text string) error

// SendSMS calls f.
func (f SMSFunc) SendSMS(ctx context.Context, to, text string) error { return f(ctx, to, text) }

// Home is a resident's home in the register of homes: who lives there, their phone and the
// end of the home's warranty (保修期), from the handover.
type Home struct {
	// Home is building-unit-room ("3-1-1802").
	Home     string
	Zone     string
	Resident string
	Phone    string
	// WarrantyEnd is a date, 2027-06-30.
	WarrantyEnd string
}

// homeReminderAt is when a home's warranty reminder goes out: one month before the warranty
// ends (the plans: 保修期满前一个月,统一发短信提醒客户), at the start of the working day, so that no
// resident is texted at midnight.
func (p *Policy) homeReminderAt(end time.Time) time.Time {
	return p.Calendar.NextWorkingStart(end.AddDate(0, -1, 0))
}

// homeWarranties reminds each resident once, a month before their home's warranty ends: by
// SMS when the site has an SMS channel and the resident a phone, else customer service (the
// zone's butler) is told to pass it on. Equipment warranties stay with engineering
// (warranties).
func (m *Manager) homeWarranties(ctx context.Context, now time.Time) {
	for _, h := range m.cfg.Homes {
		end, err := time.ParseInLocation(time.DateOnly, h.WarrantyEnd, m.policy.Calendar.Location())
		if err != nil || now.Before(m.policy.homeReminderAt(end)) || !now.Before(end.AddDate(0, 0, 1)) {
			continue
		}
		key := "home-warranty/" + h.Home + "/" + h.WarrantyEnd
		m.mu.Lock()
		done := m.warned[key]
		m.warned[key] = true
		m.mu.Unlock()
		if done {
			continue
		}
		n := Notification{Type: "home_warranty", Home: h.Home, At: now,
			Message: m.t("order.notify.home_warranty", "home", h.Home, "resident", h.Resident, "end", h.WarrantyEnd)}
		if m.opts.SMS != nil && h.Phone != "" {
			n.Phone = h.Phone
			n.To = recipients(h.Resident)
		} else {
			n.To = recipients(m.butler(h.Zone))
			n.Message = m.t("order.notify.home_warranty_pass_on", "message", n.Message, "phone", h.Phone)
		}
		// Keyed by home and end date: once ever, across restarts and gateways.
		m.enqueue(ctx, key, n)
	}
}

// butler is the zone's butler, who speaks to its residents, or the estate's supervisor.
func (m *Manager) butler(zone string) string {
	if z, ok := m.zones[zone]; ok && z.Butler != "" {
		return z.Butler
	}
	return m.cfg.Supervisor
}

// toResident texts a notification with a phone to the resident.
func (m *Manager) toResident(ctx context.Context, n Notification) error {
	if n.Phone == "" || m.opts.SMS == nil {
		return nil
	}
	if err := m.opts.SMS.SendSMS(ctx, n.Phone, n.Message); err != nil {
		return fmt.Errorf("sms to the resident of %s: %w", n.Home, err)
	}
	return nil
}

// validateHomes names the first bad entry of workorders.homes.
func validateHomes(homes []Home) []error {
	var errs []error
	seen := map[string]bool{}
	for i, h := range homes {
		switch {
		case strings.TrimSpace(h.Home) == "" || seen[h.Home]:
			errs = append(errs, fmt.Errorf("workorders.homes[%d].home: missing or repeated (%q); give building-unit-room, 3-1-1802", i, h.Home))
		case h.WarrantyEnd != "":
			if _, err := time.Parse(time.DateOnly, h.WarrantyEnd); err != nil {
				errs = append(errs, fmt.Errorf("workorders.homes[%d] (%s).warranty_end: %q is not a date (2027-06-30)", i, h.Home, h.WarrantyEnd))
			}
		}
		seen[h.Home] = true
	}
	return errs
}
