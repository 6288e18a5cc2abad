package translate

import (
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"testing"
)

// TestReadmeCountsTheGoldenCases holds the README's "N golden cases" to the
// number of inputs under testdata/, so the user's guide does not drift
// from the code as cases are added.
func TestReadmeCountsTheGoldenCases(t *testing.T) {
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`with (\d+) golden cases under\s+` + "`testdata/`").FindSubmatch(readme)
	if m == nil {
		t.Fatal("README.md no longer says how many golden cases internal/translate has")
	}
	claimed, _ := strconv.Atoi(string(m[1]))
	inputs, err := filepath.Glob("testdata/*.in.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if claimed != len(inputs) {
		t.Errorf("README.md says %d golden cases, testdata/ has %d: update the README", claimed, len(inputs))
	}
}
