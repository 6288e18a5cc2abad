// Package netpol enforces the ingress rules of Kubernetes NetworkPolicies in
// the lab. For every pod the simulated node runs, it computes which
// connections the pod admits (Compile, a pure function of the policies, the
// pods and the namespaces) and writes that as one nftables table into the
// pod's own network namespace (Ruleset, also pure), replaced atomically
// whenever an input changes (Enforcer).
//
// Egress rules are not enforced: a policy's Egress part is ignored.
package netpol

import (
	"fmt"
	"net/netip"
	"slices"
	"sort"
	"strings"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
)

// Peer is a pod that can send traffic: where it lives, its labels and its
// current addresses. A pod without addresses selects no source.
type Peer struct {
	Namespace, Name string
	Labels          map[string]string
	IPs             []netip.Addr
}

// State is everything a pod's ingress verdict depends on besides the pod.
type State struct {
	Policies []*networkingv1.NetworkPolicy
	// Namespaces maps a namespace name to its labels. A namespace missing
	// here still carries kubernetes.io/metadata.name, as the apiserver
	// guarantees for every namespace.
	Namespaces map[string]map[string]string
	Peers      []Peer
}

// Plan is the ingress verdict for one pod: either not isolated (everything
// is admitted) or admitted only by Rules. Loopback traffic and replies of
// admitted or outgoing connections are always admitted.
type Plan struct {
	// Pod is namespace/name.
	Pod string
	// Isolated is true when some policy with Ingress in its policy types
	// selects the pod; Policies names them.
	Isolated bool
	Policies []string
	Rules    []Rule
}

// Rule is one ingress rule of one policy, resolved for the pod.
type Rule struct {
	// Policy is namespace/name of the policy and Index the rule's position
	// in its spec.ingress.
	Policy string
	Index  int
	// AnySource is true when the rule has no `from`. Otherwise Addrs are
	// the addresses of the pods its pod and namespace selectors select and
	// Blocks its ipBlocks.
	AnySource bool
	Addrs     []netip.Addr
	Blocks    []Block
	// AnyPort is true when the rule has no `ports`. Otherwise Ports are
	// the ports it names, named ports resolved against the pod's containers;
	// Unresolved says which of them match nothing and why.
	AnyPort    bool
	Ports      []PortRange
	Unresolved []string
}

// Block is an ipBlock: CIDR less the Except ranges.
type Block struct {
	CIDR   netip.Prefix
	Except []netip.Prefix
}

// PortRange is the destination ports From..To of one protocol; From 0 means
// every port of the protocol.
type PortRange struct {
	Protocol corev1.Protocol
	From, To int32
}

// Compile decides which ingress connections a pod admits.
func Compile(pod *corev1.Pod, st State) Plan {
	plan := Plan{Pod: pod.Namespace + "/" + pod.Name}
	policies := slices.Clone(st.Policies)
	sort.Slice(policies, func(i, j int) bool {
		return policies[i].Namespace+"/"+policies[i].Name < policies[j].Namespace+"/"+policies[j].Name
	})
	for _, np := range policies {
		if np.Namespace != pod.Namespace || !hasIngress(np) || !selects(&np.Spec.PodSelector, pod.Labels) {
			continue
		}
		key := np.Namespace + "/" + np.Name
		plan.Isolated = true
		plan.Policies = append(plan.Policies, key)
		for i, in := range np.Spec.Ingress {
			rule := Rule{Policy: key, Index: i, AnySource: len(in.From) == 0, AnyPort: len(in.Ports) == 0}
			for _, peer := range in.From {
				if peer.IPBlock != nil {
					if b, ok := block(peer.IPBlock); ok {
						rule.Blocks = append(rule.Blocks, b)
					}
					continue
				}
				rule.Addrs = append(rule.Addrs, st.selectAddrs(np.Namespace, peer)...)
			}
			rule.Addrs = uniqueAddrs(rule.Addrs)
			for _, p := range in.Ports {
				ranges, unresolved := resolvePort(pod, p)
				for _, r := range ranges {
					if !slices.Contains(rule.Ports, r) {
						rule.Ports = append(rule.Ports, r)
					}
				}
				if unresolved != "" {
					rule.Unresolved = append(rule.Unresolved, unresolved)
				}
			}
			plan.Rules = append(plan.Rules, rule)
		}
	}
	return plan
}

// hasIngress tells whether a policy isolates its pods for ingress. Without
// policyTypes a policy is an ingress policy (the apiserver defaults it so).
func hasIngress(np *networkingv1.NetworkPolicy) bool {
	if len(np.Spec.PolicyTypes) == 0 {
		return true
	}
	return slices.Contains(np.Spec.PolicyTypes, networkingv1.PolicyTypeIngress)
}

// selects applies a label selector; one that does not parse selects
// nothing (the apiserver refuses such selectors).
func selects(sel *metav1.LabelSelector, set map[string]string) bool {
	s, err := metav1.LabelSelectorAsSelector(sel)
	if err != nil {
		return false
	}
	return s.Matches(labels.Set(set))
}

func (st State) namespaceLabels(name string) map[string]string {
	out := map[string]string{}
	for k, v := range st.Namespaces[name] {
		out[k] = v
	}
	out[corev1.LabelMetadataName] = name
	return out
}

// selectAddrs returns the addresses of the pods a peer's selectors select:
// a podSelector alone looks in the policy's namespace, a namespaceSelector
// alone takes every pod of the namespaces it selects, both together take
// the selected pods of the selected namespaces.
func (st State) selectAddrs(policyNS string, peer networkingv1.NetworkPolicyPeer) []netip.Addr {
	if peer.PodSelector == nil && peer.NamespaceSelector == nil {
		return nil
	}
	var out []netip.Addr
	for _, p := range st.Peers {
		if peer.NamespaceSelector == nil {
			if p.Namespace != policyNS {
				continue
			}
		} else if !selects(peer.NamespaceSelector, st.namespaceLabels(p.Namespace)) {
			continue
		}
		if peer.PodSelector != nil && !selects(peer.PodSelector, p.Labels) {
			continue
		}
		out = append(out, p.IPs...)
	}
	return out
}

func block(b *networkingv1.IPBlock) (Block, bool) {
	cidr, err := netip.ParsePrefix(b.CIDR)
	if err != nil {
		return Block{}, false
	}
	out := Block{CIDR: cidr.Masked()}
	for _, e := range b.Except {
		if p, err := netip.ParsePrefix(e); err == nil {
			out.Except = append(out.Except, p.Masked())
		}
	}
	return out, true
}

// resolvePort turns a policy port into port ranges of the pod. A named
// port becomes the number of every container port of that name and
// protocol; a name the pod lacks matches nothing, and the note says so.
func resolvePort(pod *corev1.Pod, p networkingv1.NetworkPolicyPort) ([]PortRange, string) {
	proto := corev1.ProtocolTCP
	if p.Protocol != nil {
		proto = *p.Protocol
	}
	if proto != corev1.ProtocolTCP && proto != corev1.ProtocolUDP && proto != corev1.ProtocolSCTP {
		// The apiserver admits no other protocol; nft would refuse it.
		return nil, fmt.Sprintf("protocol %q matches nothing: only TCP, UDP and SCTP are enforced", proto)
	}
	switch {
	case p.Port == nil:
		return []PortRange{{Protocol: proto}}, ""
	case p.Port.IntValue() > 0:
		to := p.Port.IntVal
		if p.EndPort != nil && *p.EndPort > to {
			to = *p.EndPort
		}
		return []PortRange{{Protocol: proto, From: p.Port.IntVal, To: to}}, ""
	}
	name := p.Port.String()
	var out []PortRange
	for _, c := range append(slices.Clone(pod.Spec.InitContainers), pod.Spec.Containers...) {
		for _, cp := range c.Ports {
			cproto := cp.Protocol
			if cproto == "" {
				cproto = corev1.ProtocolTCP
			}
			if cp.Name == name && cproto == proto {
				out = append(out, PortRange{Protocol: proto, From: cp.ContainerPort, To: cp.ContainerPort})
			}
		}
	}
	if len(out) == 0 {
		return nil, fmt.Sprintf("port %s/%s matches nothing: the pod has no container port of that name", strings.ToLower(string(proto)), name)
	}
	return out, ""
}

func uniqueAddrs(in []netip.Addr) []netip.Addr {
	slices.SortFunc(in, func(a, b netip.Addr) int { return a.Compare(b) })
	return slices.Compact(in)
}

// Allows tells whether the plan admits a new connection (or datagram) from
// src to the pod's port of a protocol; loopback and replies are not asked
// about here. It states what Ruleset makes the kernel do.
func (p Plan) Allows(src netip.Addr, proto corev1.Protocol, port int32) bool {
	if !p.Isolated {
		return true
	}
	for _, r := range p.Rules {
		if r.admitsSource(src) && r.admitsPort(proto, port) {
			return true
		}
	}
	return false
}

func (r Rule) admitsSource(src netip.Addr) bool {
	if r.AnySource || slices.Contains(r.Addrs, src) {
		return true
	}
	for _, b := range r.Blocks {
		if b.CIDR.Contains(src) && !slices.ContainsFunc(b.Except, func(e netip.Prefix) bool { return e.Contains(src) }) {
			return true
		}
	}
	return false
}

func (r Rule) admitsPort(proto corev1.Protocol, port int32) bool {
	if r.AnyPort {
		return true
	}
	for _, pr := range r.Ports {
		if pr.Protocol == proto && (pr.From == 0 || (port >= pr.From && port <= pr.To)) {
			return true
		}
	}
	return false
}
