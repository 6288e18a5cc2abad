package yamlfast

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	sigsyaml "sigs.k8s.io/yaml"
)

// trickyStrings are strings whose rendering depends on go-yaml's quoting,
// folding and block rules.
var trickyStrings = []string{
	"", " ", "plain", "two words", " leading", "trailing ", "a  b", "a\tb",
	"true", "True", "TRUE", "false", "yes", "no", "on", "off", "y", "n", "Y", "N", "~", "null", "Null", "NULL",
	"3.0", "3", "-3", "+3", "0x1F", "0o17", "0777", "0b101", "-0b101", "1_000", "1e3", "1e400", ".5", ".inf", "-.inf", "+.inf", ".nan", ".NaN",
	"1:20", "1:20:30.5", "190:20:30", "-1:20", "10.0.0.1:8080", "10.0.0.1", "::1", "[::1]:80", "2001:db8::1",
	"2024-01-02", "2024-01-02T03:04:05Z", "2024-1-2", "2024-01-02 03:04:05", "2024-13-45", "1999-",
	"<<", "=", "-", "--", "---", "--- x", "...", "....", "-x", "- x", "?", "? x", "?x", ":", ":x", ": x", "a:b", "a: b", "a:", "a #b", "a#b", "#a",
	",", "a,b", "[a]", "{a}", "a[0]", "&a", "*a", "!a", "|", ">", "'", `"`, "%", "@", "`", "a'b", `a"b`, `a\b`, "it's", "say \"hi\"",
	"line\n", "line\nline", "line\n\n", "\n", "\nlead", "\n\n", " \nx", "x \ny", "x\n y", "x\n\ny", "x\n  indented\n", "trailing space \n", "tab\there\n",
	"a\x00b", "bell\a", "esc\x1b", "cr\rlf", "ctrl\x01\x02\x1f",
	"é", "héllo wörld", "日本語", "emoji 😀", "\u00a0nbsp", "a\u00a0b", "\ufeffbom", "a\ufeffb", "\u00ff", "\u0100", "\ud7ff\ue000\ufffd",
	"net.dst.port == 80 && http.host == \"app0.example.com\" && (http.path == \"/app/0\" || http.path ^= \"/app/0/\") && http.headers.x_tenant == \"t0\"",
	strings.Repeat("word ", 40), strings.Repeat("x", 200), strings.Repeat("a b", 50) + "  c  d", strings.Repeat("'q' ", 30),
	strings.Repeat("\"q\" ", 30) + "\t", strings.Repeat("long line with spaces ", 6) + "\nsecond line\n",
	strings.Repeat("é ", 60), strings.Repeat("a ", 39) + " #", "x" + strings.Repeat(" ", 90) + "y",
}

// compare checks Marshal against sigs.k8s.io/yaml and reports whether the
// value was rendered without falling back to it.
func compare(t *testing.T, v any) (direct bool) {
	t.Helper()
	want, wantErr := sigsyaml.Marshal(v)
	got, gotErr := Marshal(v)
	if (wantErr != nil) != (gotErr != nil) {
		t.Fatalf("errors differ for %#v: sigs.k8s.io/yaml %v, yamlfast %v", v, wantErr, gotErr)
	}
	if string(got) != string(want) {
		t.Fatalf("output differs for %#v:\n--- sigs.k8s.io/yaml\n%s\n--- yamlfast\n%s", v, want, got)
	}
	_, err := directMarshal(v)
	return err == nil
}

func TestMarshalStringsMatchSigsYAML(t *testing.T) {
	prefix := strings.Repeat("p", 70)
	fallbacks := 0
	for _, s := range trickyStrings {
		direct := compare(t, s)
		direct = compare(t, map[string]any{"k": s}) && direct
		compare(t, map[string]any{s: "v"})
		direct = compare(t, []any{s, []any{s}}) && direct
		direct = compare(t, map[string]any{"outer": map[string]any{"list": []string{s, prefix + " " + s}, prefix: s}}) && direct
		direct = compare(t, map[string]any{"deep": []any{map[string]any{"a": []any{map[string]any{"b": s, "c": prefix + s}}}}}) && direct
		if !direct {
			fallbacks++
			t.Logf("left to sigs.k8s.io/yaml: %q", s)
		}
	}
	// Only the strings go-yaml cannot read back unchanged (raw NEL, DEL...)
	// may need sigs.k8s.io/yaml; the list above has none.
	if fallbacks > 0 {
		t.Errorf("%d strings were not rendered directly", fallbacks)
	}
}

type inner struct {
	Name    string            `json:"name"`
	Port    *int32            `json:"port,omitempty"`
	Labels  map[string]string `json:"labels,omitempty"`
	Flag    bool              `json:"flag,omitempty"`
	Weight  uint64            `json:"weight"`
	Ratio   float64           `json:"ratio,omitempty"`
	Skipped string            `json:"-"`
	Dash    string            `json:"-,"`
	NoTag   string
	private string
}

type outer struct {
	Items    []inner         `json:"items"`
	Empty    []inner         `json:"empty"`
	Nil      []inner         `json:"nil"`
	Ptr      *inner          `json:"ptr,omitempty"`
	NilPtr   *inner          `json:"nilPtr"`
	Any      any             `json:"any"`
	Config   map[string]any  `json:"config,omitempty"`
	Raw      json.RawMessage `json:"raw,omitempty"`
	Time     time.Time       `json:"time"`
	Bytes    []byte          `json:"bytes,omitempty"`
	Number   json.Number     `json:"number,omitempty"`
	EmptyMap map[string]int  `json:"emptyMap"`
	Strs     []string        `json:"strs"`
	Nested   [][]string      `json:"nested"`
	Array    [2]int          `json:"array"`
	EmptyObj struct{}        `json:"emptyObj"`
}

type embedded struct {
	inner
	Extra string `json:"extra"`
}

type stringOpt struct {
	N int `json:"n,string"`
}

func TestMarshalValuesMatchSigsYAML(t *testing.T) {
	port := int32(8080)
	values := []any{
		nil, true, false, 0, -5, uint64(math.MaxUint64), int64(math.MinInt64), 1.5, 100.0, 1e21, 1e-7, -0.0, float32(0.1), 3.0,
		[]any{}, map[string]any{}, []string(nil), map[string]any(nil),
		map[string]any{"a2": 1, "a10": 2, "a1": 3, "B": 4, "b": 5, "_x": 6, "1": 7, "01": 8, "a01": 9, "a-b": 10, "é": 11, "z9z": 12, "z09z": 13},
		outer{
			Items: []inner{{Name: "a", Port: &port, Labels: map[string]string{"app": "web", "tier": "1"}, Flag: true, Weight: 3, Ratio: 0.25, Skipped: "x", Dash: "d", NoTag: "n"},
				{Name: "", Labels: map[string]string{}}},
			Empty: []inner{}, Ptr: &inner{Name: "p"},
			Any:    []any{1, "two", 3.5, nil, map[string]any{"k": []any{}}},
			Config: map[string]any{"body": "line1\nline2\n", "status_code": 500, "headers": []string{"x-a:1", "x-b: 2"}, "nested": map[string]any{"deep": []any{[]any{"x"}}}},
			Raw:    json.RawMessage(`{"z": 1, "a": [true, null, 1.0, 12345678901234567890], "s": "x\u00e9y\u003c"}`),
			Time:   time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC), Bytes: []byte("hello"), Number: "12.50",
			Strs: []string{"", "x"}, Nested: [][]string{{}, {"a", "b"}, nil}, Array: [2]int{1, 2},
		},
		&outer{},
		embedded{inner: inner{Name: "e"}, Extra: "x"},
		stringOpt{N: 5},
		map[int]string{1: "a", 20: "b", 3: "c"},
		json.Number("1e400"), json.Number(""), json.Number("-0"), json.Number("12345678901234567890123"),
	}
	for i, v := range values {
		t.Run(fmt.Sprint(i), func(t *testing.T) {
			if direct := compare(t, v); !direct {
				t.Errorf("left to sigs.k8s.io/yaml: %#v", v)
			}
		})
	}
	// These go to sigs.k8s.io/yaml, which fails on some of them; Marshal
	// must fail (or not) the same way.
	leftToSigs := []any{
		math.NaN(), math.Inf(1),
		map[string]any{"ch": make(chan int)},
		map[string]any{"s": "a\u0085b"},
		map[string]any{"s": "bad\xffutf8"},
		map[string]any{"s": "del\x7f"},
		map[string]any{"s": "ls\u2028ps\u2029"},
		map[string]any{strings.Repeat("k", 129): 1},
		map[string]any{"x\ny": 2},
		json.Number(" 1"), json.Number("0x10"), json.Number("1e"),
	}
	for i, v := range leftToSigs {
		t.Run(fmt.Sprint("sigs-", i), func(t *testing.T) { compare(t, v) })
	}
}

// FuzzMarshalString compares renderings of arbitrary strings as values, keys
// and list items at a column that exercises folding.
func FuzzMarshalString(f *testing.F) {
	for _, s := range trickyStrings {
		f.Add(s, 3)
	}
	f.Fuzz(func(t *testing.T, s string, pad int) {
		pad = ((pad % 90) + 90) % 90
		k := strings.Repeat("k", pad+1)
		compare(t, map[string]any{k: s, "list": []any{s, map[string]any{s: k}}})
	})
}

// TestBufferAcrossChunks renders documents larger than a chunk, including
// one that falls back to sigs.k8s.io/yaml after filling chunks, and checks
// the buffer holds exactly the documents sigs.k8s.io/yaml renders.
func TestBufferAcrossChunks(t *testing.T) {
	big := map[string]any{}
	for i := 0; i < 12000; i++ {
		big[fmt.Sprint("key-", i)] = []any{strings.Repeat("value ", i%30), i, map[string]any{"x": "y\nz"}}
	}
	fallsBack := []any{big, math.NaN()} // NaN only at the end
	docs := []any{big, map[string]any{"nan": fallsBack}, fallsBack[:1], "tail"}
	var b Buffer
	var want []byte
	for i, d := range docs {
		if i > 0 {
			b.WriteString("---\n")
			want = append(want, "---\n"...)
		}
		wantDoc, wantErr := sigsyaml.Marshal(d)
		err := b.Marshal(d)
		if (err != nil) != (wantErr != nil) {
			t.Fatalf("document %d: error %v, sigs.k8s.io/yaml %v", i, err, wantErr)
		}
		want = append(want, wantDoc...)
	}
	if len(b.done) == 0 {
		t.Fatalf("%d bytes fit one chunk; the test needs several", b.Len())
	}
	if !bytes.Equal(b.Bytes(), want) {
		t.Fatal("buffer differs from sigs.k8s.io/yaml's documents")
	}
	var w bytes.Buffer
	if n, err := b.WriteTo(&w); err != nil || n != int64(len(want)) || !bytes.Equal(w.Bytes(), want) {
		t.Fatalf("WriteTo wrote %d bytes (%v), want %d", n, err, len(want))
	}
}

// TestAnalyzeWordAgreesWithAnalyze checks the shortcut for space-free ASCII
// strings against the general analysis.
func TestAnalyzeWordAgreesWithAnalyze(t *testing.T) {
	var words []string
	for c := byte('!'); c < 0x7F; c++ {
		words = append(words, string(c), string(c)+"a", "a"+string(c), "a"+string(c)+"b", string(c)+string(c))
	}
	words = append(words, "---", "---a", "...", "..a", "a---", "k8s-kind:HTTPRoute", "10.0.0.1:8080", "a:", "-1", "?x", ":x")
	for _, w := range words {
		fast, ok := analyzeWord(w)
		if !ok {
			t.Fatalf("analyzeWord refused %q", w)
		}
		slow := analyzeChars(w)
		if fast != slow {
			t.Errorf("%q: analyzeWord %+v, analyzeChars %+v", w, fast, slow)
		}
	}
}

// randomValue builds a JSON-like value of maps, lists and scalars from the
// tricky strings, nested a few levels, with keys of varied lengths so that
// scalars start at many columns.
func randomValue(r *rand.Rand, depth int) any {
	switch n := r.IntN(10); {
	case depth < 5 && n < 3:
		m := map[string]any{}
		for i := r.IntN(4); i >= 0; i-- {
			k := strings.Repeat("k", r.IntN(60)) + fmt.Sprint(r.IntN(20))
			if r.IntN(4) == 0 {
				k = trickyStrings[r.IntN(len(trickyStrings))]
			}
			m[k] = randomValue(r, depth+1)
		}
		if r.IntN(8) == 0 {
			return map[string]any{}
		}
		return m
	case depth < 5 && n < 5:
		var l []any
		for i := r.IntN(4); i >= 0; i-- {
			l = append(l, randomValue(r, depth+1))
		}
		if r.IntN(8) == 0 {
			return []any{}
		}
		return l
	case n == 5:
		return []any{nil, true, 42, -7, 2.5, uint64(math.MaxUint64)}[r.IntN(6)]
	default:
		return trickyStrings[r.IntN(len(trickyStrings))]
	}
}

func TestMarshalMatchesSigsYAMLOnRandomValues(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	direct := 0
	const n = 3000
	for i := 0; i < n; i++ {
		if compare(t, randomValue(r, 0)) {
			direct++
		}
	}
	t.Logf("%d of %d random values rendered directly", direct, n)
}
