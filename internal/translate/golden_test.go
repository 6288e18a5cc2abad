package translate_test

import (
	"bytes"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/drawbridge-dev/drawbridge/internal/kong"
	"github.com/drawbridge-dev/drawbridge/internal/translate"
	"github.com/drawbridge-dev/drawbridge/internal/translatecli"
)

var update = flag.Bool("update", false, "rewrite testdata/*.out.yaml from the current translation")

// translateFile runs the offline translation on one input file and returns
// the golden rendering plus the raw results for further checks.
func translateFile(t testing.TB, path string) ([]byte, []*translate.Result) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	objs := &translatecli.Objects{}
	if err := objs.Decode(filepath.Base(path), f); err != nil {
		return []byte("error: " + err.Error() + "\n"), nil
	}
	snaps, _ := objs.Snapshots()
	var results []*translate.Result
	for _, s := range snaps {
		res, err := translate.Translate(s.Snapshot)
		if err != nil {
			continue
		}
		results = append(results, res)
	}
	reports, err := translatecli.Translate(objs, "", io.Discard)
	if err != nil {
		return []byte("error: " + err.Error() + "\n"), results
	}
	out, err := translatecli.Render(reports, "yaml")
	if err != nil {
		t.Fatal(err)
	}
	return out, results
}

// TestGolden compares every testdata/<case>.in.yaml with <case>.out.yaml,
// checks that each generated config passes the Kong validator, and that a
// second translation of the same input yields identical bytes.
func TestGolden(t *testing.T) {
	inputs, err := filepath.Glob("testdata/*.in.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if len(inputs) == 0 {
		t.Fatal("no golden cases found")
	}
	for _, in := range inputs {
		name := strings.TrimSuffix(filepath.Base(in), ".in.yaml")
		t.Run(name, func(t *testing.T) {
			got, results := translateFile(t, in)
			for _, r := range results {
				if err := kong.Validate(r.Config); err != nil {
					t.Errorf("config fails validation: %v", err)
				}
			}
			again, results2 := translateFile(t, in)
			if !bytes.Equal(got, again) {
				t.Errorf("translation is not deterministic")
			}
			for i := range results {
				if !bytes.Equal(results[i].JSON, results2[i].JSON) {
					t.Errorf("JSON of gateway %d differs between runs", i)
				}
			}
			outPath := strings.TrimSuffix(in, ".in.yaml") + ".out.yaml"
			if *update {
				if err := os.WriteFile(outPath, got, 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(outPath)
			if err != nil {
				t.Fatalf("%v (run with -update to create it)", err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("output differs from %s (run with -update to accept):\n%s", outPath, diff(string(want), string(got)))
			}
		})
	}
}

// diff shows the first differing lines, which is enough to see what moved.
func diff(want, got string) string {
	w, g := strings.Split(want, "\n"), strings.Split(got, "\n")
	for i := 0; i < len(w) || i < len(g); i++ {
		var wl, gl string
		if i < len(w) {
			wl = w[i]
		}
		if i < len(g) {
			gl = g[i]
		}
		if wl != gl {
			return fmt.Sprintf("line %d:\n  want: %s\n  got:  %s", i+1, wl, gl)
		}
	}
	return "(no line difference)"
}
