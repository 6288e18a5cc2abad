package yamlfast

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	sigsyaml "sigs.k8s.io/yaml"
)

// compareJSON checks ToJSON against sigs.k8s.io/yaml.YAMLToJSON and reports
// whether the document was converted without falling back to it.
func compareJSON(t *testing.T, c *Converter, doc []byte) (direct bool) {
	t.Helper()
	want, wantErr := sigsyaml.YAMLToJSON(doc)
	got, gotErr := c.ToJSON(doc)
	if (wantErr != nil) != (gotErr != nil) {
		t.Fatalf("errors differ for\n%s\nsigs.k8s.io/yaml: %v\nyamlfast: %v", doc, wantErr, gotErr)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("JSON differs for\n%s\nsigs.k8s.io/yaml: %s\nyamlfast:         %s", doc, want, got)
	}
	return c.convert(string(doc)) == nil
}

// docsOf splits a manifest file as `drawbridge translate` does.
func docsOf(t testing.TB, data []byte) [][]byte {
	t.Helper()
	r := utilyaml.NewYAMLReader(bufio.NewReader(bytes.NewReader(data)))
	var docs [][]byte
	for {
		doc, err := r.Read()
		if errors.Is(err, io.EOF) {
			return docs
		}
		if err != nil {
			t.Fatal(err)
		}
		docs = append(docs, doc)
	}
}

// TestToJSONMatchesSigsYAMLOnGoldenInputs converts every document of the
// translation golden inputs, hand-written manifests in many styles.
func TestToJSONMatchesSigsYAMLOnGoldenInputs(t *testing.T) {
	files, err := filepath.Glob("../translate/testdata/*.in.yaml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no golden inputs: %v", err)
	}
	var c Converter
	total, direct := 0, 0
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, doc := range docsOf(t, data) {
			total++
			if compareJSON(t, &c, doc) {
				direct++
			}
		}
	}
	t.Logf("%d of %d documents converted directly", direct, total)
}

// directDocs are the shapes manifests commonly take, which ToJSON must
// convert without go-yaml.
var directDocs = []string{
	"a: 1\n",
	"a: 1\nb: two\nc: true\nd: ~\ne:\nf: 3.5\ng: 0x1F\nh: 0777\ni: 1_000\nj: 1e3\nk: 18446744073709551615\nl: 99999999999999999999999\nm: .5\nnn: -.5\no: 2024-01-02\np: yes\nq: Off\nr: '3'\ns: \"null\"\n",
	"z: 1\nx: 2\nA: 3\n_: 4\na10: ten\na9: nine\n",
	"kind: Gateway\nmetadata:\n  name: gw\n  labels:\n    app: web\nspec:\n  listeners:\n  - name: http\n    port: 80\n  - name: https\n    port: 443\n    tls:\n      certificateRefs:\n      - name: cert\n",
	"list:\n- a\n- b\n-\n- - x\n  - y\n-   c: 1\n    d: 2\n- e:\n  - f\n",
	"a:\n  - 1\n  - 2\nb:\n    c: d\n",
	"# comment\na: b # trailing\n  # indented comment\nc: 'quoted # not a comment'\nd: \"x\" # c\ne: x#y\n",
	"a: it's\nb: 'it''s'\nc: \"say 'hi'\"\nd: <tag> & more\ne: a:b\nf: http://x/y?z=1\ng: -1\nh: -x\ni: ---\nj: ...\nk: a,b\nl: x[0]\n",
	"a: {}\nb: []\nc: {} # c\nd: [] #c\n",
	"---\na: 1\n",
	"# c\n\n--- # c\na: 1\n",
	"spec:\n  parentRefs: [{name: gw}]\n  rules:\n  - backendRefs: [{name: web, port: 80, weight: 1}]\n    matches: [{path: {type: PathPrefix, value: /x}}, {headers: [{name: a, value: '1'}]}]\n",
	"a: [1, two, \"three\", 'four', true, ~, 1.5, [], {}, [x, [y]]]  # c\nb: {z: 1, a: 2, \"q\": x}\n",
	"- [a, b]\n- {k: v}\n- [ a , b ]\n- {}\n",
}

// edgeDocs probe the edges of what ToJSON converts itself and what it must
// leave to go-yaml.
var edgeDocs = []string{
	"a: [1, 2\n",
	"a: [1,\n  2]\n",
	"a: [1, , 2]\n",
	"a: [1, 2,]\n",
	"a: [a: b]\n",
	"a: {a, b: c}\n",
	"a: {a: }\n",
	"a: {a: 1, a: 2}\n",
	"a: {\"a\":1}\n",
	"a: [a:b]\n",
	"a: [http://x]\n",
	"a: [#x]\n",
	"a: [a #x]\n",
	"a: [?x]\n",
	"a: [-x, - y]\n",
	"a: [-x]\n",
	"a: {y: 1}\n",
	"a: {1: x}\n",
	"a: [x]y\n",
	"a: [x] y\n",
	"a: [*x]\n",
	"a: [&x y]\n",
	"a: [!t x]\n",
	"a: [|]\n",
	"a: [a b, c  d ]\n",
	"a: {k: [1, {m: n}], j: {}}\n",
	"a: [\"x\" , 'y''z']\n",
	"a: ['x'y]\n",
	"a: [[[[[]]]]]\n",
	"a: [" + strings.Repeat("[", 1100) + "\n",
	"n: -.inf\n",
	"10: ten\n",
	"a: b\na: c\n",
	"a: b: c\n",
	"a:\n  b: 1\n c: 2\n",
	"a: plain\n  continued\n",
	"- a\n  b\n",
	"a: |\n  block\n",
	"a: >\n  folded\n",
	"a: &x 1\nb: *x\n",
	"a: !!str 1\n",
	"a: [1, 2]\n",
	"a: {b: c}\n",
	"a: \"esc\\n\"\n",
	"a: \"multi\n  line\"\n",
	"a:\tb\n",
	"a: b\r\n",
	"a: é\n",
	"<<: {a: 1}\n",
	"? a\n: b\n",
	"just a scalar\n",
	"",
	"# only a comment\n",
	"---\n---\na: 1\n",
	"--- a: 1\n",
	"---#\na: 1\n",
	"a: 1\n---\nb: 2\n",
	"a: 1\n...\n",
	"%YAML 1.1\n---\na: 1\n",
	"  a: 1\n  b: 2\n",
	"  a: 1\nb: 2\n",
	"- 1\n- 2\n",
	"a: -\n",
	"a: - b\n",
	"a: 'unterminated\n",
	"a: \"x\"y\n",
	"a: {}x\n",
	"a: ,x\n",
	"a: ?x\n",
	"a: :x\n",
	"\"quoted key\": 1\n'single key': 2\n\"k\":x\n",
	"y: 1\n",
	"null: 1\n",
	"1.5: x\n",
	"a #b: c\n",
	"a : b\n",
	"a: b:\n",
	"a: .nan\n",
	"a: 1e400\n",
	"a: +.5\n",
	"a: 0b101\n",
	"a: -0b101\n",
	"a: 1:20:30\n",
	"a: 2024-01-02T03:04:05Z\n",
	"a: 09\n",
	"a: 1.\n",
	"a: \"\"\nb: ''\n",
	"a:    \nb:\n",
	"key with spaces: value with spaces\n",
	strings.Repeat("k", 1100) + ": v\n",
}

func TestToJSONMatchesSigsYAML(t *testing.T) {
	var c Converter
	for _, doc := range directDocs {
		if !compareJSON(t, &c, []byte(doc)) {
			t.Errorf("not converted directly:\n%s", doc)
		}
	}
	for _, doc := range edgeDocs {
		compareJSON(t, &c, []byte(doc))
	}
}

// FuzzToJSON compares conversions of arbitrary documents.
func FuzzToJSON(f *testing.F) {
	for _, doc := range append(directDocs, edgeDocs...) {
		f.Add(doc)
	}
	f.Fuzz(func(t *testing.T, doc string) {
		var c Converter
		compareJSON(t, &c, []byte(doc))
	})
}

// randomDoc builds a document from pieces manifests are made of, with
// random indentation slips, so that most documents are valid and many are
// not in small ways.
func randomDoc(r *rand.Rand) string {
	scalars := []string{"a", "web", "80", "0x1F", "1.5", "true", "yes", "~", "null", "", "''", `""`, `"q: x"`, "'it''s'", "a b", "a:b", "-1", "-", "http://x/y",
		"2024-01-02", "1e3", ".5", "{}", "[]", "[a, b]", "{k: v}", "[{name: gw, port: 80}]", "[a, [b, c]]", "{a: {b: c}}", "x # c", "#c", "a #b", "'a'b", "*x", "&x y", "|", ">", "!x y", "[a,", "{a: }", "a: b", "[a: b]", "é"}
	keys := []string{"name", "port", "spec", "metadata", "z", "A", "_x", "k8s", "y", "10", "\"quoted\"", "'single'", "<<", "a b", "a:b", "-k", "? k", "dup", "dup"}
	var b strings.Builder
	var node func(indent, depth int)
	pad := func(n int) {
		if r.IntN(25) == 0 {
			n += r.IntN(3) - 1 // an indentation slip
		}
		b.WriteString(strings.Repeat(" ", max(n, 0)))
	}
	node = func(indent, depth int) {
		entries := 1 + r.IntN(3)
		seq := r.IntN(3) == 0
		for i := 0; i < entries; i++ {
			pad(indent)
			if r.IntN(15) == 0 {
				b.WriteString("# comment\n")
				pad(indent)
			}
			if seq {
				b.WriteString("-")
				if depth < 4 && r.IntN(3) == 0 {
					if r.IntN(2) == 0 {
						b.WriteString("\n")
						node(indent+2, depth+1)
					} else {
						// A compact mapping on the "-" line.
						b.WriteString(" " + keys[r.IntN(len(keys))] + ": " + scalars[r.IntN(len(scalars))] + "\n")
						node(indent+2, depth+1)
					}
					continue
				}
				b.WriteString(" " + scalars[r.IntN(len(scalars))] + "\n")
				continue
			}
			b.WriteString(keys[r.IntN(len(keys))] + ":")
			if depth < 4 && r.IntN(3) == 0 {
				b.WriteString("\n")
				step := 2
				if r.IntN(4) == 0 {
					step = 0 // a sequence at its key's indentation
				}
				node(indent+step, depth+1)
				continue
			}
			b.WriteString(" " + scalars[r.IntN(len(scalars))] + "\n")
		}
	}
	if r.IntN(4) == 0 {
		b.WriteString("---\n")
	}
	node(r.IntN(2)*2, 0)
	return b.String()
}

// TestToJSONMatchesSigsYAMLOnRandomDocuments compares many generated
// documents, valid and not.
func TestToJSONMatchesSigsYAMLOnRandomDocuments(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	var c Converter
	direct := 0
	const n = 20000
	for i := 0; i < n; i++ {
		if compareJSON(t, &c, []byte(randomDoc(r))) {
			direct++
		}
	}
	t.Logf("%d of %d random documents converted directly", direct, n)
}
