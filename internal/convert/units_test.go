package convert

import (
	"regexp"
	"strconv"
	"testing"
)

// gep2257 is the Gateway API duration format.
var gep2257 = regexp.MustCompile(`^([0-9]{1,5}(h|m|s|ms)){1,4}$`)

func TestMsDurationIsAGatewayDuration(t *testing.T) {
	for ms, want := range map[int]string{
		0: "0s", 1: "1ms", 1500: "1s500ms", 30000: "30s", 120000: "2m", 60000000: "16h40m",
		3723004: "1h2m3s4ms", 1<<31 - 2: "596h31m23s646ms", 1 << 40: "596h31m23s646ms",
	} {
		got := msDuration(ms)
		if got != want {
			t.Errorf("msDuration(%d) = %q, want %q", ms, got, want)
		}
		if !gep2257.MatchString(got) {
			t.Errorf("msDuration(%d) = %q is not a GEP-2257 duration", ms, got)
		}
	}
}

func TestBodySize(t *testing.T) {
	for in, want := range map[string]string{"8m": "8 megabytes", "512k": "512 kilobytes", "1g": "1024 megabytes", "100": "100 bytes"} {
		conf, ok := bodySize(in)
		if !ok || conf == nil {
			t.Fatalf("bodySize(%q) refused", in)
		}
		if got := toString(conf["allowed_payload_size"]) + " " + conf["size_unit"].(string); got != want {
			t.Errorf("bodySize(%q) = %s, want %s", in, got, want)
		}
	}
	if conf, ok := bodySize("0"); !ok || conf != nil {
		t.Errorf("bodySize(0) = %v, %v; want no limit", conf, ok)
	}
	if _, ok := bodySize("8mb"); ok {
		t.Error("bodySize(8mb) accepted; nginx does not take it")
	}
}

func toString(v any) string {
	n, _ := v.(int)
	return strconv.Itoa(n)
}
