package patrol

import (
	"fmt"
	"sort"
	"strings"
	"time"
)

const lastCheckKey = "lighting.last_check"

// lightingCheck runs the night lighting check once per local date, when its time has come:
// the failed circuits of each site go into one checklist, out to the night's patrol, and to
// the LightingFault hook one by one.
func (s *Service) lightingCheck(now time.Time) {
	if s.deps.Latest == nil || (s.cfg.Lighting.At == "" && s.cfg.Lighting.AfterDusk == 0) {
		return
	}
	loc := s.roster.Location()
	local := now.In(loc)
	at, ok := checkTime(local, s.cfg.Lighting.At, s.cfg.Lighting.AfterDusk, s.cfg.Latitude, s.cfg.Longitude)
	if !ok || now.Before(at) {
		return
	}
	date := local.Format(time.DateOnly)
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.lastCheck == "" {
		last, err := s.store.Meta(lastCheckKey)
		if err != nil {
			s.log.Error("patrol.store: lighting check", "err", err)
			return
		}
		s.lastCheck = last
	}
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
// zone it touches.
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
