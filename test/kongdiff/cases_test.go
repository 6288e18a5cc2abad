package kongdiff

// Golden cases: the Kong configurations internal/translate/golden_test.go
// writes to testdata/<case>.out.yaml (one YAML document per Gateway, each
// with the declarative config under "config" beside the status results).

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"sigs.k8s.io/yaml"
)

const goldenDir = "../../internal/translate/testdata"

// goldenCase is one Gateway's configuration from one golden file.
type goldenCase struct {
	id     string // "<case>" or "<case>/<namespace>/<gateway>" when a file has several
	config []byte // JSON
}

// loadCases reads every golden output in file-name order.
func loadCases() ([]goldenCase, error) {
	files, err := filepath.Glob(filepath.Join(goldenDir, "*.out.yaml"))
	if err != nil {
		return nil, err
	}
	if len(files) == 0 {
		return nil, fmt.Errorf("no golden outputs under %s", goldenDir)
	}
	sort.Strings(files)
	var out []goldenCase
	for _, f := range files {
		name := strings.TrimSuffix(filepath.Base(f), ".out.yaml")
		b, err := os.ReadFile(f)
		if err != nil {
			return nil, fmt.Errorf("read golden output: %w", err)
		}
		docs := bytes.Split(b, []byte("\n---\n"))
		for _, d := range docs {
			if bytes.HasPrefix(d, []byte("error:")) {
				continue // the translation itself failed; nothing to post
			}
			var doc struct {
				Gateway string          `json:"gateway"`
				Config  json.RawMessage `json:"config"`
			}
			if err := yaml.Unmarshal(d, &doc); err != nil {
				return nil, fmt.Errorf("%s: %w", f, err)
			}
			if len(doc.Config) == 0 || string(doc.Config) == "null" {
				continue
			}
			id := name
			if len(docs) > 1 {
				id = name + "/" + doc.Gateway
			}
			out = append(out, goldenCase{id: id, config: doc.Config})
		}
	}
	return out, nil
}

var dstPortRE = regexp.MustCompile(`net\.dst\.port == (\d+)`)

// gatewayPorts lists every port the configurations' expressions test.
func gatewayPorts(cases []goldenCase) []int {
	seen := map[int]bool{}
	for _, c := range cases {
		for _, m := range dstPortRE.FindAllStringSubmatch(string(c.config), -1) {
			p, _ := strconv.Atoi(m[1])
			seen[p] = true
		}
	}
	var out []int
	for p := range seen {
		out = append(out, p)
	}
	sort.Ints(out)
	return out
}
