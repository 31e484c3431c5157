package alarms

import (
	"bytes"
	"embed"
	"fmt"
	"path"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/expr-lang/expr"
	"github.com/expr-lang/expr/ast"
	"github.com/expr-lang/expr/vm"
	"gopkg.in/yaml.v3"

	"github.com/facilityd/facilityd/devices"
	"github.com/facilityd/facilityd/locale"
)

// RuleKind says how a rule decides that its condition is present.
type RuleKind string

// Rule kinds (docs/alarms.md, Rules).
const (
	// KindAnalog compares one number with a limit (Above or Below), with a deadband.
	KindAnalog RuleKind = "analog"
	// KindDigital is present while any of its bool points is true.
	KindDigital RuleKind = "digital"
	// KindEnum is present while an enum code is in Active, or not in Normal.
	KindEnum RuleKind = "enum"
	// KindCondition is present while its When expression is true.
	KindCondition RuleKind = "condition"
	// KindComm is present while the device is offline. Every device has one, named comm_loss;
	// a profile's rules may redefine it.
	KindComm RuleKind = "comm"
)

// CommLossRule is the name of the communication-loss rule every device gets.
const CommLossRule = "comm_loss"

// Rule is one alarm rule of a profile. Point names may hold "{n}": the rule then applies to
// every point that matches, one alarm per match (fire zones zone_{n}, circuit_{n}_lamp_fail),
// and "{n}" in the message is the match.
type Rule struct {
	Name   string   `yaml:"name"`
	Kind   RuleKind `yaml:"kind"`
	Point  string   `yaml:"point,omitempty"`
	Points []string `yaml:"points,omitempty"`
	// Above or Below is the analog limit; Deadband is how far back the value must come to clear.
	Above    *float64 `yaml:"above,omitempty"`
	Below    *float64 `yaml:"below,omitempty"`
	Deadband float64  `yaml:"deadband,omitempty"`
	// Normal or Active list the enum codes that are normal, or that are the alarm.
	Normal []int64 `yaml:"normal,omitempty"`
	Active []int64 `yaml:"active,omitempty"`
	// When is the expression of a condition rule; Condition gates any rule: while it is false
	// the condition is absent (low pressure matters only while the pump runs).
	When      string        `yaml:"when,omitempty"`
	Condition string        `yaml:"condition,omitempty"`
	OnDelay   time.Duration `yaml:"on_delay,omitempty"`
	OffDelay  time.Duration `yaml:"off_delay,omitempty"`
	Priority  Priority      `yaml:"priority"`
	Class     Class         `yaml:"class"`
	// NFPA is alarm, supervisory or trouble on fire panels (NFPA 72 precedence).
	NFPA string `yaml:"nfpa,omitempty"`
	// Suppress lists daily windows, in the site's time zone, when the rule is suppressed by
	// design (DSUPR).
	Suppress []Window `yaml:"suppress,omitempty"`
	// Message says what happened, per language; {n}, {value} and {label} are filled in.
	Message Text `yaml:"message"`
}

// Window is a daily time window "HH:MM" to "HH:MM" in the site's time zone; it may wrap
// midnight.
type Window struct {
	From string `yaml:"from"`
	To   string `yaml:"to"`
}

// RuleSet is the rules of one profile.
type RuleSet struct {
	Rules []Rule `yaml:"rules"`
}

// Override changes one rule of one device; nil fields keep the rule's value.
type Override struct {
	Rule     string
	Disabled bool
	Priority Priority
	// Limit replaces Above or Below, whichever the rule has.
	Limit    *float64
	Deadband *float64
	OnDelay  *time.Duration
	OffDelay *time.Duration
}

//go:embed rules/*.yaml
var rulesFS embed.FS

// BuiltinRules returns the rule sets shipped for the built-in profiles, keyed by profile name.
func BuiltinRules() (map[string]*RuleSet, error) {
	entries, err := rulesFS.ReadDir("rules")
	if err != nil {
		return nil, err
	}
	out := map[string]*RuleSet{}
	for _, e := range entries {
		data, err := rulesFS.ReadFile(path.Join("rules", e.Name()))
		if err != nil {
			return nil, err
		}
		rs, err := ParseRules(e.Name(), data)
		if err != nil {
			return nil, err
		}
		out[strings.TrimSuffix(e.Name(), ".yaml")] = rs
	}
	return out, nil
}

// ParseRules reads a rule set strictly: an unknown key is an error naming the file.
func ParseRules(name string, data []byte) (*RuleSet, error) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	var rs RuleSet
	if err := dec.Decode(&rs); err != nil {
		return nil, fmt.Errorf("alarm rules %s: %w", name, err)
	}
	return &rs, nil
}

// binding is one rule bound to one device (and instance): the unit the engine evaluates.
type binding struct {
	id       string
	dev      *devices.Device
	rule     Rule
	instance string
	idx      []int // indexes of the rule's points in the device's profile
	when     *vm.Program
	whenVars []int
	cond     *vm.Program
	condVars []int
	windows  [][2]int // minutes after midnight
	lang     locale.Locale
}

// bind compiles a device's rules, applying its overrides. Every error names the device and
// rule, and the unknown point when there is one.
func bind(dev *devices.Device, rs *RuleSet, overrides []Override) ([]*binding, error) {
	rules := []Rule{{Name: CommLossRule, Kind: KindComm, Priority: PriorityMedium, Class: ClassCommunication}}
	if rs != nil {
		for _, r := range rs.Rules {
			if r.Name == CommLossRule {
				// A profile may say what its silence means (a fire panel's is high priority).
				rules[0] = r
				continue
			}
			rules = append(rules, r)
		}
	}
	byName := map[string]int{}
	for i, r := range rules {
		byName[r.Name] = i
	}
	disabled := map[string]bool{}
	for _, o := range overrides {
		i, ok := byName[o.Rule]
		if !ok {
			names := make([]string, 0, len(rules))
			for _, r := range rules {
				names = append(names, r.Name)
			}
			return nil, fmt.Errorf("device %s: alarms: no rule %q; its rules are %s", dev.ID, o.Rule, strings.Join(names, ", "))
		}
		r := &rules[i]
		if o.Disabled {
			disabled[r.Name] = true
		}
		if o.Priority != "" {
			r.Priority = o.Priority
		}
		if o.Limit != nil {
			l := *o.Limit
			switch {
			case r.Above != nil:
				r.Above = &l
			case r.Below != nil:
				r.Below = &l
			default:
				return nil, fmt.Errorf("device %s: alarms: rule %q is not an analog rule and has no limit", dev.ID, r.Name)
			}
		}
		if o.Deadband != nil {
			r.Deadband = *o.Deadband
		}
		if o.OnDelay != nil {
			r.OnDelay = *o.OnDelay
		}
		if o.OffDelay != nil {
			r.OffDelay = *o.OffDelay
		}
	}
	var out []*binding
	for _, r := range rules {
		if disabled[r.Name] {
			continue
		}
		bs, err := bindRule(dev, r)
		if err != nil {
			return nil, fmt.Errorf("device %s: alarm rule %s: %w", dev.ID, r.Name, err)
		}
		out = append(out, bs...)
	}
	return out, nil
}

// bindRule binds one rule to a device: one binding per instance of its points ({n}).
func bindRule(dev *devices.Device, r Rule) ([]*binding, error) {
	if err := checkRuleLabels(r); err != nil {
		return nil, err
	}
	windows, err := suppressWindows(r)
	if err != nil {
		return nil, err
	}
	if r.Kind == KindComm {
		return []*binding{{id: dev.ID + "/" + r.Name, dev: dev, rule: r}}, nil
	}
	names, err := rulePoints(r)
	if err != nil {
		return nil, err
	}
	pts, index := profilePoints(dev)
	instances, err := ruleInstances(dev, pts, names)
	if err != nil {
		return nil, err
	}
	var out []*binding
	for _, inst := range instances {
		b, err := bindInstance(dev, r, inst, names, pts, index)
		if err != nil {
			return nil, err
		}
		b.windows = windows
		out = append(out, b)
	}
	return out, nil
}

// checkRuleLabels checks the rule's priority and class.
func checkRuleLabels(r Rule) error {
	if r.Priority.Rank() > 3 {
		return fmt.Errorf("priority %q is not one of critical, high, medium, low", r.Priority)
	}
	switch r.Class {
	case ClassLifeSafety, ClassEquipment, ClassSupervisory, ClassTrouble, ClassCommunication:
		return nil
	}
	return fmt.Errorf("class %q is not one of life_safety, equipment, supervisory, trouble, communication", r.Class)
}

// suppressWindows parses the rule's suppression windows into minutes of the day.
func suppressWindows(r Rule) ([][2]int, error) {
	var windows [][2]int
	for _, w := range r.Suppress {
		from, err1 := parseClock(w.From)
		to, err2 := parseClock(w.To)
		if err1 != nil || err2 != nil {
			return nil, fmt.Errorf("suppress window %q-%q: write times as HH:MM", w.From, w.To)
		}
		windows = append(windows, [2]int{from, to})
	}
	return windows, nil
}

// profilePoints lists the device's points and indexes them by name (none without a profile).
func profilePoints(dev *devices.Device) ([]*devices.Point, map[string]int) {
	var pts []*devices.Point
	var index map[string]int
	if dev.Profile != nil {
		index = map[string]int{}
		for i := range dev.Profile.Points {
			pts = append(pts, &dev.Profile.Points[i])
			index[dev.Profile.Points[i].Name] = i
		}
	}
	return pts, index
}

// rulePoints checks what the rule's kind needs and returns the point names it watches (none
// for a condition rule).
func rulePoints(r Rule) ([]string, error) {
	switch r.Kind {
	case KindAnalog, KindEnum:
		if r.Point == "" {
			return nil, fmt.Errorf("point: missing")
		}
		if r.Kind == KindAnalog && (r.Above == nil) == (r.Below == nil) {
			return nil, fmt.Errorf("an analog rule needs exactly one of above and below")
		}
		if r.Kind == KindEnum && len(r.Normal) == 0 && len(r.Active) == 0 {
			return nil, fmt.Errorf("an enum rule needs normal or active codes")
		}
		return []string{r.Point}, nil
	case KindDigital:
		if len(r.Points) == 0 {
			return nil, fmt.Errorf("points: missing")
		}
	case KindCondition:
		if r.When == "" {
			return nil, fmt.Errorf("when: missing")
		}
	default:
		return nil, fmt.Errorf("kind %q is not one of analog, digital, enum, condition, comm", r.Kind)
	}
	return r.Points, nil
}

// ruleInstances returns every value of {n} that makes the rule's first point exist, sorted;
// a rule without {n} has the one instance "".
func ruleInstances(dev *devices.Device, pts []*devices.Point, names []string) ([]string, error) {
	if len(names) == 0 || !strings.Contains(names[0], "{n}") {
		return []string{""}, nil
	}
	re := regexp.MustCompile("^" + strings.ReplaceAll(regexp.QuoteMeta(names[0]), regexp.QuoteMeta("{n}"), "(.+)") + "$")
	var instances []string
	for _, p := range pts {
		if m := re.FindStringSubmatch(p.Name); m != nil {
			instances = append(instances, m[1])
		}
	}
	if len(instances) == 0 {
		return nil, fmt.Errorf("no point of profile %q matches %q", profileName(dev), names[0])
	}
	sort.Strings(instances)
	return instances, nil
}

// bindInstance binds one instance of the rule: its points, checked against the kind, and its
// compiled when and condition expressions.
func bindInstance(dev *devices.Device, r Rule, inst string, names []string, pts []*devices.Point, index map[string]int) (*binding, error) {
	b := &binding{id: dev.ID + "/" + r.Name, dev: dev, rule: r, instance: inst}
	if inst != "" {
		b.id += "/" + inst
	}
	for _, n := range names {
		n = strings.ReplaceAll(n, "{n}", inst)
		i, ok := index[n]
		if !ok {
			return nil, fmt.Errorf("unknown point %q (profile %q)", n, profileName(dev))
		}
		if err := checkPointType(r.Kind, n, pts[i]); err != nil {
			return nil, err
		}
		b.idx = append(b.idx, i)
	}
	var err error
	if r.When != "" {
		if b.when, b.whenVars, err = compile(pts, index, r.When); err != nil {
			return nil, fmt.Errorf("when: %w", err)
		}
	}
	if r.Condition != "" {
		if b.cond, b.condVars, err = compile(pts, index, r.Condition); err != nil {
			return nil, fmt.Errorf("condition: %w", err)
		}
	}
	return b, nil
}

// checkPointType refuses a point whose type the rule's kind cannot read.
func checkPointType(kind RuleKind, name string, p *devices.Point) error {
	switch {
	case kind == KindDigital && !p.IsBool():
		return fmt.Errorf("point %q is %s, not bool", name, p.Type)
	case kind == KindEnum && p.Type != devices.TypeEnum:
		return fmt.Errorf("point %q is %s, not enum", name, p.Type)
	case kind == KindAnalog && (p.IsBool() || p.Type == devices.TypeString):
		return fmt.Errorf("point %q is %s, not a number", name, p.Type)
	}
	return nil
}

func profileName(d *devices.Device) string {
	if d.Profile == nil {
		return ""
	}
	return d.Profile.Name
}

func parseClock(s string) (int, error) {
	t, err := time.Parse("15:04", s)
	if err != nil {
		return 0, err
	}
	return t.Hour()*60 + t.Minute(), nil
}

type identVisitor struct{ names []string }

func (v *identVisitor) Visit(n *ast.Node) {
	if id, ok := (*n).(*ast.IdentifierNode); ok {
		v.names = append(v.names, id.Value)
	}
}

// compile compiles an expression over the device's points, once, at load: an unknown point
// is an error that names it.
func compile(pts []*devices.Point, index map[string]int, src string) (*vm.Program, []int, error) {
	env := map[string]any{}
	for _, p := range pts {
		env[p.Name] = p.Typed(devices.Value{})
	}
	tree, err := expr.Compile(src, expr.Env(env), expr.AsBool())
	if err != nil {
		for _, line := range strings.Split(err.Error(), "\n") {
			if strings.HasPrefix(line, "unknown name ") {
				name := strings.TrimPrefix(line, "unknown name ")
				if i := strings.Index(name, " ("); i > 0 {
					name = name[:i]
				}
				return nil, nil, fmt.Errorf("%q: unknown point %q", src, name)
			}
		}
		return nil, nil, fmt.Errorf("%q: %w", src, err)
	}
	v := &identVisitor{}
	node := tree.Node()
	ast.Walk(&node, v)
	var vars []int
	seen := map[int]bool{}
	for _, n := range v.names {
		if i, ok := index[n]; ok && !seen[i] {
			seen[i] = true
			vars = append(vars, i)
		}
	}
	return tree, vars, nil
}

// reading is what a binding makes of one snapshot.
type reading struct {
	present bool
	valid   bool // false: a value the rule needs is not good; the alarm holds its state
	value   any
	label   string
}

// evaluate decides whether the binding's condition is present in a snapshot. wasActive
// applies the deadband of analog rules.
func (b *binding) evaluate(s *devices.Snapshot, wasActive bool) reading {
	r := b.rule
	if r.Kind == KindComm {
		if s.Comm == devices.CommUnknown {
			return reading{}
		}
		return reading{present: s.Comm == devices.CommOffline, valid: true, value: s.Comm.String()}
	}
	if !s.OK() || s.Values == nil || s.Device.Profile == nil {
		return reading{}
	}
	pts := s.Device.Profile.Points
	good := func(i int) bool { return i < len(s.Values) && s.Values[i].Quality == devices.QualityGood }
	for _, i := range b.idx {
		if !good(i) {
			return reading{}
		}
	}
	env := func(vars []int) (map[string]any, bool) {
		m := make(map[string]any, len(vars))
		for _, i := range vars {
			if !good(i) {
				return nil, false
			}
			m[pts[i].Name] = pts[i].Typed(s.Values[i])
		}
		return m, true
	}
	if b.cond != nil {
		m, ok := env(b.condVars)
		if !ok {
			return reading{}
		}
		out, err := expr.Run(b.cond, m)
		if err != nil {
			return reading{}
		}
		if on, _ := out.(bool); !on {
			return reading{valid: true}
		}
	}
	var out reading
	out.valid = true
	switch r.Kind {
	case KindDigital:
		for _, i := range b.idx {
			if s.Values[i].Number != 0 {
				out.present = true
				out.value = true
				out.label = pts[i].Name
				break
			}
		}
	case KindEnum:
		i := b.idx[0]
		code := int64(s.Values[i].Number)
		out.value, out.label = code, pts[i].Label(s.Values[i])
		if len(r.Active) > 0 {
			out.present = contains(r.Active, code)
		} else {
			out.present = !contains(r.Normal, code)
		}
	case KindAnalog:
		v := s.Values[b.idx[0]].Number
		out.value = v
		if r.Above != nil {
			limit := *r.Above
			if wasActive {
				limit -= r.Deadband
			}
			out.present = v > limit
		} else {
			limit := *r.Below
			if wasActive {
				limit += r.Deadband
			}
			out.present = v < limit
		}
	case KindCondition:
		m, ok := env(b.whenVars)
		if !ok {
			return reading{}
		}
		res, err := expr.Run(b.when, m)
		if err != nil {
			return reading{}
		}
		out.present, _ = res.(bool)
	}
	return out
}

func contains(list []int64, v int64) bool {
	for _, x := range list {
		if x == v {
			return true
		}
	}
	return false
}

// suppressed reports whether t falls in one of the binding's suppression windows.
func (b *binding) suppressed(t time.Time, loc *time.Location) bool {
	if len(b.windows) == 0 {
		return false
	}
	lt := t.In(loc)
	m := lt.Hour()*60 + lt.Minute()
	for _, w := range b.windows {
		if w[0] <= w[1] && m >= w[0] && m < w[1] || w[0] > w[1] && (m >= w[0] || m < w[1]) {
			return true
		}
	}
	return false
}

// message is what a guard reads, in the site's language: the device, where it is, and what
// happened, as one sentence in that language's order.
func (b *binding) message(rd reading) string {
	d, l := b.dev, b.lang
	name := d.Tags["name"]
	if name == "" {
		name = l.T(kindKey(d.Kind)) + " " + d.ID
	}
	msg := b.rule.Message.In(l)
	if msg == "" && b.rule.Kind == KindComm {
		msg = l.T("alarm.comm_loss")
	}
	if msg == "" {
		msg = b.rule.Name
	}
	val := ""
	switch v := rd.value.(type) {
	case float64:
		// Readings are often float32 on the wire: print the shortest form that round-trips.
		val = strconv.FormatFloat(v, 'f', -1, 32)
	case nil:
	default:
		val = fmt.Sprint(v)
	}
	if val == "" {
		msg = noValue.ReplaceAllString(msg, "")
	}
	if rd.label == "" {
		msg = noLabel.ReplaceAllString(msg, "")
	}
	msg = strings.NewReplacer("{n}", b.instance, "{value}", val, "{label}", rd.label).Replace(msg)
	loc := d.Tags["location"]
	key := "alarm.text.name"
	switch {
	case loc != "" && d.Building != "":
		key = "alarm.text.full"
	case loc != "":
		key = "alarm.text.location"
	case d.Building != "":
		key = "alarm.text.building"
	}
	return l.T(key, "name", name, "location", loc, "building", d.Building, "what", msg)
}

// noValue and noLabel find the parenthesised parts of a message that say a value or label,
// left out while there is none (an alarm that has never been active): "pit level high",
// not "pit level high ( m)".
var (
	noValue = regexp.MustCompile(`\s*[(（][^()（）]*\{value\}[^()（）]*[)）]`)
	noLabel = regexp.MustCompile(`\s*[(（][^()（）]*\{label\}[^()（）]*[)）]`)
)

func kindKey(k devices.Kind) string {
	switch k {
	case devices.KindPump:
		return "device.kind.pump"
	case devices.KindElevator:
		return "device.kind.elevator"
	case devices.KindFirePanel:
		return "device.kind.fire_panel"
	case devices.KindLighting:
		return "device.kind.lighting"
	}
	return "device.kind.other"
}
