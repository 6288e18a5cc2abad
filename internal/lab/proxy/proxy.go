// Package proxy is the lab's service proxy and load balancer. It runs in
// the lab process with every socket created inside the node namespace:
// ClusterIPs, NodePorts and LoadBalancer addresses are userspace listeners
// there (the service and pool ranges are local routes inside that namespace
// only) that forward to ready endpoints from EndpointSlices. LoadBalancer
// Services get addresses from the lab pool, and each of their ports is also
// forwarded from 127.0.0.1 on the host, which is how the host reaches lab
// traffic without ever sending to a non-loopback address.
package proxy

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"sort"
	"strconv"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	corelisters "k8s.io/client-go/listers/core/v1"
	discoverylisters "k8s.io/client-go/listers/discovery/v1"
	"k8s.io/client-go/tools/cache"

	"github.com/drawbridge-dev/drawbridge/internal/lab/netns"
)

// Options configure the proxy.
type Options struct {
	Client kubernetes.Interface
	NodeNS netns.NS
	// NodeIP is where NodePorts listen.
	NodeIP string
	// ServiceCIDR and LBPool are made local inside the node namespace.
	ServiceCIDR string
	LBPool      string
	// APIServer is the host address of the apiserver ("127.0.0.1:port"):
	// the `kubernetes` Service forwards there.
	APIServer string
	// OnForward is told about each host forward that opens or closes.
	OnForward func(f Forward, open bool)
	Log       func(format string, args ...any)
}

// Forward is a host port that reaches one LoadBalancer Service port.
type Forward struct {
	Namespace, Service string
	Port               int32
	Protocol           corev1.Protocol
	LoadBalancerIP     string
	// HostAddr is 127.0.0.1:<port> on the host.
	HostAddr string
	// hostPortHint is the port tried first on the host: the Service's
	// NodePort, so that addresses stay the same across lab restarts.
	hostPortHint int32
}

type frontendKey struct {
	ip    string
	port  int32
	proto corev1.Protocol
}

type target struct {
	service  string // namespace/name
	portName string
}

// Proxy is a running service proxy.
type Proxy struct {
	opts     Options
	ctx      context.Context
	services corelisters.ServiceLister
	slices   discoverylisters.EndpointSliceLister

	mu        sync.Mutex
	frontends map[frontendKey]*frontend
	forwards  map[frontendKey]*hostForward // keyed by the LB frontend they reach
	next      map[string]int               // round-robin position per service port
	kick      chan struct{}
	// refused remembers, per Service, the loadBalancerIP last refused and
	// why, so the refusal is logged once rather than on every resync. Only
	// the reconcile loop touches it.
	refused map[string]string
}

// New prepares a proxy.
func New(opts Options) *Proxy {
	return &Proxy{
		opts:      opts,
		frontends: map[frontendKey]*frontend{},
		forwards:  map[frontendKey]*hostForward{},
		next:      map[string]int{},
		kick:      make(chan struct{}, 1),
		refused:   map[string]string{},
	}
}

// Run makes the service ranges local in the node namespace, then keeps
// listeners and load-balancer addresses in line with Services until ctx
// ends, when everything is closed.
func (p *Proxy) Run(ctx context.Context, ready chan<- struct{}) error {
	p.ctx = ctx
	for _, cidr := range []string{p.opts.ServiceCIDR, p.opts.LBPool} {
		if err := p.opts.NodeNS.IP(ctx, "route", "replace", "local", cidr, "dev", "lo"); err != nil {
			return fmt.Errorf("make %s local in the node namespace: %w", cidr, err)
		}
	}
	factory := informers.NewSharedInformerFactory(p.opts.Client, 0)
	svcInf := factory.Core().V1().Services()
	sliceInf := factory.Discovery().V1().EndpointSlices()
	p.services, p.slices = svcInf.Lister(), sliceInf.Lister()
	handler := cache.ResourceEventHandlerFuncs{
		AddFunc:    func(any) { p.trigger() },
		UpdateFunc: func(any, any) { p.trigger() },
		DeleteFunc: func(any) { p.trigger() },
	}
	if _, err := svcInf.Informer().AddEventHandler(handler); err != nil {
		return err
	}
	// Endpoints are read at connection time; slices need no reconcile.
	_ = sliceInf.Informer()
	factory.Start(ctx.Done())
	if !cache.WaitForCacheSync(ctx.Done(), svcInf.Informer().HasSynced, sliceInf.Informer().HasSynced) {
		return ctx.Err()
	}
	p.reconcile()
	if ready != nil {
		close(ready)
	}
	resync := time.NewTicker(5 * time.Second)
	defer resync.Stop()
	for {
		select {
		case <-ctx.Done():
			p.closeAll()
			factory.Shutdown()
			return nil
		case <-p.kick:
			time.Sleep(20 * time.Millisecond)
		case <-resync.C:
		}
		p.reconcile()
	}
}

func (p *Proxy) trigger() {
	select {
	case p.kick <- struct{}{}:
	default:
	}
}

// Forwards lists the open host forwards, sorted.
func (p *Proxy) Forwards() []Forward {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := make([]Forward, 0, len(p.forwards))
	for _, f := range p.forwards {
		out = append(out, f.info)
	}
	sort.Slice(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if a.Namespace+"/"+a.Service != b.Namespace+"/"+b.Service {
			return a.Namespace+"/"+a.Service < b.Namespace+"/"+b.Service
		}
		if a.Port != b.Port {
			return a.Port < b.Port
		}
		return a.Protocol < b.Protocol
	})
	return out
}

// HostAddr is the host address forwarded to a LoadBalancer Service port.
func (p *Proxy) HostAddr(namespace, service string, port int32, proto corev1.Protocol) (string, bool) {
	for _, f := range p.Forwards() {
		if f.Namespace == namespace && f.Service == service && f.Port == port && f.Protocol == proto {
			return f.HostAddr, true
		}
	}
	return "", false
}

func (p *Proxy) reconcile() {
	services, err := p.services.List(labels.Everything())
	if err != nil {
		return
	}
	p.assignLoadBalancers(services)
	want := map[frontendKey]target{}
	lbPorts := map[frontendKey]Forward{}
	for _, svc := range services {
		key := svc.Namespace + "/" + svc.Name
		for _, sp := range svc.Spec.Ports {
			proto := sp.Protocol
			if proto == "" {
				proto = corev1.ProtocolTCP
			}
			if proto != corev1.ProtocolTCP && proto != corev1.ProtocolUDP {
				continue
			}
			t := target{service: key, portName: sp.Name}
			if ip := svc.Spec.ClusterIP; ip != "" && ip != corev1.ClusterIPNone {
				want[frontendKey{ip, sp.Port, proto}] = t
			}
			if sp.NodePort != 0 {
				want[frontendKey{p.opts.NodeIP, sp.NodePort, proto}] = t
			}
			if svc.Spec.Type == corev1.ServiceTypeLoadBalancer {
				for _, ing := range svc.Status.LoadBalancer.Ingress {
					if ing.IP == "" {
						continue
					}
					fk := frontendKey{ing.IP, sp.Port, proto}
					want[fk] = t
					lbPorts[fk] = Forward{Namespace: svc.Namespace, Service: svc.Name, Port: sp.Port, Protocol: proto, LoadBalancerIP: ing.IP, hostPortHint: sp.NodePort}
				}
			}
		}
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	for k, f := range p.frontends {
		if t, ok := want[k]; !ok {
			f.close()
			delete(p.frontends, k)
		} else {
			f.setTarget(t)
		}
	}
	for k, t := range want {
		if _, ok := p.frontends[k]; ok {
			continue
		}
		f, err := p.listen(k, t)
		if err != nil {
			p.opts.Log("service proxy: listen on %s:%d/%s for %s: %v", k.ip, k.port, k.proto, t.service, err)
			continue
		}
		p.frontends[k] = f
	}
	for k, fw := range p.forwards {
		if want, ok := lbPorts[k]; !ok || want.Namespace != fw.info.Namespace || want.Service != fw.info.Service {
			fw.close()
			delete(p.forwards, k)
			if p.opts.OnForward != nil {
				p.opts.OnForward(fw.info, false)
			}
		}
	}
	for k, info := range lbPorts {
		if _, ok := p.forwards[k]; ok {
			continue
		}
		fw, err := p.openForward(k, info)
		if err != nil {
			p.opts.Log("host forward for %s/%s port %d/%s: %v", info.Namespace, info.Service, info.Port, info.Protocol, err)
			continue
		}
		p.forwards[k] = fw
		if p.opts.OnForward != nil {
			p.opts.OnForward(fw.info, true)
		}
	}
}

func (p *Proxy) closeAll() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for k, f := range p.frontends {
		f.close()
		delete(p.frontends, k)
	}
	for k, f := range p.forwards {
		f.close()
		delete(p.forwards, k)
	}
}

// assignLoadBalancers gives LoadBalancer Services their addresses, the way a
// cloud or MetalLB controller would. A Service that asks for an address with
// spec.loadBalancerIP gets exactly that one when it is inside the pool and
// free, replacing any address it had; one it cannot have (outside the pool,
// taken by another Service, not an IP) leaves the Service without an address,
// because keeping the old one would serve the Service at an address it did
// not ask for. Every other Service without an address gets the lowest free
// pool address that no Service asks for.
func (p *Proxy) assignLoadBalancers(services []*corev1.Service) {
	pool, err := netip.ParsePrefix(p.opts.LBPool)
	if err != nil {
		p.opts.Log("load balancer pool %q: %v", p.opts.LBPool, err)
		return
	}
	pool = pool.Masked()
	// inPool leaves out the network and broadcast addresses of the pool.
	inPool := func(a netip.Addr) bool {
		return pool.Contains(a) && a != pool.Addr() && pool.Contains(a.Next())
	}
	owner := map[string]string{}     // assigned address -> namespace/name
	requested := map[string]string{} // spec.loadBalancerIP -> namespace/name
	sort.Slice(services, func(i, j int) bool { return services[i].CreationTimestamp.Before(&services[j].CreationTimestamp) })
	for _, svc := range services {
		key := svc.Namespace + "/" + svc.Name
		for _, ing := range svc.Status.LoadBalancer.Ingress {
			owner[ing.IP] = key
		}
		if ours(svc) && svc.Spec.LoadBalancerIP != "" {
			if _, taken := requested[svc.Spec.LoadBalancerIP]; !taken {
				requested[svc.Spec.LoadBalancerIP] = key
			}
		}
	}
	seen := map[string]bool{}
	for _, svc := range services {
		if !ours(svc) {
			continue
		}
		key := svc.Namespace + "/" + svc.Name
		seen[key] = true
		current := svc.Status.LoadBalancer.Ingress
		if want := svc.Spec.LoadBalancerIP; want != "" {
			if len(current) == 1 && current[0].IP == want {
				delete(p.refused, key)
				continue
			}
			addr, err := netip.ParseAddr(want)
			var why string
			switch {
			case err != nil:
				why = "it is not an IP address"
			case !inPool(addr):
				why = fmt.Sprintf("it is outside the pool %s", pool)
			case owner[want] != "" && owner[want] != key:
				why = fmt.Sprintf("it is assigned to %s", owner[want])
			}
			if why != "" {
				if p.refused[key] != want+why {
					p.refused[key] = want + why
					p.opts.Log("load balancer: %s asks for %s, but %s; it stays without an address", key, want, why)
				}
				if len(current) > 0 {
					for _, ing := range current {
						delete(owner, ing.IP)
					}
					p.setIngress(svc, "")
				}
				continue
			}
			delete(p.refused, key)
			for _, ing := range current {
				delete(owner, ing.IP)
			}
			owner[want] = key
			p.setIngress(svc, want)
			continue
		}
		if len(current) > 0 {
			continue
		}
		var ip netip.Addr
		for a := pool.Addr().Next(); inPool(a); a = a.Next() {
			if owner[a.String()] == "" && requested[a.String()] == "" {
				ip = a
				break
			}
		}
		if !ip.IsValid() {
			p.opts.Log("load balancer pool %s is exhausted; %s stays pending", p.opts.LBPool, key)
			return
		}
		owner[ip.String()] = key
		p.setIngress(svc, ip.String())
	}
	for key := range p.refused {
		if !seen[key] {
			delete(p.refused, key)
		}
	}
}

// ours tells the LoadBalancer Services the lab's allocator serves: those
// without a loadBalancerClass, which names another controller.
func ours(svc *corev1.Service) bool {
	return svc.Spec.Type == corev1.ServiceTypeLoadBalancer && svc.Spec.LoadBalancerClass == nil
}

// setIngress writes ip as the Service's only load balancer address, or no
// address when ip is empty.
func (p *Proxy) setIngress(svc *corev1.Service, ip string) {
	next := svc.DeepCopy()
	next.Status.LoadBalancer.Ingress = nil
	if ip != "" {
		vip := corev1.LoadBalancerIPModeVIP
		next.Status.LoadBalancer.Ingress = []corev1.LoadBalancerIngress{{IP: ip, IPMode: &vip}}
	}
	if _, err := p.opts.Client.CoreV1().Services(svc.Namespace).UpdateStatus(p.ctx, next, metav1.UpdateOptions{}); err != nil {
		p.opts.Log("set load balancer address of %s/%s to %q: %v", svc.Namespace, svc.Name, ip, err)
		return
	}
	if ip == "" {
		p.opts.Log("load balancer: %s/%s has no address", svc.Namespace, svc.Name)
	} else {
		p.opts.Log("load balancer: %s/%s gets %s", svc.Namespace, svc.Name, ip)
	}
}

// backends returns the ready endpoints of a service port as host:port.
// The `kubernetes` Service has no endpoints in the lab (the apiserver's
// own address is loopback): it goes to the apiserver on the host.
func (p *Proxy) backends(t target, proto corev1.Protocol) (addrs []string, viaHost bool) {
	if t.service == "default/kubernetes" {
		return []string{p.opts.APIServer}, true
	}
	ns, name := splitKey(t.service)
	sel := labels.SelectorFromSet(labels.Set{discoveryv1.LabelServiceName: name})
	slices, err := p.slices.EndpointSlices(ns).List(sel)
	if err != nil {
		return nil, false
	}
	seen := map[string]bool{}
	for _, s := range slices {
		if s.AddressType != discoveryv1.AddressTypeIPv4 {
			continue
		}
		var port int32
		for _, sp := range s.Ports {
			if sp.Port != nil && ptrString(sp.Name) == t.portName && (sp.Protocol == nil || *sp.Protocol == proto) {
				port = *sp.Port
			}
		}
		if port == 0 {
			continue
		}
		for _, ep := range s.Endpoints {
			if ep.Conditions.Ready != nil && !*ep.Conditions.Ready {
				continue
			}
			for _, a := range ep.Addresses {
				hp := net.JoinHostPort(a, strconv.Itoa(int(port)))
				if !seen[hp] {
					seen[hp] = true
					addrs = append(addrs, hp)
				}
			}
		}
	}
	sort.Strings(addrs)
	return addrs, false
}

// pick chooses the next backend round-robin.
func (p *Proxy) pick(t target, proto corev1.Protocol) (string, bool, error) {
	addrs, viaHost := p.backends(t, proto)
	if len(addrs) == 0 {
		return "", false, fmt.Errorf("service %s port %q has no ready endpoints", t.service, t.portName)
	}
	p.mu.Lock()
	key := t.service + "/" + t.portName + "/" + string(proto)
	i := p.next[key] % len(addrs)
	p.next[key] = i + 1
	p.mu.Unlock()
	return addrs[i], viaHost, nil
}

// dialBackend connects to a backend from the node namespace, or from the
// host for the apiserver on 127.0.0.1.
func (p *Proxy) dialBackend(ctx context.Context, network, addr string, viaHost bool) (net.Conn, error) {
	if viaHost {
		var d net.Dialer
		return d.DialContext(ctx, network, addr)
	}
	return p.opts.NodeNS.DialContext(ctx, network, addr)
}

func splitKey(k string) (string, string) {
	for i := 0; i < len(k); i++ {
		if k[i] == '/' {
			return k[:i], k[i+1:]
		}
	}
	return "", k
}

func ptrString(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}
