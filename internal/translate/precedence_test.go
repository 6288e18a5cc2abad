package translate

import "testing"

func TestHostMoreSpecific(t *testing.T) {
	order := []string{"abc.example.com", "*.abc.example.com", "*.example.com", "*.com", ""}
	for i, a := range order {
		for j, b := range order {
			if got, want := hostMoreSpecific(a, b), i < j; got != want {
				t.Errorf("hostMoreSpecific(%q, %q) = %v, want %v", a, b, got, want)
			}
		}
	}
}
