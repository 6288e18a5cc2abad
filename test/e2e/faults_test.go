package e2e

// The fault scenarios (label "faults"; `make test-faults` runs only them,
// `make test` runs them with the rest of the suite). Each one keeps bounded
// traffic on routes that were established before the fault, breaks
// something, and counts every request that did not get a 200 from the echo
// backend. The counts go to the Ginkgo report and, when FAULTS_REPORT names
// a file, to that file (one line per scenario) for the README and notes.

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	appsv1 "k8s.io/api/apps/v1"
	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	gwv1 "sigs.k8s.io/gateway-api/apis/v1"

	"github.com/drawbridge-dev/drawbridge/internal/lab/netns"
	"github.com/drawbridge-dev/drawbridge/internal/provision"
)

const (
	operatorNamespace = "drawbridge-system"
	operatorContainer = "manager"
	// leaseName is the operator's leader-election Lease (main.go).
	leaseName = "drawbridge.gateway.drawbridge.dev"
)

// previousRelease is the build an upgrade starts from: the last commit of
// main that passed CI before the fault suite existed.
const previousRelease = "8c22698"

// buildOperatorAt builds the operator at a commit of this repository into
// <LAB_BIN_DIR>/drawbridge-<rev>, which the lab runs for drawbridge:<rev>.
func buildOperatorAt(ctx context.Context, rev string) {
	out := filepath.Join(os.Getenv("LAB_BIN_DIR"), "drawbridge-"+rev)
	if _, err := os.Stat(out); err == nil {
		return
	}
	src := GinkgoT().TempDir()
	archive := exec.CommandContext(ctx, "sh", "-c", fmt.Sprintf("git -C %q archive %q | tar -x -C %q", repoRoot(), rev, src))
	raw, err := archive.CombinedOutput()
	Expect(err).NotTo(HaveOccurred(), "check out %s (a clone with history is needed): %s", rev, raw)
	build := exec.CommandContext(ctx, "go", "build", "-trimpath", "-ldflags", "-X main.version="+rev, "-o", out+".tmp", ".")
	build.Dir = src
	raw, err = build.CombinedOutput()
	Expect(err).NotTo(HaveOccurred(), "build the operator at %s: %s", rev, raw)
	Expect(os.Rename(out+".tmp", out)).To(Succeed())
}

// setOperatorImage sets the operator Deployment's image and waits until its
// one pod runs it and is Ready.
func setOperatorImage(ctx context.Context, image string) {
	d := operatorDeployment(ctx)
	patch := client.MergeFrom(d.DeepCopy())
	for i := range d.Spec.Template.Spec.Containers {
		if d.Spec.Template.Spec.Containers[i].Name == operatorContainer {
			d.Spec.Template.Spec.Containers[i].Image = image
		}
	}
	Expect(k8s.Patch(ctx, d, patch)).To(Succeed())
	Eventually(func(g Gomega) {
		pods := operatorPods(ctx)
		g.Expect(pods).To(HaveLen(int(ptr.Deref(d.Spec.Replicas, 1))))
		for _, p := range pods {
			g.Expect(p.Spec.Containers[0].Image).To(Equal(image))
			g.Expect(p.Status.Conditions).To(ContainElement(And(HaveField("Type", corev1.PodReady), HaveField("Status", corev1.ConditionTrue))))
		}
		var all corev1.PodList
		g.Expect(k8s.List(ctx, &all, client.InNamespace(operatorNamespace),
			client.MatchingLabels{"app.kubernetes.io/name": "drawbridge", "app.kubernetes.io/component": "operator"})).To(Succeed())
		g.Expect(all.Items).To(HaveLen(len(pods)), "the previous operator pod is gone")
	}).WithTimeout(2 * time.Minute).WithPolling(500 * time.Millisecond).Should(Succeed())
}

// traffic sends GET requests to established routes, one target after the
// other, one request every interval, until it is stopped or its time limit
// passes (so at most limit/interval requests). Each request holds mu: a
// test that takes it acts between two requests, so a request is never in
// flight inside a process the test kills outright, which no gateway could
// answer.
type traffic struct {
	name         string
	sent, failed atomic.Int64
	mu           sync.Mutex
	samples      []string // the first few failures, for the report
	stop, done   chan struct{}
	start        time.Time
	finished     sync.Once
	result       [2]int64
}

type trafficTarget struct {
	url, host string
	// client sends the requests (nil: a plain HTTP client); a TLS client
	// without keep-alive makes every request a new handshake.
	client *http.Client
}

func startTraffic(name string, targets []trafficTarget, interval, limit time.Duration) *traffic {
	t := &traffic{name: name, stop: make(chan struct{}), done: make(chan struct{}), start: time.Now()}
	// A scenario that fails half-way still reports what its traffic saw.
	DeferCleanup(func() { t.finish() })
	plain := httpClient()
	go func() {
		defer GinkgoRecover()
		defer close(t.done)
		deadline := time.After(limit)
		tick := time.NewTicker(interval)
		defer tick.Stop()
		for i := 0; ; i++ {
			select {
			case <-t.stop:
				return
			case <-deadline:
				return
			case <-tick.C:
			}
			tg := targets[i%len(targets)]
			c := tg.client
			if c == nil {
				c = plain
			}
			t.mu.Lock()
			code, echo, err := request(c, tg.url, tg.host, nil)
			t.sent.Add(1)
			if err != nil || code != http.StatusOK || !strings.HasPrefix(echo.Pod, "echo-") {
				t.failed.Add(1)
				if len(t.samples) < 5 {
					t.samples = append(t.samples, fmt.Sprintf("%s %s (Host %s): %d %v", time.Now().Format("15:04:05.000"), tg.url, tg.host, code, err))
				}
			}
			t.mu.Unlock()
		}
	}()
	return t
}

// between runs fn while no request is in flight.
func (t *traffic) between(fn func()) {
	t.mu.Lock()
	defer t.mu.Unlock()
	fn()
}

// finish stops the traffic and records what it saw, once.
func (t *traffic) finish() (sent, failed int64) {
	t.finished.Do(func() {
		close(t.stop)
		<-t.done
		t.result = [2]int64{t.sent.Load(), t.failed.Load()}
		t.record()
	})
	return t.result[0], t.result[1]
}

func (t *traffic) record() {
	sent, failed := t.result[0], t.result[1]
	line := fmt.Sprintf("%s: %d requests sent, %d failed, over %s", t.name, sent, failed, time.Since(t.start).Round(time.Second))
	if len(t.samples) > 0 {
		line += "; first failures: " + strings.Join(t.samples, " | ")
	}
	AddReportEntry("fault scenario", line)
	fmt.Fprintln(GinkgoWriter, line)
	if path := os.Getenv("FAULTS_REPORT"); path != "" {
		if f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644); err == nil {
			fmt.Fprintf(f, "%s %s\n", time.Now().UTC().Format(time.RFC3339), line)
			_ = f.Close()
		}
	}
}

// expectNoFailures finishes the traffic and expects every request to have
// been answered by the backend.
func (t *traffic) expectNoFailures() {
	sent, failed := t.finish()
	Expect(sent).To(BeNumerically(">", 0), "traffic sent nothing")
	Expect(failed).To(BeZero(), "%s: failed requests on established routes: %v", t.name, t.samples)
}

// budgetConfigYAML is the GatewayConfiguration of dataPlaneGateway with a
// PodDisruptionBudget that lets one replica go at a time.
func budgetConfigYAML(ns string, replicas int) string {
	return gatewayConfigYAML(ns, replicas, "notice") + `    podDisruptionBudget: {maxUnavailable: 1}
`
}

// routeYAML is an HTTPRoute on Gateway dp for the hostname
// <name>.example.com that marks the requests it forwards with an X-Route
// header naming it: the Gateway's catch-all route would answer the same
// hostname without it.
func routeYAML(ns, name string) string {
	return fmt.Sprintf(`
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: %[1]s, namespace: %[2]s}
spec:
  parentRefs: [{name: dp}]
  hostnames: [%[1]s.example.com]
  rules:
  - backendRefs: [{name: echo, port: 8080}]
    filters:
    - type: RequestHeaderModifier
      requestHeaderModifier:
        set: [{name: X-Route, value: %[1]s}]
`, name, ns)
}

// replicaServes asks one Kong pod directly whether it holds the route
// routeYAML(_, name).
func replicaServes(pod corev1.Pod, name string) error {
	host := name + ".example.com"
	code, echo, err := request(podClient(), "http://"+net.JoinHostPort(pod.Status.PodIP, "8080")+"/", host, nil)
	switch {
	case err != nil:
		return err
	case code != http.StatusOK:
		return fmt.Errorf("pod %s answered %d for %s", pod.Name, code, host)
	case !strings.HasPrefix(echo.Pod, "echo-"):
		return fmt.Errorf("pod %s answered for %s from %q", pod.Name, host, echo.Pod)
	case len(echo.Headers["X-Route"]) != 1 || echo.Headers["X-Route"][0] != name:
		return fmt.Errorf("pod %s does not hold route %s yet (X-Route %q)", pod.Name, name, echo.Headers["X-Route"])
	}
	return nil
}

// programmedMessage is the Gateway's Programmed condition as "Status: message".
func programmedMessage(ctx context.Context, gw *gwv1.Gateway) string {
	var cur gwv1.Gateway
	if err := k8s.Get(ctx, client.ObjectKeyFromObject(gw), &cur); err != nil {
		return err.Error()
	}
	c := meta.FindStatusCondition(cur.Status.Conditions, string(gwv1.GatewayConditionProgrammed))
	if c == nil {
		return "none"
	}
	return string(c.Status) + ": " + c.Message
}

// operatorPods lists the operator's pods that are not being deleted.
func operatorPods(ctx context.Context) []corev1.Pod {
	var pods corev1.PodList
	Expect(k8s.List(ctx, &pods, client.InNamespace(operatorNamespace),
		client.MatchingLabels{"app.kubernetes.io/name": "drawbridge", "app.kubernetes.io/component": "operator"})).To(Succeed())
	var out []corev1.Pod
	for _, p := range pods.Items {
		if p.DeletionTimestamp == nil {
			out = append(out, p)
		}
	}
	return out
}

// leader is the holder of the operator's leader Lease: client-go's
// identity "<hostname>_<uuid>" (the hostname is the pod name, the uuid new
// with every process) and the pod name.
func leader(ctx context.Context) (identity, pod string, err error) {
	var lease coordinationv1.Lease
	if err := k8s.Get(ctx, client.ObjectKey{Namespace: operatorNamespace, Name: leaseName}, &lease); err != nil {
		return "", "", err
	}
	identity = ptr.Deref(lease.Spec.HolderIdentity, "")
	if i := strings.IndexByte(identity, '_'); i > 0 {
		return identity, identity[:i], nil
	}
	return "", "", fmt.Errorf("lease holder %q", identity)
}

func operatorDeployment(ctx context.Context) *appsv1.Deployment {
	var list appsv1.DeploymentList
	Expect(k8s.List(ctx, &list, client.InNamespace(operatorNamespace),
		client.MatchingLabels{"app.kubernetes.io/name": "drawbridge", "app.kubernetes.io/component": "operator"})).To(Succeed())
	Expect(list.Items).To(HaveLen(1), "the operator Deployment")
	return &list.Items[0]
}

// scaleOperator sets the operator's replicas and waits until that many
// pods are Ready.
func scaleOperator(ctx context.Context, replicas int32) {
	d := operatorDeployment(ctx)
	patch := client.MergeFrom(d.DeepCopy())
	d.Spec.Replicas = ptr.To(replicas)
	Expect(k8s.Patch(ctx, d, patch)).To(Succeed())
	Eventually(func(g Gomega) {
		var cur appsv1.Deployment
		g.Expect(k8s.Get(ctx, client.ObjectKeyFromObject(d), &cur)).To(Succeed())
		g.Expect(cur.Status.ReadyReplicas).To(BeEquivalentTo(replicas))
		g.Expect(cur.Status.Replicas).To(BeEquivalentTo(replicas))
	}).WithTimeout(2 * time.Minute).WithPolling(500 * time.Millisecond).Should(Succeed())
}

func restartsOf(p corev1.Pod, container string) int32 {
	for _, s := range p.Status.ContainerStatuses {
		if s.Name == container {
			return s.RestartCount
		}
	}
	return 0
}

var _ = Describe("Faults", Label("faults"), func() {
	It("keeps serving when a Kong replica crashes, restarts, is added or is evicted", func(ctx SpecContext) {
		ns := newNamespace(ctx)
		gw := dataPlaneGateway(ctx, ns, 2, "notice")
		Expect(applyYAML(ctx, budgetConfigYAML(ns, 2))).To(Succeed())
		Eventually(func() error {
			return k8s.Get(ctx, client.ObjectKey{Namespace: ns, Name: provision.NamesFor(gw).DataPlane}, &policyv1.PodDisruptionBudget{})
		}).WithTimeout(time.Minute).WithPolling(250 * time.Millisecond).Should(Succeed())
		pods := expectEveryReplicaServes(ctx, gw, 2)
		url := "http://" + hostAddr(gw, 80, corev1.ProtocolTCP) + "/"
		Expect(applyYAML(ctx, routeYAML(ns, "crash"))).To(Succeed())
		for _, p := range pods {
			Eventually(func() error { return replicaServes(p, "crash") }).WithTimeout(time.Minute).WithPolling(100 * time.Millisecond).Should(Succeed())
		}
		tr := startTraffic("Kong replica crash, restart, scale-up and eviction (2-3 replicas, PodDisruptionBudget maxUnavailable 1)",
			[]trafficTarget{{url: url, host: "crash.example.com"}}, 20*time.Millisecond, 4*time.Minute)

		By("killing one Kong replica outright; it restarts empty and gets its configuration before it is Ready")
		victim := pods[0]
		tr.between(func() {
			Expect(theLab.Node.KillContainer(ns, victim.Name, provision.ProxyContainerName)).To(Succeed())
		})
		Eventually(func(g Gomega) {
			var p corev1.Pod
			g.Expect(k8s.Get(ctx, client.ObjectKeyFromObject(&victim), &p)).To(Succeed())
			g.Expect(restartsOf(p, provision.ProxyContainerName)).To(BeNumerically(">=", 1))
			g.Expect(dataPlanePods(ctx, gw)).To(ContainElement(HaveField("Name", victim.Name)))
		}).WithTimeout(2 * time.Minute).WithPolling(250 * time.Millisecond).Should(Succeed())
		for _, p := range expectEveryReplicaServes(ctx, gw, 2) {
			Expect(replicaServes(p, "crash")).To(Succeed())
		}

		By("adding a third replica, which serves the routes the moment it is Ready")
		Expect(applyYAML(ctx, budgetConfigYAML(ns, 3))).To(Succeed())
		var added corev1.Pod
		Eventually(func(g Gomega) {
			ready := dataPlanePods(ctx, gw)
			g.Expect(ready).To(HaveLen(3))
			for _, p := range ready {
				if p.Name != pods[0].Name && p.Name != pods[1].Name {
					added = p
				}
			}
		}).WithTimeout(2 * time.Minute).WithPolling(100 * time.Millisecond).Should(Succeed())
		// Checked at once, not eventually: Ready means configured.
		Expect(replicaServes(added, "crash")).To(Succeed(), "a replica that just turned Ready")

		By("evicting a replica (kubectl drain); the budget refuses a second eviction at once")
		evict := func(p corev1.Pod) error {
			return cs.PolicyV1().Evictions(ns).Evict(ctx, &policyv1.Eviction{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: p.Name}})
		}
		Eventually(func() error { return evict(pods[1]) }).WithTimeout(time.Minute).WithPolling(500*time.Millisecond).
			Should(Succeed(), "the budget allows one of 3 replicas to go")
		refused := evict(added)
		Expect(apierrors.IsTooManyRequests(refused)).To(BeTrue(), "a second eviction while one replica is gone: %v", refused)
		Eventually(func(g Gomega) {
			var all corev1.PodList
			g.Expect(k8s.List(ctx, &all, client.InNamespace(ns), client.MatchingLabels(provision.SelectorLabels(gw)))).To(Succeed())
			g.Expect(all.Items).NotTo(ContainElement(HaveField("Name", pods[1].Name)))
			g.Expect(dataPlanePods(ctx, gw)).To(HaveLen(3))
		}).WithTimeout(2 * time.Minute).WithPolling(250 * time.Millisecond).Should(Succeed())
		expectEveryReplicaServes(ctx, gw, 3)
		tr.expectNoFailures()
	}, NodeTimeout(8*time.Minute))

	It("reports a replica cut off from the operator, disturbs nothing else, and catches it up", func(ctx SpecContext) {
		ns := newNamespace(ctx)
		gw := dataPlaneGateway(ctx, ns, 2, "notice")
		pods := expectEveryReplicaServes(ctx, gw, 2)
		url := "http://" + hostAddr(gw, 80, corev1.ProtocolTCP) + "/"
		eventuallyEcho(httpClient(), url, "cut.example.com", nil, "echo-")
		// Another Gateway whose configuration changes during the cut.
		otherNS := newNamespace(ctx)
		other := dataPlaneGateway(ctx, otherNS, 1, "notice")
		otherURL := "http://" + hostAddr(other, 80, corev1.ProtocolTCP) + "/"
		tr := startTraffic("network cut between the operator and one of 2 Kong replicas",
			[]trafficTarget{{url: url, host: "cut.example.com"}, {url: otherURL, host: "other.example.com"}}, 20*time.Millisecond, 5*time.Minute)

		ops := operatorPods(ctx)
		Expect(ops).NotTo(BeEmpty())
		victim := pods[0]
		victimNet, ok := theLab.Node.PodNetwork(victim.UID)
		Expect(ok).To(BeTrue(), "network of %s", victim.Name)
		By(fmt.Sprintf("dropping every packet between %s and the operator (%d pods)", victim.Name, len(ops)))
		// Routes to nowhere on both sides, as on a cut link: one side only
		// would let a request on an open connection through and lose just
		// its answer.
		type cut struct {
			ns  netns.NS
			dst string
		}
		var cuts []cut
		for _, op := range ops {
			opNet, ok := theLab.Node.PodNetwork(op.UID)
			Expect(ok).To(BeTrue(), "network of %s", op.Name)
			cuts = append(cuts, cut{victimNet, op.Status.PodIP}, cut{opNet, victim.Status.PodIP})
		}
		for _, c := range cuts {
			Expect(c.ns.IP(ctx, "route", "add", "blackhole", c.dst+"/32")).To(Succeed())
		}
		restored := false
		restore := func(ctx context.Context) {
			if restored {
				return
			}
			restored = true
			for _, c := range cuts {
				Expect(c.ns.IP(ctx, "route", "del", "blackhole", c.dst+"/32")).To(Succeed())
			}
		}
		DeferCleanup(restore)

		Expect(applyYAML(ctx, routeYAML(ns, "during-cut"))).To(Succeed())
		Expect(applyYAML(ctx, routeYAML(otherNS, "other-during-cut"))).To(Succeed())
		changed := time.Now()
		By("the other Gateway gets its change while one replica of the first is cut off")
		Eventually(func() error {
			return replicaServes(dataPlanePods(ctx, other)[0], "other-during-cut")
		}).WithTimeout(time.Minute).WithPolling(100 * time.Millisecond).Should(Succeed())
		AddReportEntry("other Gateway's change served after", time.Since(changed).Round(100*time.Millisecond).String())
		By("the replica still reachable gets the change")
		Eventually(func() error { return replicaServes(pods[1], "during-cut") }).
			WithTimeout(time.Minute).WithPolling(100 * time.Millisecond).Should(Succeed())
		By("the Gateway names the lagging replica")
		Eventually(func() string { return programmedMessage(ctx, gw) }).WithTimeout(2 * time.Minute).WithPolling(time.Second).
			Should(And(HavePrefix("False"), ContainSubstring("not in sync: "+victim.Name)))
		Expect(programmedMessage(ctx, gw)).NotTo(ContainSubstring("not in sync: "+pods[1].Name), "only the cut replica lags")
		Expect(replicaServes(victim, "during-cut")).NotTo(Succeed(), "the cut replica cannot have the change")

		By("restoring the network: the replica catches up without any change to the Gateway")
		restore(ctx)
		Eventually(func() error { return replicaServes(victim, "during-cut") }).
			WithTimeout(2 * time.Minute).WithPolling(250 * time.Millisecond).Should(Succeed())
		waitProgrammed(ctx, ns, "dp")
		tr.expectNoFailures()
	}, NodeTimeout(8*time.Minute))

	It("hands over to the standby operator when the leader is killed while it pushes", func(ctx SpecContext) {
		scaleOperator(ctx, 2)
		DeferCleanup(func(ctx SpecContext) { scaleOperator(ctx, 1) }, NodeTimeout(3*time.Minute))
		ns := newNamespace(ctx)
		gw := dataPlaneGateway(ctx, ns, 2, "notice")
		expectEveryReplicaServes(ctx, gw, 2)
		url := "http://" + hostAddr(gw, 80, corev1.ProtocolTCP) + "/"
		eventuallyEcho(httpClient(), url, "leader.example.com", nil, "echo-")
		tr := startTraffic("operator leader killed during a burst of 20 new routes (2 operator and 2 Kong replicas)",
			[]trafficTarget{{url: url, host: "leader.example.com"}}, 20*time.Millisecond, 5*time.Minute)

		var oldLeader, leaderName string
		Eventually(func() (err error) { oldLeader, leaderName, err = leader(ctx); return err }).
			WithTimeout(time.Minute).WithPolling(250 * time.Millisecond).Should(Succeed())
		const routes = 20
		for i := 0; i < routes; i++ {
			Expect(applyYAML(ctx, routeYAML(ns, fmt.Sprintf("burst-%d", i)))).To(Succeed())
		}
		By("killing the leader " + leaderName + " while it reconciles the burst")
		Expect(theLab.Node.KillContainer(operatorNamespace, leaderName, operatorContainer)).To(Succeed())
		// The Lease outlives its holder until it expires; then the standby
		// or the killed pod's restarted process, whichever asks first,
		// takes it.
		var newLeader string
		Eventually(func() (identity string, err error) { identity, newLeader, err = leader(ctx); return identity, err }).
			WithTimeout(2*time.Minute).WithPolling(500*time.Millisecond).ShouldNot(Equal(oldLeader), "a new leader")
		AddReportEntry("new leader", fmt.Sprintf("%s (the killed leader was %s)", newLeader, leaderName))
		By("every route of the burst reaches every replica")
		Eventually(func(g Gomega) {
			pods := dataPlanePods(ctx, gw)
			g.Expect(pods).To(HaveLen(2))
			for _, p := range pods {
				for i := 0; i < routes; i++ {
					g.Expect(replicaServes(p, fmt.Sprintf("burst-%d", i))).To(Succeed())
				}
			}
		}).WithTimeout(2 * time.Minute).WithPolling(time.Second).Should(Succeed())
		waitProgrammed(ctx, ns, "dp")
		tr.expectNoFailures()
	}, NodeTimeout(10*time.Minute))

	It("keeps serving through a 60 s API server outage and an etcd restart, and then applies the changes made around them", func(ctx SpecContext) {
		ns := newNamespace(ctx)
		gw := dataPlaneGateway(ctx, ns, 2, "notice")
		expectEveryReplicaServes(ctx, gw, 2)
		url := "http://" + hostAddr(gw, 80, corev1.ProtocolTCP) + "/"
		eventuallyEcho(httpClient(), url, "outage.example.com", nil, "echo-")
		restartsBefore := map[string]int32{}
		for _, p := range operatorPods(ctx) {
			restartsBefore[p.Name] = restartsOf(p, operatorContainer)
		}
		tr := startTraffic("kube-apiserver down 60 s, then etcd restarted (2 Kong replicas)",
			[]trafficTarget{{url: url, host: "outage.example.com"}}, 20*time.Millisecond, 6*time.Minute)

		Expect(applyYAML(ctx, routeYAML(ns, "before-outage"))).To(Succeed())
		By("stopping kube-apiserver for 60 s")
		Expect(theLab.ControlPlaneOutage("kube-apiserver", 60*time.Second)).To(Succeed())
		apiUp := func() error {
			var n corev1.Namespace
			return k8s.Get(ctx, client.ObjectKey{Name: ns}, &n)
		}
		Eventually(apiUp).WithTimeout(3 * time.Minute).WithPolling(2 * time.Second).Should(Succeed())
		By("restarting etcd")
		Expect(theLab.ControlPlaneOutage("etcd", 2*time.Second)).To(Succeed())
		Eventually(apiUp).WithTimeout(2 * time.Minute).WithPolling(time.Second).Should(Succeed())
		Expect(applyYAML(ctx, routeYAML(ns, "after-outage"))).To(Succeed())

		By("both changes reach every replica")
		Eventually(func(g Gomega) {
			pods := dataPlanePods(ctx, gw)
			g.Expect(pods).To(HaveLen(2))
			for _, p := range pods {
				g.Expect(replicaServes(p, "before-outage")).To(Succeed())
				g.Expect(replicaServes(p, "after-outage")).To(Succeed())
			}
		}).WithTimeout(3 * time.Minute).WithPolling(time.Second).Should(Succeed())
		waitProgrammed(ctx, ns, "dp")
		By("the operator recovered without crash-looping")
		// At most once: the leader gives up when it cannot renew its Lease
		// and its restart waits for the API server.
		var restarts []string
		Eventually(func(g Gomega) {
			ops := operatorPods(ctx)
			g.Expect(ops).NotTo(BeEmpty())
			restarts = nil
			for _, p := range ops {
				n := restartsOf(p, operatorContainer) - restartsBefore[p.Name]
				restarts = append(restarts, fmt.Sprintf("%s: %d", p.Name, n))
				g.Expect(n).To(BeNumerically("<=", 1), "pod %s restarted %d times", p.Name, n)
				g.Expect(p.Status.Conditions).To(ContainElement(And(HaveField("Type", corev1.PodReady), HaveField("Status", corev1.ConditionTrue))))
			}
		}).WithTimeout(time.Minute).WithPolling(time.Second).Should(Succeed())
		AddReportEntry("operator restarts during the outage", strings.Join(restarts, ", "))
		tr.expectNoFailures()
		// The cluster's own controllers are back too: a new Deployment gets
		// a Ready pod (the scenarios after this one start from a working
		// cluster; once, the next one's backend was not Ready within a
		// minute).
		echoBackend(ctx, ns, "after-outage-echo", 1, corev1.ProtocolTCP, "")
	}, NodeTimeout(12*time.Minute))
	It("serves a listener certificate renewed in place without a failed handshake", func(ctx SpecContext) {
		ns := newNamespace(ctx)
		echoBackend(ctx, ns, "echo", 1, corev1.ProtocolTCP, "")
		const host = "renew.example.com"
		_, oldCert, oldKey := selfSigned(host)
		_, newCert, newKey := selfSigned(host)
		// The clients trust both, as clients of a CA trust each certificate
		// it issues: what changes is which one the Gateway presents.
		roots := &tlsRoots{pool: x509.NewCertPool()}
		Expect(roots.pool.AppendCertsFromPEM(oldCert)).To(BeTrue())
		Expect(roots.pool.AppendCertsFromPEM(newCert)).To(BeTrue())
		secret := func(certPEM, keyPEM []byte) string {
			return fmt.Sprintf(`
apiVersion: v1
kind: Secret
metadata: {name: renew-cert, namespace: %s}
type: kubernetes.io/tls
data:
  tls.crt: %s
  tls.key: %s
`, ns, base64.StdEncoding.EncodeToString(certPEM), base64.StdEncoding.EncodeToString(keyPEM))
		}
		Expect(applyYAML(ctx, secret(oldCert, oldKey)+"---"+gatewayConfigYAML(ns, 2, "notice")+`
---
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: dp, namespace: `+ns+`}
spec:
  gatewayClassName: e2e
  infrastructure:
    parametersRef: {group: gateway.drawbridge.dev, kind: GatewayConfiguration, name: dp}
  listeners:
  - name: https
    port: 443
    protocol: HTTPS
    hostname: `+host+`
    tls:
      mode: Terminate
      certificateRefs: [{name: renew-cert}]
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: renew, namespace: `+ns+`}
spec:
  parentRefs: [{name: dp}]
  rules:
  - backendRefs: [{name: echo, port: 8080}]
`)).To(Succeed())
		gw := waitProgrammed(ctx, ns, "dp")
		url := "https://" + hostAddr(gw, 443, corev1.ProtocolTCP) + "/"
		c := tlsClient(host, roots)
		eventuallyEcho(c, url, host, nil, "echo-")
		// Programmed counts the replicas that are up; the second one may
		// still be starting (seen on a loaded machine).
		var pods []corev1.Pod
		Eventually(func() []corev1.Pod { pods = dataPlanePods(ctx, gw); return pods }, 2*time.Minute, time.Second).Should(HaveLen(2))
		// presented is the certificate one replica presents for host.
		presented := func(pod corev1.Pod) ([]byte, error) {
			pc := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{
				DisableKeepAlives: true, DialContext: theLab.NodeNS().DialContext,
				TLSClientConfig: &tls.Config{ServerName: host, RootCAs: roots.pool, MinVersion: tls.VersionTLS12},
			}}
			resp, err := pc.Get("https://" + net.JoinHostPort(pod.Status.PodIP, "8443") + "/")
			if err != nil {
				return nil, err
			}
			resp.Body.Close()
			return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: resp.TLS.PeerCertificates[0].Raw}), nil
		}
		for _, p := range pods {
			Expect(presented(p)).To(Equal(oldCert), "pod %s before the renewal", p.Name)
		}
		tr := startTraffic("listener certificate Secret renewed in place, cert-manager style (2 Kong replicas, a TLS handshake per request)",
			[]trafficTarget{{url: url, host: host, client: c}}, 20*time.Millisecond, 3*time.Minute)

		By("replacing the Secret's certificate and key in place")
		Expect(applyYAML(ctx, secret(newCert, newKey))).To(Succeed())
		Eventually(func(g Gomega) {
			for _, p := range pods {
				g.Expect(presented(p)).To(Equal(newCert), "pod %s", p.Name)
			}
		}).WithTimeout(time.Minute).WithPolling(250 * time.Millisecond).Should(Succeed())
		// And stays so, with the traffic going on.
		Consistently(func(g Gomega) {
			for _, p := range pods {
				g.Expect(presented(p)).To(Equal(newCert), "pod %s", p.Name)
			}
		}).WithTimeout(5 * time.Second).WithPolling(500 * time.Millisecond).Should(Succeed())
		tr.expectNoFailures()
		Expect(dataPlanePods(ctx, gw)).To(ConsistOf(HaveField("UID", pods[0].UID), HaveField("UID", pods[1].UID)),
			"a new listener certificate does not restart Kong")
	}, NodeTimeout(5*time.Minute))
	It("rotates the admin CA under load, reaching replicas on the previous CA until they roll", func(ctx SpecContext) {
		ns := newNamespace(ctx)
		gw := dataPlaneGateway(ctx, ns, 2, "notice")
		before := expectEveryReplicaServes(ctx, gw, 2)
		url := "http://" + hostAddr(gw, 80, corev1.ProtocolTCP) + "/"
		eventuallyEcho(httpClient(), url, "rotate.example.com", nil, "echo-")
		tr := startTraffic("admin CA rotated: the CA Secret deleted, 2 Kong replicas held on the previous CA, then rolled",
			[]trafficTarget{{url: url, host: "rotate.example.com"}}, 20*time.Millisecond, 5*time.Minute)
		names := provision.NamesFor(gw)
		caKey := client.ObjectKey{Namespace: operatorNamespace, Name: "drawbridge-admin-ca"}
		var oldCA corev1.Secret
		Expect(k8s.Get(ctx, caKey, &oldCA)).To(Succeed())

		By("pausing the data plane's rollout, so the replicas keep trusting only the previous CA")
		dep := &appsv1.Deployment{}
		Expect(k8s.Get(ctx, client.ObjectKey{Namespace: ns, Name: names.DataPlane}, dep)).To(Succeed())
		patch := client.MergeFrom(dep.DeepCopy())
		dep.Spec.Paused = true
		Expect(k8s.Patch(ctx, dep, patch)).To(Succeed())

		By("deleting the admin CA Secret: a new CA is made and the Gateway's admin certificate reissued")
		Expect(k8s.Delete(ctx, &oldCA)).To(Succeed())
		var newCAPEM []byte
		Eventually(func(g Gomega) {
			var cur corev1.Secret
			g.Expect(k8s.Get(ctx, caKey, &cur)).To(Succeed())
			g.Expect(cur.Data[corev1.TLSCertKey]).NotTo(Equal(oldCA.Data[corev1.TLSCertKey]))
			newCAPEM = cur.Data[corev1.TLSCertKey]
			var admin corev1.Secret
			g.Expect(k8s.Get(ctx, client.ObjectKey{Namespace: ns, Name: names.AdminTLS}, &admin)).To(Succeed())
			g.Expect(admin.Data["ca.crt"]).To(Equal(newCAPEM))
		}).WithTimeout(time.Minute).WithPolling(250 * time.Millisecond).Should(Succeed())

		By("a change reaches the replicas still on the previous CA")
		Expect(applyYAML(ctx, routeYAML(ns, "during-rotation"))).To(Succeed())
		for _, p := range before {
			Eventually(func() error { return replicaServes(p, "during-rotation") }).
				WithTimeout(time.Minute).WithPolling(250*time.Millisecond).Should(Succeed(), "pod %s", p.Name)
		}

		By("resuming the rollout: the replicas roll onto the new CA and are configured")
		Expect(k8s.Get(ctx, client.ObjectKeyFromObject(dep), dep)).To(Succeed())
		patch = client.MergeFrom(dep.DeepCopy())
		dep.Spec.Paused = false
		Expect(k8s.Patch(ctx, dep, patch)).To(Succeed())
		Eventually(func(g Gomega) {
			var all corev1.PodList
			g.Expect(k8s.List(ctx, &all, client.InNamespace(ns), client.MatchingLabels(provision.SelectorLabels(gw)))).To(Succeed())
			g.Expect(all.Items).To(HaveLen(2))
			for _, p := range all.Items {
				g.Expect(p.UID).NotTo(Or(Equal(before[0].UID), Equal(before[1].UID)))
			}
			g.Expect(dataPlanePods(ctx, gw)).To(HaveLen(2))
		}).WithTimeout(3 * time.Minute).WithPolling(250 * time.Millisecond).Should(Succeed())
		Expect(applyYAML(ctx, routeYAML(ns, "after-rotation"))).To(Succeed())
		for _, p := range dataPlanePods(ctx, gw) {
			Eventually(func() error { return replicaServes(p, "after-rotation") }).
				WithTimeout(time.Minute).WithPolling(250*time.Millisecond).Should(Succeed(), "pod %s", p.Name)
			Expect(replicaServes(p, "during-rotation")).To(Succeed(), "pod %s", p.Name)
		}
		waitProgrammed(ctx, ns, "dp")
		tr.expectNoFailures()
	}, NodeTimeout(8*time.Minute))
	It("upgrades the operator from the previous build with Gateways serving", func(ctx SpecContext) {
		// Drawbridge has no tagged release yet: the previous build is the
		// last main that passed CI (UPGRADE_FROM overrides it).
		from := os.Getenv("UPGRADE_FROM")
		if from == "" {
			from = previousRelease
		}
		buildOperatorAt(ctx, from)
		setOperatorImage(ctx, "drawbridge:"+from)
		DeferCleanup(func(ctx SpecContext) { setOperatorImage(ctx, "drawbridge:dev") }, NodeTimeout(3*time.Minute))

		ns := newNamespace(ctx)
		gw := dataPlaneGateway(ctx, ns, 2, "notice")
		before := expectEveryReplicaServes(ctx, gw, 2)
		url := "http://" + hostAddr(gw, 80, corev1.ProtocolTCP) + "/"
		Expect(applyYAML(ctx, routeYAML(ns, "before-upgrade"))).To(Succeed())
		for _, p := range before {
			Eventually(func() error { return replicaServes(p, "before-upgrade") }).WithTimeout(time.Minute).WithPolling(250 * time.Millisecond).Should(Succeed())
		}
		tr := startTraffic("operator upgraded from "+from+" to this build (2 Kong replicas, which roll onto the new data-plane template)",
			[]trafficTarget{{url: url, host: "before-upgrade.example.com"}}, 20*time.Millisecond, 6*time.Minute)

		By("replacing the operator's image with this build")
		setOperatorImage(ctx, "drawbridge:dev")
		Expect(applyYAML(ctx, routeYAML(ns, "after-upgrade"))).To(Succeed())
		Eventually(func(g Gomega) {
			var d appsv1.Deployment
			g.Expect(k8s.Get(ctx, client.ObjectKey{Namespace: ns, Name: provision.NamesFor(gw).DataPlane}, &d)).To(Succeed())
			g.Expect(d.Status.ObservedGeneration).To(Equal(d.Generation))
			g.Expect(d.Status.UpdatedReplicas).To(BeEquivalentTo(2))
			g.Expect(d.Status.Replicas).To(BeEquivalentTo(2), "the previous replicas are gone")
			pods := dataPlanePods(ctx, gw)
			g.Expect(pods).To(HaveLen(2))
			for _, p := range pods {
				g.Expect(p.UID).NotTo(Or(Equal(before[0].UID), Equal(before[1].UID)), "rolled onto this build's template")
				g.Expect(p.Spec.Containers[0].Args).To(Equal(provision.KongStartArgs()))
				g.Expect(replicaServes(p, "before-upgrade")).To(Succeed())
				g.Expect(replicaServes(p, "after-upgrade")).To(Succeed())
			}
		}).WithTimeout(4 * time.Minute).WithPolling(time.Second).Should(Succeed())
		waitProgrammed(ctx, ns, "dp")
		tr.expectNoFailures()
	}, NodeTimeout(12*time.Minute))
})
