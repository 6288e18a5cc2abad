package benchreport

import (
	"slices"
	"testing"
	"time"
)

func TestSummarize(t *testing.T) {
	oneToHundred := make([]float64, 100)
	for i := range oneToHundred {
		oneToHundred[i] = float64(100 - i) // descending, so sorting matters
	}
	tests := []struct {
		name    string
		samples []float64
		want    Distribution
	}{
		{name: "none", samples: nil, want: Distribution{}},
		{
			name:    "one",
			samples: []float64{2.5},
			want:    Distribution{N: 1, Min: 2.5, P50: 2.5, P90: 2.5, P99: 2.5, Max: 2.5, Mean: 2.5},
		},
		{
			name:    "two",
			samples: []float64{4, 2},
			want:    Distribution{N: 2, Min: 2, P50: 2, P90: 4, P99: 4, Max: 4, Mean: 3},
		},
		{
			// Nearest rank of p50 over 10 samples is the 5th, p90 the 9th:
			// 0.9*10 computed in floating point must not become rank 10.
			name:    "ten unsorted",
			samples: []float64{7, 1, 10, 3, 9, 2, 8, 4, 6, 5},
			want:    Distribution{N: 10, Min: 1, P50: 5, P90: 9, P99: 10, Max: 10, Mean: 5.5},
		},
		{
			name:    "hundred descending",
			samples: oneToHundred,
			want:    Distribution{N: 100, Min: 1, P50: 50, P90: 90, P99: 99, Max: 100, Mean: 50.5},
		},
		{
			name:    "negative and repeated",
			samples: []float64{-1, 3, 3, 3, -1},
			want:    Distribution{N: 5, Min: -1, P50: 3, P90: 3, P99: 3, Max: 3, Mean: 1.4},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := slices.Clone(tt.samples)
			got := Summarize(tt.samples)
			if got != tt.want {
				t.Errorf("Summarize(%v) = %+v, want %+v", before, got, tt.want)
			}
			if !slices.Equal(tt.samples, before) {
				t.Errorf("Summarize reordered its input: %v, was %v", tt.samples, before)
			}
		})
	}
}

func TestSecondsAndCells(t *testing.T) {
	got := Seconds([]time.Duration{1500 * time.Millisecond, 250 * time.Microsecond})
	if want := []float64{1.5, 0.00025}; !slices.Equal(got, want) {
		t.Errorf("Seconds = %v, want %v", got, want)
	}
	d := Summarize([]float64{0.312, 1.24})
	cells := d.Cells(FormatSeconds)
	want := []string{"2", "312 ms", "312 ms", "1.24 s", "1.24 s", "1.24 s", "776 ms"}
	if !slices.Equal(cells, want) {
		t.Errorf("Cells = %q, want %q", cells, want)
	}
	if len(DistributionHeader()) != len(cells) {
		t.Errorf("header %q does not match cells %q", DistributionHeader(), cells)
	}
}

func TestFormatDuration(t *testing.T) {
	tests := []struct {
		in   time.Duration
		want string
	}{
		{0, "0 ns"},
		{850 * time.Nanosecond, "850 ns"},
		{12500 * time.Nanosecond, "12.5 µs"},
		{999960 * time.Nanosecond, "1.00 ms"},
		{312 * time.Millisecond, "312 ms"},
		{312400 * time.Microsecond, "312 ms"},
		{999600 * time.Microsecond, "1.00 s"},
		{1240 * time.Millisecond, "1.24 s"},
		{1200 * time.Millisecond, "1.20 s"},
		{12340 * time.Millisecond, "12.3 s"},
		{59960 * time.Millisecond, "1m00s"},
		{125 * time.Second, "2m05s"},
		{3599600 * time.Millisecond, "1h00m"},
		{62 * time.Minute, "1h02m"},
		{-1500 * time.Millisecond, "-1.50 s"},
	}
	for _, tt := range tests {
		if got := FormatDuration(tt.in); got != tt.want {
			t.Errorf("FormatDuration(%v) = %q, want %q", tt.in, got, tt.want)
		}
	}
	if got := FormatSeconds(0.0123); got != "12.3 ms" {
		t.Errorf("FormatSeconds(0.0123) = %q, want 12.3 ms", got)
	}
}

func TestFormatBytes(t *testing.T) {
	tests := []struct {
		in   uint64
		want string
	}{
		{0, "0 B"},
		{512, "512 B"},
		{1023, "1023 B"},
		{1536, "1.50 KiB"},
		{118 << 20, "118 MiB"},
		{999 << 20, "999 MiB"},
		{1023 << 20, "1.00 GiB"},
		{24683664 << 10, "23.5 GiB"},
		{1 << 60, "1.00 EiB"},
	}
	for _, tt := range tests {
		if got := FormatBytes(tt.in); got != tt.want {
			t.Errorf("FormatBytes(%d) = %q, want %q", tt.in, got, tt.want)
		}
	}
}
