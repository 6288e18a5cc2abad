package monitoring

import (
	"slices"
	"testing"
)

func TestLoadSplitsKongAndOperator(t *testing.T) {
	u, err := Load("../..")
	if err != nil {
		t.Fatal(err)
	}
	if len(u.Kong()) == 0 || len(u.Operator()) == 0 || len(u.Kong())+len(u.Operator()) != len(u.Metrics) {
		t.Errorf("kong %d + operator %d of %d metrics", len(u.Kong()), len(u.Operator()), len(u.Metrics))
	}
	for _, m := range u.Kong() {
		for _, l := range u.OwnLabels(m) {
			if slices.Contains(u.ScrapeLabels, l) {
				t.Errorf("%s: own labels keep scrape label %s", m.Name, l)
			}
		}
	}
}

func TestCandidates(t *testing.T) {
	for name, want := range map[string][]string{
		"kong_request_latency_ms_bucket": {"kong_request_latency_ms_bucket", "kong_request_latency_ms"},
		"workqueue_adds_total":           {"workqueue_adds_total"},
		"x_count":                        {"x_count", "x"},
	} {
		if got := Candidates(name); !slices.Equal(got, want) {
			t.Errorf("Candidates(%s) = %v, want %v", name, got, want)
		}
	}
}
