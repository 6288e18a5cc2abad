package benchreport

import (
	"math"
	"slices"
	"strconv"
	"time"
)

// Distribution summarises a set of samples. Durations are summarised as
// seconds (see Seconds), so every field is in the samples' own unit.
type Distribution struct {
	N                             int
	Min, P50, P90, P99, Max, Mean float64
}

// Summarize computes a Distribution of samples without modifying them.
// Percentiles use the nearest-rank method: the p-th percentile is the
// smallest sample such that at least p% of the samples are less than or
// equal to it, so every reported percentile is a value that was measured.
// No samples give the zero Distribution.
func Summarize(samples []float64) Distribution {
	if len(samples) == 0 {
		return Distribution{}
	}
	sorted := slices.Clone(samples)
	slices.Sort(sorted)
	sum := 0.0
	for _, s := range sorted {
		sum += s
	}
	return Distribution{
		N:    len(sorted),
		Min:  sorted[0],
		P50:  nearestRank(sorted, 50),
		P90:  nearestRank(sorted, 90),
		P99:  nearestRank(sorted, 99),
		Max:  sorted[len(sorted)-1],
		Mean: sum / float64(len(sorted)),
	}
}

// nearestRank returns the p-th percentile of sorted, which must not be empty.
func nearestRank(sorted []float64, p int) float64 {
	// Integer arithmetic keeps ranks exact: ceil(p*n/100) in floating point
	// can land one above the true rank (0.9*10 is not exactly 9).
	n := len(sorted)
	rank := (p*n + 99) / 100
	if rank < 1 {
		rank = 1
	}
	return sorted[rank-1]
}

// DistributionHeader is the table header matching Distribution.Cells.
func DistributionHeader() []string {
	return []string{"n", "min", "p50", "p90", "p99", "max", "mean"}
}

// Cells formats d as one table row in the order of DistributionHeader, with
// format applied to every value (for example FormatSeconds).
func (d Distribution) Cells(format func(float64) string) []string {
	return []string{
		strconv.Itoa(d.N),
		format(d.Min), format(d.P50), format(d.P90), format(d.P99), format(d.Max), format(d.Mean),
	}
}

// Seconds converts durations to seconds, the unit Summarize and the charts
// expect for times.
func Seconds(ds []time.Duration) []float64 {
	out := make([]float64, len(ds))
	for i, d := range ds {
		out[i] = d.Seconds()
	}
	return out
}

// FormatDuration renders d in a short human form with three significant
// digits: "850 ns", "12.5 µs", "312 ms", "1.24 s", "2m05s", "1h02m".
func FormatDuration(d time.Duration) string {
	if d < 0 {
		return "-" + FormatDuration(-d)
	}
	if d < time.Microsecond {
		return strconv.FormatInt(int64(d), 10) + " ns"
	}
	if d < 59950*time.Millisecond {
		units := []struct {
			size time.Duration
			name string
		}{{time.Second, "s"}, {time.Millisecond, "ms"}, {time.Microsecond, "µs"}}
		for i, u := range units {
			if d < u.size {
				continue
			}
			v := float64(d) / float64(u.size)
			if i > 0 && v >= 999.5 {
				// Three digits would print "1000 ms"; the larger unit reads better.
				return significant(v/1000) + " " + units[i-1].name
			}
			return significant(v) + " " + u.name
		}
	}
	if r := d.Round(time.Second); r < time.Hour {
		return strconv.Itoa(int(r/time.Minute)) + "m" + twoDigits(int(r%time.Minute/time.Second)) + "s"
	}
	r := d.Round(time.Minute)
	return strconv.Itoa(int(r/time.Hour)) + "h" + twoDigits(int(r%time.Hour/time.Minute)) + "m"
}

// FormatSeconds is FormatDuration for a number of seconds, as found in a
// Distribution of Seconds.
func FormatSeconds(s float64) string {
	if math.IsNaN(s) || math.IsInf(s, 0) {
		return strconv.FormatFloat(s, 'g', -1, 64)
	}
	return FormatDuration(time.Duration(math.Round(s * float64(time.Second))))
}

// FormatBytes renders a byte count with binary units and three significant
// digits: "512 B", "1.50 KiB", "118 MiB", "23.4 GiB".
func FormatBytes(b uint64) string {
	const unit = 1024
	if b < unit {
		return strconv.FormatUint(b, 10) + " B"
	}
	units := []string{"KiB", "MiB", "GiB", "TiB", "PiB", "EiB"}
	v := float64(b) / unit
	i := 0
	// Move up a unit before formatting when rounding to three digits would
	// print "1024 KiB" or more.
	for i < len(units)-1 && v >= 999.5 {
		v /= unit
		i++
	}
	return significant(v) + " " + units[i]
}

// significant formats a positive v with three significant digits, keeping
// trailing zeros so a column of values lines up in precision ("1.20 s").
func significant(v float64) string {
	switch {
	case v >= 99.95:
		return strconv.FormatFloat(v, 'f', 0, 64)
	case v >= 9.995:
		return strconv.FormatFloat(v, 'f', 1, 64)
	default:
		return strconv.FormatFloat(v, 'f', 2, 64)
	}
}

func twoDigits(n int) string {
	if n < 10 {
		return "0" + strconv.Itoa(n)
	}
	return strconv.Itoa(n)
}
