package opcua

import (
	"context"
	"fmt"
	"regexp"
	"strings"

	"github.com/gopcua/opcua"
	"github.com/gopcua/opcua/id"
	"github.com/gopcua/opcua/ua"
	"gopkg.in/yaml.v3"

	"github.com/facilityd/facilityd/devices"
)

// maxBrowseDepth bounds how far below the start a browse goes: ours, deep enough for a plant's
// site/system/unit/point trees, shallow enough that a server's own diagnostics tree (under
// Server, not Objects, but some servers link it) does not make the walk endless.
const maxBrowseDepth = 8

// Entry is one variable found by Browse.
type Entry struct {
	// Path is its browse path, /Objects/...
	Path string
	// NodeID is its node id with the namespace by URI (nsu=...).
	NodeID string
	// Namespace is the URI of its browse name's namespace.
	Namespace string
	// DataType is the OPC UA built-in type's name (Double, Boolean, ...).
	DataType string
	Type     devices.Type
	Writable bool
}

// builtinTypes are the OPC UA built-in data types (Part 6, 5.1.2) facilityd reads as numbers,
// bools or text, with the profile type each becomes.
var builtinTypes = map[uint32]struct {
	name string
	typ  devices.Type
}{
	id.Boolean: {"Boolean", devices.TypeBool}, id.SByte: {"SByte", devices.TypeInt16}, id.Byte: {"Byte", devices.TypeUint16},
	id.Int16: {"Int16", devices.TypeInt16}, id.UInt16: {"UInt16", devices.TypeUint16}, id.Int32: {"Int32", devices.TypeInt32},
	id.UInt32: {"UInt32", devices.TypeUint32}, id.Int64: {"Int64", devices.TypeInt64}, id.UInt64: {"UInt64", devices.TypeUint64},
	id.Float: {"Float", devices.TypeFloat32}, id.Double: {"Double", devices.TypeFloat64}, id.String: {"String", devices.TypeString},
	id.LocalizedText: {"LocalizedText", devices.TypeString},
}

// Browse lists the variables below path (/Objects when empty) on the server.
func Browse(ctx context.Context, conn Connection, pki *PKI, path string) ([]Entry, error) {
	if path == "" || path == "/" {
		path = "/Objects"
	}
	start := strings.Split(strings.Trim(path, "/"), "/")
	if start[0] != "Objects" {
		return nil, fmt.Errorf("%q: a browse path starts at /Objects", path)
	}
	cl, err := dial(ctx, conn, pki, nil)
	if err != nil {
		return nil, err
	}
	defer cl.Close(context.Background())
	ns := cl.Namespaces()
	node := cl.Node(ua.NewNumericNodeID(0, id.ObjectsFolder))
	for _, name := range start[1:] {
		refs, err := node.References(ctx, id.HierarchicalReferences, ua.BrowseDirectionForward, ua.NodeClassAll, true)
		if err != nil {
			return nil, fmt.Errorf("browse %s: %w", path, err)
		}
		var next *opcua.Node
		for _, r := range refs {
			if r.BrowseName != nil && r.BrowseName.Name == name {
				next = cl.Node(r.NodeID.NodeID)
			}
		}
		if next == nil {
			return nil, fmt.Errorf("browse %s: no node %q there", path, name)
		}
		node = next
	}
	var out []Entry
	seen := map[string]bool{}
	var walk func(n *opcua.Node, at string, depth int) error
	walk = func(n *opcua.Node, at string, depth int) error {
		refs, err := n.References(ctx, id.HierarchicalReferences, ua.BrowseDirectionForward, ua.NodeClassObject|ua.NodeClassVariable, true)
		if err != nil {
			return fmt.Errorf("browse %s: %w", at, err)
		}
		for _, r := range refs {
			if r.BrowseName == nil || r.NodeID == nil || seen[r.NodeID.NodeID.String()] {
				continue
			}
			seen[r.NodeID.NodeID.String()] = true
			child := cl.Node(r.NodeID.NodeID)
			p := at + "/" + r.BrowseName.Name
			if r.NodeClass == ua.NodeClassVariable {
				if e, ok := describe(ctx, child, p, r, ns); ok {
					out = append(out, e)
				}
			}
			if depth < maxBrowseDepth {
				if err := walk(child, p, depth+1); err != nil {
					return err
				}
			}
		}
		return nil
	}
	if err := walk(node, "/"+strings.Join(start, "/"), 0); err != nil {
		return out, err
	}
	return out, nil
}

// describe reads a variable's data type and access level.
func describe(ctx context.Context, n *opcua.Node, path string, r *ua.ReferenceDescription, ns []string) (Entry, bool) {
	attrs, err := n.Attributes(ctx, ua.AttributeIDDataType, ua.AttributeIDUserAccessLevel)
	if err != nil || len(attrs) != 2 || attrs[0].Value == nil {
		return Entry{}, false
	}
	dt, _ := attrs[0].Value.Value().(*ua.NodeID)
	if dt == nil || dt.Namespace() != 0 {
		return Entry{}, false
	}
	bt, ok := builtinTypes[dt.IntID()]
	if !ok {
		return Entry{}, false
	}
	e := Entry{Path: path, DataType: bt.name, Type: bt.typ}
	if attrs[1].Value != nil {
		if lvl, ok := attrs[1].Value.Value().(uint8); ok {
			e.Writable = ua.AccessLevelType(lvl)&ua.AccessLevelTypeCurrentWrite != 0
		}
	}
	nid := r.NodeID.NodeID
	if i := int(r.BrowseName.NamespaceIndex); i < len(ns) {
		e.Namespace = ns[i]
	}
	if i := int(nid.Namespace()); i > 0 && i < len(ns) {
		e.NodeID = "nsu=" + ns[i] + ";" + strings.SplitN(nid.String(), ";", 2)[1]
	} else {
		e.NodeID = nid.String()
	}
	return e, true
}

var notName = regexp.MustCompile(`[^a-z0-9]+`)

// pointName makes a profile point name (snake case) of a browse path below the start.
func pointName(rel string) string {
	var b strings.Builder
	prev := rune(0)
	for _, c := range rel {
		if c >= 'A' && c <= 'Z' && prev >= 'a' && prev <= 'z' {
			b.WriteByte('_')
		}
		b.WriteRune(c)
		prev = c
	}
	return strings.Trim(notName.ReplaceAllString(strings.ToLower(b.String()), "_"), "_")
}

// DraftProfile is a profile of the entries found below start, every point by browse path, for
// a person to name, give units and check: the namespace is the most common one among them.
func DraftProfile(name, start string, entries []Entry) ([]byte, error) {
	count := map[string]int{}
	for _, e := range entries {
		count[e.Namespace]++
	}
	var nsURI string
	for uri, n := range count {
		if n > count[nsURI] || (n == count[nsURI] && uri < nsURI) {
			nsURI = uri
		}
	}
	p := Profile{Name: name, Kind: devices.KindGeneric, Namespace: nsURI,
		Description: "Draft from facilityd opcua browse " + start + ": check names, units, scales and what may be written."}
	used := map[string]bool{}
	for _, e := range entries {
		if e.Namespace != nsURI {
			continue
		}
		n := pointName(strings.TrimPrefix(e.Path, strings.TrimSuffix(start, "/")))
		for base, k := n, 2; used[n] || n == ""; k++ {
			n = fmt.Sprintf("%s_%d", base, k)
		}
		used[n] = true
		p.Points = append(p.Points, Point{Name: n, Node: e.Path, Type: e.Type, Writable: e.Writable,
			Description: "server data type " + e.DataType})
	}
	if err := p.Validate(); err != nil {
		return nil, err
	}
	return yaml.Marshal(draft(p))
}

// draft is the profile as YAML writes it: only what a person fills in or checks.
func draft(p Profile) any {
	type pt struct {
		Name        string       `yaml:"name"`
		Node        string       `yaml:"node"`
		Type        devices.Type `yaml:"type"`
		Unit        string       `yaml:"unit"`
		Writable    bool         `yaml:"writable,omitempty"`
		Description string       `yaml:"description"`
	}
	out := struct {
		Name        string       `yaml:"name"`
		Kind        devices.Kind `yaml:"kind"`
		Description string       `yaml:"description"`
		Namespace   string       `yaml:"namespace"`
		Points      []pt         `yaml:"points"`
	}{Name: p.Name, Kind: p.Kind, Description: p.Description, Namespace: p.Namespace}
	for _, x := range p.Points {
		out.Points = append(out.Points, pt{x.Name, x.Node, x.Type, x.Unit, x.Writable, x.Description})
	}
	return out
}
