package console

import (
	"encoding/json"
	"io/fs"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/facilityd/facilityd/locale"
)

// catalogues reads the console's catalogues as they ship, from between the markers in
// ui/i18n.js.
func catalogues(t *testing.T) map[string]map[string]string {
	t.Helper()
	src, err := fs.ReadFile(assets, "assets/ui/i18n.js")
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?s)/\* catalogues \*/(.*)/\* end catalogues \*/`).FindSubmatch(src)
	if m == nil {
		t.Fatal("ui/i18n.js: no catalogues between /* catalogues */ and /* end catalogues */")
	}
	var c map[string]map[string]string
	if err := json.Unmarshal(m[1], &c); err != nil {
		t.Fatalf("ui/i18n.js catalogues are not JSON: %v", err)
	}
	return c
}

// TestConsoleCataloguesComplete fails on a console message one language lacks: a Chinese
// guard would see an English phrase, or a key, where it is missing.
func TestConsoleCataloguesComplete(t *testing.T) {
	c := catalogues(t)
	if len(c) != len(locale.Supported) {
		t.Fatalf("console speaks %d languages, facilityd %d", len(c), len(locale.Supported))
	}
	for _, a := range locale.Supported {
		if len(c[string(a)]) == 0 {
			t.Fatalf("no %s catalogue", a)
		}
		for _, b := range locale.Supported {
			for k := range c[string(a)] {
				if _, ok := c[string(b)][k]; !ok {
					t.Errorf("%s has %q, %s does not", a, k, b)
				}
			}
		}
	}
	ph := regexp.MustCompile(`\{[a-z_]+\}`)
	for k, en := range c["en"] {
		a, b := ph.FindAllString(en, -1), ph.FindAllString(c["zh-CN"][k], -1)
		sort.Strings(a)
		sort.Strings(b)
		if strings.Join(a, "") != strings.Join(b, "") {
			t.Errorf("%s: placeholders en %v, zh-CN %v", k, a, b)
		}
	}
}

// TestConsoleUsesTheGlossary holds the console's Chinese to the trade's terms.
func TestConsoleUsesTheGlossary(t *testing.T) {
	terms, err := locale.Glossary()
	if err != nil {
		t.Fatal(err)
	}
	c := catalogues(t)
	for k, en := range c["en"] {
		if m := locale.Misses(terms, en, c["zh-CN"][k]); len(m) > 0 {
			t.Errorf("%s: %q lacks %s", k, c["zh-CN"][k], strings.Join(m, ", "))
		}
	}
}

// pages are the console's page code: every visible word comes from the catalogue.
func pages(t *testing.T) map[string]string {
	t.Helper()
	out := map[string]string{}
	entries, err := fs.ReadDir(assets, "assets/ui")
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if !strings.HasSuffix(e.Name(), ".js") || e.Name() == "i18n.js" {
			continue
		}
		b, _ := fs.ReadFile(assets, "assets/ui/"+e.Name())
		out[e.Name()] = string(b)
	}
	b, _ := fs.ReadFile(assets, "assets/index.html")
	out["index.html"] = string(b)
	return out
}

// TestConsoleKeysExist: a key a page asks for that no catalogue has would show as the key.
func TestConsoleKeysExist(t *testing.T) {
	c := catalogues(t)
	used := regexp.MustCompile(`\bt\(\s*'([a-z0-9_.]+)'\s*[,)]|data-i18n(?:-title)?="([a-z0-9_.]+)"`)
	n := 0
	for name, src := range pages(t) {
		for _, m := range used.FindAllStringSubmatch(src, -1) {
			k := m[1] + m[2]
			n++
			if _, ok := c["en"][k]; !ok {
				t.Errorf("%s uses %q, which the catalogues lack", name, k)
			}
		}
	}
	if n < 100 {
		t.Errorf("only %d catalogue lookups in the pages", n)
	}
}

// TestNoTextInPageCode: a sentence written into page code would stay English in Chinese.
func TestNoTextInPageCode(t *testing.T) {
	comment := regexp.MustCompile(`(?m)^\s*//.*$|\s//\s.*$`)
	sentence := regexp.MustCompile(`'([A-Z][a-z]+ [^']+|[^']* [a-z]+[.:…!?])'`)
	for name, src := range pages(t) {
		if name == "index.html" {
			continue
		}
		for _, m := range sentence.FindAllStringSubmatch(comment.ReplaceAllString(src, ""), -1) {
			t.Errorf("%s: text %q belongs in ui/i18n.js", name, m[1])
		}
	}
}
