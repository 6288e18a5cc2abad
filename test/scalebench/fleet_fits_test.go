package scalebench

import "testing"

// TestFleetFits checks the fleet's sizing rule on the machines it has to
// serve: this one runs the 100 Gateways asked for, a smaller one fewer,
// and one with less than the headroom available only the first.
func TestFleetFits(t *testing.T) {
	const mib = 1 << 20
	for _, c := range []struct {
		name                string
		requested           int
		kongEach, available uint64
		want                int
	}{
		{"this machine (24 GiB, last run's figures)", 100, 139 * mib, 21612 * mib, 100},
		{"this machine, fewer asked for", 20, 139 * mib, 21612 * mib, 20},
		{"a 16 GiB machine", 100, 139 * mib, 13 << 30, 1 + (11<<30)/(171*mib)},
		{"an 8 GiB machine", 100, 139 * mib, 6 << 30, 1 + (4<<30)/(171*mib)},
		{"less than the headroom available", 100, 139 * mib, 2 << 30, 1},
		{"Kong not measured", 100, 0, 21612 * mib, 1},
	} {
		if got := fleetFits(c.requested, c.kongEach, c.available); got != c.want {
			t.Errorf("%s: fleetFits(%d, %d MiB, %d MiB) = %d, want %d", c.name, c.requested, c.kongEach/mib, c.available/mib, got, c.want)
		}
	}
}
