package patrol

import (
	"errors"
	"strconv"
	"strings"

	"github.com/facilityd/facilityd/alarms"
	"github.com/facilityd/facilityd/locale"
)

// handsetText is what a guard's handset shows and reads out for m, in the site's language:
// one whole sentence per kind of notice, around the alarm's own message (which the alarm
// engine wrote in the same language). The "type" and the other fields stay for programs.
func (s *Service) handsetText(m *Message, a *Alert) string {
	l := s.lang
	switch m.Type {
	case ActionAlert:
		return l.T("handset.alert", "priority", l.T("priority."+string(a.Priority)), "message", m.Message)
	case ActionResend:
		return l.T("handset.resend", "sends", a.Sends, "message", m.Message)
	case ActionEscalate:
		return l.T("handset.escalation", "after", l.Duration(m.At.Sub(a.TimersFrom)), "message", m.Message)
	case ActionClaim:
		return l.T("handset.claim", "owner", s.guardName(a.Owner), "message", m.Message)
	case ActionAck:
		return l.T("handset.ack", "by", s.guardName(a.AckedBy), "message", m.Message)
	case ActionClear:
		return l.T("handset.clear", "message", m.Message)
	}
	return m.Message
}

// refusedText says why a handset's request was refused: who holds the alert, for a lost claim.
func (s *Service) refusedText(a *Alert, err error) string {
	var ce *ClaimedError
	if errors.As(err, &ce) {
		return s.lang.T("handset.refused.claimed", "owner", s.guardName(ce.Owner),
			"at", ce.At.In(s.roster.loc), "message", a.Message)
	}
	return s.lang.T("handset.refused", "message", err.Error())
}

func (s *Service) guardName(id string) string {
	if g, ok := s.roster.Guard(id); ok && g.Name != "" {
		return g.Name
	}
	return id
}

// floodText is a flood summary's message: the engine's, when it wrote one, with the alarms.
func floodText(l locale.Locale, site, engineMsg string, list []alarms.Alarm) string {
	ids := make([]string, len(list))
	for i, al := range list {
		ids[i] = al.ID
	}
	sep := ", "
	if l.Chinese() {
		sep = "、"
	}
	if engineMsg != "" {
		return l.T("patrol.flood.listed", "message", engineMsg, "ids", strings.Join(ids, sep))
	}
	return l.T("patrol.flood", "site", site, "n", strconv.Itoa(len(list)), "ids", strings.Join(ids, sep))
}
