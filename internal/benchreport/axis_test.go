package benchreport

import (
	"slices"
	"testing"
)

func tickLabels(a axis) []string {
	var out []string
	for _, t := range a.ticks {
		out = append(out, t.label)
	}
	return out
}

func TestLinearAxis(t *testing.T) {
	tests := []struct {
		name        string
		lo, hi      float64
		includeZero bool
		wantLo      float64
		wantHi      float64
		wantLabels  []string
	}{
		{
			name: "seconds from zero", lo: 0.05, hi: 3.4, includeZero: true,
			wantLo: 0, wantHi: 4, wantLabels: []string{"0", "1", "2", "3", "4"},
		},
		{
			name: "fractions", lo: 0.12, hi: 0.29, includeZero: false,
			wantLo: 0.1, wantHi: 0.3, wantLabels: []string{"0.10", "0.15", "0.20", "0.25", "0.30"},
		},
		{
			name: "thousands get k", lo: 10, hi: 10000, includeZero: false,
			wantLo: 0, wantHi: 10000, wantLabels: []string{"0", "2k", "4k", "6k", "8k", "10k"},
		},
		{
			name: "millions with a decimal", lo: 0, hi: 1.1e6, includeZero: true,
			wantLo: 0, wantHi: 1.2e6, wantLabels: []string{"0", "0.2M", "0.4M", "0.6M", "0.8M", "1.0M", "1.2M"},
		},
		{
			name: "negative to positive", lo: -3, hi: 7, includeZero: true,
			wantLo: -4, wantHi: 8, wantLabels: []string{"-4", "-2", "0", "2", "4", "6", "8"},
		},
		{
			name: "a single value", lo: 5, hi: 5, includeZero: false,
			wantLo: 4.4, wantHi: 5.6, wantLabels: []string{"4.4", "4.6", "4.8", "5.0", "5.2", "5.4", "5.6"},
		},
		{
			name: "only zeros", lo: 0, hi: 0, includeZero: true,
			wantLo: 0, wantHi: 1, wantLabels: []string{"0", "0.2", "0.4", "0.6", "0.8", "1.0"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := linearAxis(tt.lo, tt.hi, tt.includeZero)
			// The step is a 1, 2 or 5 step, so the ends compare within a
			// rounding error of the exact values.
			if !near(a.lo, tt.wantLo) || !near(a.hi, tt.wantHi) {
				t.Errorf("range = [%v, %v], want [%v, %v]", a.lo, a.hi, tt.wantLo, tt.wantHi)
			}
			if got := tickLabels(a); !slices.Equal(got, tt.wantLabels) {
				t.Errorf("labels = %q, want %q", got, tt.wantLabels)
			}
			if a.lo > tt.lo || a.hi < tt.hi {
				t.Errorf("range [%v, %v] does not cover the data [%v, %v]", a.lo, a.hi, tt.lo, tt.hi)
			}
		})
	}
}

func near(a, b float64) bool {
	d := a - b
	return d < 1e-9 && d > -1e-9
}

func TestLogAxis(t *testing.T) {
	tests := []struct {
		name       string
		lo, hi     float64
		wantLabels []string
		wantMinor  int
	}{
		{
			name: "five decades", lo: 0.0015, hi: 80,
			wantLabels: []string{"0.001", "0.01", "0.1", "1", "10", "100"},
			wantMinor:  5 * 8,
		},
		{
			// Short ranges also label 2 and 5 so the axis has enough labels.
			name: "within one decade", lo: 3, hi: 7,
			wantLabels: []string{"1", "2", "5", "10"},
			wantMinor:  6,
		},
		{
			name: "twenty decades label every third", lo: 1e-10, hi: 1e10,
			wantLabels: []string{"1e-10", "1e-07", "0.0001", "0.1", "100", "100k", "100M"},
			wantMinor:  0,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := logAxis(tt.lo, tt.hi)
			if got := tickLabels(a); !slices.Equal(got, tt.wantLabels) {
				t.Errorf("labels = %q, want %q", got, tt.wantLabels)
			}
			if len(a.minor) != tt.wantMinor {
				t.Errorf("%d minor grid lines, want %d", len(a.minor), tt.wantMinor)
			}
			if a.lo > tt.lo || a.hi < tt.hi {
				t.Errorf("range [%v, %v] does not cover the data [%v, %v]", a.lo, a.hi, tt.lo, tt.hi)
			}
		})
	}
}

func TestLogScaleSpacesDecadesEvenly(t *testing.T) {
	s := pixelScale{axis: logAxis(0.001, 100), from: 400, to: 0}
	want := []int{400, 320, 240, 160, 80, 0}
	for i, v := range []float64{0.001, 0.01, 0.1, 1, 10, 100} {
		if got := s.px(v); got != want[i] {
			t.Errorf("px(%v) = %d, want %d", v, got, want[i])
		}
	}
}

func TestFormatValue(t *testing.T) {
	tests := []struct {
		in   float64
		want string
	}{
		{0, "0"},
		{0.5, "0.5"},
		{0.000123456, "0.000123"},
		{1.2345, "1.23"},
		{312, "312"},
		{1234, "1230"},
		{9999, "10k"},
		{12345, "12.3k"},
		{999999, "1M"},
		{2.5e9, "2.5G"},
		{-1000, "-1000"},
	}
	for _, tt := range tests {
		if got := formatValue(tt.in); got != tt.want {
			t.Errorf("formatValue(%v) = %q, want %q", tt.in, got, tt.want)
		}
	}
}
