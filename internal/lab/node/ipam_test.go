package node

import (
	"net/netip"
	"testing"
)

func TestIPAMReusesLate(t *testing.T) {
	a, err := newIPAM("10.244.0.0/29")
	if err != nil {
		t.Fatal(err)
	}
	if a.gateway().String() != "10.244.0.1" {
		t.Fatalf("gateway = %s", a.gateway())
	}
	var got []string
	for range 5 {
		ip, err := a.allocate()
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, ip.String())
	}
	// .2 to .6: .7 is the broadcast address of the /29.
	want := []string{"10.244.0.2", "10.244.0.3", "10.244.0.4", "10.244.0.5", "10.244.0.6"}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("allocations = %v, want %v", got, want)
		}
	}
	if _, err := a.allocate(); err == nil {
		t.Fatal("allocated from an exhausted range")
	}
	a.release(netip.MustParseAddr("10.244.0.3"))
	a.release(netip.MustParseAddr("10.244.0.5"))
	ip, err := a.allocate()
	if err != nil || ip.String() != "10.244.0.3" {
		t.Fatalf("after wrapping got %s, %v; want 10.244.0.3", ip, err)
	}
	ip, _ = a.allocate()
	if ip.String() != "10.244.0.5" {
		t.Fatalf("next got %s, want 10.244.0.5", ip)
	}
}

func TestMACFollowsIP(t *testing.T) {
	if got := mac(netip.MustParseAddr("10.244.1.7")); got != "02:42:0a:f4:01:07" {
		t.Fatalf("mac = %s", got)
	}
}
