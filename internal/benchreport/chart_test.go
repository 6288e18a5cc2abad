package benchreport

import (
	"image"
	"image/color"
	"math"
	"testing"
)

func render(t *testing.T, c Chart) (*image.RGBA, image.Rectangle) {
	t.Helper()
	img, plot, err := renderChart(&c)
	if err != nil {
		t.Fatalf("renderChart: %v", err)
	}
	if got := img.Bounds().Size(); got != image.Pt(defaultChartWidth, defaultChartHeight) {
		t.Fatalf("size = %v", got)
	}
	return img, plot
}

// blobs finds the markers of colour col in r: runs of columns holding that
// colour, separated by empty columns. It returns each run's mean row.
func blobs(img *image.RGBA, r image.Rectangle, col color.RGBA) []float64 {
	var centres []float64
	sum, n := 0, 0
	for x := r.Min.X; x <= r.Max.X; x++ {
		found := false
		for y := r.Min.Y; y < r.Max.Y && x < r.Max.X; y++ {
			if img.RGBAAt(x, y) == col {
				sum += y
				n++
				found = true
			}
		}
		if !found && n > 0 {
			centres = append(centres, float64(sum)/float64(n))
			sum, n = 0, 0
		}
	}
	return centres
}

func TestLogScaleChart(t *testing.T) {
	// One point per decade from 1 ms to 100 s, one X step apart: on a log
	// axis they fall on a straight line, evenly spaced in height.
	var points []Point
	for i := range 6 {
		points = append(points, Point{X: float64(i), Y: 0.001 * math.Pow10(i)})
	}
	img, plot := render(t, Chart{
		File: "log.png", Title: "Decades", Kind: ScatterChart, LogY: true,
		Series: []Series{{Name: "s", Points: points}},
	})
	centres := blobs(img, plot, palette[0])
	if len(centres) != len(points) {
		t.Fatalf("found %d markers, want %d: %v", len(centres), len(points), centres)
	}
	step := centres[1] - centres[0]
	if step > -20 {
		t.Fatalf("markers do not climb: rows %v", centres)
	}
	for i := 2; i < len(centres); i++ {
		if d := centres[i] - centres[i-1]; math.Abs(d-step) > 1.5 {
			t.Errorf("decade %d is %.1f px above the last, decade 1 was %.1f px: rows %v", i, -d, -step, centres)
		}
	}
}

func TestLogScaleDropsWhatItCannotPlace(t *testing.T) {
	c := Chart{
		File: "log.png", Kind: LineChart, LogY: true,
		Series: []Series{{Name: "s", Points: []Point{
			{X: 1, Y: 0}, {X: 2, Y: -1}, {X: 3, Y: math.NaN()}, {X: 4, Y: 10}, {X: math.Inf(1), Y: 5},
		}}},
	}
	d, err := prepare(&c)
	if err != nil {
		t.Fatal(err)
	}
	if d.points != 1 || d.series[0].points[0].X != 4 {
		t.Errorf("kept %d points %v, want only (4, 10)", d.points, d.series[0].points)
	}
	img, plot := render(t, c)
	if colourCounts(img, plot)[palette[0]] == 0 {
		t.Error("the one placeable point is not drawn")
	}
}

func TestBarChartWithSeveralSeries(t *testing.T) {
	// The same four categories in three series, each twice the one before:
	// bars of equal width, so each series' area doubles.
	categories := []string{"100 routes", "1k routes", "5k routes", "10k routes"}
	heights := []float64{0.31, 1.24, 4.2, 9.7}
	var series []Series
	for si, name := range []string{"one", "two", "four"} {
		s := Series{Name: name}
		for ci, cat := range categories {
			s.Points = append(s.Points, Point{Label: cat, Y: heights[ci] * float64(int(1)<<si)})
		}
		series = append(series, s)
	}
	c := Chart{File: "bars.png", Title: "Bars", Kind: BarChart, Series: series}
	d, err := prepare(&c)
	if err != nil {
		t.Fatal(err)
	}
	if len(d.categories) != len(categories) {
		t.Errorf("categories = %q, want %q", d.categories, categories)
	}
	img, plot := render(t, c)
	counts := colourCounts(img, plot)
	base := float64(counts[palette[0]])
	if base == 0 {
		t.Fatal("no bar of the first series")
	}
	for si, factor := range []float64{1, 2, 4} {
		got := float64(counts[palette[si]]) / base
		if math.Abs(got-factor) > 0.05*factor {
			t.Errorf("series %d covers %.2f times the first series' area, want %.0f", si, got, factor)
		}
	}
	if counts[colorText] == 0 {
		t.Error("no bar values written in the plot area")
	}
}

func TestBarChartGroupsByLabel(t *testing.T) {
	c := Chart{File: "b.png", Kind: BarChart, Series: []Series{
		{Name: "a", Points: []Point{{Label: "x", Y: 1}, {X: 2, Y: 2}}},
		{Name: "b", Points: []Point{{Label: "y", Y: 3}, {Label: "x", Y: 4}}},
	}}
	d, err := prepare(&c)
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"x", "2", "y"}; len(d.categories) != 3 || d.categories[0] != want[0] || d.categories[1] != want[1] || d.categories[2] != want[2] {
		t.Errorf("categories = %q, want %q", d.categories, want)
	}
	want := [][]barValue{
		{{v: 1, ok: true}, {v: 2, ok: true}, {}},
		{{v: 4, ok: true}, {}, {v: 3, ok: true}},
	}
	for si := range want {
		for ci := range want[si] {
			if d.bars[si][ci] != want[si][ci] {
				t.Errorf("bar of series %d in %q = %+v, want %+v", si, d.categories[ci], d.bars[si][ci], want[si][ci])
			}
		}
	}
}

func TestSinglePointChart(t *testing.T) {
	for _, kind := range []ChartKind{LineChart, ScatterChart, BarChart} {
		t.Run(kind.String(), func(t *testing.T) {
			img, plot := render(t, Chart{
				File: "one.png", Kind: kind, LogY: kind == ScatterChart,
				Series: []Series{{Name: "only", Points: []Point{{X: 5, Y: 2, Label: "five"}}}},
			})
			if n := len(blobs(img, plot, palette[0])); n != 1 {
				t.Errorf("found %d shapes of the series colour in the plot, want 1", n)
			}
		})
	}
}

func TestEmptySeriesSayNoData(t *testing.T) {
	charts := map[string]Chart{
		"no series":        {File: "e.png", Title: "Nothing"},
		"empty series":     {File: "e.png", Series: []Series{{Name: "a"}, {Name: "b"}}, Guides: []Guide{{Y: 3, Label: "goal"}}},
		"empty bar series": {File: "e.png", Kind: BarChart, Series: []Series{{Name: "a"}}},
		"only non-positive on log": {File: "e.png", LogY: true, Series: []Series{
			{Name: "a", Points: []Point{{X: 1, Y: 0}}},
		}},
	}
	for name, c := range charts {
		t.Run(name, func(t *testing.T) {
			img, plot := render(t, c)
			counts := colourCounts(img, plot)
			for _, col := range palette {
				if counts[col] > 0 {
					t.Errorf("the plot area has pixels of series colour %v", col)
				}
			}
			if counts[colorGuide] > 0 {
				t.Error("a guide is drawn on a chart without data")
			}
			// "no data" is written in the middle of the plot.
			middle := image.Rect(plot.Min.X+plot.Dx()/3, plot.Min.Y+plot.Dy()/3, plot.Max.X-plot.Dx()/3, plot.Max.Y-plot.Dy()/3)
			if colourCounts(img, middle)[colorText] == 0 {
				t.Error(`no "no data" text in the middle of the plot`)
			}
		})
	}
}

func TestGuidesAreDrawnAndInRange(t *testing.T) {
	// The guide lies above all data; the axis must stretch to show it.
	img, plot := render(t, Chart{
		File: "g.png", Series: []Series{{Name: "s", Points: []Point{{X: 1, Y: 0.5}, {X: 2, Y: 1}}}},
		Guides: []Guide{{Y: 3, Label: "goal 3 s"}},
	})
	rows := 0
	for y := plot.Min.Y; y < plot.Max.Y; y++ {
		if colourCounts(img, image.Rect(plot.Min.X, y, plot.Max.X, y+1))[colorGuide] > plot.Dx()/2 {
			rows++
		}
	}
	if rows == 0 {
		t.Error("no dashed guide line across the plot")
	}
}

func TestManySeriesStayDistinct(t *testing.T) {
	type style struct {
		col   color.RGBA
		shape markerShape
	}
	seen := map[style]int{}
	for i := range 2 * len(palette) {
		col, shape := seriesStyle(i)
		if j, dup := seen[style{col, shape}]; dup {
			t.Errorf("series %d and %d look the same", j, i)
		}
		seen[style{col, shape}] = i
		for _, fixed := range []color.RGBA{colorBackground, colorText, colorAxis, colorGrid, colorMinorGrid, colorGuide} {
			if col == fixed {
				t.Errorf("series %d has colour %v, which charts also use for other things", i, col)
			}
		}
	}
}

func TestTextFitting(t *testing.T) {
	if got := fitText("latency (µs)", 200); got != "latency (us)" {
		t.Errorf("fitText replaced µ with %q", got)
	}
	if got := fitText("a very long series name", 70); got != "a very ..." || textWidth(got) > 70 {
		t.Errorf("fitText to 70 px = %q (%d px)", got, textWidth(got))
	}
}

// BenchmarkEncodeChart reports the cost of one 900x500 line chart with
// three series of 50 points, drawn and encoded as a PNG.
func BenchmarkEncodeChart(b *testing.B) {
	c := Chart{File: "bench.png", Title: "Propagation", XLabel: "routes", YLabel: "seconds",
		Guides: []Guide{{Y: 3, Label: "goal"}}}
	for s, name := range []string{"p50", "p90", "p99"} {
		series := Series{Name: name}
		for i := range 50 {
			series.Points = append(series.Points, Point{X: float64(i * 200), Y: float64(s+1) * math.Sqrt(float64(i))})
		}
		c.Series = append(c.Series, series)
	}
	var size int
	for b.Loop() {
		data, err := encodeChart(&c)
		if err != nil {
			b.Fatal(err)
		}
		size = len(data)
	}
	b.ReportMetric(float64(size), "PNG-bytes")
}
