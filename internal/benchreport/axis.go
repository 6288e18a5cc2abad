package benchreport

import (
	"math"
	"strconv"
)

// axis is the value range one chart axis shows and where it puts ticks.
type axis struct {
	lo, hi float64 // shown range; on a log axis both are positive
	log    bool
	ticks  []tick    // labelled ticks with grid lines, in increasing order
	minor  []float64 // unlabelled grid lines (log axes only)
}

type tick struct {
	v     float64
	label string
}

// frac places v on the axis: 0 at lo, 1 at hi.
func (a axis) frac(v float64) float64 {
	if a.log {
		l, h := math.Log10(a.lo), math.Log10(a.hi)
		return (math.Log10(v) - l) / (h - l)
	}
	return (v - a.lo) / (a.hi - a.lo)
}

// pixelScale maps axis values to pixels: lo to from, hi to to.
type pixelScale struct {
	axis     axis
	from, to int
}

func (s pixelScale) px(v float64) int {
	// The explicit conversion forbids fusing the multiply and add, which
	// some architectures would round differently; charts must not differ
	// by a pixel between machines.
	offset := float64(s.axis.frac(v) * float64(s.to-s.from))
	return s.from + int(math.Round(offset))
}

// targetIntervals is how many tick intervals a linear axis aims for.
const targetIntervals = 6

// linearAxis covers [lo, hi] with ticks at multiples of a 1, 2 or 5 step.
// includeZero stretches the range to 0, as bars and non-negative
// measurements want so that their heights compare honestly.
func linearAxis(lo, hi float64, includeZero bool) axis {
	if includeZero {
		lo, hi = math.Min(lo, 0), math.Max(hi, 0)
	}
	if hi <= lo {
		// One value, or only zeros: give it room. With includeZero this is
		// only reached for zeros, so the padding never crosses zero.
		if lo == 0 {
			hi = 1
		} else {
			pad := math.Abs(lo) * 0.1
			lo, hi = lo-pad, hi+pad
		}
	}
	step, exp := niceStep((hi - lo) / targetIntervals)
	// Tick indices, not accumulated floats, so 0.1+0.2 never prints as
	// 0.30000000000000004 and the end ticks land exactly.
	kLo := int64(math.Floor(lo/step + 1e-9))
	kHi := int64(math.Ceil(hi/step - 1e-9))
	a := axis{lo: float64(kLo) * step, hi: float64(kHi) * step}
	scale, suffix := siScale(math.Max(math.Abs(a.lo), math.Abs(a.hi)))
	decimals := 0
	if e := exp - int(math.Round(math.Log10(scale))); e < 0 {
		decimals = -e
	}
	for k := kLo; k <= kHi; k++ {
		v := float64(k) * step
		label := "0"
		if k != 0 {
			label = strconv.FormatFloat(v/scale, 'f', decimals, 64) + suffix
		}
		a.ticks = append(a.ticks, tick{v: v, label: label})
	}
	return a
}

// niceStep returns the smallest step of the form 1, 2 or 5 times 10^exp
// that is at least raw, and exp.
func niceStep(raw float64) (float64, int) {
	if raw <= 0 || math.IsNaN(raw) || math.IsInf(raw, 0) {
		return 1, 0
	}
	exp := int(math.Floor(math.Log10(raw)))
	for {
		for _, m := range []float64{1, 2, 5} {
			step := m * math.Pow10(exp)
			if step >= raw*(1-1e-9) {
				return step, exp
			}
		}
		exp++
	}
}

// siScale picks a thousands suffix for numbers up to max, so "250000"
// reads "250k". Numbers below 10000 keep all their digits.
func siScale(max float64) (float64, string) {
	switch {
	case max >= 1e9:
		return 1e9, "G"
	case max >= 1e6:
		return 1e6, "M"
	case max >= 1e4:
		return 1e3, "k"
	}
	return 1, ""
}

// maxLabelledDecades is how many decades a log axis labels before it
// labels only every second (third, ...) one.
const maxLabelledDecades = 8

// logAxis covers [lo, hi], both positive, with whole decades. Decades get
// labels; short ranges also label 2 and 5 times each decade, and the other
// multiples get lighter grid lines.
func logAxis(lo, hi float64) axis {
	eLo := int(math.Floor(math.Log10(lo) + 1e-9))
	eHi := int(math.Ceil(math.Log10(hi) - 1e-9))
	if eHi <= eLo {
		eHi = eLo + 1
	}
	decades := eHi - eLo
	every := (decades + maxLabelledDecades - 1) / maxLabelledDecades
	a := axis{lo: math.Pow10(eLo), hi: math.Pow10(eHi), log: true}
	for e := eLo; e <= eHi; e++ {
		p := math.Pow10(e)
		if (e-eLo)%every == 0 {
			a.ticks = append(a.ticks, tick{v: p, label: formatValue(p)})
		}
		if e == eHi || decades > maxLabelledDecades {
			continue
		}
		for m := 2; m <= 9; m++ {
			v := float64(m) * p
			if decades <= 2 && (m == 2 || m == 5) {
				a.ticks = append(a.ticks, tick{v: v, label: formatValue(v)})
			} else {
				a.minor = append(a.minor, v)
			}
		}
	}
	return a
}

// formatValue writes a value with three significant digits, as bar labels
// and log-axis ticks show it: "0.5", "312", "1230", "12.3k", "2M".
func formatValue(v float64) string {
	if v == 0 || math.IsNaN(v) || math.IsInf(v, 0) {
		return strconv.FormatFloat(v, 'g', -1, 64)
	}
	// Round first, so 999999 is scaled as the 1M it prints as.
	r, err := strconv.ParseFloat(strconv.FormatFloat(v, 'g', 3, 64), 64)
	if err != nil {
		r = v
	}
	scale, suffix := siScale(math.Abs(r))
	if s := r / scale; math.Abs(s) >= 100 {
		// 'g' would write 1230 as "1.23e+03".
		return strconv.FormatFloat(s, 'f', 0, 64) + suffix
	}
	return strconv.FormatFloat(r/scale, 'g', 3, 64) + suffix
}
