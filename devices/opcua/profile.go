package opcua

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/gopcua/opcua/id"
	"github.com/gopcua/opcua/ua"
	"gopkg.in/yaml.v3"

	"github.com/facilityd/facilityd/devices"
)

// Profile is the point list of an OPC UA device model: for each point where it lives on the
// server and how its value reads. Points shares its names, types, units, scales and write
// limits with the other profiles (devices.Point); Points()/DeviceProfile give the rest of
// facilityd the common form.
type Profile struct {
	Name        string       `yaml:"name"`
	Kind        devices.Kind `yaml:"kind"`
	Description string       `yaml:"description"`
	// Namespace is the URI of the namespace the elements of browse paths are in (after
	// /Objects, which is the standard's). A URI rather than an index: a server may number its
	// namespaces differently after a restart (Part 4, 7.2: only index 0 is fixed).
	Namespace string  `yaml:"namespace"`
	Points    []Point `yaml:"points"`
}

// Point is one OPC UA point of a profile.
type Point struct {
	Name string `yaml:"name"`
	// Node is a node id (ns=2;s=Chiller1.SupplyTemp, ns=2;i=1001, nsu=URI;s=...) or a browse
	// path from the Objects folder (/Objects/Plant/Chiller1/SupplyTemp).
	Node string `yaml:"node"`
	// Type is how the value is shown: bool, an integer type, float32/float64, string or enum
	// (codes with labels); the server's own data type is converted to it.
	Type   devices.Type   `yaml:"type"`
	Unit   string         `yaml:"unit"`
	Scale  float64        `yaml:"scale"`
	Offset float64        `yaml:"offset"`
	Enum   map[int]string `yaml:"enum"`
	// Description is free text for people reading the profile.
	Description string `yaml:"description"`
	// Sampling is how often the server samples the node for the subscription (Part 4,
	// 5.12.1.2); unset: as fast as the publishing interval.
	Sampling time.Duration `yaml:"sampling"`
	// Deadband is the absolute change, in the server's units (before scale), below which the
	// server does not report a new value (Part 4, 7.22.2, DeadbandType Absolute); 0 reports
	// every change.
	Deadband float64 `yaml:"deadband"`
	// Writable, Min and Max are as for every profile: only a writable point may be written,
	// within the limits, in engineering units.
	Writable bool     `yaml:"writable"`
	Min      *float64 `yaml:"min,omitempty"`
	Max      *float64 `yaml:"max,omitempty"`
}

// ParseProfile reads an OPC UA profile from YAML, rejecting unknown keys, and validates it.
// source names the file in error messages.
func ParseProfile(source string, data []byte) (*Profile, error) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	var p Profile
	if err := dec.Decode(&p); err != nil {
		return nil, fmt.Errorf("opcua profile %s: %w", source, err)
	}
	if err := p.Validate(); err != nil {
		return nil, fmt.Errorf("opcua profile %s: %w", source, err)
	}
	return &p, nil
}

// Validate applies the defaults (kind generic, scale 1) and returns every problem at once,
// each naming its point.
func (p *Profile) Validate() error {
	var errs []error
	if p.Name == "" {
		errs = append(errs, errors.New("name: missing"))
	}
	if p.Kind == "" {
		p.Kind = devices.KindGeneric
	}
	if !p.Kind.Valid() {
		errs = append(errs, fmt.Errorf("kind: %q is not a device kind", p.Kind))
	}
	if len(p.Points) == 0 {
		errs = append(errs, errors.New("points: a profile needs at least one point"))
	}
	seen := map[string]int{}
	for i := range p.Points {
		pt := &p.Points[i]
		if pt.Scale == 0 {
			pt.Scale = 1
		}
		where := fmt.Sprintf("points[%d]", i)
		if pt.Name != "" {
			where = fmt.Sprintf("point %q", pt.Name)
			if j, dup := seen[pt.Name]; dup {
				errs = append(errs, fmt.Errorf("%s: name used again (first at points[%d])", where, j))
			}
			seen[pt.Name] = i
		} else {
			errs = append(errs, fmt.Errorf("%s: name: missing", where))
		}
		addr, err := ParseAddress(pt.Node)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: node: %w", where, err))
		} else if addr.Path != nil && p.Namespace == "" {
			errs = append(errs, fmt.Errorf("%s: node: a browse path needs the profile's namespace (the URI of the server's namespace its names are in)", where))
		}
		errs = append(errs, pt.problems(where)...)
	}
	return errors.Join(errs...)
}

func (pt *Point) problems(where string) []error {
	var errs []error
	add := func(format string, args ...any) { errs = append(errs, fmt.Errorf(where+": "+format, args...)) }
	switch pt.Type {
	case devices.TypeBool, devices.TypeInt16, devices.TypeUint16, devices.TypeInt32, devices.TypeUint32,
		devices.TypeInt64, devices.TypeUint64, devices.TypeFloat32, devices.TypeFloat64, devices.TypeString, devices.TypeEnum:
	default:
		add("type: %q is not one of bool, int16, uint16, int32, uint32, int64, uint64, float32, float64, string, enum", pt.Type)
	}
	numeric := pt.Type != devices.TypeBool && pt.Type != devices.TypeString && pt.Type != devices.TypeEnum
	if !numeric && (pt.Scale != 1 || pt.Offset != 0) {
		add("scale, offset: only numeric points can be scaled")
	}
	if pt.Type == devices.TypeEnum && len(pt.Enum) == 0 {
		add("enum: an enum point needs labels for its codes")
	}
	if pt.Type != devices.TypeEnum && len(pt.Enum) != 0 {
		add("enum: only points of type enum take labels")
	}
	if pt.Deadband < 0 {
		add("deadband: %v must not be negative", pt.Deadband)
	}
	if pt.Deadband != 0 && !numeric {
		add("deadband: applies to numbers; a %s point is reported on every change", pt.Type)
	}
	if pt.Sampling < 0 {
		add("sampling: %v must not be negative", pt.Sampling)
	}
	if (pt.Min != nil || pt.Max != nil) && (!pt.Writable || !numeric) {
		add("min, max: only writable numeric points take limits (they bound what may be written)")
	}
	if pt.Min != nil && pt.Max != nil && *pt.Min > *pt.Max {
		add("min, max: min %v is above max %v", *pt.Min, *pt.Max)
	}
	return errs
}

// DeviceProfile is the profile in the form every other part of facilityd reads: names, types,
// units and limits, in the same order as Points.
func (p *Profile) DeviceProfile() *devices.Profile {
	out := &devices.Profile{Name: p.Name, Kind: p.Kind, Description: p.Description}
	for _, pt := range p.Points {
		out.Points = append(out.Points, devices.Point{
			Name: pt.Name, Type: pt.Type, Unit: pt.Unit, Scale: pt.Scale, Offset: pt.Offset,
			Enum: pt.Enum, Description: pt.Description, Writable: pt.Writable, Min: pt.Min, Max: pt.Max,
			Order: devices.OrderABCD,
		})
	}
	// Validate builds the profile's index of point names, which writes and the history
	// look points up by; its complaint that the points have no register or JSON path is
	// expected (they are located by node here) and checked by Profile.Validate instead.
	_ = out.Validate()
	return out
}

// Address is where a point lives: a node id, or a browse path from the Objects folder.
type Address struct {
	// ID is the node id as written; a namespace URI (nsu=) is resolved at connect.
	ID string
	// Path holds the browse names after /Objects.
	Path []string
}

// ParseAddress reads a point's node: a browse path when it starts with '/', else a node id.
func ParseAddress(s string) (Address, error) {
	s = strings.TrimSpace(s)
	switch {
	case s == "":
		return Address{}, errors.New("missing: give a node id (ns=2;s=Chiller1.SupplyTemp) or a browse path (/Objects/Plant/Chiller1/SupplyTemp)")
	case strings.HasPrefix(s, "/"):
		parts := strings.Split(s[1:], "/")
		if parts[0] != "Objects" {
			return Address{}, fmt.Errorf("%q: a browse path starts at /Objects (the standard's Objects folder)", s)
		}
		if len(parts) < 2 {
			return Address{}, fmt.Errorf("%q: names no node below /Objects", s)
		}
		for _, name := range parts[1:] {
			if name == "" {
				return Address{}, fmt.Errorf("%q: has an empty name", s)
			}
		}
		return Address{Path: parts[1:]}, nil
	}
	if strings.HasPrefix(s, "nsu=") {
		// The URI is checked against the server's namespace array at connect.
		if _, err := ua.ParseExpandedNodeID(s, []string{strings.TrimPrefix(strings.SplitN(s, ";", 2)[0], "nsu=")}); err != nil {
			return Address{}, fmt.Errorf("%q: %v (write nsu=URI;s=NAME or nsu=URI;i=NUMBER)", s, err)
		}
		return Address{ID: s}, nil
	}
	known := false
	for _, prefix := range []string{"ns=", "i=", "s=", "g=", "b="} {
		known = known || strings.HasPrefix(s, prefix)
	}
	if !known {
		return Address{}, fmt.Errorf("%q: is neither a node id nor a browse path (write ns=2;s=NAME, ns=2;i=NUMBER, or a browse path /Objects/...)", s)
	}
	if _, err := ua.ParseNodeID(s); err != nil {
		return Address{}, fmt.Errorf("%q: %v (write ns=2;s=NAME, ns=2;i=NUMBER, or a browse path /Objects/...)", s, err)
	}
	return Address{ID: s}, nil
}

func (a Address) String() string {
	if a.Path != nil {
		return "/Objects/" + strings.Join(a.Path, "/")
	}
	return a.ID
}

// resolveID turns a node id address into a node id with the server's namespace index.
func resolveID(a Address, namespaces []string) (*ua.NodeID, error) {
	if !strings.HasPrefix(a.ID, "nsu=") {
		return ua.ParseNodeID(a.ID)
	}
	uri := strings.TrimPrefix(strings.SplitN(a.ID, ";", 2)[0], "nsu=")
	found := false
	for _, ns := range namespaces {
		found = found || ns == uri
	}
	if !found {
		return nil, fmt.Errorf("namespace %q is not in the server's namespace array %q", uri, namespaces)
	}
	x, err := ua.ParseExpandedNodeID(a.ID, namespaces)
	if err != nil {
		return nil, err
	}
	return x.NodeID, nil
}

// browsePath is the request element for a path: from the Objects folder (i=85) down
// hierarchical references (Part 4, 7.26), each name in namespace ns.
func browsePath(a Address, ns uint16) *ua.BrowsePath {
	bp := &ua.BrowsePath{StartingNode: ua.NewNumericNodeID(0, id.ObjectsFolder), RelativePath: &ua.RelativePath{}}
	for _, name := range a.Path {
		bp.RelativePath.Elements = append(bp.RelativePath.Elements, &ua.RelativePathElement{
			ReferenceTypeID: ua.NewNumericNodeID(0, id.HierarchicalReferences),
			IncludeSubtypes: true,
			TargetName:      &ua.QualifiedName{NamespaceIndex: ns, Name: name},
		})
	}
	return bp
}
