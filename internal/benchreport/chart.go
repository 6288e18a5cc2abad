package benchreport

import (
	"bytes"
	"cmp"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"math"
	"slices"
	"strconv"
)

const (
	defaultChartWidth, defaultChartHeight = 900, 500
	// Below this size the title, legend and axes leave no room to plot.
	minChartWidth, minChartHeight = 300, 200

	margin         = 12 // between the image edge and anything drawn
	legendRow      = 18 // height of one legend row
	legendSwatch   = 22 // width of a legend entry's line or box
	tickLength     = 4
	tickLabelGap   = 4  // between a tick mark and its label
	innerPad       = 10 // between the plot frame and the nearest data point
	markerRadius   = 4
	minLabelGapY   = 4  // between neighbouring Y tick labels
	minLabelGapX   = 12 // between neighbouring X tick labels
	barGroupFill   = 0.8
	barLabelMargin = 3 // between a bar's end and its value
)

// encodeChart renders c as a PNG.
func encodeChart(c *Chart) ([]byte, error) {
	img, _, err := renderChart(c)
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	enc := png.Encoder{CompressionLevel: png.BestCompression}
	if err := enc.Encode(&buf, toPaletted(img)); err != nil {
		return nil, fmt.Errorf("encode PNG: %w", err)
	}
	return buf.Bytes(), nil
}

// toPaletted converts img to a paletted image when it has at most 256
// colours, which every chart has since nothing is anti-aliased; the PNG is
// then a fraction of the size. Colours are numbered in the order they
// first appear, so the same image always gives the same palette.
func toPaletted(img *image.RGBA) image.Image {
	index := map[color.RGBA]uint8{}
	var pal color.Palette
	out := image.NewPaletted(img.Rect, nil)
	for y := img.Rect.Min.Y; y < img.Rect.Max.Y; y++ {
		for x := img.Rect.Min.X; x < img.Rect.Max.X; x++ {
			c := img.RGBAAt(x, y)
			i, ok := index[c]
			if !ok {
				if len(pal) == 256 {
					return img
				}
				i = uint8(len(pal))
				index[c] = i
				pal = append(pal, c)
			}
			out.SetColorIndex(x, y, i)
		}
	}
	out.Palette = pal
	return out
}

// plotSeries is a series ready to draw: its style and the points that can
// be placed on the chart's axes.
type plotSeries struct {
	name   string
	color  color.RGBA
	shape  markerShape
	points []Point
}

// barValue is one bar: the value of a series in one category, if it has one.
type barValue struct {
	v  float64
	ok bool
}

// chartData is what a chart draws, after dropping what its axes cannot show.
type chartData struct {
	series     []plotSeries
	categories []string     // bar charts: the X labels in order of first appearance
	bars       [][]barValue // bar charts: [series][category]
	guides     []Guide
	points     int // drawable points across all series
}

// prepare sorts out c's points: non-finite values and values a log axis
// cannot place are dropped, line series are ordered by X, and bar charts get
// their categories.
func prepare(c *Chart) (chartData, error) {
	var d chartData
	usable := func(v float64, log bool) bool {
		return !math.IsNaN(v) && !math.IsInf(v, 0) && (!log || v > 0)
	}
	logX := c.LogX && c.Kind != BarChart
	categoryIndex := map[string]int{}
	for i, s := range c.Series {
		col, shape := seriesStyle(i)
		ps := plotSeries{name: s.Name, color: col, shape: shape}
		if ps.name == "" && len(c.Series) > 1 {
			ps.name = "series " + strconv.Itoa(i+1)
		}
		for _, p := range s.Points {
			if !usable(p.Y, c.LogY) || (c.Kind != BarChart && !usable(p.X, logX)) {
				continue
			}
			ps.points = append(ps.points, p)
		}
		if c.Kind == LineChart {
			slices.SortStableFunc(ps.points, func(a, b Point) int { return cmp.Compare(a.X, b.X) })
		}
		if c.Kind == BarChart {
			var row []barValue
			seen := map[string]bool{}
			for _, p := range ps.points {
				label := barLabel(p)
				if seen[label] {
					return chartData{}, fmt.Errorf("series %q has two bars labelled %q; give each point of a bar series its own Label", s.Name, label)
				}
				seen[label] = true
				ci, ok := categoryIndex[label]
				if !ok {
					ci = len(d.categories)
					categoryIndex[label] = ci
					d.categories = append(d.categories, label)
				}
				for len(row) <= ci {
					row = append(row, barValue{})
				}
				row[ci] = barValue{v: p.Y, ok: true}
			}
			d.bars = append(d.bars, row)
		}
		d.points += len(ps.points)
		d.series = append(d.series, ps)
	}
	for i := range d.bars {
		for len(d.bars[i]) < len(d.categories) {
			d.bars[i] = append(d.bars[i], barValue{})
		}
	}
	for _, g := range c.Guides {
		if usable(g.Y, c.LogY) {
			d.guides = append(d.guides, g)
		}
	}
	return d, nil
}

func barLabel(p Point) string {
	if p.Label != "" {
		return p.Label
	}
	return strconv.FormatFloat(p.X, 'f', -1, 64)
}

// makeAxis builds an axis covering vals, which must not be empty.
func makeAxis(vals []float64, log, includeZero bool) axis {
	lo, hi := slices.Min(vals), slices.Max(vals)
	if log {
		return logAxis(lo, hi)
	}
	return linearAxis(lo, hi, includeZero)
}

// legendEntry is one series in the legend, placed at (x, y).
type legendEntry struct {
	s    *plotSeries
	text string
	x, y int
}

// layoutLegend places the named series left to right below the title,
// wrapping to a new row when one is full. It returns the entries and the
// height they take.
func layoutLegend(series []plotSeries, left, right, top int) ([]legendEntry, int) {
	var entries []legendEntry
	x, y, rows := left, top, 0
	for i := range series {
		s := &series[i]
		if s.name == "" {
			continue
		}
		text := fitText(s.name, right-left-legendSwatch-6)
		w := legendSwatch + 6 + textWidth(text)
		if rows == 0 {
			rows = 1
		} else if x+w > right {
			x, y, rows = left, y+legendRow, rows+1
		}
		entries = append(entries, legendEntry{s: s, text: text, x: x, y: y})
		x += w + 20
	}
	return entries, rows * legendRow
}

// chartLayout is where each part of a chart goes.
type chartLayout struct {
	width, height  int
	plot           image.Rectangle // the frame inside the axes
	legend         []legendEntry
	yScale, xScale pixelScale
	numericX       bool          // false for bar charts, whose X axis is categories
	groupWidth     float64       // bar charts: pixels per category
	xLabelRows     int           // bar charts: 2 when category labels alternate rows
	barLabels      barLabelStyle // bar charts: how values are written
}

// layoutChart measures c's text and places the title, legend, axes and
// plot, and decides the axes' ranges.
func layoutChart(c *Chart, d chartData) (chartLayout, error) {
	l := chartLayout{width: c.Width, height: c.Height, xLabelRows: 1}
	if l.width == 0 {
		l.width = defaultChartWidth
	}
	if l.height == 0 {
		l.height = defaultChartHeight
	}
	empty := d.points == 0
	l.numericX = c.Kind != BarChart && !empty

	// Top down: title, legend, then the plot.
	top := margin
	if c.Title != "" {
		top += lineHeight + 10
	}
	var legendHeight int
	l.legend, legendHeight = layoutLegend(d.series, margin+4, l.width-margin-4, top)
	if legendHeight > 0 {
		top += legendHeight + 6
	}
	top += lineHeight/2 + 2 // room for the top Y tick label

	// The Y axis covers every drawable value and every guide, so nothing
	// is drawn outside the frame.
	var yAxis, xAxis axis
	if !empty {
		var ys, xs []float64
		for _, s := range d.series {
			for _, p := range s.points {
				ys = append(ys, p.Y)
				xs = append(xs, p.X)
			}
		}
		for _, g := range d.guides {
			ys = append(ys, g.Y)
		}
		// Bars grow from zero, so their axis always shows it. Other data
		// that is never negative starts at zero too, so that heights
		// compare honestly.
		yAxis = makeAxis(ys, c.LogY, c.Kind == BarChart || slices.Min(ys) >= 0)
		if l.numericX {
			xAxis = makeAxis(xs, c.LogX, false)
		}
	}

	// Left to right: Y label, Y tick labels, plot, right margin.
	left := margin
	if c.YLabel != "" {
		left += lineHeight + 8
	}
	widest := 0
	for _, t := range yAxis.ticks {
		widest = max(widest, textWidth(t.label))
	}
	left += widest + tickLabelGap + tickLength
	right := l.width - margin - 8
	if n := len(xAxis.ticks); n > 0 {
		// The last X tick is innerPad inside the frame, and its label is
		// centred on it; keep the label within the image.
		right = min(right, l.width-margin-textWidth(xAxis.ticks[n-1].label)/2+innerPad)
	}

	// Bottom up: X label, then X tick labels, which for bars may alternate
	// between two rows.
	bottom := l.height - margin
	if c.XLabel != "" {
		bottom -= lineHeight + 8
	}
	if c.Kind == BarChart && len(d.categories) > 0 {
		l.groupWidth = float64(right-left) / float64(len(d.categories))
		for _, cat := range d.categories {
			if float64(textWidth(cat)) > l.groupWidth-4 {
				l.xLabelRows = 2
			}
		}
	}
	bottom -= l.xLabelRows*(lineHeight+2) + tickLabelGap + tickLength
	l.plot = image.Rect(left, top, right, bottom)
	if l.plot.Dx() < 50 || l.plot.Dy() < 50 {
		return chartLayout{}, fmt.Errorf("chart %dx%d leaves no room to plot after its labels and legend", l.width, l.height)
	}

	// Markers keep clear of the frame. Bars stand on the X axis and carry
	// their values above them.
	topPad, bottomPad := innerPad, innerPad
	if c.Kind == BarChart {
		bottomPad = 0
		if !empty {
			l.barLabels, topPad = chooseBarLabels(d, l.groupWidth, l.plot.Dy())
		}
	}
	l.yScale = pixelScale{axis: yAxis, from: l.plot.Max.Y - 1 - bottomPad, to: l.plot.Min.Y + topPad}
	l.xScale = pixelScale{axis: xAxis, from: l.plot.Min.X + innerPad, to: l.plot.Max.X - 1 - innerPad}
	return l, nil
}

// renderChart draws c and also returns its plot area, the frame inside the
// axes where data is drawn.
func renderChart(c *Chart) (*image.RGBA, image.Rectangle, error) {
	d, err := prepare(c)
	if err != nil {
		return nil, image.Rectangle{}, err
	}
	l, err := layoutChart(c, d)
	if err != nil {
		return nil, image.Rectangle{}, err
	}
	cv := newCanvas(l.width, l.height)
	plot := l.plot

	// Grid, guide lines, data, then the axes over them.
	if d.points == 0 {
		msg := "no data"
		cv.text(plot.Min.X+(plot.Dx()-textWidth(msg))/2, plot.Min.Y+(plot.Dy()-lineHeight)/2, msg, colorText)
	} else {
		drawGrid(cv, plot, l.yScale, l.xScale, l.numericX)
		for _, g := range d.guides {
			cv.dashedHLine(plot.Min.X, plot.Max.X-1, l.yScale.px(g.Y), colorGuide)
		}
		if c.Kind == BarChart {
			drawBars(cv, d, plot, l.yScale, l.groupWidth, l.barLabels)
		} else {
			drawPoints(cv, d, l.xScale, l.yScale, c.Kind == LineChart)
		}
	}
	cv.vline(plot.Min.X, plot.Min.Y, plot.Max.Y-1, colorAxis)
	cv.hline(plot.Min.X, plot.Max.X-1, plot.Max.Y-1, colorAxis)

	// Then every label.
	if d.points > 0 {
		drawYTicks(cv, plot, l.yScale)
		if l.numericX {
			drawXTicks(cv, plot, l.xScale)
		} else {
			drawCategories(cv, plot, d.categories, l.groupWidth, l.xLabelRows)
		}
		drawGuideLabels(cv, plot, l.yScale, d.guides)
	}
	if c.Title != "" {
		title := fitText(c.Title, l.width-2*margin)
		cv.boldText((l.width-textWidth(title))/2, margin, title, colorText)
	}
	for _, e := range l.legend {
		drawLegendSwatch(cv, e, c.Kind)
		cv.text(e.x+legendSwatch+6, e.y+2, e.text, colorText)
	}
	if c.XLabel != "" {
		label := fitText(c.XLabel, plot.Dx())
		cv.text(plot.Min.X+(plot.Dx()-textWidth(label))/2, l.height-margin-lineHeight, label, colorText)
	}
	if c.YLabel != "" {
		label := fitText(c.YLabel, plot.Dy())
		cv.textUp(margin, plot.Min.Y+(plot.Dy()-textWidth(label))/2, label, colorText)
	}
	return cv.img, plot, nil
}

// drawPoints draws line and scatter series: markers on every point, joined
// in order of X for lines.
func drawPoints(cv *canvas, d chartData, xScale, yScale pixelScale, join bool) {
	for _, s := range d.series {
		if join {
			for i := 1; i < len(s.points); i++ {
				a, b := s.points[i-1], s.points[i]
				// The line is two pixels thick from its start; step back
				// one so it runs through the markers' centres.
				cv.line(xScale.px(a.X)-1, yScale.px(a.Y)-1, xScale.px(b.X)-1, yScale.px(b.Y)-1, s.color)
			}
		}
		for _, p := range s.points {
			cv.marker(xScale.px(p.X), yScale.px(p.Y), markerRadius, s.shape, s.color)
		}
	}
}

// drawGuideLabels writes each guide's label at the left end of its line,
// on a white box so that data behind it does not garble it.
func drawGuideLabels(cv *canvas, plot image.Rectangle, yScale pixelScale, guides []Guide) {
	for _, g := range guides {
		if g.Label == "" {
			continue
		}
		label := fitText(g.Label, plot.Dx()-16)
		// Above its line, unless that would leave the frame.
		gy := yScale.px(g.Y)
		box := image.Rect(plot.Min.X+6, gy-lineHeight-3, plot.Min.X+10+textWidth(label), gy-1)
		if box.Min.Y <= plot.Min.Y {
			box = box.Add(image.Pt(0, lineHeight+6))
		}
		cv.fill(box, colorBackground)
		cv.text(box.Min.X+2, box.Min.Y+1, label, colorGuide)
	}
}

func drawGrid(cv *canvas, plot image.Rectangle, yScale, xScale pixelScale, numericX bool) {
	for _, v := range yScale.axis.minor {
		cv.hline(plot.Min.X+1, plot.Max.X-1, yScale.px(v), colorMinorGrid)
	}
	for _, t := range yScale.axis.ticks {
		cv.hline(plot.Min.X+1, plot.Max.X-1, yScale.px(t.v), colorGrid)
	}
	if !numericX {
		return
	}
	for _, v := range xScale.axis.minor {
		cv.vline(xScale.px(v), plot.Min.Y, plot.Max.Y-2, colorMinorGrid)
	}
	for _, t := range xScale.axis.ticks {
		cv.vline(xScale.px(t.v), plot.Min.Y, plot.Max.Y-2, colorGrid)
	}
}

// drawYTicks draws the Y tick marks and labels, skipping a label that would
// touch the one below it.
func drawYTicks(cv *canvas, plot image.Rectangle, s pixelScale) {
	lastY := math.MaxInt
	for _, t := range s.axis.ticks {
		y := s.px(t.v)
		cv.hline(plot.Min.X-tickLength, plot.Min.X-1, y, colorAxis)
		if lastY-y < lineHeight+minLabelGapY {
			continue
		}
		lastY = y
		x := plot.Min.X - tickLength - tickLabelGap - textWidth(t.label)
		cv.text(x, y-lineHeight/2, t.label, colorText)
	}
}

// drawXTicks draws the X tick marks and labels, skipping a label that would
// touch the one before it.
func drawXTicks(cv *canvas, plot image.Rectangle, s pixelScale) {
	lastRight := math.MinInt / 2 // no label yet; halved so the subtraction cannot overflow
	for _, t := range s.axis.ticks {
		x := s.px(t.v)
		cv.vline(x, plot.Max.Y, plot.Max.Y+tickLength-1, colorAxis)
		left := x - textWidth(t.label)/2
		if left-lastRight < minLabelGapX {
			continue
		}
		lastRight = left + textWidth(t.label)
		cv.text(left, plot.Max.Y+tickLength+tickLabelGap, t.label, colorText)
	}
}

// drawCategories writes each bar group's label under it. When labels are
// wider than their groups they alternate between two rows, and are cut to
// fit two groups' width.
func drawCategories(cv *canvas, plot image.Rectangle, categories []string, groupWidth float64, rows int) {
	for i, cat := range categories {
		room := int(groupWidth) - 4
		if rows == 2 {
			room = int(2*groupWidth) - 8
		}
		label := fitText(cat, room)
		centre := plot.Min.X + int(math.Round((float64(i)+0.5)*groupWidth))
		cv.vline(centre, plot.Max.Y, plot.Max.Y+tickLength-1, colorAxis)
		y := plot.Max.Y + tickLength + tickLabelGap
		if rows == 2 && i%2 == 1 {
			y += lineHeight + 2
		}
		cv.text(centre-textWidth(label)/2, y, label, colorText)
	}
}

// barLabelStyle is how a bar chart writes values on its bars.
type barLabelStyle int

const (
	barLabelsNone       barLabelStyle = iota // bars too thin for any text
	barLabelsHorizontal                      // every value fits across its bar
	barLabelsVertical                        // values written upwards
)

// barWidth is the width of one bar when each group holds n of them.
func barWidth(groupWidth float64, n int) int {
	return max(1, int(groupWidth*barGroupFill)/max(1, n))
}

// chooseBarLabels decides how bar values are written and how many pixels
// they need above the tallest bar.
func chooseBarLabels(d chartData, groupWidth float64, plotHeight int) (barLabelStyle, int) {
	bw := barWidth(groupWidth, len(d.series))
	widest := 0
	for _, row := range d.bars {
		for _, b := range row {
			if b.ok {
				widest = max(widest, textWidth(formatValue(b.v)))
			}
		}
	}
	switch {
	case widest <= bw+2:
		return barLabelsHorizontal, lineHeight + barLabelMargin + 2
	case bw >= lineHeight+1 && widest+barLabelMargin+2 <= plotHeight/3:
		return barLabelsVertical, widest + barLabelMargin + 2
	}
	return barLabelsNone, innerPad
}

func drawBars(cv *canvas, d chartData, plot image.Rectangle, yScale pixelScale, groupWidth float64, labels barLabelStyle) {
	n := len(d.series)
	bw := barWidth(groupWidth, n)
	gap := 0
	if bw >= 6 {
		gap = 1 // a white line between neighbouring bars
	}
	// Bars grow from zero, which a linear bar axis always shows; on a log
	// axis they grow from its bottom.
	base := 0.0
	if yScale.axis.log {
		base = yScale.axis.lo
	}
	baseY := yScale.px(base)
	for ci := range d.categories {
		centre := float64(plot.Min.X) + (float64(ci)+0.5)*groupWidth
		left := int(math.Round(centre)) - n*bw/2
		for si, row := range d.bars {
			b := row[ci]
			if !b.ok {
				continue
			}
			x0 := left + si*bw
			valueY := yScale.px(b.v)
			bar := image.Rect(x0, min(valueY, baseY), x0+bw-gap, max(valueY, baseY)+1)
			cv.fill(bar, d.series[si].color)
			drawBarLabel(cv, labels, formatValue(b.v), x0+(bw-gap)/2, valueY, b.v < base)
		}
	}
}

// drawBarLabel writes a bar's value beyond its end: above a bar that grows
// up from the base line, below one that grows down.
func drawBarLabel(cv *canvas, style barLabelStyle, text string, centreX, endY int, downward bool) {
	tw := textWidth(text)
	switch style {
	case barLabelsHorizontal:
		y := endY - barLabelMargin - lineHeight
		if downward {
			y = endY + barLabelMargin
		}
		cv.text(centreX-tw/2, y, text, colorText)
	case barLabelsVertical:
		y := endY - barLabelMargin - tw
		if downward {
			y = endY + barLabelMargin
		}
		cv.textUp(centreX-lineHeight/2, y, text, colorText)
	}
}

func drawLegendSwatch(cv *canvas, e legendEntry, kind ChartKind) {
	midY := e.y + legendRow/2
	switch kind {
	case BarChart:
		cv.fill(image.Rect(e.x+4, midY-6, e.x+legendSwatch-4, midY+5), e.s.color)
	case LineChart:
		cv.fill(image.Rect(e.x, midY-1, e.x+legendSwatch, midY+1), e.s.color)
		cv.marker(e.x+legendSwatch/2, midY, markerRadius, e.s.shape, e.s.color)
	default:
		cv.marker(e.x+legendSwatch/2, midY, markerRadius, e.s.shape, e.s.color)
	}
}
