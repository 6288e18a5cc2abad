package netpol

import (
	"context"
	"fmt"
	"net/netip"
	"strings"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	corelisters "k8s.io/client-go/listers/core/v1"
	networkinglisters "k8s.io/client-go/listers/networking/v1"
	"k8s.io/client-go/tools/cache"

	"github.com/drawbridge-dev/drawbridge/internal/lab/netns"
)

// Options configure an Enforcer.
type Options struct {
	// NodeName is the node whose pods are attached: a pod bound to it that
	// is not attached has no network, so it is nobody's peer.
	NodeName string
	// Apply writes a ruleset into a pod's network namespace; nil loads it
	// with nft (netns.NS.Nft).
	Apply func(ctx context.Context, ns netns.NS, ruleset string) error
	// Log gets a line for every ruleset change and failure.
	Log func(format string, args ...any)
	// Debounce is how long a change waits for more before the rulesets are
	// recomputed (default 50ms).
	Debounce time.Duration
}

// Enforcer keeps the ruleset of every attached pod in step with the
// NetworkPolicies, Pods and Namespaces of the cluster: any change
// recomputes every attached pod's ruleset, and those that differ from what
// the pod's namespace holds are written again.
type Enforcer struct {
	opts       Options
	client     kubernetes.Interface
	pods       corelisters.PodLister
	namespaces corelisters.NamespaceLister
	policies   networkinglisters.NetworkPolicyLister
	synced     []cache.InformerSynced

	// syncMu makes syncs one at a time; mu guards targets.
	syncMu  sync.Mutex
	mu      sync.Mutex
	targets map[types.UID]*target
	kick    chan struct{}
}

// target is an attached pod: its network namespace and address on this
// node, and the ruleset its namespace holds.
type target struct {
	pod     *corev1.Pod
	ns      netns.NS
	ip      netip.Addr
	applied string
}

// New registers the informers the enforcer needs (Pods, Namespaces,
// NetworkPolicies) on the factory; start the factory afterwards and wait
// for HasSynced before attaching pods.
func New(client kubernetes.Interface, factory informers.SharedInformerFactory, opts Options) (*Enforcer, error) {
	if opts.Apply == nil {
		opts.Apply = func(ctx context.Context, ns netns.NS, ruleset string) error { return ns.Nft(ctx, ruleset) }
	}
	if opts.Log == nil {
		opts.Log = func(string, ...any) {}
	}
	if opts.Debounce == 0 {
		opts.Debounce = 50 * time.Millisecond
	}
	e := &Enforcer{
		opts: opts, client: client,
		targets: map[types.UID]*target{},
		kick:    make(chan struct{}, 1),
	}
	handler := cache.ResourceEventHandlerFuncs{
		AddFunc:    func(any) { e.Kick() },
		UpdateFunc: func(any, any) { e.Kick() },
		DeleteFunc: func(any) { e.Kick() },
	}
	pods := factory.Core().V1().Pods()
	namespaces := factory.Core().V1().Namespaces()
	policies := factory.Networking().V1().NetworkPolicies()
	for what, inf := range map[string]cache.SharedIndexInformer{
		"pods": pods.Informer(), "namespaces": namespaces.Informer(), "network policies": policies.Informer(),
	} {
		if _, err := inf.AddEventHandler(handler); err != nil {
			return nil, fmt.Errorf("watch %s: %w", what, err)
		}
		e.synced = append(e.synced, inf.HasSynced)
	}
	e.pods, e.namespaces, e.policies = pods.Lister(), namespaces.Lister(), policies.Lister()
	return e, nil
}

// HasSynced is true once the enforcer's informers hold the cluster's state.
func (e *Enforcer) HasSynced() bool {
	for _, s := range e.synced {
		if !s() {
			return false
		}
	}
	return true
}

// Kick asks for a recomputation soon.
func (e *Enforcer) Kick() {
	select {
	case e.kick <- struct{}{}:
	default:
	}
}

// Run recomputes the rulesets after every change (debounced) and every 30
// seconds (which retries a ruleset that failed to load), until ctx ends.
func (e *Enforcer) Run(ctx context.Context) {
	tick := time.NewTicker(30 * time.Second)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-e.kick:
			select {
			case <-ctx.Done():
				return
			case <-time.After(e.opts.Debounce):
			}
		case <-tick.C:
		}
		e.sync(ctx)
	}
}

// Attach starts enforcing for a pod whose network namespace and address
// are set up, and returns once the pod's ruleset is loaded: call it before
// the pod's containers start. Every policy of the pod's namespace that the
// apiserver holds now is in that ruleset.
func (e *Enforcer) Attach(ctx context.Context, pod *corev1.Pod, ns netns.NS, ip netip.Addr) error {
	e.waitForPolicies(ctx, pod.Namespace)
	e.mu.Lock()
	e.targets[pod.UID] = &target{pod: pod.DeepCopy(), ns: ns, ip: ip}
	e.mu.Unlock()
	errs := e.sync(ctx)
	if err := errs[pod.UID]; err != nil {
		e.mu.Lock()
		delete(e.targets, pod.UID)
		e.mu.Unlock()
		return err
	}
	return nil
}

// Detach stops enforcing for a pod whose network goes away; other pods'
// rulesets then no longer count its address. It waits for a sync under way,
// so nothing is written into the namespace once it returns.
func (e *Enforcer) Detach(uid types.UID) {
	e.syncMu.Lock()
	e.mu.Lock()
	delete(e.targets, uid)
	e.mu.Unlock()
	e.syncMu.Unlock()
	e.Kick()
}

// Ruleset returns the ruleset loaded for an attached pod.
func (e *Enforcer) Ruleset(uid types.UID) (string, bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	t, ok := e.targets[uid]
	if !ok {
		return "", false
	}
	return t.applied, true
}

// waitForPolicies waits (up to 5 seconds) until the informer holds every
// NetworkPolicy the apiserver lists in a namespace, so that a pod created
// right after a policy that selects it never starts without it.
func (e *Enforcer) waitForPolicies(ctx context.Context, namespace string) {
	list, err := e.client.NetworkingV1().NetworkPolicies(namespace).List(ctx, metav1.ListOptions{})
	if err != nil {
		e.opts.Log("network policy: list policies of %s: %v", namespace, err)
		return
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		missing := ""
		for _, np := range list.Items {
			cached, err := e.policies.NetworkPolicies(namespace).Get(np.Name)
			if err != nil || cached.UID != np.UID {
				missing = np.Name
				break
			}
		}
		if missing == "" {
			return
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			e.opts.Log("network policy: %s/%s is not in the informer yet; going on without waiting", namespace, missing)
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// state reads the cluster from the informers. Addresses of pods on this
// node come from the attached targets (the node knows them before the
// pod's status says so, and forgets them when the network is gone).
func (e *Enforcer) state(targets map[types.UID]*target) (State, error) {
	var st State
	policies, err := e.policies.List(labels.Everything())
	if err != nil {
		return st, err
	}
	st.Policies = policies
	namespaces, err := e.namespaces.List(labels.Everything())
	if err != nil {
		return st, err
	}
	st.Namespaces = make(map[string]map[string]string, len(namespaces))
	for _, ns := range namespaces {
		st.Namespaces[ns.Name] = ns.Labels
	}
	pods, err := e.pods.List(labels.Everything())
	if err != nil {
		return st, err
	}
	for _, p := range pods {
		peer := Peer{Namespace: p.Namespace, Name: p.Name, Labels: p.Labels}
		switch t, ok := targets[p.UID]; {
		case ok:
			peer.IPs = []netip.Addr{t.ip}
		case p.Spec.NodeName == e.opts.NodeName || p.Spec.HostNetwork:
		case p.Status.Phase == corev1.PodSucceeded || p.Status.Phase == corev1.PodFailed:
		default:
			for _, ip := range p.Status.PodIPs {
				if a, err := netip.ParseAddr(ip.IP); err == nil {
					peer.IPs = append(peer.IPs, a)
				}
			}
		}
		st.Peers = append(st.Peers, peer)
	}
	return st, nil
}

// sync recomputes every attached pod's ruleset and loads those that
// changed; it returns the failures by pod.
func (e *Enforcer) sync(ctx context.Context) map[types.UID]error {
	e.syncMu.Lock()
	defer e.syncMu.Unlock()
	e.mu.Lock()
	targets := make(map[types.UID]*target, len(e.targets))
	for uid, t := range e.targets {
		targets[uid] = t
	}
	e.mu.Unlock()
	errs := map[types.UID]error{}
	st, err := e.state(targets)
	if err != nil {
		for uid := range targets {
			errs[uid] = err
		}
		e.opts.Log("network policy: read the cluster: %v", err)
		return errs
	}
	for uid, t := range targets {
		pod := t.pod
		if cur, err := e.pods.Pods(pod.Namespace).Get(pod.Name); err == nil && cur.UID == uid {
			pod = cur
		}
		plan := Compile(pod, st)
		ruleset := Ruleset(plan)
		e.mu.Lock()
		applied := t.applied
		e.mu.Unlock()
		if ruleset == applied {
			continue
		}
		applyCtx, cancel := context.WithTimeout(ctx, 20*time.Second)
		err := e.opts.Apply(applyCtx, t.ns, ruleset)
		cancel()
		if err != nil {
			errs[uid] = fmt.Errorf("load the NetworkPolicy ruleset of pod %s/%s: %w", pod.Namespace, pod.Name, err)
			e.opts.Log("network policy: %v", errs[uid])
			continue
		}
		e.mu.Lock()
		t.applied = ruleset
		e.mu.Unlock()
		e.opts.Log("network policy: pod %s/%s: %s", pod.Namespace, pod.Name, summary(plan))
	}
	return errs
}

func summary(p Plan) string {
	if !p.Isolated {
		return "not isolated for ingress"
	}
	return fmt.Sprintf("ingress isolated by %s (%d rules)", strings.Join(p.Policies, ", "), len(p.Rules))
}
