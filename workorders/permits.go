package workorders

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// ActionPermit records the confined-space work permit of an order (有限空间作业审批): who
// issues it (the person recording it, from the credential), the gas test and the attendant.
// It leaves the state as it is; start checks it (严格执行有限空间作业管理制度).
const ActionPermit Action = "permit"

// ErrPermit is a start refused for want of a valid confined-space permit; the message says
// which reading is outside which limit, or what is missing.
var ErrPermit = errors.New("confined-space permit")

// Permit is a confined-space work permit: issued by a named person before anyone enters a
// sump pit or a water tank, with the gas test made at the entrance and the attendant (监护人)
// who stays outside for the whole job.
type Permit struct {
	IssuedBy  string      `json:"issued_by"`
	IssuedAt  time.Time   `json:"issued_at"`
	Attendant string      `json:"attendant"`
	Readings  GasReadings `json:"readings"`
	Note      string      `json:"note,omitempty"`
	// Refused is why the gas test refuses entry, one reading outside its limit a line (as
	// GasReadings.Check says), empty when the readings allow it: what the order card shows.
	Refused []string `json:"refused,omitempty"`
}

// GasReadings is the gas test before entry: oxygen and flammable gas as the detector shows
// them, hydrogen sulphide and carbon monoxide in mg/m³, the unit of GBZ 2.1 (a detector in
// ppm: mg/m³ = ppm × molar mass / 24.04 at 20 °C; H2S 10 mg/m³ ≈ 7 ppm, CO 20 mg/m³ ≈ 17 ppm).
type GasReadings struct {
	// O2 is oxygen, % by volume.
	O2 *float64 `json:"o2_pct"`
	// LEL is flammable gas, % of the lower explosive limit.
	LEL *float64 `json:"lel_pct"`
	// H2S and CO are in mg/m³.
	H2S *float64 `json:"h2s_mg_m3"`
	CO  *float64 `json:"co_mg_m3"`
}

// PermitInput is what the person recording a permit sends: the attendant, the readings and a
// note. The issuer is who records it (Input.By, from the credential), never a field of its own.
type PermitInput struct {
	Attendant string      `json:"attendant"`
	Readings  GasReadings `json:"readings"`
}

// GasLimit is the range a reading must be in for entry, and the rule it comes from.
type GasLimit struct {
	Gas, Unit string
	// Min and Max bound the reading; Below makes Max exclusive (the reading must be under it).
	Min, Max float64
	Below    bool
	Basis    string
}

// GasLimits are the entry limits the gas test is held to.
var GasLimits = []GasLimit{
	// GB 8958-2006 (缺氧危险作业安全规程): air under 19.5 % oxygen is oxygen-deficient. 23.5 %
	// is the usual upper bound against oxygen enrichment in confined-space rules (ours to
	// adopt: GB 8958 sets no upper bound).
	{Gas: "O2", Unit: "%", Min: 19.5, Max: 23.5, Basis: "GB 8958-2006: not under 19.5 %; over 23.5 % is enriched"},
	// Ours: under 10 % of the lower explosive limit is the common entry limit of confined-space
	// rules for mixed or unknown flammable gas (sewer gas in a sump pit).
	{Gas: "LEL", Unit: "% LEL", Max: 10, Below: true, Basis: "under 10 % LEL (the common confined-space entry limit)"},
	// GBZ 2.1-2019: hydrogen sulphide, maximum allowable concentration (MAC) 10 mg/m³.
	{Gas: "H2S", Unit: "mg/m³", Max: 10, Basis: "GBZ 2.1-2019: MAC 10 mg/m³"},
	// GBZ 2.1-2019: carbon monoxide, PC-TWA 20 mg/m³ (non-high-altitude areas).
	{Gas: "CO", Unit: "mg/m³", Max: 20, Basis: "GBZ 2.1-2019: PC-TWA 20 mg/m³"},
}

// PermitFresh is how long a gas test stays good for starting the work: GB 30871-2022 asks the
// gas test within 30 minutes before entry; older, the test is made again.
const PermitFresh = 30 * time.Minute

func (g GasReadings) value(gas string) *float64 {
	switch gas {
	case "O2":
		return g.O2
	case "LEL":
		return g.LEL
	case "H2S":
		return g.H2S
	}
	return g.CO
}

// Check says what keeps the readings from allowing entry: each missing reading, and each
// reading outside its limit with the limit and its basis; nil when entry is allowed.
func (g GasReadings) Check() []string {
	var out []string
	num := func(v float64) string { return strconv.FormatFloat(v, 'f', -1, 64) }
	for _, l := range GasLimits {
		v := g.value(l.Gas)
		switch {
		case v == nil:
			out = append(out, fmt.Sprintf("no %s reading", l.Gas))
		case *v < l.Min:
			out = append(out, fmt.Sprintf("%s %s %s is under %s %s (%s)", l.Gas, num(*v), l.Unit, num(l.Min), l.Unit, l.Basis))
		case l.Below && *v >= l.Max:
			out = append(out, fmt.Sprintf("%s %s %s is not under %s %s (%s)", l.Gas, num(*v), l.Unit, num(l.Max), l.Unit, l.Basis))
		case !l.Below && *v > l.Max:
			out = append(out, fmt.Sprintf("%s %s %s is over %s %s (%s)", l.Gas, num(*v), l.Unit, num(l.Max), l.Unit, l.Basis))
		}
	}
	return out
}

// permit records a permit on o, issued by who acts (in.By, from the credential). A permit
// with readings outside the limits is recorded all the same (the failed test is part of the
// record) and start refuses it.
func permit(o *Order, in Input, now time.Time) error {
	if !o.ConfinedSpace {
		return fmt.Errorf("%w: permit of %s: not confined-space work (confined_space on its plan or mapping)", ErrInvalid, o.ID)
	}
	who := in.By
	if in.OnBehalfOf != "" {
		who = in.OnBehalfOf
	}
	if in.Permit == nil || strings.TrimSpace(in.Permit.Attendant) == "" {
		return fmt.Errorf("%w: permit of %s: name the attendant who stays at the entrance (permit.attendant)", ErrInvalid, o.ID)
	}
	if strings.TrimSpace(in.Permit.Attendant) == who {
		return fmt.Errorf("%w: permit of %s: the attendant must be another person than the issuer %s", ErrInvalid, o.ID, who)
	}
	for _, l := range GasLimits {
		if v := in.Permit.Readings.value(l.Gas); v == nil {
			return fmt.Errorf("%w: permit of %s: give the %s reading (permit.readings: o2_pct, lel_pct, h2s_mg_m3, co_mg_m3)", ErrInvalid, o.ID, l.Gas)
		} else if *v < 0 || (*v > 100 && l.Unit != "mg/m³") {
			return fmt.Errorf("%w: permit of %s: %s reading %v %s is not a reading", ErrInvalid, o.ID, l.Gas, *v, l.Unit)
		}
	}
	o.Permit = &Permit{IssuedBy: who, IssuedAt: now, Attendant: strings.TrimSpace(in.Permit.Attendant), Readings: in.Permit.Readings, Note: in.Note,
		Refused: in.Permit.Readings.Check()}
	return nil
}

// checkPermit refuses the start of confined-space work without a permit whose gas test is
// within limits and fresh.
func checkPermit(o Order, now time.Time) error {
	if !o.ConfinedSpace {
		return nil
	}
	if o.Permit == nil {
		return fmt.Errorf("%w: start of %s: confined-space work needs a permit first: gas test and attendant (POST /api/v1/workorders/%s/permit)", ErrPermit, o.ID, o.ID)
	}
	if bad := o.Permit.Readings.Check(); len(bad) > 0 {
		return fmt.Errorf("%w: start of %s: the gas test of %s refuses entry: %s; ventilate and test again", ErrPermit, o.ID, o.Permit.IssuedAt.Format("15:04"), strings.Join(bad, "; "))
	}
	if age := now.Sub(o.Permit.IssuedAt); age > PermitFresh {
		return fmt.Errorf("%w: start of %s: the gas test of %s is %s old, more than %s (GB 30871-2022: test within 30 min before entry); test again", ErrPermit, o.ID,
			o.Permit.IssuedAt.Format("15:04"), age.Round(time.Minute), PermitFresh)
	}
	return nil
}

// confinedSpace reports whether o is confined-space work: raised by a plan marked so, or of a
// category a mapping marks so.
func (m *Manager) confinedSpace(o *Order) bool {
	for _, p := range m.cfg.Plans {
		if p.ID == o.Plan && o.Plan != "" {
			return p.ConfinedSpace
		}
	}
	for _, mp := range m.cfg.Mappings {
		if mp.ConfinedSpace && mp.Category == o.Category {
			return true
		}
	}
	return false
}

// permitNote is the history's line for a permit: who attends and what the gas test read.
func permitNote(p *Permit) string {
	num := func(v *float64) string { return strconv.FormatFloat(*v, 'f', -1, 64) }
	g := p.Readings
	s := fmt.Sprintf("attendant %s; O2 %s %%, LEL %s %%, H2S %s mg/m³, CO %s mg/m³", p.Attendant, num(g.O2), num(g.LEL), num(g.H2S), num(g.CO))
	if bad := g.Check(); len(bad) > 0 {
		s += "; entry refused: " + strings.Join(bad, "; ")
	}
	if p.Note != "" {
		s += ": " + p.Note
	}
	return s
}
