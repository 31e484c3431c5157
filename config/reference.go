package config

import (
	"fmt"
	"go/ast"
	"go/doc"
	"go/parser"
	"go/token"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"
)

// ReferencePath is where the generated configuration reference lives, relative to the
// repository's root: docs link to it, and its test keeps it in step with Config.
const ReferencePath = "docs/config-reference.md"

// Reference writes the configuration reference as Markdown: one table per section of Config
// with each key, its type, its default from Default(), the environment variable that
// overrides it and the field's doc comment, read from the Go files of the config package in
// srcDir. The reference is generated so that it cannot drift from the types and defaults it
// describes; a field's meaning is written once, beside the field.
func Reference(w io.Writer, srcDir string) error {
	docs, err := readFieldDocs(srcDir)
	if err != nil {
		return fmt.Errorf("configuration reference: %w", err)
	}
	g := &refGen{docs: docs}
	g.sections(reflect.ValueOf(Default()))
	_, err = io.WriteString(w, g.markdown())
	return err
}

// typeDoc is what the source says about one struct type: its doc and each field's.
type typeDoc struct {
	doc    string
	fields map[string]string
}

// readFieldDocs parses the package's non-test Go files in dir and returns, by type name, the
// doc comment of each struct type and of each of its fields. A field without a comment of its
// own takes the comment of the field before it when that comment names it ("TLSCert and
// TLSKey ..."), else the type's doc when that names it.
func readFieldDocs(dir string) (map[string]typeDoc, error) {
	paths, err := filepath.Glob(filepath.Join(dir, "*.go"))
	if err != nil {
		return nil, err
	}
	fset := token.NewFileSet()
	var files []*ast.File
	for _, p := range paths {
		if strings.HasSuffix(p, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, p, nil, parser.ParseComments)
		if err != nil {
			return nil, fmt.Errorf("read the config package's source in %s: %w", dir, err)
		}
		files = append(files, f)
	}
	if len(files) == 0 {
		return nil, fmt.Errorf("no Go files in %s: pass the config package's folder", dir)
	}
	pkg, err := doc.NewFromFiles(fset, files, "github.com/facilityd/facilityd/config", doc.AllDecls)
	if err != nil {
		return nil, fmt.Errorf("read the config package's docs: %w", err)
	}
	out := map[string]typeDoc{}
	for _, t := range pkg.Types {
		out[t.Name] = structDoc(t)
	}
	return out, nil
}

// structDoc collects one type's field comments (see readFieldDocs).
func structDoc(t *doc.Type) typeDoc {
	td := typeDoc{doc: oneLine(t.Doc), fields: map[string]string{}}
	for _, spec := range t.Decl.Specs {
		ts, ok := spec.(*ast.TypeSpec)
		if !ok || ts.Name.Name != t.Name {
			continue
		}
		st, ok := ts.Type.(*ast.StructType)
		if !ok {
			continue
		}
		prev := ""
		for _, f := range st.Fields.List {
			text := oneLine(f.Doc.Text() + " " + f.Comment.Text())
			for _, n := range f.Names {
				switch {
				case text != "":
					td.fields[n.Name] = text
				case mentions(prev, n.Name):
					td.fields[n.Name] = prev
				case mentions(td.doc, n.Name):
					td.fields[n.Name] = td.doc
				}
			}
			if text != "" {
				prev = text
			}
		}
	}
	return td
}

func mentions(text, name string) bool {
	return text != "" && regexp.MustCompile(`\b`+regexp.QuoteMeta(name)+`\b`).MatchString(text)
}

func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }

// refRow is one line of a section's table.
type refRow struct{ key, typ, def, env, doc string }

type refSection struct {
	key, doc string
	rows     []refRow
}

type refGen struct {
	docs map[string]typeDoc
	list []*refSection
}

var (
	durationT = reflect.TypeOf(time.Duration(0))
	secretT   = reflect.TypeOf(Secret(""))
)

// sections makes one section per struct field of Config, and one before them for its scalars.
func (g *refGen) sections(cfg reflect.Value) {
	top := &refSection{key: "", doc: "Keys at the top of the file."}
	g.list = append(g.list, top)
	t := cfg.Type()
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		key := tagKey(f)
		if key == "" {
			continue
		}
		if isSection(f.Type) {
			sec := &refSection{key: key, doc: g.docs[elemType(f.Type).Name()].doc}
			if sec.doc == "" {
				sec.doc = g.fieldDoc(t, f, key)
			}
			g.list = append(g.list, sec)
			g.field(sec, t, f, cfg.Field(i), key, true)
			continue
		}
		g.field(top, t, f, cfg.Field(i), key, true)
	}
}

// isSection says whether a key of Config gets a table of its own: a struct, or a list of them.
func isSection(t reflect.Type) bool {
	return elemType(t).Kind() == reflect.Struct && t != durationT
}

func elemType(t reflect.Type) reflect.Type {
	if t.Kind() == reflect.Slice {
		return t.Elem()
	}
	return t
}

// walk adds a row for every field of struct type t under prefix. v holds the defaults; it is
// invalid inside lists and nil pointers, which have none. env says whether the fields can be
// set from the environment: config.Load registers only keys reached through plain structs.
func (g *refGen) walk(sec *refSection, t reflect.Type, v reflect.Value, prefix string, env bool) {
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		key := tagKey(f)
		if key == "" {
			continue
		}
		var fv reflect.Value
		if v.IsValid() {
			fv = v.Field(i)
		}
		g.field(sec, t, f, fv, prefix+"."+key, env)
	}
}

// field adds the row of one field, and the rows of what it holds.
func (g *refGen) field(sec *refSection, parent reflect.Type, f reflect.StructField, v reflect.Value, key string, env bool) {
	row := refRow{key: key, doc: g.fieldDoc(parent, f, key)}
	ft := f.Type
	if ft.Kind() == reflect.Pointer {
		ft = ft.Elem()
		if v.IsValid() && !v.IsNil() {
			v = v.Elem()
		} else {
			v = reflect.Value{}
		}
		env = false
	}
	switch {
	case ft.Kind() == reflect.Struct:
		if row.doc != "" && key != sec.key {
			row.typ = "object"
			sec.rows = append(sec.rows, row)
		}
		g.walk(sec, ft, v, key, env)
		return
	case ft.Kind() == reflect.Slice && ft.Elem().Kind() == reflect.Struct:
		row.key += "[]"
		row.typ = "list of objects"
		row.def = listDefault(v)
		sec.rows = append(sec.rows, row)
		g.walk(sec, ft.Elem(), reflect.Value{}, row.key, false)
		return
	case ft.Kind() == reflect.Slice, ft.Kind() == reflect.Map:
		row.typ = typeName(ft)
		row.def = listDefault(v)
	default:
		row.typ = typeName(ft)
		row.def = scalarDefault(v)
		if env {
			row.env = "`" + EnvName(key) + "`"
		}
	}
	sec.rows = append(sec.rows, row)
}

// fieldDoc is the field's comment with the Go names of its struct's fields replaced by their
// keys, so that the reference speaks YAML.
func (g *refGen) fieldDoc(parent reflect.Type, f reflect.StructField, key string) string {
	text := g.docs[parent.Name()].fields[f.Name]
	if text == "" {
		return ""
	}
	for i := 0; i < parent.NumField(); i++ {
		sib := parent.Field(i)
		k := tagKey(sib)
		if k == "" || len(sib.Name) < 2 || strings.ToUpper(sib.Name) == sib.Name {
			continue
		}
		re := regexp.MustCompile(`(^|[^\w.` + "`" + `])` + regexp.QuoteMeta(sib.Name) + `\b`)
		text = re.ReplaceAllString(text, "${1}`"+k+"`")
	}
	return text
}

func tagKey(f reflect.StructField) string {
	key, _, _ := strings.Cut(f.Tag.Get("mapstructure"), ",")
	if key == "-" {
		return ""
	}
	return key
}

// typeName says what a value of type t is written as in YAML.
func typeName(t reflect.Type) string {
	switch {
	case t == durationT:
		return "duration"
	case t == secretT:
		return "secret"
	}
	switch t.Kind() {
	case reflect.String:
		return "string"
	case reflect.Bool:
		return "bool"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "integer"
	case reflect.Float32, reflect.Float64:
		return "number"
	case reflect.Slice:
		return "list of " + typeName(t.Elem()) + "s"
	case reflect.Map:
		return "map of " + typeName(t.Key()) + " to " + typeName(t.Elem())
	}
	return t.String()
}

// scalarDefault renders a default as the YAML that gives it; secrets show only whether they
// are set.
func scalarDefault(v reflect.Value) string {
	if !v.IsValid() {
		return ""
	}
	switch {
	case v.Type() == secretT:
		if v.String() == "" {
			return ""
		}
		return "`<hidden>`"
	case v.Type() == durationT:
		return "`" + shortDuration(time.Duration(v.Int())) + "`"
	}
	switch v.Kind() {
	case reflect.String:
		if v.String() == "" {
			return ""
		}
		return "`" + v.String() + "`"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return "`" + strconv.FormatInt(v.Int(), 10) + "`" + byteSize(v.Int())
	}
	return fmt.Sprintf("`%v`", v.Interface())
}

// listDefault renders a list's or a map's default: its items when they are scalars, how many
// entries it has when they are objects (their page lists them).
func listDefault(v reflect.Value) string {
	if !v.IsValid() || v.Len() == 0 {
		return ""
	}
	if v.Kind() == reflect.Map {
		keys := make([]string, 0, v.Len())
		for _, k := range v.MapKeys() {
			keys = append(keys, fmt.Sprint(k.Interface()))
		}
		sort.Strings(keys)
		return fmt.Sprintf("%d entries: %s", len(keys), strings.Join(keys, ", "))
	}
	if v.Type().Elem().Kind() == reflect.Struct {
		return fmt.Sprintf("%d built-in entries", v.Len())
	}
	items := make([]string, v.Len())
	for i := range items {
		items[i] = fmt.Sprint(v.Index(i).Interface())
	}
	return "`[" + strings.Join(items, ", ") + "]`"
}

// shortDuration writes 10m rather than 10m0s.
func shortDuration(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}

// byteSize names a whole number of MiB or GiB, for the sizes that are given in bytes.
func byteSize(n int64) string {
	switch {
	case n >= 1<<30 && n%(1<<30) == 0:
		return fmt.Sprintf(" (%d GiB)", n>>30)
	case n >= 1<<20 && n%(1<<20) == 0:
		return fmt.Sprintf(" (%d MiB)", n>>20)
	}
	return ""
}

const referenceHead = `# Configuration reference

Generated from ` + "`config.Config`" + `, the comments of its fields and ` + "`config.Default()`" + ` by
` + "`go test ./config -run Reference -update`" + `: change the comments in ` + "`config/*.go`" + `, not this
file. How the file is read, checked and overridden: [configuration.md](configuration.md).

Every key outside a list can be set from the environment as the variable named, which wins over
the file; lists and maps come from the file only. A secret's default shows only whether it is
set (` + "`<hidden>`" + `); an empty default is empty (off, or what the key's text says).
`

// markdown renders the sections.
func (g *refGen) markdown() string {
	var b strings.Builder
	b.WriteString(referenceHead)
	for _, s := range g.list {
		title := "`" + s.key + "`"
		if s.key == "" {
			title = "Top level"
		}
		fmt.Fprintf(&b, "\n## %s\n\n", title)
		if s.doc != "" {
			b.WriteString(s.doc + "\n\n")
		}
		b.WriteString("| key | type | default | environment | what it is |\n| --- | --- | --- | --- | --- |\n")
		for _, r := range s.rows {
			fmt.Fprintf(&b, "| `%s` | %s | %s | %s | %s |\n", r.key, r.typ, cell(r.def), r.env, cell(r.doc))
		}
	}
	return b.String()
}

func cell(s string) string { return strings.ReplaceAll(s, "|", `\|`) }

// WriteReference regenerates the reference file at root/ReferencePath from the config package
// in root/config.
func WriteReference(root string) error {
	f, err := os.Create(filepath.Join(root, ReferencePath))
	if err != nil {
		return fmt.Errorf("write the configuration reference: %w", err)
	}
	if err := Reference(f, filepath.Join(root, "config")); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
