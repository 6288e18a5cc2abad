package node

import (
	"fmt"
	"net/netip"
	"sync"
)

// ipam hands out pod addresses from the node's pod CIDR. The first address
// belongs to the node's bridge.
type ipam struct {
	mu     sync.Mutex
	prefix netip.Prefix
	used   map[netip.Addr]bool
	// last is the address handed out most recently. Allocation goes on from
	// there rather than taking the lowest free one, so a released address
	// is reused as late as possible.
	last netip.Addr
}

func newIPAM(cidr string) (*ipam, error) {
	p, err := netip.ParsePrefix(cidr)
	if err != nil {
		return nil, fmt.Errorf("pod CIDR %q: %w", cidr, err)
	}
	return &ipam{prefix: p.Masked(), used: map[netip.Addr]bool{}}, nil
}

// gateway is the node's address on the pod bridge.
func (a *ipam) gateway() netip.Addr { return a.prefix.Addr().Next() }

func (a *ipam) allocate() (netip.Addr, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	first := a.gateway().Next()
	ip := first
	if a.last.IsValid() {
		ip = a.last.Next()
	}
	for range 1 << (32 - a.prefix.Bits()) {
		// Wrap before the broadcast address.
		if !a.prefix.Contains(ip) || !a.prefix.Contains(ip.Next()) {
			ip = first
		}
		if !a.used[ip] {
			a.used[ip] = true
			a.last = ip
			return ip, nil
		}
		ip = ip.Next()
	}
	return netip.Addr{}, fmt.Errorf("pod CIDR %s is exhausted", a.prefix)
}

func (a *ipam) release(ip netip.Addr) {
	a.mu.Lock()
	defer a.mu.Unlock()
	delete(a.used, ip)
}

// index is a small number unique among live pods, used for interface names.
func (a *ipam) index(ip netip.Addr) int {
	b := ip.As4()
	base := a.prefix.Addr().As4()
	return int(b[2]-base[2])<<8 | int(b[3]-base[3])
}

// mac is the pod interface's hardware address, derived from its IP. A
// reused IP then comes back with the same MAC, so neighbour entries that
// other namespaces still hold for it stay right.
func mac(ip netip.Addr) string {
	b := ip.As4()
	return fmt.Sprintf("02:42:%02x:%02x:%02x:%02x", b[0], b[1], b[2], b[3])
}
