// Package node is the lab's simulated node. It registers a Node, keeps its
// Lease fresh, binds pending pods to itself and runs them as local
// processes: each pod in its own network namespace with an address on the
// node's bridge, its Secret, ConfigMap and token volumes bind-mounted where
// the pod spec says, probes, restarts and graceful deletion as the kubelet
// does them, and container logs under the lab directory.
package node

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/cache"
	"k8s.io/utils/ptr"

	"github.com/drawbridge-dev/drawbridge/internal/lab/netns"
	"github.com/drawbridge-dev/drawbridge/internal/lab/netpol"
)

// Options configure the node.
type Options struct {
	Name   string
	Client kubernetes.Interface
	// NodeNS is the lab's node namespace holding Bridge; NodeIP is the
	// bridge address, which is also the Node's InternalIP.
	NodeNS netns.NS
	Bridge string
	NodeIP string
	// PodCIDR is where pod addresses come from; its first address is NodeIP.
	PodCIDR string
	// NetnsPrefix names the pods' network namespaces.
	NetnsPrefix string
	// Dir holds one directory per pod: volumes and container logs.
	Dir string
	// InitBinary is the lab binary, whose pod-init subcommand starts containers.
	InitBinary string
	Programs   Programs
	// KubernetesService is the host:port of the `kubernetes` Service.
	KubernetesServiceHost, KubernetesServicePort string
	// Dial dials from inside the node namespace (probes).
	Dial dialFunc
	// LogPort is the 127.0.0.1 port of the container log endpoint, published
	// as the kubelet port; 0 publishes none.
	LogPort int
	Log     func(format string, args ...any)
}

// Node is a running simulated node.
type Node struct {
	opts Options
	ipam *ipam
	ctx  context.Context
	// netpol loads each pod's ingress NetworkPolicy rules into its network
	// namespace before its containers start, and keeps them current.
	netpol *netpol.Enforcer

	mu      sync.Mutex
	pods    map[types.UID]*podRuntime
	created []string // mount targets made on the host, removed at Stop
	// stopping is set when the lab goes away: pods are then only stopped,
	// never started, and their status is no longer written, so that the
	// controllers do not replace pods while the lab tears down.
	stopping bool
}

func (n *Node) isStopping() bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.stopping
}

// New checks the options and prepares the pod CIDR.
func New(opts Options) (*Node, error) {
	a, err := newIPAM(opts.PodCIDR)
	if err != nil {
		return nil, err
	}
	if a.gateway().String() != opts.NodeIP {
		return nil, fmt.Errorf("node IP %s must be the first address of pod CIDR %s", opts.NodeIP, opts.PodCIDR)
	}
	return &Node{opts: opts, ipam: a, pods: map[types.UID]*podRuntime{}}, nil
}

// Run registers the node and runs pods until ctx ends; then it stops every
// pod (Stop) and returns.
func (n *Node) Run(ctx context.Context, ready chan<- struct{}) error {
	n.ctx = ctx
	if err := n.register(ctx); err != nil {
		return err
	}
	go n.heartbeat(ctx)
	factory := informers.NewSharedInformerFactory(n.opts.Client, 0)
	inf := factory.Core().V1().Pods().Informer()
	if _, err := inf.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    func(obj any) { n.sync(obj.(*corev1.Pod)) },
		UpdateFunc: func(_, obj any) { n.sync(obj.(*corev1.Pod)) },
		DeleteFunc: func(obj any) {
			if t, ok := obj.(cache.DeletedFinalStateUnknown); ok {
				obj = t.Obj
			}
			if p, ok := obj.(*corev1.Pod); ok {
				n.gone(p)
			}
		},
	}); err != nil {
		return fmt.Errorf("watch pods: %w", err)
	}
	enforcer, err := netpol.New(n.opts.Client, factory, netpol.Options{NodeName: n.opts.Name, Log: n.opts.Log})
	if err != nil {
		return err
	}
	n.netpol = enforcer
	factory.Start(ctx.Done())
	if !cache.WaitForCacheSync(ctx.Done(), inf.HasSynced, enforcer.HasSynced) {
		return ctx.Err()
	}
	go enforcer.Run(ctx)
	if ready != nil {
		close(ready)
	}
	<-ctx.Done()
	factory.Shutdown()
	return nil
}

// Stop ends every pod fast (the lab is going away, nothing waits for
// graceful deletion) and removes what the node made on the host.
func (n *Node) Stop() {
	n.mu.Lock()
	n.stopping = true
	pods := make([]*podRuntime, 0, len(n.pods))
	for _, r := range n.pods {
		pods = append(pods, r)
	}
	n.mu.Unlock()
	var wg sync.WaitGroup
	for _, r := range pods {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r.terminate(2 * time.Second)
		}()
	}
	wg.Wait()
	n.removeCreated()
}

// PodNetwork returns the network namespace of a pod the node runs, while
// its network is up: a socket made there is the pod's (tests dial from a
// pod this way).
func (n *Node) PodNetwork(uid types.UID) (netns.NS, bool) {
	n.mu.Lock()
	r := n.pods[uid]
	n.mu.Unlock()
	if r == nil {
		return netns.NS{}, false
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.ns, r.netReady && r.ns.Name != ""
}

// PodRuleset returns the NetworkPolicy ruleset loaded into a pod's network
// namespace (nft syntax), while the pod's network is up.
func (n *Node) PodRuleset(uid types.UID) (string, bool) {
	if n.netpol == nil {
		return "", false
	}
	return n.netpol.Ruleset(uid)
}

func (n *Node) register(ctx context.Context) error {
	capacity := corev1.ResourceList{
		corev1.ResourceCPU:    resource.MustParse("8"),
		corev1.ResourceMemory: resource.MustParse("16Gi"),
		corev1.ResourcePods:   resource.MustParse("250"),
	}
	node := &corev1.Node{
		ObjectMeta: metav1.ObjectMeta{Name: n.opts.Name, Labels: map[string]string{
			"kubernetes.io/hostname": n.opts.Name, "kubernetes.io/os": "linux", "kubernetes.io/arch": "amd64",
			"node.drawbridge.dev/lab": "true",
		}},
		Spec: corev1.NodeSpec{PodCIDR: n.opts.PodCIDR, PodCIDRs: []string{n.opts.PodCIDR}},
	}
	cs := n.opts.Client.CoreV1().Nodes()
	created, err := cs.Create(ctx, node, metav1.CreateOptions{})
	if apierrors.IsAlreadyExists(err) {
		created, err = cs.Get(ctx, n.opts.Name, metav1.GetOptions{})
	}
	if err != nil {
		return fmt.Errorf("register node %s: %w", n.opts.Name, err)
	}
	created.Status = n.nodeStatus(capacity)
	if _, err := cs.UpdateStatus(ctx, created, metav1.UpdateOptions{}); err != nil {
		return fmt.Errorf("node %s status: %w", n.opts.Name, err)
	}
	return nil
}

func (n *Node) nodeStatus(capacity corev1.ResourceList) corev1.NodeStatus {
	now := metav1.Now()
	cond := func(t corev1.NodeConditionType, s corev1.ConditionStatus, reason, msg string) corev1.NodeCondition {
		return corev1.NodeCondition{Type: t, Status: s, Reason: reason, Message: msg, LastHeartbeatTime: now, LastTransitionTime: now}
	}
	addresses := []corev1.NodeAddress{{Type: corev1.NodeInternalIP, Address: n.opts.NodeIP}}
	if n.opts.LogPort != 0 {
		// The apiserver reaches a kubelet by its preferred address type,
		// Hostname in the lab: 127.0.0.1 on the host, where the log
		// endpoint listens. No lab traffic goes to a non-loopback address.
		addresses = append(addresses, corev1.NodeAddress{Type: corev1.NodeHostName, Address: "127.0.0.1"})
	}
	return corev1.NodeStatus{
		Capacity: capacity, Allocatable: capacity,
		Conditions: []corev1.NodeCondition{
			cond(corev1.NodeReady, corev1.ConditionTrue, "KubeletReady", "the lab node runs pods as local processes"),
			cond(corev1.NodeMemoryPressure, corev1.ConditionFalse, "KubeletHasSufficientMemory", ""),
			cond(corev1.NodeDiskPressure, corev1.ConditionFalse, "KubeletHasNoDiskPressure", ""),
			cond(corev1.NodePIDPressure, corev1.ConditionFalse, "KubeletHasSufficientPID", ""),
		},
		Addresses:       addresses,
		DaemonEndpoints: corev1.NodeDaemonEndpoints{KubeletEndpoint: corev1.DaemonEndpoint{Port: int32(n.opts.LogPort)}},
		NodeInfo: corev1.NodeSystemInfo{
			KubeletVersion: "v1.36.3-lab", OperatingSystem: "linux", Architecture: "amd64",
			ContainerRuntimeVersion: "lab://processes",
		},
	}
}

// heartbeat renews the node Lease every 10 seconds and the Ready condition
// every minute.
func (n *Node) heartbeat(ctx context.Context) {
	leases := n.opts.Client.CoordinationV1().Leases(corev1.NamespaceNodeLease)
	tick := time.NewTicker(10 * time.Second)
	defer tick.Stop()
	beats := 0
	for {
		now := metav1.NewMicroTime(time.Now())
		lease, err := leases.Get(ctx, n.opts.Name, metav1.GetOptions{})
		switch {
		case apierrors.IsNotFound(err):
			_, err = leases.Create(ctx, &coordinationv1.Lease{
				ObjectMeta: metav1.ObjectMeta{Name: n.opts.Name, Namespace: corev1.NamespaceNodeLease},
				Spec: coordinationv1.LeaseSpec{
					HolderIdentity: ptr.To(n.opts.Name), LeaseDurationSeconds: ptr.To(int32(40)), RenewTime: &now,
				},
			}, metav1.CreateOptions{})
		case err == nil:
			lease.Spec.RenewTime = &now
			_, err = leases.Update(ctx, lease, metav1.UpdateOptions{})
		}
		if err != nil && ctx.Err() == nil {
			n.opts.Log("node lease: %v", err)
		}
		if beats%6 == 5 {
			if node, err := n.opts.Client.CoreV1().Nodes().Get(ctx, n.opts.Name, metav1.GetOptions{}); err == nil {
				node.Status = n.nodeStatus(node.Status.Capacity)
				_, _ = n.opts.Client.CoreV1().Nodes().UpdateStatus(ctx, node, metav1.UpdateOptions{})
			}
		}
		beats++
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

func (n *Node) sync(pod *corev1.Pod) {
	if n.isStopping() {
		return
	}
	if pod.Spec.NodeName == "" {
		if pod.Spec.SchedulerName == "" || pod.Spec.SchedulerName == corev1.DefaultSchedulerName {
			go n.bind(pod)
		}
		return
	}
	if pod.Spec.NodeName != n.opts.Name {
		return
	}
	n.mu.Lock()
	r := n.pods[pod.UID]
	if r == nil {
		if pod.DeletionTimestamp != nil {
			n.mu.Unlock()
			go n.finalDelete(pod)
			return
		}
		if pod.Status.Phase == corev1.PodSucceeded || pod.Status.Phase == corev1.PodFailed {
			n.mu.Unlock()
			return
		}
		r = newPodRuntime(n, pod)
		n.pods[pod.UID] = r
		n.mu.Unlock()
		go r.run()
		return
	}
	n.mu.Unlock()
	r.update(pod)
	if pod.DeletionTimestamp != nil && !r.isTerminating() {
		grace := time.Duration(ptr.Deref(pod.DeletionGracePeriodSeconds, 30)) * time.Second
		go func() {
			r.terminate(grace)
			n.finalDelete(pod)
		}()
	}
}

// bind places a pending pod on this node: the lab has no scheduler.
func (n *Node) bind(pod *corev1.Pod) {
	err := n.opts.Client.CoreV1().Pods(pod.Namespace).Bind(n.ctx, &corev1.Binding{
		ObjectMeta: metav1.ObjectMeta{Name: pod.Name, Namespace: pod.Namespace, UID: pod.UID},
		Target:     corev1.ObjectReference{Kind: "Node", Name: n.opts.Name},
	}, metav1.CreateOptions{})
	if err != nil && !apierrors.IsConflict(err) && !apierrors.IsNotFound(err) && n.ctx.Err() == nil {
		n.opts.Log("bind pod %s/%s: %v", pod.Namespace, pod.Name, err)
	}
}

// finalDelete removes a pod whose containers are gone, like the kubelet's
// final grace-0 delete, guarded by UID so a same-named successor survives.
func (n *Node) finalDelete(pod *corev1.Pod) {
	err := n.opts.Client.CoreV1().Pods(pod.Namespace).Delete(n.ctx, pod.Name, metav1.DeleteOptions{
		GracePeriodSeconds: ptr.To(int64(0)),
		Preconditions:      &metav1.Preconditions{UID: &pod.UID},
	})
	if err != nil && !apierrors.IsNotFound(err) && !apierrors.IsConflict(err) && n.ctx.Err() == nil {
		n.opts.Log("delete pod %s/%s: %v", pod.Namespace, pod.Name, err)
	}
}

// gone handles a pod that disappeared from the API (force deletion, or the
// end of graceful deletion).
func (n *Node) gone(pod *corev1.Pod) {
	n.mu.Lock()
	r := n.pods[pod.UID]
	n.mu.Unlock()
	if r == nil {
		return
	}
	// The runtime stays listed until its processes are gone, so that Stop
	// waits for it too.
	go func() {
		r.terminate(time.Second)
		n.mu.Lock()
		delete(n.pods, pod.UID)
		n.mu.Unlock()
	}()
}

// baseEnv is what every container gets before its own env: the variables
// that locate the apiserver and the hostname. Other Service links are not
// injected (as with enableServiceLinks: false): the Kong stand-in rejects
// unknown KONG_* variables, and a Service named "kong" would produce some.
func (n *Node) baseEnv(pod *corev1.Pod) map[string]string {
	host, port := n.opts.KubernetesServiceHost, n.opts.KubernetesServicePort
	return map[string]string{
		"PATH":                             "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
		"HOSTNAME":                         pod.Name,
		"KUBERNETES_SERVICE_HOST":          host,
		"KUBERNETES_SERVICE_PORT":          port,
		"KUBERNETES_SERVICE_PORT_HTTPS":    port,
		"KUBERNETES_PORT":                  "tcp://" + host + ":" + port,
		"KUBERNETES_PORT_" + port + "_TCP": "tcp://" + host + ":" + port,
	}
}

// ensureTarget makes a mount target exist on the host, recording what it
// created.
func (n *Node) ensureTarget(path string, dir bool) error {
	if !filepath.IsAbs(path) {
		return fmt.Errorf("mount path must be absolute")
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	if _, err := os.Stat(path); err == nil {
		return nil
	}
	// Record each missing ancestor, outermost first.
	var missing []string
	for p := filepath.Dir(path); p != "/"; p = filepath.Dir(p) {
		if _, err := os.Stat(p); err == nil {
			break
		}
		missing = append([]string{p}, missing...)
	}
	for _, p := range missing {
		if err := os.Mkdir(p, 0o755); err != nil && !os.IsExist(err) {
			return err
		}
		n.created = append(n.created, p)
	}
	if dir {
		if err := os.Mkdir(path, 0o755); err != nil && !os.IsExist(err) {
			return err
		}
	} else if err := os.WriteFile(path, nil, 0o644); err != nil {
		return err
	}
	n.created = append(n.created, path)
	return n.recordCreated()
}

func (n *Node) createdFile() string { return filepath.Join(n.opts.Dir, "created-mount-targets") }

func (n *Node) recordCreated() error {
	return os.WriteFile(n.createdFile(), []byte(strings.Join(n.created, "\n")+"\n"), 0o644)
}

func (n *Node) removeCreated() {
	n.mu.Lock()
	defer n.mu.Unlock()
	RemoveCreatedTargets(n.opts.Dir)
	n.created = nil
}

// RemoveCreatedTargets removes the mount targets a node created on the
// host, deepest first, if they are still empty.
func RemoveCreatedTargets(dir string) {
	raw, err := os.ReadFile(filepath.Join(dir, "created-mount-targets"))
	if err != nil {
		return
	}
	paths := strings.Fields(string(raw))
	sort.Slice(paths, func(i, j int) bool { return len(paths[i]) > len(paths[j]) })
	for _, p := range paths {
		if info, err := os.Stat(p); err == nil && !info.IsDir() && info.Size() == 0 {
			_ = os.Remove(p)
			continue
		}
		_ = os.Remove(p) // only succeeds when empty
	}
	_ = os.Remove(filepath.Join(dir, "created-mount-targets"))
}

func (n *Node) event(pod *corev1.Pod, kind, reason, msg string) {
	ev := &corev1.Event{
		ObjectMeta: metav1.ObjectMeta{GenerateName: pod.Name + ".", Namespace: pod.Namespace},
		InvolvedObject: corev1.ObjectReference{
			Kind: "Pod", APIVersion: "v1", Namespace: pod.Namespace, Name: pod.Name, UID: pod.UID, ResourceVersion: pod.ResourceVersion,
		},
		Type: kind, Reason: reason, Message: truncate(msg, 1000),
		Source:         corev1.EventSource{Component: "kubelet", Host: n.opts.Name},
		FirstTimestamp: metav1.Now(), LastTimestamp: metav1.Now(), Count: 1,
		ReportingController: "lab-node", ReportingInstance: n.opts.Name,
	}
	if _, err := n.opts.Client.CoreV1().Events(pod.Namespace).Create(context.Background(), ev, metav1.CreateOptions{}); err != nil && n.ctx.Err() == nil {
		n.opts.Log("event %s for %s/%s: %v", reason, pod.Namespace, pod.Name, err)
	}
}
