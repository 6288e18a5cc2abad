package e2e

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os/exec"
	"regexp"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/drawbridge-dev/drawbridge/internal/lab/netns"
	"github.com/drawbridge-dev/drawbridge/internal/lab/netpol"
	"github.com/drawbridge-dev/drawbridge/internal/provision"
)

// dialTimeout bounds every connection attempt of these specs: the lab
// drops what a policy refuses, so a refused connection is one that is
// still unanswered when this runs out.
const dialTimeout = 2 * time.Second

// labPod starts an echo-basic pod (HTTP on 3000) with the given labels and
// container ports, waits until it is ready, and returns it with its status.
func labPod(ctx context.Context, ns, name string, lbls map[string]string, ports ...corev1.ContainerPort) *corev1.Pod {
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns, Labels: lbls},
		Spec: corev1.PodSpec{Containers: []corev1.Container{{
			Name: "echo", Image: "registry.k8s.io/gateway-api/echo-basic:v1.5.1", Ports: ports,
			Env: []corev1.EnvVar{
				{Name: "POD_NAME", ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: "metadata.name"}}},
				{Name: "NAMESPACE", ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: "metadata.namespace"}}},
			},
		}}},
	}
	Expect(k8s.Create(ctx, pod)).To(Succeed())
	Eventually(func(g Gomega) {
		g.Expect(k8s.Get(ctx, client.ObjectKeyFromObject(pod), pod)).To(Succeed())
		g.Expect(pod.Status.PodIP).NotTo(BeEmpty())
		g.Expect(pod.Status.ContainerStatuses).To(HaveLen(1))
		g.Expect(pod.Status.ContainerStatuses[0].Ready).To(BeTrue())
	}).WithTimeout(time.Minute).WithPolling(250*time.Millisecond).Should(Succeed(), "pod %s/%s ready", ns, name)
	return pod
}

// podNetwork is the network namespace of a running pod: a socket made
// there is the pod's own, with the pod's address as its source.
func podNetwork(pod *corev1.Pod) netns.NS {
	ns, ok := theLab.Node.PodNetwork(pod.UID)
	Expect(ok).To(BeTrue(), "pod %s/%s has a network on the lab node", pod.Namespace, pod.Name)
	return ns
}

// dialFrom opens a TCP connection from inside a network namespace,
// bounded by dialTimeout, and closes it.
func dialFrom(from netns.NS, addr string) error {
	ctx, cancel := context.WithTimeout(context.Background(), dialTimeout)
	defer cancel()
	c, err := from.DialContext(ctx, "tcp4", addr)
	if err != nil {
		return err
	}
	return c.Close()
}

// dropped tells whether a dial error is what a dropped SYN gives: no
// answer until the timeout. A refused connection (RST) would mean the
// packet reached the pod.
func dropped(err error) bool {
	var ne net.Error
	return err != nil && (errors.Is(err, context.DeadlineExceeded) || (errors.As(err, &ne) && ne.Timeout()))
}

// expectDropped dials and expects no answer within dialTimeout.
func expectDropped(from netns.NS, addr, what string) {
	err := dialFrom(from, addr)
	Expect(dropped(err)).To(BeTrue(), "%s: a connection to %s from %s must go unanswered (got %v)", what, addr, from.Name, err)
}

// nsClient sends HTTP requests from inside a network namespace.
func nsClient(from netns.NS) *http.Client {
	return &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{
		DisableKeepAlives: true, DialContext: from.DialContext,
	}}
}

// kernelRuleset reads the lab's table from a pod's network namespace, as
// the kernel holds it.
func kernelRuleset(pod *corev1.Pod) string {
	out, err := exec.Command("nsenter", "--net="+podNetwork(pod).Path(), netns.NFT, "list", "table", "inet", netpol.Table).CombinedOutput()
	Expect(err).NotTo(HaveOccurred(), "nft list table in the namespace of %s: %s", pod.Name, out)
	return string(out)
}

var _ = Describe("NetworkPolicy in the lab", func() {
	It("lets only the operator reach a data plane's admin port, and the operator still configures it", func(ctx SpecContext) {
		ns := newNamespace(ctx)
		// The Gateway becomes Programmed only after the operator pushed its
		// configuration through the admin port of a pod that enforced the
		// policy from its first instant.
		gw := dataPlaneGateway(ctx, ns, 1, "notice")
		kong := expectEveryReplicaServes(ctx, gw, 1)[0]
		admin := net.JoinHostPort(kong.Status.PodIP, fmt.Sprint(provision.AdminPort))
		proxy := net.JoinHostPort(kong.Status.PodIP, "8080")
		policy := ns + "/" + provision.NamesFor(gw).DataPlane

		By("the Kong pod's namespace holds the lab's ruleset for Drawbridge's policy")
		rules, ok := theLab.Node.PodRuleset(kong.UID)
		Expect(ok).To(BeTrue())
		fmt.Fprintf(GinkgoWriter, "ruleset of %s:\n%s", kong.Name, rules)
		Expect(rules).To(ContainSubstring("isolated by " + policy))
		Expect(kernelRuleset(&kong)).To(And(ContainSubstring("tcp dport 8444"), ContainSubstring("not admitted by any NetworkPolicy")))

		By("the lab node's namespace reaches the proxy and status ports, not the admin port")
		expectDropped(theLab.NodeNS(), admin, "node namespace")
		Expect(dialFrom(theLab.NodeNS(), proxy)).To(Succeed())
		resp, err := podClient().Get(fmt.Sprintf("http://%s/status/ready", net.JoinHostPort(kong.Status.PodIP, fmt.Sprint(provision.StatusPort))))
		Expect(err).NotTo(HaveOccurred())
		_ = resp.Body.Close()
		Expect(resp.StatusCode).To(Equal(http.StatusOK))

		By("an ordinary pod, even one with the operator's label outside drawbridge-system, reaches the proxy port only")
		other := labPod(ctx, ns, "client", map[string]string{"app.kubernetes.io/name": "drawbridge"})
		otherNS := podNetwork(other)
		expectDropped(otherNS, admin, "pod "+other.Name)
		code, echo, err := request(nsClient(otherNS), "http://"+proxy+"/", "from-a-pod.example.com", nil)
		Expect(err).NotTo(HaveOccurred())
		Expect(code).To(Equal(http.StatusOK))
		Expect(echo.Pod).To(HavePrefix("echo-"))

		By("the operator's pod connects to the admin port")
		var operators corev1.PodList
		Expect(k8s.List(ctx, &operators, client.InNamespace("drawbridge-system"), client.MatchingLabels{"app.kubernetes.io/name": "drawbridge"})).To(Succeed())
		Expect(operators.Items).NotTo(BeEmpty())
		Expect(dialFrom(podNetwork(&operators.Items[0]), admin)).To(Succeed())

		By("a new route is served: the operator pushed it through the admin port")
		echoBackend(ctx, ns, "fresh", 1, corev1.ProtocolTCP, "")
		Expect(applyYAML(ctx, `
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: fresh, namespace: `+ns+`}
spec:
  parentRefs: [{name: dp}]
  hostnames: [fresh.example.com]
  rules:
  - backendRefs: [{name: fresh, port: 8080}]
`)).To(Succeed())
		eventuallyEcho(httpClient(), "http://"+hostAddr(gw, 80, corev1.ProtocolTCP)+"/", "fresh.example.com", nil, "fresh-")
		expectDropped(theLab.NodeNS(), admin, "node namespace, after the new route")
	}, NodeTimeout(5*time.Minute))

	It("admits the pods a podSelector names on a named port and follows label, address and policy changes", func(ctx SpecContext) {
		ns := newNamespace(ctx)
		guarded := labPod(ctx, ns, "guarded", map[string]string{"app": "guarded"}, corev1.ContainerPort{Name: "http", ContainerPort: 3000})
		allowed := labPod(ctx, ns, "allowed", map[string]string{"role": "allowed"})
		denied := labPod(ctx, ns, "denied", map[string]string{"role": "denied"})
		target := "http://" + net.JoinHostPort(guarded.Status.PodIP, "3000") + "/"
		addr := net.JoinHostPort(guarded.Status.PodIP, "3000")
		answers := func(from netns.NS) func(g Gomega) {
			return func(g Gomega) {
				code, echo, err := request(nsClient(from), target, "guarded", nil)
				g.Expect(err).NotTo(HaveOccurred())
				g.Expect(code).To(Equal(http.StatusOK))
				g.Expect(echo.Pod).To(Equal("guarded"))
			}
		}
		isDropped := func(from netns.NS) func() bool {
			return func() bool { return dropped(dialFrom(from, addr)) }
		}

		By("without a policy every pod and the node reach the backend")
		for _, from := range []netns.NS{podNetwork(allowed), podNetwork(denied), theLab.NodeNS()} {
			Eventually(answers(from)).WithTimeout(10 * time.Second).WithPolling(250 * time.Millisecond).Should(Succeed())
		}

		By("a policy admits role=allowed on the named port http only")
		Expect(applyYAML(ctx, `
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: guarded, namespace: `+ns+`}
spec:
  podSelector: {matchLabels: {app: guarded}}
  policyTypes: [Ingress]
  ingress:
  - from: [{podSelector: {matchLabels: {role: allowed}}}]
    ports: [{port: http}]
`)).To(Succeed())
		Eventually(isDropped(podNetwork(denied))).WithTimeout(20*time.Second).WithPolling(250*time.Millisecond).Should(BeTrue(), "role=denied is refused")
		Expect(isDropped(theLab.NodeNS())()).To(BeTrue(), "the node is refused")
		Eventually(answers(podNetwork(allowed))).WithTimeout(10 * time.Second).WithPolling(250 * time.Millisecond).Should(Succeed())
		rules, ok := theLab.Node.PodRuleset(guarded.UID)
		Expect(ok).To(BeTrue())
		fmt.Fprintf(GinkgoWriter, "ruleset of %s:\n%s", guarded.Name, rules)
		Expect(rules).To(ContainSubstring("ip saddr { " + allowed.Status.PodIP + " } tcp dport 3000 accept"))

		By("relabelling the refused pod admits it")
		patch := client.MergeFrom(denied.DeepCopy())
		denied.Labels["role"] = "allowed"
		Expect(k8s.Patch(ctx, denied, patch)).To(Succeed())
		Eventually(answers(podNetwork(denied))).WithTimeout(20 * time.Second).WithPolling(250 * time.Millisecond).Should(Succeed())

		By("a new pod with the label, at a new address, is admitted; the address of a deleted one is not kept")
		Expect(k8s.Delete(ctx, allowed)).To(Succeed())
		successor := labPod(ctx, ns, "allowed-2", map[string]string{"role": "allowed"})
		Expect(successor.Status.PodIP).NotTo(Equal(allowed.Status.PodIP))
		Eventually(answers(podNetwork(successor))).WithTimeout(20 * time.Second).WithPolling(250 * time.Millisecond).Should(Succeed())
		Eventually(func() bool { return isGone(ctx, allowed) }).WithTimeout(time.Minute).WithPolling(250 * time.Millisecond).Should(BeTrue())
		Eventually(func() (string, error) {
			rules, ok := theLab.Node.PodRuleset(guarded.UID)
			if !ok {
				return "", errors.New("no ruleset")
			}
			return rules, nil
		}).WithTimeout(10*time.Second).WithPolling(250*time.Millisecond).ShouldNot(MatchRegexp(`[{ ]`+regexp.QuoteMeta(allowed.Status.PodIP)+`[,} ]`), "the deleted pod's address")

		By("deleting the policy lifts the isolation")
		Expect(k8s.Delete(ctx, &networkingv1.NetworkPolicy{ObjectMeta: metav1.ObjectMeta{Name: "guarded", Namespace: ns}})).To(Succeed())
		Eventually(answers(theLab.NodeNS())).WithTimeout(20 * time.Second).WithPolling(250 * time.Millisecond).Should(Succeed())
	}, NodeTimeout(5*time.Minute))
})
