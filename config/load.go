package config

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/go-viper/mapstructure/v2"
	"github.com/spf13/viper"
	"gopkg.in/yaml.v3"
)

// EnvPrefix starts every environment variable that overrides a key.
const EnvPrefix = "FACILITYD"

// Load reads the configuration file at path, applies defaults and environment overrides, and
// validates it. The error lists every problem found, each naming its key (and device).
func Load(path string) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read config: %w", err)
	}
	return parse(path, data, filepath.Dir(path))
}

// Parse is Load for configuration already in memory; name is used in messages.
func Parse(name string, data []byte) (*Config, error) {
	return parse(name, data, "")
}

// parse reads the configuration; a relative profiles.dir is taken from baseDir, the folder of
// the configuration file, not from wherever facilityd was started.
func parse(name string, data []byte, baseDir string) (*Config, error) {
	if errs := checkKeys(data); len(errs) > 0 {
		return nil, &Problems{Source: name, Errs: errs}
	}
	v := viper.New()
	v.SetConfigType("yaml")
	if err := v.ReadConfig(bytes.NewReader(data)); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	setDefaults(v, "", reflect.ValueOf(Default()))
	v.SetEnvPrefix(EnvPrefix)
	v.SetEnvKeyReplacer(strings.NewReplacer(".", "_"))
	v.AutomaticEnv()

	var cfg Config
	hook := mapstructure.ComposeDecodeHookFunc(
		mapstructure.StringToTimeDurationHookFunc(),
		mapstructure.StringToSliceHookFunc(","),
		dateToStringHook,
	)
	if err := v.Unmarshal(&cfg, viper.DecodeHook(hook)); err != nil {
		return nil, &Problems{Source: name, Errs: decodeProblems(err)}
	}
	if baseDir != "" && cfg.Profiles.Dir != "" && !filepath.IsAbs(cfg.Profiles.Dir) {
		cfg.Profiles.Dir = filepath.Join(baseDir, cfg.Profiles.Dir)
	}
	if err := cfg.Validate(); err != nil {
		var p *Problems
		if errors.As(err, &p) {
			p.Source = name
		}
		return nil, err
	}
	return &cfg, nil
}

// EnvName is the environment variable that overrides a key path such as influx.url.
func EnvName(key string) string {
	return EnvPrefix + "_" + strings.ToUpper(strings.ReplaceAll(key, ".", "_"))
}

// Problems is every problem found in one configuration.
type Problems struct {
	Source string
	Errs   []error
}

func (p *Problems) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s: %d problem", p.Source, len(p.Errs))
	if len(p.Errs) != 1 {
		b.WriteString("s")
	}
	for _, e := range p.Errs {
		b.WriteString("\n  - ")
		b.WriteString(e.Error())
	}
	return b.String()
}

// Unwrap lets errors.Is and errors.As see each problem.
func (p *Problems) Unwrap() []error { return p.Errs }

// setDefaults registers every scalar key of the default configuration with viper, so that an
// environment variable overrides a key the file does not mention.
func setDefaults(v *viper.Viper, prefix string, val reflect.Value) {
	t := val.Type()
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		key := f.Tag.Get("mapstructure")
		if key == "" {
			continue
		}
		if prefix != "" {
			key = prefix + "." + key
		}
		fv := val.Field(i)
		switch fv.Kind() {
		case reflect.Struct:
			setDefaults(v, key, fv)
		case reflect.Slice, reflect.Map, reflect.Pointer:
			// Lists and maps come from the file only.
		default:
			v.SetDefault(key, fv.Interface())
		}
	}
}

var durationType = reflect.TypeOf(time.Duration(0))

// checkKeys walks the YAML document against Config and reports every key it does not know,
// with its line and full path.
func checkKeys(data []byte) []error {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return []error{fmt.Errorf("not valid YAML: %w", err)}
	}
	if len(doc.Content) == 0 {
		return nil
	}
	var errs []error
	walkKeys(doc.Content[0], reflect.TypeOf(Config{}), "", "", &errs)
	return errs
}

func walkKeys(n *yaml.Node, t reflect.Type, path, device string, errs *[]error) {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if n.Kind == yaml.AliasNode && n.Alias != nil {
		n = n.Alias
	}
	where := func(line int) string {
		s := fmt.Sprintf("line %d", line)
		if device != "" {
			s += fmt.Sprintf(" (device %q)", device)
		}
		return s
	}
	switch {
	case t == durationType:
		if n.Kind == yaml.ScalarNode && n.Tag == "!!str" {
			if _, err := time.ParseDuration(n.Value); err != nil {
				*errs = append(*errs, fmt.Errorf("%s: %s: %q is not a duration (write e.g. 500ms, 1s, 5m)", where(n.Line), display(path), n.Value))
			}
		}
		return
	case t.Kind() == reflect.Struct:
		if n.Kind != yaml.MappingNode {
			if n.Tag != "!!null" {
				*errs = append(*errs, fmt.Errorf("%s: %s: want a mapping of keys, got %q", where(n.Line), display(path), n.Value))
			}
			return
		}
		fields := map[string]reflect.StructField{}
		for i := 0; i < t.NumField(); i++ {
			if k := t.Field(i).Tag.Get("mapstructure"); k != "" {
				fields[k] = t.Field(i)
			}
		}
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, val := n.Content[i], n.Content[i+1]
			f, ok := fields[strings.ToLower(k.Value)]
			if !ok {
				msg := fmt.Sprintf("%s: unknown key %q", where(k.Line), join(path, k.Value))
				if s := suggest(k.Value, fields); s != "" {
					msg += fmt.Sprintf("; did you mean %q?", join(path, s))
				}
				*errs = append(*errs, errors.New(msg))
				continue
			}
			walkKeys(val, f.Type, join(path, k.Value), device, errs)
		}
	case t.Kind() == reflect.Slice:
		if n.Kind != yaml.SequenceNode {
			if n.Tag != "!!null" {
				*errs = append(*errs, fmt.Errorf("%s: %s: want a list", where(n.Line), display(path)))
			}
			return
		}
		for i, item := range n.Content {
			walkKeys(item, t.Elem(), fmt.Sprintf("%s[%d]", path, i), idOf(item), errs)
		}
	case t.Kind() == reflect.Map:
		if n.Kind != yaml.MappingNode {
			if n.Tag != "!!null" {
				*errs = append(*errs, fmt.Errorf("%s: %s: want a mapping", where(n.Line), display(path)))
			}
			return
		}
		for i := 0; i+1 < len(n.Content); i += 2 {
			walkKeys(n.Content[i+1], t.Elem(), join(path, n.Content[i].Value), device, errs)
		}
	default:
		if n.Kind == yaml.MappingNode || n.Kind == yaml.SequenceNode {
			*errs = append(*errs, fmt.Errorf("%s: %s: want a single value, got a %s", where(n.Line), display(path), kindName(n.Kind)))
		} else if want := scalarMismatch(n, t); want != "" {
			*errs = append(*errs, fmt.Errorf("%s: %s: %q is not %s", where(n.Line), display(path), n.Value, want))
		}
	}
}

// scalarMismatch says what a scalar should have been when the decoder would refuse it for a
// field of type t ("" when it decodes), so that every such mistake is reported with its line in
// one run rather than one per run. It accepts what the decoder's weak typing accepts: a quoted
// "3" for a number, "true" or 1 for a bool.
func scalarMismatch(n *yaml.Node, t reflect.Type) string {
	if n.Kind != yaml.ScalarNode || n.Tag != "!!str" || n.Value == "" {
		return ""
	}
	var err error
	switch t.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		_, err = strconv.ParseInt(n.Value, 0, t.Bits())
		if err != nil {
			return "a whole number"
		}
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		_, err = strconv.ParseUint(n.Value, 0, t.Bits())
		if err != nil {
			return "a whole number, 0 or more"
		}
	case reflect.Float32, reflect.Float64:
		if _, err = strconv.ParseFloat(n.Value, t.Bits()); err != nil {
			return "a number"
		}
	case reflect.Bool:
		if _, err = strconv.ParseBool(n.Value); err != nil {
			return "true or false"
		}
	}
	return ""
}

func idOf(n *yaml.Node) string {
	if n.Kind != yaml.MappingNode {
		return ""
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == "id" {
			return n.Content[i+1].Value
		}
	}
	return ""
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

func display(path string) string {
	if path == "" {
		return "the document"
	}
	return path
}

func kindName(k yaml.Kind) string {
	if k == yaml.SequenceNode {
		return "list"
	}
	return "mapping"
}

// suggest returns the known key closest to a misspelt one, if it is close.
func suggest(key string, fields map[string]reflect.StructField) string {
	best, bestDist := "", 3
	names := make([]string, 0, len(fields))
	for k := range fields {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		if d := distance(strings.ToLower(key), k); d < bestDist {
			best, bestDist = k, d
		}
	}
	return best
}

// distance is the Levenshtein distance between a and b.
func distance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

// decodeProblems turns mapstructure's error, which joins every field it could not decode
// (errors.Join under a "decoding failed" wrapper), into one problem per field, so all of them
// are reported at once.
func decodeProblems(err error) []error {
	const wrapper = "decoding failed due to the following error(s):"
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		var out []error
		for _, inner := range j.Unwrap() {
			out = append(out, decodeProblems(inner)...)
		}
		return out
	}
	if de, ok := err.(*mapstructure.DecodeError); ok {
		return []error{fmt.Errorf("%s: %w", de.Name(), de.Unwrap())}
	}
	if inner := errors.Unwrap(err); inner != nil && strings.HasPrefix(err.Error(), wrapper) {
		return decodeProblems(inner)
	}
	return []error{errors.New(strings.ReplaceAll(err.Error(), "\n", "; "))}
}
