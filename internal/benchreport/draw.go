package benchreport

import (
	"image"
	"image/color"
	"image/draw"
	"strings"
	"unicode/utf8"

	"golang.org/x/image/font"
	"golang.org/x/image/font/basicfont"
	"golang.org/x/image/math/fixed"
)

// Everything is drawn without anti-aliasing, in a handful of exact colours:
// the images stay small as paletted PNGs, and each series' colour can be
// found pixel for pixel.
var (
	colorBackground = color.RGBA{0xff, 0xff, 0xff, 0xff}
	colorText       = color.RGBA{0x22, 0x22, 0x22, 0xff}
	colorAxis       = color.RGBA{0x44, 0x44, 0x44, 0xff}
	colorGrid       = color.RGBA{0xe3, 0xe3, 0xe3, 0xff}
	colorMinorGrid  = color.RGBA{0xf2, 0xf2, 0xf2, 0xff}
	colorGuide      = color.RGBA{0x70, 0x70, 0x70, 0xff}
)

// palette holds the series colours: the Okabe-Ito colours that stay apart
// for colour-blind readers (minus its yellow, too pale on white, and black,
// the text colour), then brown and olive.
var palette = [...]color.RGBA{
	{0x00, 0x72, 0xb2, 0xff}, // blue
	{0xd5, 0x5e, 0x00, 0xff}, // vermillion
	{0x00, 0x9e, 0x73, 0xff}, // bluish green
	{0xcc, 0x79, 0xa7, 0xff}, // reddish purple
	{0xe6, 0x9f, 0x00, 0xff}, // orange
	{0x56, 0xb4, 0xe9, 0xff}, // sky blue
	{0x8c, 0x56, 0x4b, 0xff}, // brown
	{0x7f, 0x7f, 0x00, 0xff}, // olive
}

// seriesStyle gives series i its colour and marker. Past the palette's
// length colours repeat, but with a different marker.
func seriesStyle(i int) (color.RGBA, markerShape) {
	n := len(palette)
	return palette[i%n], markerShape((i + i/n) % int(numMarkerShapes))
}

// The font is the 7x13 X11 "fixed" face, which holds printable ASCII only.
const (
	glyphAdvance = 7
	lineHeight   = 13
	glyphAscent  = 11
)

// textWidth is the width in pixels of s as drawText draws it.
func textWidth(s string) int {
	return utf8.RuneCountInString(fontSafe(s)) * glyphAdvance
}

// fontSafe replaces common non-ASCII characters with ASCII look-alikes, so
// "µs" from FormatDuration reads "us" instead of a replacement glyph.
func fontSafe(s string) string {
	return asciiLookalikes.Replace(s)
}

var asciiLookalikes = strings.NewReplacer(
	"µ", "u", "μ", "u", "–", "-", "—", "-", "…", "...", "×", "x",
	"≤", "<=", "≥", ">=", "±", "+/-", "°", "deg", "\t", " ", "\n", " ",
)

// fitText shortens s with "..." until it is at most width pixels wide.
func fitText(s string, width int) string {
	s = fontSafe(s)
	if textWidth(s) <= width {
		return s
	}
	runes := []rune(s)
	for n := len(runes) - 1; n > 0; n-- {
		if t := string(runes[:n]) + "..."; textWidth(t) <= width {
			return t
		}
	}
	return ""
}

// canvas is an RGBA image with the few drawing operations charts need.
type canvas struct {
	img *image.RGBA
}

func newCanvas(w, h int) *canvas {
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	draw.Draw(img, img.Bounds(), image.NewUniform(colorBackground), image.Point{}, draw.Src)
	return &canvas{img: img}
}

// set colours one pixel, ignoring points outside the image.
func (c *canvas) set(x, y int, col color.RGBA) {
	if image.Pt(x, y).In(c.img.Rect) {
		c.img.SetRGBA(x, y, col)
	}
}

func (c *canvas) fill(r image.Rectangle, col color.RGBA) {
	draw.Draw(c.img, r.Intersect(c.img.Rect), image.NewUniform(col), image.Point{}, draw.Src)
}

func (c *canvas) hline(x0, x1, y int, col color.RGBA) {
	c.fill(image.Rect(min(x0, x1), y, max(x0, x1)+1, y+1), col)
}

func (c *canvas) vline(x, y0, y1 int, col color.RGBA) {
	c.fill(image.Rect(x, min(y0, y1), x+1, max(y0, y1)+1), col)
}

// dashedHLine draws a horizontal dashed line two pixels thick.
func (c *canvas) dashedHLine(x0, x1, y int, col color.RGBA) {
	const dash, gap = 8, 5
	for x := x0; x <= x1; x += dash + gap {
		c.fill(image.Rect(x, y, min(x+dash, x1+1), y+2), col)
	}
}

// line draws a segment two pixels thick with Bresenham's algorithm.
func (c *canvas) line(x0, y0, x1, y1 int, col color.RGBA) {
	dx, dy := abs(x1-x0), -abs(y1-y0)
	sx, sy := sign(x1-x0), sign(y1-y0)
	e := dx + dy
	for {
		c.fill(image.Rect(x0, y0, x0+2, y0+2), col)
		if x0 == x1 && y0 == y1 {
			return
		}
		if e2 := 2 * e; e2 >= dy {
			e += dy
			x0 += sx
		} else {
			e += dx
			y0 += sy
		}
	}
}

type markerShape int

const (
	markerCircle markerShape = iota
	markerSquare
	markerDiamond
	markerTriangle
	numMarkerShapes
)

// marker draws a filled marker of radius r centred on (x, y).
func (c *canvas) marker(x, y, r int, shape markerShape, col color.RGBA) {
	for dy := -r; dy <= r; dy++ {
		for dx := -r; dx <= r; dx++ {
			var in bool
			switch shape {
			case markerCircle:
				in = dx*dx+dy*dy <= r*r+r/2
			case markerSquare:
				in = abs(dx) < r && abs(dy) < r
			case markerDiamond:
				in = abs(dx)+abs(dy) <= r+1
			case markerTriangle:
				// Apex at the top, base at the bottom: the half-width grows
				// with the distance from the apex.
				in = 2*abs(dx) <= dy+r
			}
			if in {
				c.set(x+dx, y+dy, col)
			}
		}
	}
}

// text draws s with its top-left corner at (x, y).
func (c *canvas) text(x, y int, s string, col color.RGBA) {
	d := font.Drawer{
		Dst:  c.img,
		Src:  image.NewUniform(col),
		Face: basicfont.Face7x13,
		Dot:  fixed.P(x, y+glyphAscent),
	}
	d.DrawString(fontSafe(s))
}

// boldText draws s twice, one pixel apart, for titles.
func (c *canvas) boldText(x, y int, s string, col color.RGBA) {
	c.text(x, y, s, col)
	c.text(x+1, y, s, col)
}

// textUp draws s rotated a quarter turn anticlockwise, reading bottom to
// top, with the top-left corner of its box at (x, y). The box is lineHeight
// wide and textWidth(s) tall.
func (c *canvas) textUp(x, y int, s string, col color.RGBA) {
	w := textWidth(s)
	if w == 0 {
		return
	}
	mask := image.NewAlpha(image.Rect(0, 0, w, lineHeight))
	d := font.Drawer{
		Dst:  mask,
		Src:  image.Opaque,
		Face: basicfont.Face7x13,
		Dot:  fixed.P(0, glyphAscent),
	}
	d.DrawString(fontSafe(s))
	for my := 0; my < lineHeight; my++ {
		for mx := 0; mx < w; mx++ {
			if mask.AlphaAt(mx, my).A >= 0x80 {
				c.set(x+my, y+w-1-mx, col)
			}
		}
	}
}

func abs(n int) int {
	if n < 0 {
		return -n
	}
	return n
}

func sign(n int) int {
	switch {
	case n < 0:
		return -1
	case n > 0:
		return 1
	}
	return 0
}
