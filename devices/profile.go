package devices

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
	"time"
	_ "time/tzdata" // a profile's time_zone, on gateways without a zone database

	"gopkg.in/yaml.v3"
)

// Limits of one Modbus read request (MODBUS Application Protocol v1.1b3, 6.1-6.4: 1 to 2000
// coils or discrete inputs, 1 to 125 registers).
const (
	MaxRegisters = 125
	MaxBits      = 2000
)

// Table is one of the four Modbus data tables.
type Table string

// The Modbus data tables. Coils and discrete inputs hold bits; holding and input registers hold
// 16-bit words.
const (
	TableCoil     Table = "coil"
	TableDiscrete Table = "discrete"
	TableHolding  Table = "holding"
	TableInput    Table = "input"
)

// Bits reports whether the table holds single bits rather than registers.
func (t Table) Bits() bool { return t == TableCoil || t == TableDiscrete }

func (t Table) valid() bool {
	switch t {
	case TableCoil, TableDiscrete, TableHolding, TableInput:
		return true
	}
	return false
}

// Type is how a point's raw bits or registers are read as a value.
type Type string

// Point types. Bool is a coil or discrete input; Bit is one bit of a register; Enum is a uint16
// register whose codes have labels; String spans Length registers, two characters each.
const (
	TypeBool    Type = "bool"
	TypeBit     Type = "bit"
	TypeInt16   Type = "int16"
	TypeUint16  Type = "uint16"
	TypeInt32   Type = "int32"
	TypeUint32  Type = "uint32"
	TypeInt64   Type = "int64"
	TypeUint64  Type = "uint64"
	TypeFloat32 Type = "float32"
	TypeFloat64 Type = "float64"
	TypeString  Type = "string"
	TypeEnum    Type = "enum"
)

// Registers is how many 16-bit registers a value of the type spans (strings: see Point.Width).
func (t Type) Registers() int {
	switch t {
	case TypeBit, TypeInt16, TypeUint16, TypeEnum:
		return 1
	case TypeInt32, TypeUint32, TypeFloat32:
		return 2
	case TypeInt64, TypeUint64, TypeFloat64:
		return 4
	}
	return 0
}

// IntRange is the range of an integer type's raw value, and false for the other types.
func (t Type) IntRange() (lo, hi float64, ok bool) {
	switch t {
	case TypeInt16:
		return math.MinInt16, math.MaxInt16, true
	case TypeUint16:
		return 0, math.MaxUint16, true
	case TypeInt32:
		return math.MinInt32, math.MaxInt32, true
	case TypeUint32:
		return 0, math.MaxUint32, true
	case TypeInt64:
		return math.MinInt64, math.MaxInt64, true
	case TypeUint64:
		return 0, math.MaxUint64, true
	}
	return 0, 0, false
}

func (t Type) valid() bool {
	return t == TypeBool || t == TypeString || t.Registers() > 0
}

// Order is the byte order of a multi-register value, named by where the bytes of the
// big-endian value A B C D land on the wire: ABCD is big-endian, DCBA little-endian, BADC swaps
// the bytes in each word, CDAB swaps the words. 64-bit values extend the same pattern.
type Order string

// The four byte orders found on field devices.
const (
	OrderABCD Order = "ABCD"
	OrderDCBA Order = "DCBA"
	OrderBADC Order = "BADC"
	OrderCDAB Order = "CDAB"
)

// WordsSwapped reports whether the least significant register comes first.
func (o Order) WordsSwapped() bool { return o == OrderDCBA || o == OrderCDAB }

// BytesSwapped reports whether each register has its low byte first.
func (o Order) BytesSwapped() bool { return o == OrderDCBA || o == OrderBADC }

func (o Order) valid() bool {
	switch o {
	case OrderABCD, OrderDCBA, OrderBADC, OrderCDAB:
		return true
	}
	return false
}

// Point is one named value of a device: where it lives and how to read it.
type Point struct {
	Name    string  `yaml:"name"`
	Table   Table   `yaml:"table"`
	Address uint16  `yaml:"address"`
	Type    Type    `yaml:"type"`
	Order   Order   `yaml:"order"`
	Bit     uint8   `yaml:"bit"`
	Length  uint16  `yaml:"length"`
	Scale   float64 `yaml:"scale"`
	Offset  float64 `yaml:"offset"`
	Unit    string  `yaml:"unit"`
	// Enum labels the codes of an enum point; a code without a label reads as "code N".
	Enum map[int]string `yaml:"enum"`
	// Description is free text for people reading the profile or the console.
	Description string `yaml:"description"`
	// Path locates the point in a JSON payload of a device that publishes over MQTT, e.g.
	// "pressure", "data.zones[2].state" or "sensors[id=T3].value". A point has a path, a
	// topic, or a Modbus location (table, address); Type then says how the value is read.
	Path string `yaml:"path"`
	// Topic is where a device that publishes one topic per point sends this point's plain
	// value ("23.5", "ON"), relative to the device's topic: "POWER" under "stat/plug-1" is
	// stat/plug-1/POWER.
	Topic string `yaml:"topic"`
	// True and False are the words a bool point reads as true and false (any case), in place
	// of the defaults on/off, true/false, yes/no, open/closed, active/inactive. Give both.
	True  []string `yaml:"true"`
	False []string `yaml:"false"`
	// Map gives the code of an enum point for each word its device sends ("E12": 12, "run":
	// 1), beside the point's own labels.
	Map map[string]int `yaml:"map"`
	// Deadband is how far a number must move from the value last published northbound before
	// it is published again, in the point's unit (0.05 bar); unset: the profile's relative
	// deadband. Booleans, enums and strings publish on every change. InfluxDB gets every poll
	// whatever it says.
	Deadband *float64 `yaml:"deadband,omitempty"`
	// Writable marks a coil or holding register facilityd may write (a setpoint, a reset).
	// Every point not marked writable is refused, so a profile is also the list of what a
	// gateway may change on the plant.
	Writable bool `yaml:"writable,omitempty"`
	// Min and Max bound what may be written to a writable numeric point, in engineering
	// units (after scale and offset): a schedule time 0-1439, a setpoint the plant tolerates.
	Min         *float64 `yaml:"min,omitempty"`
	Max         *float64 `yaml:"max,omitempty"`
	BACnetPoint `yaml:",inline"`
}

// IsJSON reports whether the point is read from the JSON payload on its device's topic.
func (p *Point) IsJSON() bool { return p.Path != "" }

// TopicUnder is where a point with a topic of its own is heard: under its device's topic.
func (p *Point) TopicUnder(deviceTopic string) string {
	return strings.TrimSuffix(deviceTopic, "/") + "/" + p.Topic
}

// IsMQTT reports whether the point is heard over MQTT (by JSON path or on a topic of its own)
// rather than read from Modbus.
func (p *Point) IsMQTT() bool { return p.Path != "" || p.Topic != "" }

// Width is how many registers (or bits, for bit tables) the point spans.
func (p *Point) Width() int {
	switch {
	case p.Table.Bits():
		return 1
	case p.Type == TypeString:
		return int(p.Length)
	}
	return p.Type.Registers()
}

// End is the first address after the point.
func (p *Point) End() int { return int(p.Address) + p.Width() }

// IsBool reports whether the point's value is true or false.
func (p *Point) IsBool() bool { return p.Type == TypeBool || p.Type == TypeBit }

// Typed returns the value as the API shows it: bool, string, an integer code, or a number.
func (p *Point) Typed(v Value) any {
	switch {
	case p.IsBool():
		return v.Number != 0
	case p.Type == TypeString:
		return v.Text
	case p.Type == TypeEnum:
		return int64(v.Number)
	}
	return v.Number
}

// Label is the enum label of the value, or "" for other types.
func (p *Point) Label(v Value) string {
	if p.Type != TypeEnum {
		return ""
	}
	code := int(v.Number)
	if l, ok := p.Enum[code]; ok {
		return l
	}
	return "code " + strconv.Itoa(code)
}

// Profile is a register map shared by every device of one model.
type Profile struct {
	Name        string  `yaml:"name"`
	Kind        Kind    `yaml:"kind"`
	Description string  `yaml:"description"`
	Points      []Point `yaml:"points"`
	// TimePath locates the reading's timestamp in a JSON payload: RFC 3339 text with or
	// without an offset, "2006-01-02 15:04:05", or an epoch number. Empty means the time the
	// message was received.
	TimePath string `yaml:"time_path"`
	// TimeUnit is the unit of an epoch time_path (s, ms, us, ns); empty infers it from the
	// number's magnitude.
	TimeUnit TimeUnit `yaml:"time_unit"`
	// TimeZone is the IANA zone of a time_path written without an offset, as some firmware
	// sends local time; empty means the site's zone.
	TimeZone string `yaml:"time_zone"`
	// Deadband is the relative band (0.01 is 1% of the value last published) within which a
	// number's change is not published northbound, for its points without a deadband of their
	// own; unset: mqtt.telemetry.deadband.
	Deadband *float64 `yaml:"deadband,omitempty"`
	// CommandTopic is where facilityd publishes a write to a writable point of a device that
	// speaks MQTT, relative to the device's topic ("set" under "lighting/LC-1" is
	// lighting/LC-1/set), as {"point": NAME, "value": VALUE}. Writable MQTT points need it.
	CommandTopic string `yaml:"command_topic"`

	index map[string]int
	loc   *time.Location
}

// TimeUnit is the unit of an epoch timestamp.
type TimeUnit string

// Epoch units a device may count in.
const (
	UnitSeconds      TimeUnit = "s"
	UnitMilliseconds TimeUnit = "ms"
	UnitMicroseconds TimeUnit = "us"
	UnitNanoseconds  TimeUnit = "ns"
)

// Duration is the length of one unit, or 0 for an unknown unit.
func (u TimeUnit) Duration() time.Duration {
	switch u {
	case UnitSeconds:
		return time.Second
	case UnitMilliseconds:
		return time.Millisecond
	case UnitMicroseconds:
		return time.Microsecond
	case UnitNanoseconds:
		return time.Nanosecond
	}
	return 0
}

// Location is the zone of offset-less payload times named by time_zone, or nil when the
// profile leaves it to the site.
func (p *Profile) Location() *time.Location { return p.loc }

// Transport says which transport a profile's points are located for: "modbus" when every point
// has a table and address, "mqtt" when every point has a JSON path or a topic, "bacnet" when
// every point names a BACnet object, "" when they are mixed.
func (p *Profile) Transport() string {
	var modbus, json, bacnet int
	for i := range p.Points {
		switch {
		case p.Points[i].IsBACnet():
			bacnet++
		case p.Points[i].IsMQTT():
			json++
		default:
			modbus++
		}
	}
	switch {
	case json == 0 && bacnet == 0:
		return "modbus"
	case modbus == 0 && bacnet == 0:
		return "mqtt"
	case modbus == 0 && json == 0:
		return "bacnet"
	}
	return ""
}

// Point returns the point of that name and its index in Points.
func (p *Profile) Point(name string) (*Point, int, bool) {
	i, ok := p.index[name]
	if !ok {
		return nil, -1, false
	}
	return &p.Points[i], i, true
}

// ParseProfile reads a profile from YAML, rejecting unknown keys, applies defaults (order ABCD,
// scale 1) and validates it. source names the file in error messages.
func ParseProfile(source string, data []byte) (*Profile, error) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	var p Profile
	if err := dec.Decode(&p); err != nil {
		return nil, fmt.Errorf("profile %s: %w", source, err)
	}
	for i := range p.Points {
		pt := &p.Points[i]
		if pt.Order == "" {
			pt.Order = OrderABCD
		}
		pt.Order = Order(strings.ToUpper(string(pt.Order)))
		if pt.Scale == 0 {
			pt.Scale = 1
		}
	}
	if err := p.Validate(); err != nil {
		return nil, fmt.Errorf("profile %s: %w", source, err)
	}
	return &p, nil
}

// Validate checks every point and returns all problems at once, each naming the point.
func (p *Profile) Validate() error {
	var errs []error
	if p.Name == "" {
		errs = append(errs, errors.New("name: missing"))
	}
	if p.Kind == "" {
		p.Kind = KindGeneric
	}
	if !p.Kind.Valid() {
		errs = append(errs, fmt.Errorf("kind: %q is not one of %s", p.Kind, kindList()))
	}
	if len(p.Points) == 0 {
		errs = append(errs, errors.New("points: a profile needs at least one point"))
	}
	p.index = make(map[string]int, len(p.Points))
	for i := range p.Points {
		pt := &p.Points[i]
		where := fmt.Sprintf("points[%d]", i)
		if pt.Name != "" {
			where = fmt.Sprintf("point %q", pt.Name)
		}
		for _, msg := range pt.problems() {
			errs = append(errs, fmt.Errorf("%s: %s", where, msg))
		}
		if pt.Name == "" {
			continue
		}
		if j, dup := p.index[pt.Name]; dup {
			errs = append(errs, fmt.Errorf("%s: name used again (first at points[%d])", where, j))
			continue
		}
		p.index[pt.Name] = i
	}
	errs = append(errs, p.overlaps()...)
	errs = append(errs, p.topicClashes()...)
	errs = append(errs, p.commandTopicProblems()...)
	errs = append(errs, p.timeProblems()...)
	errs = append(errs, p.deadbandProblems()...)
	return errors.Join(errs...)
}

// deadbandProblems checks the northbound deadbands: not negative, and a point's only on a
// number (a boolean, an enum or a text is published on every change).
func (p *Profile) deadbandProblems() []error {
	var errs []error
	if p.Deadband != nil && (*p.Deadband < 0 || *p.Deadband >= 1) {
		errs = append(errs, fmt.Errorf("deadband: %v must be a fraction from 0 to below 1 (0.01 is 1%% of the value)", *p.Deadband))
	}
	for i := range p.Points {
		pt := &p.Points[i]
		if pt.Deadband == nil {
			continue
		}
		switch {
		case *pt.Deadband < 0:
			errs = append(errs, fmt.Errorf("point %q: deadband %v must not be negative", pt.Name, *pt.Deadband))
		case pt.IsBool() || pt.Type == TypeEnum || pt.Type == TypeString:
			errs = append(errs, fmt.Errorf("point %q: deadband applies to numbers; a %s point is published on every change", pt.Name, pt.Type))
		}
	}
	return errs
}

// timeProblems checks time_path and the fields that say how to read it.
func (p *Profile) timeProblems() []error {
	var errs []error
	if p.TimePath != "" {
		if err := ValidPath(p.TimePath); err != nil {
			errs = append(errs, fmt.Errorf("time_path: %v", err))
		}
	}
	if p.TimeUnit != "" {
		if p.TimeUnit.Duration() == 0 {
			errs = append(errs, fmt.Errorf("time_unit: %q is not one of s, ms, us, ns", p.TimeUnit))
		} else if p.TimePath == "" {
			errs = append(errs, errors.New("time_unit: says how to read time_path, which is not set"))
		}
	}
	p.loc = nil
	if p.TimeZone != "" {
		loc, err := time.LoadLocation(p.TimeZone)
		switch {
		case err != nil:
			errs = append(errs, fmt.Errorf("time_zone: %q is not an IANA time zone (e.g. Asia/Shanghai): %v", p.TimeZone, err))
		case p.TimePath == "":
			errs = append(errs, errors.New("time_zone: says how to read time_path, which is not set"))
		default:
			p.loc = loc
		}
	}
	return errs
}

// commandTopicProblems checks that writable MQTT points have a topic to be written on.
func (p *Profile) commandTopicProblems() []error {
	if p.CommandTopic != "" {
		if msg := relativeTopicProblem(p.CommandTopic); msg != "" {
			return []error{fmt.Errorf("command_topic: %s", msg)}
		}
		return nil
	}
	for i := range p.Points {
		if pt := &p.Points[i]; pt.Writable && pt.IsMQTT() {
			return []error{fmt.Errorf("point %q: writable, but the profile has no command_topic to publish writes on", pt.Name)}
		}
	}
	return nil
}

// topicClashes finds points that give the same topic: a plain payload holds one value.
func (p *Profile) topicClashes() []error {
	var errs []error
	first := map[string]string{}
	for i := range p.Points {
		pt := &p.Points[i]
		if pt.Topic == "" || pt.Path != "" {
			continue
		}
		if other, dup := first[pt.Topic]; dup {
			errs = append(errs, fmt.Errorf("point %q: topic %q is also point %q's; a plain payload holds one value", pt.Name, pt.Topic, other))
			continue
		}
		first[pt.Topic] = pt.Name
	}
	return errs
}

func (pt *Point) problems() []string {
	var out []string
	add := func(format string, args ...any) { out = append(out, fmt.Sprintf(format, args...)) }
	if pt.Name == "" {
		add("name: missing")
	} else if pt.Name == "time" || pt.Name == "comm_ok" {
		add("name: %q is reserved (InfluxDB's time column, facilityd's comm_ok field)", pt.Name)
	} else if strings.ContainsAny(pt.Name, " ,=\"\\\n\t") {
		add("name: %q may not contain spaces, commas, quotes, '=' or backslashes", pt.Name)
	}
	if pt.IsBACnet() {
		return append(append(out, pt.bacnetProblems()...), pt.limitProblems()...)
	}
	if pt.IsMQTT() || (pt.Table == "" && pt.Address == 0) {
		return append(append(out, pt.jsonProblems()...), pt.limitProblems()...)
	}
	if len(pt.True) != 0 || len(pt.False) != 0 || len(pt.Map) != 0 {
		add("true, false, map: only points heard over MQTT (path or topic) read words; a Modbus point has bits and codes")
	}
	if !pt.Table.valid() {
		add("table: %q is not one of coil, discrete, holding, input", pt.Table)
		return out
	}
	if !pt.Type.valid() {
		add("type: %q is not one of bool, bit, int16, uint16, int32, uint32, int64, uint64, float32, float64, string, enum", pt.Type)
		return out
	}
	if pt.Table.Bits() && pt.Type != TypeBool {
		add("type: %s does not fit table %s, which holds single bits: use type bool", pt.Type, pt.Table)
	}
	if !pt.Table.Bits() && pt.Type == TypeBool {
		add("type: bool does not fit table %s, which holds registers: use type bit with bit: 0-15", pt.Table)
	}
	if !pt.Order.valid() {
		add("order: %q is not one of ABCD, DCBA, BADC, CDAB", pt.Order)
	}
	if pt.Type == TypeBit && pt.Bit > 15 {
		add("bit: %d is past the last bit of a register (0-15)", pt.Bit)
	}
	if pt.Type != TypeBit && pt.Bit != 0 {
		add("bit: only points of type bit take a bit number")
	}
	if pt.Type == TypeString && pt.Length == 0 {
		add("length: a string point needs its length in registers")
	}
	if pt.Type == TypeString && pt.Length > MaxRegisters {
		add("length: %d registers cannot be read in one request (at most %d)", pt.Length, MaxRegisters)
	}
	if pt.Type != TypeString && pt.Length != 0 {
		add("length: only points of type string take a length")
	}
	if pt.Type == TypeEnum && len(pt.Enum) == 0 {
		add("enum: an enum point needs labels for its codes")
	}
	if pt.Type != TypeEnum && len(pt.Enum) != 0 {
		add("enum: only points of type enum take labels")
	}
	if (pt.IsBool() || pt.Type == TypeString || pt.Type == TypeEnum) && (pt.Scale != 1 || pt.Offset != 0) {
		add("scale, offset: only numeric points can be scaled")
	}
	if end := pt.End(); end > 0x10000 {
		add("address: %d plus its width %d runs past the last address 65535", pt.Address, pt.Width())
	}
	if pt.Writable && pt.Table != TableCoil && pt.Table != TableHolding {
		add("writable: only coils and holding registers can be written, not %s", pt.Table)
	}
	return append(out, pt.limitProblems()...)
}

// limitProblems checks min and max: limits of what may be written to a number.
func (pt *Point) limitProblems() []string {
	if pt.Min == nil && pt.Max == nil {
		return nil
	}
	var out []string
	if !pt.Writable {
		out = append(out, "min, max: only writable points take limits (they bound what may be written)")
	}
	if pt.IsBool() || pt.Type == TypeString || pt.Type == TypeEnum {
		out = append(out, fmt.Sprintf("min, max: only numeric points take limits, not %s", pt.Type))
	}
	if pt.Min != nil && pt.Max != nil && *pt.Min > *pt.Max {
		out = append(out, fmt.Sprintf("min, max: min %v is above max %v", *pt.Min, *pt.Max))
	}
	return out
}

// jsonProblems checks a point read from a JSON payload (or one with no location at all).
func (pt *Point) jsonProblems() []string {
	var out []string
	add := func(format string, args ...any) { out = append(out, fmt.Sprintf(format, args...)) }
	if !pt.IsMQTT() {
		add("table, address, path: missing: a point needs a Modbus location (table, address, type), a JSON path (path, type), a topic of its own (topic, type) or a BACnet object (object)")
		return out
	}
	if pt.Path != "" && pt.Topic != "" {
		add("path, topic: give one: path reads a member of the JSON payload on the device's topic, topic a plain value on a topic of its own")
	}
	if pt.Table != "" {
		add("table: a point with a JSON path or topic has no Modbus table; give one or the other")
	}
	if pt.Address != 0 {
		add("address: a point with a JSON path or topic has no Modbus address; give one or the other")
	}
	if pt.Path != "" {
		if err := ValidPath(pt.Path); err != nil {
			add("path: %v", err)
		}
	}
	if pt.Topic != "" {
		if msg := relativeTopicProblem(pt.Topic); msg != "" {
			add("topic: %s", msg)
		}
	}
	out = append(out, pt.wordProblems()...)
	switch pt.Type {
	case TypeBool, TypeInt16, TypeUint16, TypeInt32, TypeUint32, TypeInt64, TypeUint64, TypeFloat32, TypeFloat64, TypeString, TypeEnum:
	case TypeBit:
		add("type: bit is a bit of a Modbus register; a JSON point uses bool")
	default:
		add("type: %q is not one of bool, int16, uint16, int32, uint32, int64, uint64, float32, float64, string, enum", pt.Type)
	}
	if pt.Bit != 0 || pt.Length != 0 {
		add("bit, length: only Modbus points take a bit number or a length")
	}
	if pt.Type == TypeEnum && len(pt.Enum) == 0 {
		add("enum: an enum point needs labels for its codes")
	}
	if pt.Type != TypeEnum && len(pt.Enum) != 0 {
		add("enum: only points of type enum take labels")
	}
	if (pt.IsBool() || pt.Type == TypeString || pt.Type == TypeEnum) && (pt.Scale != 1 || pt.Offset != 0) {
		add("scale, offset: only numeric points can be scaled")
	}
	return out
}

// overlaps finds points of one table that share an address. Bits of one register may share it.
func (p *Profile) overlaps() []error {
	type span struct {
		i          int
		start, end int
	}
	byTable := map[Table][]span{}
	for i := range p.Points {
		pt := &p.Points[i]
		if !pt.Table.valid() || !pt.Type.valid() || pt.Width() == 0 {
			continue
		}
		byTable[pt.Table] = append(byTable[pt.Table], span{i, int(pt.Address), pt.End()})
	}
	var errs []error
	for _, t := range []Table{TableCoil, TableDiscrete, TableHolding, TableInput} {
		spans := byTable[t]
		sort.SliceStable(spans, func(a, b int) bool { return spans[a].start < spans[b].start })
		for k := 1; k < len(spans); k++ {
			for j := k - 1; j >= 0; j-- {
				a, b := &p.Points[spans[j].i], &p.Points[spans[k].i]
				if spans[j].end <= spans[k].start {
					continue
				}
				if a.Type == TypeBit && b.Type == TypeBit && a.Address == b.Address {
					if a.Bit == b.Bit {
						errs = append(errs, fmt.Errorf("point %q: %s %d bit %d is also point %q", b.Name, t, b.Address, b.Bit, a.Name))
					}
					continue
				}
				errs = append(errs, fmt.Errorf("point %q: %s %d-%d overlaps point %q at %d-%d",
					b.Name, t, spans[k].start, spans[k].end-1, a.Name, spans[j].start, spans[j].end-1))
			}
		}
	}
	return errs
}

func kindList() string {
	names := make([]string, len(Kinds))
	for i, k := range Kinds {
		names[i] = string(k)
	}
	return strings.Join(names, ", ")
}

// relativeTopicProblem says why a point's topic cannot be put under its device's topic, or "".
func relativeTopicProblem(t string) string {
	switch {
	case strings.HasPrefix(t, "/"):
		return fmt.Sprintf("%q: is relative to the device's topic; leave out the leading '/'", t)
	case strings.HasSuffix(t, "/"):
		return fmt.Sprintf("%q: ends in '/'", t)
	case strings.Contains(t, "//"):
		return fmt.Sprintf("%q: has an empty level", t)
	case strings.ContainsAny(t, "+#"):
		return fmt.Sprintf("%q: a point's topic names one topic; wildcards (+, #) belong in the device's topic", t)
	case strings.ContainsRune(t, 0):
		return fmt.Sprintf("%q: holds a NUL character", t)
	}
	return ""
}

// wordProblems checks the word lists of a bool point (true, false) and an enum point (map).
func (pt *Point) wordProblems() []string {
	var out []string
	add := func(format string, args ...any) { out = append(out, fmt.Sprintf(format, args...)) }
	if len(pt.True) != 0 || len(pt.False) != 0 {
		switch {
		case pt.Type != TypeBool:
			add("true, false: only bool points read words as true or false")
		case len(pt.True) == 0 || len(pt.False) == 0:
			add("true, false: give both lists (they replace the default words on/off, true/false, yes/no, open/closed, active/inactive)")
		default:
			seen := map[string]string{}
			for _, list := range []struct {
				key   string
				words []string
			}{{"true", pt.True}, {"false", pt.False}} {
				for _, w := range list.words {
					k := strings.ToLower(strings.TrimSpace(w))
					if k == "" {
						add("%s: an empty word", list.key)
						continue
					}
					if other, dup := seen[k]; dup && other != list.key {
						add("true, false: %q is in both lists", w)
					}
					seen[k] = list.key
				}
			}
		}
	}
	if len(pt.Map) != 0 {
		if pt.Type != TypeEnum {
			add("map: only enum points map words to codes")
			return out
		}
		words := make([]string, 0, len(pt.Map))
		for w := range pt.Map {
			words = append(words, w)
		}
		sort.Strings(words)
		seen := map[string]string{}
		for _, w := range words {
			code := pt.Map[w]
			k := strings.ToLower(strings.TrimSpace(w))
			if k == "" {
				add("map: an empty word")
				continue
			}
			if other, dup := seen[k]; dup {
				add("map: %q and %q are one word in any case", other, w)
			}
			seen[k] = w
			if _, labelled := pt.Enum[code]; !labelled {
				add("map: %q gives code %d, which has no label in enum", w, code)
			}
			for c, label := range pt.Enum {
				if c != code && strings.EqualFold(strings.TrimSpace(label), k) {
					add("map: %q gives code %d, but it is the label of code %d", w, code, c)
				}
			}
		}
	}
	return out
}
