package e2e

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	gwv1 "sigs.k8s.io/gateway-api/apis/v1"

	"github.com/drawbridge-dev/drawbridge/internal/provision"
)

// dataPlaneGateway deploys an echo backend, a GatewayConfiguration with the
// given replicas and env, and a Gateway using it with one HTTP listener.
func dataPlaneGateway(ctx context.Context, ns string, replicas int, logLevel string) *gwv1.Gateway {
	echoBackend(ctx, ns, "echo", 1, corev1.ProtocolTCP, "")
	Expect(applyYAML(ctx, gatewayConfigYAML(ns, replicas, logLevel)+`
---
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata:
  name: dp
  namespace: `+ns+`
spec:
  gatewayClassName: e2e
  infrastructure:
    parametersRef: {group: gateway.drawbridge.dev, kind: GatewayConfiguration, name: dp}
  listeners:
  - {name: http, port: 80, protocol: HTTP}
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: echo, namespace: `+ns+`}
spec:
  parentRefs: [{name: dp}]
  rules:
  - backendRefs: [{name: echo, port: 8080}]
`)).To(Succeed())
	return waitProgrammed(ctx, ns, "dp")
}

func gatewayConfigYAML(ns string, replicas int, logLevel string) string {
	return fmt.Sprintf(`
apiVersion: gateway.drawbridge.dev/v1alpha1
kind: GatewayConfiguration
metadata: {name: dp, namespace: %s}
spec:
  dataPlane:
    replicas: %d
    env:
    - {name: KONG_LOG_LEVEL, value: %s}
`, ns, replicas, logLevel)
}

// expectEveryReplicaServes sends one request straight to each ready Kong
// pod (from the lab's node namespace) and expects the echo answer: each
// replica holds the route.
func expectEveryReplicaServes(ctx context.Context, gw *gwv1.Gateway, want int) []corev1.Pod {
	var pods []corev1.Pod
	Eventually(func(g Gomega) {
		pods = dataPlanePods(ctx, gw)
		g.Expect(pods).To(HaveLen(want))
		c := podClient()
		for _, p := range pods {
			code, echo, err := request(c, "http://"+net.JoinHostPort(p.Status.PodIP, "8080")+"/", "replica.example.com", nil)
			g.Expect(err).NotTo(HaveOccurred(), "pod %s", p.Name)
			g.Expect(code).To(Equal(http.StatusOK), "pod %s", p.Name)
			g.Expect(echo.Pod).To(HavePrefix("echo-"))
		}
	}).WithTimeout(90 * time.Second).WithPolling(500 * time.Millisecond).Should(Succeed())
	return pods
}

var _ = Describe("Data plane lifecycle", func() {
	It("configures every replica when scaled to 3", func(ctx SpecContext) {
		ns := newNamespace(ctx)
		gw := dataPlaneGateway(ctx, ns, 1, "notice")
		expectEveryReplicaServes(ctx, gw, 1)
		Expect(applyYAML(ctx, gatewayConfigYAML(ns, 3, "notice"))).To(Succeed())
		Eventually(func(g Gomega) {
			var d appsv1.Deployment
			g.Expect(k8s.Get(ctx, client.ObjectKey{Namespace: ns, Name: provision.NamesFor(gw).DataPlane}, &d)).To(Succeed())
			g.Expect(d.Status.ReadyReplicas).To(BeEquivalentTo(3))
		}).WithTimeout(90 * time.Second).WithPolling(250 * time.Millisecond).Should(Succeed())
		waitProgrammed(ctx, ns, "dp")
		expectEveryReplicaServes(ctx, gw, 3)
	}, NodeTimeout(4*time.Minute))

	It("configures the replacement of a deleted data-plane pod", func(ctx SpecContext) {
		ns := newNamespace(ctx)
		gw := dataPlaneGateway(ctx, ns, 1, "notice")
		old := expectEveryReplicaServes(ctx, gw, 1)[0]
		Expect(k8s.Delete(ctx, &old)).To(Succeed())
		Eventually(func(g Gomega) {
			pods := dataPlanePods(ctx, gw)
			g.Expect(pods).To(HaveLen(1))
			g.Expect(pods[0].UID).NotTo(Equal(old.UID))
		}).WithTimeout(90 * time.Second).WithPolling(250 * time.Millisecond).Should(Succeed())
		replacement := expectEveryReplicaServes(ctx, gw, 1)[0]
		Expect(replacement.UID).NotTo(Equal(old.UID))
		eventuallyEcho(httpClient(), "http://"+hostAddr(gw, 80, corev1.ProtocolTCP)+"/", "dp.example.com", nil, "echo-")
	}, NodeTimeout(4*time.Minute))

	It("rolls the data plane on a configuration change without a failed request", Label("faults"), func(ctx SpecContext) {
		ns := newNamespace(ctx)
		gw := dataPlaneGateway(ctx, ns, 2, "notice")
		before := expectEveryReplicaServes(ctx, gw, 2)
		url := "http://" + hostAddr(gw, 80, corev1.ProtocolTCP) + "/"
		eventuallyEcho(httpClient(), url, "roll.example.com", nil, "echo-")
		tr := startTraffic("GatewayConfiguration change rolls 2 Kong replicas",
			[]trafficTarget{{url: url, host: "roll.example.com"}}, 20*time.Millisecond, 3*time.Minute)
		Expect(applyYAML(ctx, gatewayConfigYAML(ns, 2, "info"))).To(Succeed())
		oldUIDs := map[string]bool{}
		for _, p := range before {
			oldUIDs[string(p.UID)] = true
		}
		Eventually(func(g Gomega) {
			pods := dataPlanePods(ctx, gw)
			g.Expect(pods).To(HaveLen(2))
			for _, p := range pods {
				g.Expect(oldUIDs).NotTo(HaveKey(string(p.UID)))
			}
			var all corev1.PodList
			g.Expect(k8s.List(ctx, &all, client.InNamespace(ns), client.MatchingLabels(provision.SelectorLabels(gw)))).To(Succeed())
			g.Expect(all.Items).To(HaveLen(2), "old replicas are gone")
		}).WithTimeout(150 * time.Second).WithPolling(250 * time.Millisecond).Should(Succeed())
		// New replicas turn Ready only once configured, and old ones leave
		// the endpoints before their preStop hook (kong quit) drains them.
		tr.expectNoFailures()
		expectEveryReplicaServes(ctx, gw, 2)
		var events corev1.EventList
		Expect(k8s.List(ctx, &events, client.InNamespace(ns))).To(Succeed())
		for _, e := range events.Items {
			Expect(e.Reason).NotTo(Equal("FailedPreStopHook"), "event on %s: %s", e.InvolvedObject.Name, e.Message)
		}
	}, NodeTimeout(5*time.Minute))

	It("removes everything when the Gateway is deleted", func(ctx SpecContext) {
		ns := newNamespace(ctx)
		gw := dataPlaneGateway(ctx, ns, 1, "notice")
		pods := expectEveryReplicaServes(ctx, gw, 1)
		hostAddr(gw, 80, corev1.ProtocolTCP)
		names := provision.NamesFor(gw)
		Expect(k8s.Delete(ctx, gw)).To(Succeed())
		owned := []client.Object{
			&appsv1.Deployment{}, &corev1.Service{}, &corev1.ServiceAccount{}, &networkingv1.NetworkPolicy{},
		}
		keys := []string{names.DataPlane, names.DataPlane, names.DataPlane, names.DataPlane}
		Eventually(func(g Gomega) {
			for i, obj := range owned {
				obj.SetNamespace(ns)
				obj.SetName(keys[i])
				g.Expect(isGone(ctx, obj)).To(BeTrue(), "%T %s", obj, keys[i])
			}
			admin := &corev1.Service{}
			admin.SetNamespace(ns)
			admin.SetName(names.Admin)
			g.Expect(isGone(ctx, admin)).To(BeTrue(), "admin Service")
			pod := pods[0].DeepCopy()
			g.Expect(isGone(ctx, pod)).To(BeTrue(), "data-plane pod")
			_, forwarded := theLab.Proxy.HostAddr(ns, names.DataPlane, 80, corev1.ProtocolTCP)
			g.Expect(forwarded).To(BeFalse(), "host forward closed")
		}).WithTimeout(90 * time.Second).WithPolling(250 * time.Millisecond).Should(Succeed())
	}, NodeTimeout(3*time.Minute))
})
