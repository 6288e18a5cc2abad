package envtest

import (
	"context"
	"fmt"
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	gwv1 "sigs.k8s.io/gateway-api/apis/v1"

	"github.com/drawbridge-dev/drawbridge/controllers"
	"github.com/drawbridge-dev/drawbridge/internal/certs"
	"github.com/drawbridge-dev/drawbridge/internal/provision"
	"github.com/drawbridge-dev/drawbridge/test/kongstandin"
)

// newRedirectRoute attaches to gw a route for host that Kong answers by
// itself (302 to moved.example.com), so a replica serving it can be seen
// without any backend.
func newRedirectRoute(ns string, gw *gwv1.Gateway, host string) *gwv1.HTTPRoute {
	rt := &gwv1.HTTPRoute{
		ObjectMeta: metav1.ObjectMeta{Name: unique("redirect"), Namespace: ns},
		Spec: gwv1.HTTPRouteSpec{
			CommonRouteSpec: gwv1.CommonRouteSpec{ParentRefs: []gwv1.ParentReference{parentRef(gw)}},
			Hostnames:       []gwv1.Hostname{gwv1.Hostname(host)},
			Rules: []gwv1.HTTPRouteRule{{Filters: []gwv1.HTTPRouteFilter{{
				Type:            gwv1.HTTPRouteFilterRequestRedirect,
				RequestRedirect: &gwv1.HTTPRequestRedirectFilter{Hostname: ptr.To(gwv1.PreciseHostname("moved.example.com")), StatusCode: ptr.To(302)},
			}}}},
		},
	}
	Expect(k8s.Create(context.Background(), rt)).To(Succeed())
	return rt
}

// redirected matches what served returns for a redirect route.
var redirected = HavePrefix("302 http://moved.example.com")

// replicaName is the pod name publishReplicas gives the i-th replica.
func replicaName(gw *gwv1.Gateway, i int) string {
	return fmt.Sprintf("%s-%d", provision.NamesFor(gw).DataPlane, i)
}

// programmedWith matches the Gateway's Programmed condition by status,
// reason and message.
func programmedWith(status metav1.ConditionStatus, reason string, message OmegaMatcherAlias) OmegaMatcherAlias {
	return And(haveCondition(status, reason), HaveField("Message", message))
}

// gatewayEvents returns "Type Reason: note" for every event regarding gw.
func gatewayEvents(gw *gwv1.Gateway) func() []string {
	return func() []string {
		var evs eventsv1.EventList
		Expect(k8s.List(context.Background(), &evs, client.InNamespace(gw.Namespace))).To(Succeed())
		var out []string
		for _, e := range evs.Items {
			if e.Regarding.Kind == "Gateway" && e.Regarding.Name == gw.Name {
				out = append(out, e.Type+" "+e.Reason+": "+e.Note)
			}
		}
		return out
	}
}

var _ = Describe("Admin API faults", func() {
	ctx := context.Background()
	const host = "app.example.com"
	inSync := func(n string) OmegaMatcherAlias {
		return ContainSubstring(n + " replicas hold the current configuration")
	}

	It("configures a replica that answers 503 a few times once it recovers, with and without Retry-After", func() {
		ns, gw := programmedGateway()
		rt := newRedirectRoute(ns, gw, host)
		steady, flaky := startServingKong(gw), startServingKong(gw)
		// More 503s than one push's attempts: the first push gives up on
		// it, a later one gets through. Kong's own 503 has no Retry-After.
		flaky.srv.UnavailableFor(4, 0)
		failed := pushes(gw, "failed")
		publishReplicas(gw, steady.addr, flaky.addr)

		Eventually(gatewayCondition(gw, "Programmed"), "30s").Should(programmedWith(metav1.ConditionTrue, "Programmed", inSync("2/2")))
		Expect(flaky.srv.ConfigPosts()).To(BeNumerically(">=", 5), "four 503s, then the push that succeeded")
		Expect(pushes(gw, "failed")).To(BeNumerically(">", failed), "the push that gave up on the flaky replica is counted")
		Eventually(served(steady, host)).Should(redirected)
		Eventually(served(flaky, host)).Should(redirected)
		Eventually(ourParent(rt, gw)).Should(routeCondition("Programmed", metav1.ConditionTrue, "Programmed"))

		// A change reaches both while the flaky replica asks to be called
		// back later.
		flaky.srv.UnavailableFor(2, time.Second)
		posts := flaky.srv.ConfigPosts()
		second := newRedirectRoute(ns, gw, "second.example.com")
		Eventually(flaky.srv.ConfigPosts, "30s").Should(BeNumerically(">=", posts+3), "two 503s, then the push that succeeded")
		Eventually(served(flaky, "second.example.com"), "30s").Should(redirected)
		Eventually(served(steady, "second.example.com")).Should(redirected)
		Eventually(gatewayCondition(gw, "Programmed"), "30s").Should(programmedWith(metav1.ConditionTrue, "Programmed", inSync("2/2")))
		Eventually(ourParent(second, gw)).Should(routeCondition("Programmed", metav1.ConditionTrue, "Programmed"))
	})

	It("keeps the other replica in sync while one answers later than the call timeout, names it, and catches it up", func() {
		ns, gw := programmedGateway()
		rt := newRedirectRoute(ns, gw, host)
		prompt, slow := startServingKong(gw), startServingKong(gw)
		slow.srv.SlowAdmin(kongstandin.MaxAdminDelay) // far beyond the suite's admin call timeout
		publishReplicas(gw, prompt.addr, slow.addr)

		Eventually(gatewayCondition(gw, "Programmed"), "30s").Should(programmedWith(metav1.ConditionFalse, "Pending", And(
			inSync("1/2"),
			ContainSubstring("not in sync: "+replicaName(gw, 1)+" (POST /config: no answer within the per-call timeout"),
			Not(ContainSubstring(replicaName(gw, 0)+" (")))))
		Eventually(served(prompt, host)).Should(redirected)
		Expect(slow.srv.ConfigurationHash()).To(Equal(strings.Repeat("0", 32)))
		Eventually(ourParent(rt, gw)).Should(And(
			routeCondition("Accepted", metav1.ConditionTrue, "Accepted"),
			routeCondition("Programmed", metav1.ConditionFalse, "Pending")))

		// The replica answers promptly again: it catches up by itself.
		slow.srv.SlowAdmin(0)
		Eventually(gatewayCondition(gw, "Programmed"), "30s").Should(programmedWith(metav1.ConditionTrue, "Programmed", inSync("2/2")))
		Eventually(served(slow, host)).Should(redirected)
		Expect(slow.srv.ConfigurationHash()).To(Equal(prompt.srv.ConfigurationHash()))
		Eventually(ourParent(rt, gw)).Should(routeCondition("Programmed", metav1.ConditionTrue, "Programmed"))
	})

	It("reports a replica that refuses the operator's client certificate as such, never as a rejection, and configures it once it accepts", func() {
		ns, gw := programmedGateway()
		rt := newRedirectRoute(ns, gw, host)
		trusting, stale := startServingKong(gw), startServingKong(gw)
		// The replica still holds a previous admin CA, as in a rotation
		// half done.
		previous, err := certs.NewCA(time.Now())
		Expect(err).NotTo(HaveOccurred())
		Expect(stale.srv.SetAdminClientCA(previous.CertPEM)).To(Succeed())
		authFailed := pushes(gw, "auth_failed")
		publishReplicas(gw, trusting.addr, stale.addr)

		refused := replicaName(gw, 1) + ` (POST /config: Kong admin API refused the operator's client certificate (HTTP 400 "The SSL certificate error")`
		Eventually(gatewayCondition(gw, "Programmed"), "30s").Should(programmedWith(metav1.ConditionFalse, "Pending", And(
			inSync("1/2"), ContainSubstring(refused), Not(ContainSubstring("rejected")))))
		Eventually(gatewayEvents(gw)).Should(ContainElement(And(
			HavePrefix(corev1.EventTypeWarning+" "+controllers.ReasonAdminAuthenticationFailed+": "),
			ContainSubstring(replicaName(gw, 1)+": Kong admin API refused the operator's client certificate"))))
		Expect(pushes(gw, "auth_failed")).To(BeNumerically(">", authFailed))
		Eventually(served(trusting, host)).Should(redirected)
		Expect(stale.srv.ConfigurationHash()).To(Equal(strings.Repeat("0", 32)))

		// The route is as translation decided: accepted, its references
		// resolved, only waiting for the replica; nothing says Kong
		// rejected it.
		Eventually(ourParent(rt, gw)).Should(And(
			routeCondition("Accepted", metav1.ConditionTrue, "Accepted"),
			routeCondition("ResolvedRefs", metav1.ConditionTrue, "ResolvedRefs"),
			routeCondition("Programmed", metav1.ConditionFalse, "Pending")))
		parent := ourParent(rt, gw)()
		Expect(parent).NotTo(BeNil())
		for _, c := range parent.Conditions {
			Expect(c.Message).NotTo(ContainSubstring("Kong rejected"), "condition %s", c.Type)
		}
		Expect(gatewayEvents(gw)()).NotTo(ContainElement(ContainSubstring("ConfigurationRejected")))
		cfg, _ := configs.Get(client.ObjectKeyFromObject(gw))
		Expect(string(cfg.JSON)).To(ContainSubstring(rt.Name), "nothing was left out of the configuration")

		// The replica gets the operator CA: it is configured with no
		// change to any object.
		Expect(stale.srv.SetAdminClientCA(nil)).To(Succeed())
		Eventually(gatewayCondition(gw, "Programmed"), "30s").Should(programmedWith(metav1.ConditionTrue, "Programmed", inSync("2/2")))
		Eventually(served(stale, host)).Should(redirected)
		Eventually(ourParent(rt, gw)).Should(routeCondition("Programmed", metav1.ConditionTrue, "Programmed"))
		var live gwv1.HTTPRoute
		Expect(k8s.Get(ctx, client.ObjectKeyFromObject(rt), &live)).To(Succeed())
		Expect(live.Generation).To(Equal(int64(1)), "the route was never changed")
	})
})
