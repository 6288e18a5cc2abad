package node

import (
	"fmt"
	"net"
	"net/netip"
	"sync"
)

// ipam hands out pod addresses from the node's pod CIDR. The first address
// belongs to the node's bridge.
type ipam struct {
	mu     sync.Mutex
	prefix netip.Prefix
	used   map[netip.Addr]bool
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
	for ip := a.gateway().Next(); a.prefix.Contains(ip); ip = ip.Next() {
		if !a.used[ip] && a.prefix.Contains(ip.Next()) { // keep the broadcast address free
			a.used[ip] = true
			return ip, nil
		}
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

func toNetIP(a netip.Addr) net.IP { return net.IP(a.AsSlice()) }
