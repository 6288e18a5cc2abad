package dataplane

import (
	"context"
	"errors"
	"net/http"
	"testing"
	"time"
)

func TestBackoffDelayIsCappedExponentialWithJitter(t *testing.T) {
	top := Backoff{Base: time.Second, Cap: 10 * time.Second, Jitter: maxJitter}
	bottom := Backoff{Base: time.Second, Cap: 10 * time.Second, Jitter: func(int64) int64 { return 0 }}
	wantTop := []time.Duration{1, 2, 4, 8, 10, 10, 10}
	for i, w := range wantTop {
		n := i + 1
		if got := top.Delay(n); got != w*time.Second {
			t.Errorf("max jitter Delay(%d) = %v, want %v", n, got, w*time.Second)
		}
		if got := bottom.Delay(n); got != w*time.Second/2 {
			t.Errorf("min jitter Delay(%d) = %v, want %v", n, got, w*time.Second/2)
		}
	}
	if got := top.Delay(1000); got != 10*time.Second {
		t.Errorf("huge attempt: %v", got)
	}
	// Random jitter stays within [ceiling/2, ceiling].
	r := Backoff{Base: 100 * time.Millisecond, Cap: time.Second}
	for n := 1; n <= 8; n++ {
		c := r.ceiling(n)
		for range 50 {
			if d := r.Delay(n); d < c/2 || d > c {
				t.Fatalf("Delay(%d) = %v outside [%v, %v]", n, d, c/2, c)
			}
		}
	}
	if d := (Backoff{}).Delay(3); d != 0 {
		t.Errorf("zero base: %v", d)
	}
	if d := (Backoff{Base: 2 * time.Second, Cap: time.Second, Jitter: maxJitter}).Delay(3); d != 2*time.Second {
		t.Errorf("cap below base uses base: %v", d)
	}
}

func TestParseRetryAfter(t *testing.T) {
	now := time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)
	cases := []struct {
		in   string
		want time.Duration
		ok   bool
	}{
		{"1", time.Second, true},
		{" 120 ", 2 * time.Minute, true},
		{"0", 0, true},
		{now.Add(30 * time.Second).Format(http.TimeFormat), 30 * time.Second, true},
		{now.Add(-time.Hour).Format(http.TimeFormat), 0, true},
		{"999999999999", 24 * time.Hour, true},
		{"", 0, false},
		{"-1", 0, false},
		{"soon", 0, false},
	}
	for _, tc := range cases {
		got, ok := parseRetryAfter(tc.in, now)
		if got != tc.want || ok != tc.ok {
			t.Errorf("parseRetryAfter(%q) = %v, %v; want %v, %v", tc.in, got, ok, tc.want, tc.ok)
		}
	}
}

func TestRealClockSleepStopsOnCancel(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := (RealClock{}).Sleep(ctx, time.Hour); !errors.Is(err, context.Canceled) {
		t.Fatalf("Sleep on a cancelled context = %v", err)
	}
	if err := (RealClock{}).Sleep(context.Background(), time.Nanosecond); err != nil {
		t.Fatal(err)
	}
	if err := (RealClock{}).Sleep(context.Background(), 0); err != nil {
		t.Fatal(err)
	}
}
