// Package benchreport renders the results of Drawbridge's scale benchmarks
// as a report directory: a README.md in GitHub Markdown that names the
// machine and versions the run used, and one PNG chart per Chart. It only
// renders; measuring is the benchmark driver's job.
//
// Rendering is deterministic (the same Report always gives the same bytes),
// so a regenerated report committed to the repository diffs only where the
// figures changed.
package benchreport

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// Report is everything one benchmark run publishes.
type Report struct {
	Title    string
	Command  string // how to rerun, e.g. "make bench"
	Machine  Machine
	Versions []KV // in the order to show: Drawbridge commit, Go, Kong, Kubernetes, Gateway API ...
	Started  time.Time
	Duration time.Duration
	Intro    string // Markdown paragraph(s)
	Sections []Section
}

// KV is one labelled value, such as a component and its version.
type KV struct{ Key, Value string }

// Section is one part of the report under its own heading.
type Section struct {
	Title  string
	Text   string // Markdown
	Tables []Table
	Charts []Chart
}

// Table is a GitHub pipe table. Rows shorter than Header are padded with
// empty cells; longer rows are an error.
type Table struct {
	Caption string
	Header  []string
	Rows    [][]string
}

// ChartKind selects how a Chart draws its series.
type ChartKind int

const (
	// LineChart joins each series' points in order of X, with a marker on
	// every point.
	LineChart ChartKind = iota
	// BarChart draws one group of bars per X label (Point.Label, or X when
	// the label is empty) and one bar per series within a group, with the
	// value written on each bar.
	BarChart
	// ScatterChart draws each point as a marker without joining lines.
	ScatterChart
)

func (k ChartKind) String() string {
	switch k {
	case LineChart:
		return "line"
	case BarChart:
		return "bar"
	case ScatterChart:
		return "scatter"
	}
	return fmt.Sprintf("ChartKind(%d)", int(k))
}

// Chart is one PNG image in the report.
type Chart struct {
	File                  string // PNG file name within the report dir, e.g. "propagation.png"
	Title, XLabel, YLabel string
	Kind                  ChartKind
	Series                []Series
	// LogY puts the Y axis on a base-10 log scale; points with Y <= 0
	// cannot be placed on it and are left out.
	LogY bool
	// LogX does the same for the X axis of line and scatter charts; bar
	// charts ignore it because their X axis is categories.
	LogX bool
	// Guides are horizontal reference lines (e.g. a goal "3 s") drawn dashed
	// with their label.
	Guides []Guide
	// Width and Height are the image size in pixels; zero means 900x500.
	Width, Height int
}

// Series is one named set of points, drawn in one colour.
type Series struct {
	Name   string
	Points []Point
}

// Point is one measurement. Points with a NaN or infinite coordinate are
// left out of the chart.
type Point struct {
	X     float64
	Y     float64
	Label string // the X tick text for bar charts
}

// Guide is a horizontal reference line at Y.
type Guide struct {
	Y     float64
	Label string
}

// readmeName is the Markdown file Write produces; GitHub shows it when the
// directory is browsed.
const readmeName = "README.md"

// Write renders r into dir: README.md plus one PNG per chart, replacing what
// was there. PNG files in dir that r does not reference are removed, since
// they are charts of an earlier run; other files are left alone. Each file
// is written to a temporary name and renamed, so an interrupted Write never
// leaves a half-written file behind.
func Write(dir string, r *Report) error {
	if r == nil {
		return errors.New("write benchmark report: no report")
	}
	if err := r.validate(); err != nil {
		return fmt.Errorf("write benchmark report to %s: %w", dir, err)
	}
	// Render everything before touching dir, so a chart that fails to
	// render leaves the previous report intact.
	files := map[string][]byte{readmeName: renderMarkdown(r)}
	var order []string
	for _, s := range r.Sections {
		for i := range s.Charts {
			c := &s.Charts[i]
			data, err := encodeChart(c)
			if err != nil {
				return fmt.Errorf("render chart %s: %w", c.File, err)
			}
			files[c.File] = data
			order = append(order, c.File)
		}
	}
	order = append(order, readmeName)

	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("create report directory: %w", err)
	}
	for _, name := range order {
		if err := writeFileAtomic(dir, name, files[name]); err != nil {
			return err
		}
	}
	return removeStaleCharts(dir, files)
}

// validate reports what in r cannot be rendered faithfully.
func (r *Report) validate() error {
	seen := map[string]string{}
	for _, s := range r.Sections {
		for ti, t := range s.Tables {
			if len(t.Header) == 0 && len(t.Rows) > 0 {
				return fmt.Errorf("section %q table %d: rows without a header", s.Title, ti+1)
			}
			for ri, row := range t.Rows {
				if len(row) > len(t.Header) {
					return fmt.Errorf("section %q table %d row %d: %d cells but the header has %d",
						s.Title, ti+1, ri+1, len(row), len(t.Header))
				}
			}
		}
		for _, c := range s.Charts {
			if err := validChartFile(c.File); err != nil {
				return fmt.Errorf("section %q chart %q: %w", s.Title, c.Title, err)
			}
			if other, dup := seen[c.File]; dup {
				return fmt.Errorf("section %q chart %q: file %s is already used by section %q",
					s.Title, c.Title, c.File, other)
			}
			seen[c.File] = s.Title
			switch c.Kind {
			case LineChart, BarChart, ScatterChart:
			default:
				return fmt.Errorf("section %q chart %q: unknown kind %s", s.Title, c.Title, c.Kind)
			}
			if c.Width < 0 || c.Height < 0 || (c.Width > 0 && c.Width < minChartWidth) ||
				(c.Height > 0 && c.Height < minChartHeight) {
				return fmt.Errorf("section %q chart %q: size %dx%d is below the minimum %dx%d",
					s.Title, c.Title, c.Width, c.Height, minChartWidth, minChartHeight)
			}
		}
	}
	return nil
}

// validChartFile accepts a plain "name.png": charts live in the report
// directory itself, and stale-chart removal only knows about *.png there.
func validChartFile(name string) error {
	switch {
	case name == "":
		return errors.New("no file name")
	case strings.ContainsAny(name, `/\`) || name != filepath.Base(name):
		return fmt.Errorf("file %q must be a name within the report directory, not a path", name)
	case !strings.HasSuffix(name, ".png") || name == ".png":
		return fmt.Errorf("file %q must be named *.png", name)
	}
	return nil
}

func writeFileAtomic(dir, name string, data []byte) error {
	tmp, err := os.CreateTemp(dir, ".benchreport-*")
	if err != nil {
		return fmt.Errorf("write %s: %w", name, err)
	}
	defer os.Remove(tmp.Name()) // fails harmlessly once renamed
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return fmt.Errorf("write %s: %w", name, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("write %s: %w", name, err)
	}
	// CreateTemp makes the file 0600; a committed report is for everyone.
	if err := os.Chmod(tmp.Name(), 0o644); err != nil {
		return fmt.Errorf("write %s: %w", name, err)
	}
	if err := os.Rename(tmp.Name(), filepath.Join(dir, name)); err != nil {
		return fmt.Errorf("write %s: %w", name, err)
	}
	return nil
}

// removeStaleCharts deletes the PNG files in dir that are not in keep.
func removeStaleCharts(dir string, keep map[string][]byte) error {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return fmt.Errorf("list report directory for stale charts: %w", err)
	}
	for _, e := range entries {
		name := e.Name()
		if !e.Type().IsRegular() || !strings.HasSuffix(name, ".png") {
			continue
		}
		if _, ok := keep[name]; ok {
			continue
		}
		if err := os.Remove(filepath.Join(dir, name)); err != nil {
			return fmt.Errorf("remove stale chart: %w", err)
		}
	}
	return nil
}
