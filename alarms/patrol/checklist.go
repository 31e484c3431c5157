package patrol

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/facilityd/facilityd/devices"
)

const lastCheckKey = "lighting.last_check"

// lightingCheck runs the night lighting check once per local date, when its time has come
// and the lighting panels have been heard from: with patrol.lighting.switch_on, the circuits
// scheduled for the night that are off are switched on first; then the failed circuits of
// each site go into one checklist, out to the night's patrol, and to the LightingFault hook
// one by one. The writes are made without holding the service's lock: alerts go on while
// the panels answer.
func (s *Service) lightingCheck(ctx context.Context, now time.Time) {
	date, due := s.lightingDue(now)
	if !due || !s.panelsHeard(now) {
		return
	}
	if s.cfg.Lighting.SwitchOn && s.deps.Switcher != nil {
		s.switchOn(ctx, now, date)
		if ctx.Err() != nil {
			return // shutting down: the check runs after the restart, with what was switched
		}
	}
	s.runCheck(now, date)
}

// lightingDue says whether tonight's check is due at now and not yet done, and its date.
func (s *Service) lightingDue(now time.Time) (string, bool) {
	if s.deps.Latest == nil || (s.cfg.Lighting.At == "" && s.cfg.Lighting.AfterDusk == 0) {
		return "", false
	}
	local := now.In(s.roster.Location())
	at, ok := checkTime(local, s.cfg.Lighting.At, s.cfg.Lighting.AfterDusk, s.cfg.Latitude, s.cfg.Longitude)
	if !ok || now.Before(at) {
		return "", false
	}
	date := local.Format(time.DateOnly)
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.lastCheck == "" {
		last, err := s.store.Meta(lastCheckKey)
		if err != nil {
			s.log.Error("patrol.store: lighting check", "err", err)
			return "", false
		}
		s.lastCheck = last
	}
	return date, s.lastCheck != date
}

// panelsHeard holds the check back until every lighting panel has answered or failed a poll
// (or published), for at most panelsGrace after the service started: a daemon started after
// dusk would otherwise check an empty cache, find nothing, and skip the night.
func (s *Service) panelsHeard(now time.Time) bool {
	if now.Sub(s.started) >= panelsGrace {
		return true
	}
	for _, st := range s.deps.Latest.List() {
		if st.Device != nil && st.Device.Kind == devices.KindLighting && st.Polls == 0 {
			return false
		}
	}
	return true
}

// panelsGrace bounds how long the lighting check waits for panels never heard from.
const panelsGrace = time.Minute

// runCheck makes tonight's checklists from the live cache and sends them.
func (s *Service) runCheck(now time.Time, date string) {
	loc := s.roster.Location()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.lastCheck == date {
		return
	}
	items := CheckLighting(s.deps.Latest.List(), now, loc)
	bySite := map[string][]ChecklistItem{}
	shift := s.checklistShift(now)
	for _, it := range items {
		it.Shift = shift
		bySite[it.Site] = append(bySite[it.Site], it)
	}
	sites := make([]string, 0, len(bySite))
	for site := range bySite {
		sites = append(sites, site)
	}
	sort.Strings(sites)
	if len(sites) == 0 {
		sites = []string{s.site} // an empty checklist says the check ran and found nothing
	}
	var out []Message
	for _, site := range sites {
		c := Checklist{ID: "lighting/" + site + "/" + date, Site: site, Date: date, CreatedAt: now, Items: bySite[site]}
		if err := s.store.SaveChecklist(c, "", ""); err != nil {
			s.log.Error("patrol.store: lighting checklist not saved", "err", err)
			return
		}
		s.checklists[c.ID] = &c
		out = append(out, s.checklistMessage(&c, now))
	}
	if err := s.store.SetMeta(lastCheckKey, date); err != nil {
		s.log.Error("patrol.store: lighting check date not saved", "err", err)
	}
	s.lastCheck = date
	s.log.Info("night lighting check", "date", date, "failed_circuits", len(items))
	for _, m := range out {
		s.dispatch.Enqueue(m)
	}
	if s.deps.LightingFault != nil {
		for _, it := range items {
			s.deps.LightingFault(LightingFault{Site: it.Site, Building: it.Building, Zone: it.Zone,
				Device: it.Device, Circuit: it.Circuit, Fault: it.Fault, At: now})
		}
	}
}

// checklistMessage is the one alert that carries a checklist to the night's groups of every
// zone it touches and to those zones' security supervisors (片区安全主管参与其中).
func (s *Service) checklistMessage(c *Checklist, now time.Time) Message {
	m := Message{Type: "checklist", Alert: c.ID, Kind: "lighting", Site: c.Site, Priority: "low",
		Class: "equipment", State: StateOpen, At: now, To: []Guard{}, Checklist: c,
		channels: []string{"mqtt", "webhook", "console"},
		Message:  s.lang.T("patrol.checklist", "date", c.Date, "n", len(c.Items))}
	m.Text = m.Message
	shift := s.checklistShift(now)
	var told []string
	for _, it := range c.Items {
		m.Zones = appendNew(m.Zones, it.Zone)
		for _, g := range s.roster.GroupGuards(shift, it.Zone) {
			told = appendNew(told, g)
		}
		for _, g := range s.roster.ZoneSupervisors(shift, it.Zone) {
			told = appendNew(told, g)
		}
	}
	for _, id := range told {
		g, _ := s.roster.Guard(id)
		m.To = append(m.To, g)
	}
	return m
}

// Checklists returns the lighting checklists of the latest night checked, one per site.
func (s *Service) Checklists() []Checklist {
	s.mu.Lock()
	defer s.mu.Unlock()
	latest := ""
	for _, c := range s.checklists {
		if c.Date > latest {
			latest = c.Date
		}
	}
	out := []Checklist{}
	for _, c := range s.checklists {
		if c.Date == latest {
			out = append(out, *c)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

// CheckItem ticks an item of the latest checklist off, as guard by.
func (s *Service) CheckItem(item, by, note string) (Checklist, error) {
	if _, ok := s.roster.Guard(by); !ok {
		return Checklist{}, fmt.Errorf("%w %q: not in patrol.guards", ErrUnknownGuard, by)
	}
	cls := s.Checklists()
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, c := range cls {
		for i := range c.Items {
			if c.Items[i].ID != item {
				continue
			}
			c.Items = append([]ChecklistItem(nil), c.Items...)
			if !c.Items[i].Done {
				c.Items[i].Done, c.Items[i].DoneBy, c.Items[i].DoneAt, c.Items[i].Note = true, by, s.now(), note
			}
			if err := s.store.SaveChecklist(c, "", ""); err != nil {
				return Checklist{}, fmt.Errorf("patrol.store: %w", err)
			}
			s.checklists[c.ID] = &c
			return c, nil
		}
	}
	var ids []string
	for _, c := range cls {
		for _, it := range c.Items {
			ids = append(ids, it.ID)
		}
	}
	return Checklist{}, fmt.Errorf("%w %q in the latest lighting checklist (items: %s)", ErrNoItem, item, strings.Join(ids, ", "))
}

// checklistShift is the shift that works the checklist: the configured one (night by default)
// if the roster has it, else the one on duty.
func (s *Service) checklistShift(now time.Time) string {
	if name := s.cfg.Lighting.Shift; name != "" && s.roster.HasShift(name) {
		return name
	}
	return s.roster.ShiftAt(now)
}
