package benchreport

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite testdata/*.md from the current output")

// sampleReport is a report with every feature the renderer has: a machine,
// versions, two sections, tables that need escaping and padding, and one
// chart of each kind.
func sampleReport() *Report {
	return &Report{
		Title:   "Drawbridge scale benchmark",
		Command: "make bench",
		Machine: Machine{
			CPU: "Intel(R) Xeon(R) Processor", Cores: 2, MemoryBytes: 24683664 << 10,
			Kernel: "Linux 6.1.0-18-amd64", OS: "Debian GNU/Linux 12 (bookworm), x86_64", LoadAvg: "0.52 0.61 0.70",
		},
		Versions: []KV{
			{"Drawbridge", "1a5578b"}, {"Go", "go1.27.3"}, {"Kong", "3.9.3"},
			{"Kubernetes", "v1.34.1"}, {"Gateway API", "v1.7.0"},
		},
		Started:  time.Date(2026, 7, 30, 9, 15, 0, 0, time.FixedZone("CEST", 2*60*60)),
		Duration: 754 * time.Second,
		Intro:    "Each run creates routes on one Gateway and measures how long Kong takes to serve them.\n",
		Sections: []Section{
			{
				Title: "Propagation",
				Text:  "Time from creating an HTTPRoute to its first 200 through Kong.",
				Tables: []Table{{
					Caption: "Propagation time",
					Header:  append([]string{"routes"}, DistributionHeader()...),
					Rows: [][]string{
						append([]string{"100"}, Summarize([]float64{0.2, 0.31, 0.4}).Cells(FormatSeconds)...),
						append([]string{"1000"}, Summarize([]float64{1.1, 1.24, 2.9}).Cells(FormatSeconds)...),
					},
				}},
				Charts: []Chart{
					{
						File: "propagation.png", Title: "Propagation time by route count",
						XLabel: "routes", YLabel: "seconds", Kind: LineChart,
						Series: []Series{
							{Name: "p50", Points: []Point{{X: 100, Y: 0.31}, {X: 1000, Y: 1.24}, {X: 5000, Y: 2.2}}},
							{Name: "p99", Points: []Point{{X: 100, Y: 0.4}, {X: 1000, Y: 2.9}, {X: 5000, Y: 4.1}}},
						},
						Guides: []Guide{{Y: 3, Label: "goal 3 s"}},
					},
					{
						File: "spread.png", Title: "Every sample", XLabel: "routes", YLabel: "seconds",
						Kind: ScatterChart, LogY: true,
						Series: []Series{{Name: "samples", Points: []Point{
							{X: 100, Y: 0.002}, {X: 100, Y: 0.03}, {X: 1000, Y: 0.4}, {X: 1000, Y: 6},
						}}},
					},
				},
			},
			{
				Title: "Memory | CPU",
				Text:  "Kong's resident memory after the routes are served.",
				Tables: []Table{{
					Header: []string{"routes", "memory", "note"},
					Rows: [][]string{
						{"100", "118 MiB", "a|b"},
						{"1000", "231 MiB"},
					},
				}},
				Charts: []Chart{{
					File: "memory.png", Title: "Memory [RSS]", YLabel: "MiB", Kind: BarChart,
					Width: 640, Height: 360,
					Series: []Series{
						{Name: "Kong", Points: []Point{{Label: "100", Y: 118}, {Label: "1000", Y: 231}}},
						{Name: "Drawbridge", Points: []Point{{Label: "100", Y: 41}, {Label: "1000", Y: 57}}},
					},
				}},
			},
		},
	}
}

func TestMarkdownGolden(t *testing.T) {
	got := renderMarkdown(sampleReport())
	golden := filepath.Join("testdata", "report.md")
	if *update {
		if err := os.WriteFile(golden, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("read golden file (run go test -update to create it): %v", err)
	}
	if string(got) != string(want) {
		t.Errorf("README.md differs from %s (run go test -update and review the diff):\n%s", golden, got)
	}
}

func TestRenderTable(t *testing.T) {
	tests := []struct {
		name  string
		table Table
		want  string
	}{
		{
			name:  "pipes and newlines stay in their cell",
			table: Table{Header: []string{"a|b", "c"}, Rows: [][]string{{"x | y", "one\ntwo"}}},
			want:  "| a\\|b | c |\n| --- | --- |\n| x \\| y | one<br>two |\n",
		},
		{
			name:  "short rows are padded, numbers align right",
			table: Table{Caption: "Sizes", Header: []string{"n", "size", "what"}, Rows: [][]string{{"1", "12.3k", "x"}, {"-20"}}},
			want:  "**Sizes**\n\n| n | size | what |\n| ---: | ---: | --- |\n| 1 | 12.3k | x |\n| -20 |  |  |\n",
		},
		{
			name:  "versions and commits are not numbers",
			table: Table{Header: []string{"v"}, Rows: [][]string{{"3.9.3"}, {"1a5578b"}}},
			want:  "| v |\n| --- |\n| 3.9.3 |\n| 1a5578b |\n",
		},
		{
			name:  "no header, no table",
			table: Table{Caption: "nothing"},
			want:  "",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := renderTable(tt.table); got != tt.want {
				t.Errorf("renderTable =\n%s\nwant\n%s", got, tt.want)
			}
		})
	}
}

func TestMarkdownEdges(t *testing.T) {
	r := &Report{
		Command: "go test -run `TestX` ./...",
		Sections: []Section{{
			Title:  "Untitled\nchart",
			Charts: []Chart{{File: "raw.png"}},
		}},
	}
	md := string(renderMarkdown(r))
	for _, want := range []string{
		"# Benchmark report\n",
		"How to rerun: `` go test -run `TestX` ./... ``\n",
		"| CPU | unknown |\n", "| Cores | unknown |\n", "| Memory | unknown |\n",
		"## Untitled chart\n",
		"![raw](raw.png)\n",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("README.md lacks %q:\n%s", want, md)
		}
	}
	for _, unwanted := range []string{"## Versions", "Started", "took"} {
		if strings.Contains(md, unwanted) {
			t.Errorf("README.md has %q though the report has none:\n%s", unwanted, md)
		}
	}
}
