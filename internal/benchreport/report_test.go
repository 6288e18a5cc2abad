package benchreport

import (
	"bytes"
	"image"
	"image/color"
	"image/png"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// colourCounts counts the pixels of each colour of img within r.
func colourCounts(img image.Image, r image.Rectangle) map[color.RGBA]int {
	counts := map[color.RGBA]int{}
	r = r.Intersect(img.Bounds())
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			counts[color.RGBAModel.Convert(img.At(x, y)).(color.RGBA)]++
		}
	}
	return counts
}

func decodePNGFile(t *testing.T, path string) image.Image {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	img, err := png.Decode(bytes.NewReader(data))
	if err != nil {
		t.Fatalf("decode %s: %v", path, err)
	}
	return img
}

func readDir(t *testing.T, dir string) map[string][]byte {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	files := map[string][]byte{}
	for _, e := range entries {
		data, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		files[e.Name()] = data
	}
	return files
}

func TestWriteReport(t *testing.T) {
	r := sampleReport()
	dir := filepath.Join(t.TempDir(), "bench")
	if err := Write(dir, r); err != nil {
		t.Fatalf("Write: %v", err)
	}
	files := readDir(t, dir)
	md := string(files["README.md"])
	wantInMarkdown := []string{"# " + r.Title, "`" + r.Command + "`", r.Machine.CPU}
	for _, kv := range r.Versions {
		wantInMarkdown = append(wantInMarkdown, "| "+kv.Key+" | "+kv.Value+" |")
	}
	var charts []Chart
	for _, s := range r.Sections {
		wantInMarkdown = append(wantInMarkdown, "## "+s.Title, s.Text)
		for _, tb := range s.Tables {
			wantInMarkdown = append(wantInMarkdown, "| "+strings.Join(tb.Header, " | ")+" |")
			if tb.Caption != "" {
				wantInMarkdown = append(wantInMarkdown, "**"+tb.Caption+"**")
			}
		}
		for _, c := range s.Charts {
			wantInMarkdown = append(wantInMarkdown, "]("+c.File+")")
			charts = append(charts, c)
		}
	}
	for _, want := range wantInMarkdown {
		if !strings.Contains(md, want) {
			t.Errorf("README.md lacks %q", want)
		}
	}

	var names []string
	for name := range files {
		names = append(names, name)
	}
	slices.Sort(names)
	if want := []string{"README.md", "memory.png", "propagation.png", "spread.png"}; !slices.Equal(names, want) {
		t.Errorf("report files = %q, want %q", names, want)
	}

	for _, c := range charts {
		t.Run(c.File, func(t *testing.T) {
			img := decodePNGFile(t, filepath.Join(dir, c.File))
			w, h := defaultChartWidth, defaultChartHeight
			if c.Width != 0 {
				w, h = c.Width, c.Height
			}
			if got := img.Bounds().Size(); got != image.Pt(w, h) {
				t.Errorf("size = %v, want %dx%d", got, w, h)
			}
			// The plot area holds data in every series' colour.
			_, plot, err := renderChart(&c)
			if err != nil {
				t.Fatal(err)
			}
			counts := colourCounts(img, plot)
			if counts[colorBackground] == plot.Dx()*plot.Dy() {
				t.Fatal("plot area is blank")
			}
			for i, s := range c.Series {
				col, _ := seriesStyle(i)
				if counts[col] == 0 {
					t.Errorf("series %q: no pixel of its colour %v in the plot area", s.Name, col)
				}
			}
		})
	}
}

// TestWriteMatchesRender checks that the PNG on disk, paletted to keep it
// small, holds exactly the pixels that were drawn.
func TestWriteMatchesRender(t *testing.T) {
	dir := t.TempDir()
	r := sampleReport()
	if err := Write(dir, r); err != nil {
		t.Fatal(err)
	}
	c := r.Sections[0].Charts[0]
	drawn, _, err := renderChart(&c)
	if err != nil {
		t.Fatal(err)
	}
	written := decodePNGFile(t, filepath.Join(dir, c.File))
	if _, ok := written.(*image.Paletted); !ok {
		t.Errorf("PNG decodes as %T, want a paletted image", written)
	}
	b := drawn.Bounds()
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			if got, want := color.RGBAModel.Convert(written.At(x, y)), drawn.RGBAAt(x, y); got != want {
				t.Fatalf("pixel (%d, %d) = %v, drawn %v", x, y, got, want)
			}
		}
	}
}

func TestWriteIsDeterministic(t *testing.T) {
	first, second := t.TempDir(), t.TempDir()
	if err := Write(first, sampleReport()); err != nil {
		t.Fatal(err)
	}
	if err := Write(second, sampleReport()); err != nil {
		t.Fatal(err)
	}
	a, b := readDir(t, first), readDir(t, second)
	if len(a) != len(b) {
		t.Fatalf("first run wrote %d files, second %d", len(a), len(b))
	}
	for name, data := range a {
		if !bytes.Equal(data, b[name]) {
			t.Errorf("%s differs between two writes of the same report", name)
		}
	}
}

func TestWriteRemovesStaleCharts(t *testing.T) {
	dir := t.TempDir()
	old := sampleReport()
	old.Sections[0].Charts = append(old.Sections[0].Charts, Chart{
		File: "retired.png", Title: "A chart the next run drops",
		Series: []Series{{Name: "x", Points: []Point{{X: 1, Y: 1}}}},
	})
	if err := Write(dir, old); err != nil {
		t.Fatal(err)
	}
	// Files that are not charts belong to someone else and stay.
	for name, data := range map[string]string{"raw.json": "{}", "notes.txt": "keep"} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Mkdir(filepath.Join(dir, "old.png"), 0o755); err != nil {
		t.Fatal(err)
	}

	if err := Write(dir, sampleReport()); err != nil {
		t.Fatal(err)
	}
	var names []string
	for name := range readDirNames(t, dir) {
		names = append(names, name)
	}
	slices.Sort(names)
	want := []string{"README.md", "memory.png", "notes.txt", "old.png", "propagation.png", "raw.json", "spread.png"}
	if !slices.Equal(names, want) {
		t.Errorf("after the second Write the directory holds %q, want %q", names, want)
	}
}

func readDirNames(t *testing.T, dir string) map[string]bool {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	names := map[string]bool{}
	for _, e := range entries {
		names[e.Name()] = true
	}
	return names
}

func TestWriteRejectsWhatItCannotRender(t *testing.T) {
	points := []Point{{X: 1, Y: 1}}
	tests := []struct {
		name    string
		section Section
		wantErr string
	}{
		{
			name:    "chart file is a path",
			section: Section{Charts: []Chart{{File: "../escape.png"}}},
			wantErr: "not a path",
		},
		{
			name:    "chart file is not a PNG",
			section: Section{Charts: []Chart{{File: "chart.svg"}}},
			wantErr: "*.png",
		},
		{
			name:    "chart without a file",
			section: Section{Charts: []Chart{{Title: "t"}}},
			wantErr: "no file name",
		},
		{
			name:    "two charts, one file",
			section: Section{Charts: []Chart{{File: "a.png"}, {File: "a.png"}}},
			wantErr: "already used",
		},
		{
			name:    "unknown kind",
			section: Section{Charts: []Chart{{File: "a.png", Kind: ChartKind(7)}}},
			wantErr: "unknown kind ChartKind(7)",
		},
		{
			name:    "too small",
			section: Section{Charts: []Chart{{File: "a.png", Width: 100, Height: 100}}},
			wantErr: "below the minimum",
		},
		{
			name:    "row wider than the header",
			section: Section{Tables: []Table{{Header: []string{"a"}, Rows: [][]string{{"1", "2"}}}}},
			wantErr: "2 cells but the header has 1",
		},
		{
			name:    "rows without a header",
			section: Section{Tables: []Table{{Rows: [][]string{{"1"}}}}},
			wantErr: "rows without a header",
		},
		{
			name: "bar series with a label twice",
			section: Section{Charts: []Chart{{File: "a.png", Kind: BarChart, Series: []Series{
				{Name: "s", Points: []Point{{Label: "x", Y: 1}, {Label: "x", Y: 2}}},
			}}}},
			wantErr: `two bars labelled "x"`,
		},
		{
			name: "legend leaves no room",
			section: Section{Charts: []Chart{{File: "a.png", Width: 300, Height: 200, Series: []Series{
				{Name: strings.Repeat("long series name ", 3), Points: points},
				{Name: strings.Repeat("another long name ", 3), Points: points},
				{Name: strings.Repeat("and a third name ", 3), Points: points},
				{Name: strings.Repeat("and a fourth one ", 3), Points: points},
				{Name: strings.Repeat("and a fifth name ", 3), Points: points},
			}}}},
			wantErr: "no room to plot",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			if err := os.WriteFile(filepath.Join(dir, "README.md"), []byte("previous run"), 0o644); err != nil {
				t.Fatal(err)
			}
			err := Write(dir, &Report{Title: "bad", Sections: []Section{tt.section}})
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("Write error = %v, want one containing %q", err, tt.wantErr)
			}
			// Nothing is written when the report cannot be rendered.
			if got := readDir(t, dir); len(got) != 1 || string(got["README.md"]) != "previous run" {
				t.Errorf("a failed Write changed the directory: %q", got)
			}
		})
	}
	if err := Write(t.TempDir(), nil); err == nil {
		t.Error("Write(nil) succeeded")
	}
}

// BenchmarkWrite reports how long the sample report (three charts, one
// README) takes to render and write.
func BenchmarkWrite(b *testing.B) {
	dir := b.TempDir()
	r := sampleReport()
	for b.Loop() {
		if err := Write(dir, r); err != nil {
			b.Fatal(err)
		}
	}
}
