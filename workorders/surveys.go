package workorders

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"slices"
	"sort"
	"strings"
	"time"
)

// SurveyKind is one of the plans' two surveys of residents.
type SurveyKind string

// The plans' surveys: a targeted opinion survey every half year (每半年进行一次有针对性的客户意见
// 征询) and the year-end satisfaction survey (年终…客户服务满意度调查).
const (
	SurveyOpinion      SurveyKind = "opinion"
	SurveySatisfaction SurveyKind = "satisfaction"
)

// OwnersSatisfactionTarget is the owners' overall satisfaction that qualifies an estate for
// the district's support: the plans' 业主满意率达 80%以上.
const OwnersSatisfactionTarget = 0.8

// DefaultSurveySample is how many homes a survey asks, ours: about 100 answers tell an estate
// at 80% from one at 72% (±8 points at 95% confidence, 1.96²·0.8·0.2/0.08² ≈ 96); a smaller
// estate is asked in full.
const DefaultSurveySample = 100

// Survey is one survey of residents over a sample of homes, with the answers recorded.
type Survey struct {
	// ID is the year and the half of an opinion survey (2026-H1-opinion), or the year of the
	// satisfaction survey (2026-satisfaction).
	ID        string         `json:"id"`
	Kind      SurveyKind     `json:"kind"`
	Year      int            `json:"year"`
	Half      int            `json:"half,omitempty"`
	Sample    []string       `json:"sample"`
	Answers   []SurveyAnswer `json:"answers"`
	StartedAt time.Time      `json:"started_at"`
	StartedBy string         `json:"started_by"`
	Version   int64          `json:"version"`
}

// SurveyAnswer is one home's answer: satisfied overall (the satisfaction survey asks it; the
// opinion survey may) and the resident's opinions in their words.
type SurveyAnswer struct {
	Home      string `json:"home"`
	Satisfied *bool  `json:"satisfied,omitempty"`
	Opinion   string `json:"opinion,omitempty"`
	By        string `json:"by"`
	// OnBehalfOf is the person an admin recorded the answer for; the API sets it, never the body.
	OnBehalfOf string    `json:"on_behalf_of,omitempty"`
	At         time.Time `json:"at"`
}

// SurveyRequest starts a survey: the kind, the year and, for an opinion survey, the half.
type SurveyRequest struct {
	Kind SurveyKind `json:"kind"`
	Year int        `json:"year"`
	Half int        `json:"half,omitempty"`
	By   string     `json:"by"`
}

// SurveyStore keeps the surveys beside the order book.
type SurveyStore interface {
	// AddSurvey stores a new survey; ErrInvalid when one of that id exists.
	AddSurvey(ctx context.Context, s *Survey) error
	GetSurvey(ctx context.Context, id string) (*Survey, error)
	// UpdateSurvey stores s if nobody changed it since s.Version was read, else ErrConflict.
	UpdateSurvey(ctx context.Context, s *Survey) error
}

func surveyID(r SurveyRequest) (string, error) {
	switch {
	case r.Year < 2000 || r.Year > 2999:
		return "", fmt.Errorf("%w: year %d: give the survey's year, 2026", ErrInvalid, r.Year)
	case r.Kind == SurveyOpinion && (r.Half == 1 || r.Half == 2):
		return fmt.Sprintf("%d-H%d-%s", r.Year, r.Half, r.Kind), nil
	case r.Kind == SurveyOpinion:
		return "", fmt.Errorf("%w: half %d: an opinion survey is half-yearly; give half 1 or 2", ErrInvalid, r.Half)
	case r.Kind == SurveySatisfaction && r.Half == 0:
		return fmt.Sprintf("%d-%s", r.Year, r.Kind), nil
	case r.Kind == SurveySatisfaction:
		return "", fmt.Errorf("%w: half %d: the satisfaction survey is the year-end one; leave half out", ErrInvalid, r.Half)
	}
	return "", fmt.Errorf("%w: kind %q is not %s or %s", ErrInvalid, r.Kind, SurveyOpinion, SurveySatisfaction)
}

// SurveySample draws a survey's homes: the n homes whose hash of site, survey and home is
// smallest. The draw is seeded by the survey's id, ours: every gateway and every re-run draw
// the same homes, nobody can pick the residents they expect to be pleased, an auditor can draw
// it again from the register, and each survey draws afresh so the same homes are not always
// asked.
func SurveySample(site, survey string, homes []string, n int) []string {
	type ranked struct {
		home string
		h    uint64
	}
	rs := make([]ranked, 0, len(homes))
	for _, home := range homes {
		f := fnv.New64a()
		f.Write([]byte(site + "/" + survey + "/" + home))
		rs = append(rs, ranked{home, f.Sum64()})
	}
	sort.Slice(rs, func(i, j int) bool { return rs[i].h < rs[j].h || rs[i].h == rs[j].h && rs[i].home < rs[j].home })
	if n > len(rs) {
		n = len(rs)
	}
	out := make([]string, 0, n)
	for _, r := range rs[:n] {
		out = append(out, r.home)
	}
	sort.Strings(out)
	return out
}

// StartSurvey starts a survey over a seeded sample of the register's homes (workorders.homes).
func (m *Manager) StartSurvey(ctx context.Context, r SurveyRequest) (*Survey, error) {
	id, err := surveyID(r)
	if err != nil {
		return nil, err
	}
	if strings.TrimSpace(r.By) == "" {
		return nil, fmt.Errorf("%w: by: say who runs the survey", ErrInvalid)
	}
	var homes []string
	for _, h := range m.cfg.Homes {
		homes = append(homes, h.Home)
	}
	if len(homes) == 0 {
		return nil, fmt.Errorf("%w: survey %s: no homes to ask; list the residents' homes in workorders.homes", ErrInvalid, id)
	}
	s := &Survey{ID: id, Kind: r.Kind, Year: r.Year, Half: r.Half, Sample: SurveySample(m.site, id, homes, m.cfg.SurveySample),
		Answers: []SurveyAnswer{}, StartedAt: m.now(), StartedBy: r.By}
	if err := m.store.AddSurvey(ctx, s); err != nil {
		return nil, err
	}
	return s, nil
}

// Survey returns a survey with its answers.
func (m *Manager) Survey(ctx context.Context, id string) (*Survey, error) {
	return m.store.GetSurvey(ctx, id)
}

// AnswerSurvey records a home's answer: a home of the sample, once; the satisfaction survey
// needs satisfied, the opinion survey an opinion or satisfied.
func (m *Manager) AnswerSurvey(ctx context.Context, id string, a SurveyAnswer) (*Survey, error) {
	for attempt := 0; ; attempt++ {
		s, err := m.store.GetSurvey(ctx, id)
		if err != nil {
			return nil, err
		}
		a.At = m.now()
		if err := s.check(a); err != nil {
			return nil, err
		}
		s.Answers = append(s.Answers, a)
		if err := m.store.UpdateSurvey(ctx, s); err != nil {
			if errors.Is(err, ErrConflict) && attempt < 2 {
				continue
			}
			return nil, err
		}
		return s, nil
	}
}

func (s *Survey) check(a SurveyAnswer) error {
	switch {
	case strings.TrimSpace(a.By) == "":
		return fmt.Errorf("%w: survey %s: say who asked (by)", ErrInvalid, s.ID)
	case !slices.Contains(s.Sample, a.Home):
		return fmt.Errorf("%w: survey %s: home %q is not in its sample (GET /api/v1/surveys/%s lists it)", ErrInvalid, s.ID, a.Home, s.ID)
	case s.Kind == SurveySatisfaction && a.Satisfied == nil:
		return fmt.Errorf("%w: survey %s: say whether the residents of %s are satisfied (satisfied: true or false)", ErrInvalid, s.ID, a.Home)
	case a.Satisfied == nil && strings.TrimSpace(a.Opinion) == "":
		return fmt.Errorf("%w: survey %s: record the opinion of %s (opinion) or whether they are satisfied", ErrInvalid, s.ID, a.Home)
	}
	for _, prev := range s.Answers {
		if prev.Home == a.Home {
			return fmt.Errorf("%w: survey %s: %s answered already at %s", ErrInvalid, s.ID, a.Home, prev.At.Format(time.RFC3339))
		}
	}
	return nil
}

// SurveyResult is one survey's figures: homes asked, answered, and satisfied of those who said.
type SurveyResult struct {
	ID        string   `json:"id"`
	Sampled   int      `json:"sampled"`
	Answered  int      `json:"answered"`
	Rated     int      `json:"rated"`
	Satisfied int      `json:"satisfied"`
	Opinions  []string `json:"opinions,omitempty"`
}

// YearSummary is the year's satisfaction for the yearly report: the owners' overall
// satisfaction (业主满意率) from the year-end survey, against the plans' 80% that qualifies the
// estate for the district's support, beside the per-call satisfaction of the year's follow-up
// calls at the first level, which is another figure.
type YearSummary struct {
	Year         int            `json:"year"`
	Opinion      []SurveyResult `json:"opinion"`
	Satisfaction *SurveyResult  `json:"satisfaction,omitempty"`
	// OwnersSatisfaction is the year-end survey's satisfied share of the homes that rated,
	// 0-1; Qualifies whether it reaches OwnersSatisfactionTarget.
	OwnersSatisfaction float64 `json:"owners_satisfaction"`
	OwnersTarget       float64 `json:"owners_target"`
	Qualifies          bool    `json:"qualifies"`
	// Calls and CallsSatisfied are the year's first-level follow-up calls (per-call
	// satisfaction).
	Calls          int `json:"calls"`
	CallsSatisfied int `json:"calls_satisfied"`
}

func result(s *Survey) SurveyResult {
	r := SurveyResult{ID: s.ID, Sampled: len(s.Sample), Answered: len(s.Answers)}
	for _, a := range s.Answers {
		if a.Satisfied != nil {
			r.Rated++
			if *a.Satisfied {
				r.Satisfied++
			}
		}
		if a.Opinion != "" {
			r.Opinions = append(r.Opinions, a.Home+": "+a.Opinion)
		}
	}
	return r
}

// YearSummary sums up the year's surveys and follow-up calls (the calendar's time zone).
func (m *Manager) YearSummary(ctx context.Context, year int) (*YearSummary, error) {
	return yearSummary(ctx, m.store, year, m.policy.Calendar.Location(), m.policy.FirstLevel())
}

// yearSummary reads the year's surveys from st and counts the follow-up calls of level first
// made in the year, in loc: the surveys API's figures and the yearly report's.
func yearSummary(ctx context.Context, st Store, year int, loc *time.Location, first string) (*YearSummary, error) {
	out := &YearSummary{Year: year, Opinion: []SurveyResult{}, OwnersTarget: OwnersSatisfactionTarget}
	for half := 1; half <= 2; half++ {
		s, err := st.GetSurvey(ctx, fmt.Sprintf("%d-H%d-%s", year, half, SurveyOpinion))
		if errors.Is(err, ErrNotFound) {
			continue
		}
		if err != nil {
			return nil, err
		}
		out.Opinion = append(out.Opinion, result(s))
	}
	s, err := st.GetSurvey(ctx, fmt.Sprintf("%d-%s", year, SurveySatisfaction))
	switch {
	case err == nil:
		r := result(s)
		out.Satisfaction = &r
		if r.Rated > 0 {
			out.OwnersSatisfaction = float64(r.Satisfied) / float64(r.Rated)
		}
		out.Qualifies = r.Rated > 0 && out.OwnersSatisfaction >= OwnersSatisfactionTarget
	case !errors.Is(err, ErrNotFound):
		return nil, err
	}
	from, to := time.Date(year, 1, 1, 0, 0, 0, 0, loc), time.Date(year+1, 1, 1, 0, 0, 0, 0, loc)
	list, err := st.List(ctx, Filter{From: from.AddDate(-1, 0, 0), To: to})
	if err != nil {
		return nil, err
	}
	for _, o := range list {
		for _, h := range o.History {
			if h.Action != string(ActionFollowUp) || h.Level != first || h.Satisfied == nil || h.At.Before(from) || !h.At.Before(to) {
				continue
			}
			out.Calls++
			if *h.Satisfied {
				out.CallsSatisfied++
			}
		}
	}
	return out, nil
}

// AddSurvey implements SurveyStore.
func (s *SQLStore) AddSurvey(ctx context.Context, sv *Survey) error {
	sv.Version = 1
	data, err := json.Marshal(sv)
	if err != nil {
		return err
	}
	res, err := s.db.ExecContext(ctx, s.q(`INSERT INTO workorder_surveys (id, version, data) VALUES (?, 1, ?) ON CONFLICT (id) DO NOTHING`), sv.ID, string(data))
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("%w: survey %s was started already (GET /api/v1/surveys/%s)", ErrInvalid, sv.ID, sv.ID)
	}
	return nil
}

// GetSurvey implements SurveyStore.
func (s *SQLStore) GetSurvey(ctx context.Context, id string) (*Survey, error) {
	var version int64
	var data string
	err := s.db.QueryRowContext(ctx, s.q(`SELECT version, data FROM workorder_surveys WHERE id = ?`), id).Scan(&version, &data)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("%w: survey %s (ids look like 2026-H1-opinion or 2026-satisfaction)", ErrNotFound, id)
	}
	if err != nil {
		return nil, err
	}
	var sv Survey
	if err := json.Unmarshal([]byte(data), &sv); err != nil {
		return nil, fmt.Errorf("survey %s: stored data unreadable: %w", id, err)
	}
	sv.Version = version
	return &sv, nil
}

// UpdateSurvey implements SurveyStore.
func (s *SQLStore) UpdateSurvey(ctx context.Context, sv *Survey) error {
	data, err := json.Marshal(sv)
	if err != nil {
		return err
	}
	res, err := s.db.ExecContext(ctx, s.q(`UPDATE workorder_surveys SET version = version + 1, data = ? WHERE id = ? AND version = ?`), string(data), sv.ID, sv.Version)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("survey %s: %w", sv.ID, ErrConflict)
	}
	sv.Version++
	return nil
}
