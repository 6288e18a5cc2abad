package envtest

import (
	"context"
	"crypto/tls"
	"strings"
	"sync/atomic"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	promtestutil "github.com/prometheus/client_golang/prometheus/testutil"
	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	gwv1 "sigs.k8s.io/gateway-api/apis/v1"

	"github.com/drawbridge-dev/drawbridge/internal/provision"
)

// programmedGateway creates a Gateway whose data plane has an address and an
// available replica, so Programmed depends only on configuration sync.
func programmedGateway() (string, *gwv1.Gateway) {
	ns := newNamespace()
	class := newClass(nil)
	gw := newGateway(ns, class.Name, nil)
	names := provision.NamesFor(gw)
	playLoadBalancer(ns, names.DataPlane, "192.0.2.20")
	playDeploymentController(ns, names.DataPlane, 1)
	return ns, gw
}

func programmedMessage(gw *gwv1.Gateway, substr string) {
	GinkgoHelper()
	Eventually(gatewayCondition(gw, "Programmed")).Should(And(
		haveCondition(metav1.ConditionTrue, "Programmed"), HaveField("Message", ContainSubstring(substr))))
}

func pushes(gw *gwv1.Gateway, result string) float64 {
	return promtestutil.ToFloat64(pushMetrics.Pushes.WithLabelValues(gw.Namespace, gw.Name, result))
}

var _ = Describe("Data-plane sync", func() {
	ctx := context.Background()

	It("pushes once, skips an unchanged configuration, re-pushes a replica that lost it and configures a new replica", func() {
		_, gw := programmedGateway()
		first := startKong(gw)
		publishReplicas(gw, first.addr)
		programmedMessage(gw, "1/1 replicas hold the current configuration")
		Expect(first.srv.ConfigurationHash()).NotTo(Equal(strings.Repeat("0", 32)))
		Expect(first.srv.ConfigPosts()).To(Equal(int64(1)))

		// Something unrelated to the configuration changes: the replica is
		// asked for its hash, and nothing is sent.
		skipped := pushes(gw, "skipped")
		publishReplicas(gw, first.addr)
		Eventually(func() float64 { return pushes(gw, "skipped") }).Should(BeNumerically(">", skipped))
		Consistently(first.srv.ConfigPosts, "1s").Should(Equal(int64(1)))

		// The container restarts and comes back empty (the all-zero hash).
		first.restart()
		Expect(first.srv.ConfigurationHash()).To(Equal(strings.Repeat("0", 32)))
		publishReplicas(gw, first.addr)
		Eventually(first.srv.ConfigPosts).Should(Equal(int64(1)))
		Eventually(first.srv.ConfigurationHash).ShouldNot(Equal(strings.Repeat("0", 32)))

		// A second replica gets the configuration as soon as it appears.
		second := startKong(gw)
		publishReplicas(gw, first.addr, second.addr)
		Eventually(second.srv.ConfigPosts).Should(Equal(int64(1)))
		programmedMessage(gw, "2/2 replicas hold the current configuration")
		Expect(second.srv.ConfigurationHash()).To(Equal(first.srv.ConfigurationHash()))
		Expect(first.srv.ConfigPosts()).To(Equal(int64(1)), "the first replica already held it")
	})

	It("retries a busy replica after its Retry-After", func() {
		_, gw := programmedGateway()
		busy := startKong(gw)
		busy.srv.BusyFor(1, time.Second)
		publishReplicas(gw, busy.addr)
		programmedMessage(gw, "1/1 replicas hold the current configuration")
		Expect(busy.srv.ConfigPosts()).To(Equal(int64(2)), "one 429, then the push that succeeded")
	})

	It("refuses admin clients without the operator's certificate", func() {
		_, gw := programmedGateway()
		kong := startKong(gw)
		conn, err := tls.Dial("tcp", kong.admin, &tls.Config{InsecureSkipVerify: true}) //nolint:gosec // the test is the unauthenticated client
		if err == nil {
			// TLS 1.3 reports a refused client certificate on the first read.
			_, err = conn.Read(make([]byte, 1))
			conn.Close()
		}
		Expect(err).To(HaveOccurred())
		Expect(kong.srv.ConfigPosts()).To(BeZero())
	})

	It("leaves a route Kong rejects out, keeps every other route configured and tells the route's owner", func() {
		ns, gw := programmedGateway()
		createBackend(ns, "echo", "10.1.2.3")
		good := newHTTPRoute(ns, []gwv1.ParentReference{parentRef(gw)}, nil, "echo")
		bad := newHTTPRoute(ns, []gwv1.ParentReference{parentRef(gw)}, nil, "echo")
		kong := startKong(gw)
		// Kong rejects what the translator believes valid (a stricter
		// release, a site's plugin schema): forced here with an extra rule.
		// The two routes send to the same backend, so the translator first
		// merges them into one Kong route, which carries the bad route's
		// match too and is refused with it; that verdict names no object,
		// so the operator translates again with one Kong route per match to
		// learn which object Kong refuses (internal/translate/routemerge.go).
		var mergedRefused atomic.Bool
		kong.srv.SetEntityPolicy(func(typ string, e map[string]any) string {
			tags, _ := e["tags"].([]any)
			for _, t := range tags {
				if typ == "route" && t == "drawbridge-merged-routes" {
					mergedRefused.Store(true)
					return "refused by site policy"
				}
				if t == "k8s-name:"+bad.Name && typ == "route" {
					return "refused by site policy"
				}
			}
			return ""
		})
		publishReplicas(gw, kong.addr)
		programmedMessage(gw, "1/1 replicas hold the current configuration")

		Eventually(ourParent(bad, gw)).Should(And(
			routeCondition("Accepted", metav1.ConditionFalse, "UnsupportedValue"),
			routeCondition("Programmed", metav1.ConditionFalse, "Invalid"),
			WithTransform(func(p *gwv1.RouteParentStatus) string { return p.Conditions[0].Message + p.Conditions[1].Message },
				ContainSubstring("refused by site policy"))))
		Eventually(ourParent(good, gw)).Should(And(
			routeCondition("Accepted", metav1.ConditionTrue, "Accepted"),
			routeCondition("Programmed", metav1.ConditionTrue, "Programmed")))
		Expect(mergedRefused.Load()).To(BeTrue(), "the first configuration merged both routes")
		c, _ := configs.Get(client.ObjectKeyFromObject(gw))
		Expect(string(c.JSON)).To(ContainSubstring(good.Name))
		Expect(string(c.JSON)).NotTo(ContainSubstring(bad.Name))
		Eventually(func() []string {
			var evs eventsv1.EventList
			Expect(k8s.List(ctx, &evs, client.InNamespace(ns))).To(Succeed())
			var out []string
			for _, e := range evs.Items {
				if e.Regarding.Name == bad.Name && e.Type == corev1.EventTypeWarning {
					out = append(out, e.Reason+": "+e.Note)
				}
			}
			return out
		}).Should(ContainElement(And(HavePrefix("ConfigurationRejected"), ContainSubstring("refused by site policy"))))
		// The Gateway's status is its own patch, which may land after the
		// route's status and events.
		listenerOf := listenerStatus(gw, "http")
		Eventually(listenerOf).Should(HaveField("AttachedRoutes", int32(1)), "the rejected route is not attached")

		// The rejection is remembered: the next reconciles do not send Kong
		// the configuration it refused again.
		posts := kong.srv.ConfigPosts()
		publishReplicas(gw, kong.addr)
		Consistently(kong.srv.ConfigPosts, "1s").Should(Equal(posts))

		// Once the route changes it is tried again; Kong now accepts it.
		kong.srv.SetEntityPolicy(nil)
		Eventually(func() error {
			var live gwv1.HTTPRoute
			if err := k8s.Get(ctx, client.ObjectKeyFromObject(bad), &live); err != nil {
				return err
			}
			live.Spec.Hostnames = []gwv1.Hostname{"fixed.example.com"}
			return k8s.Update(ctx, &live)
		}).Should(Succeed())
		Eventually(ourParent(bad, gw)).Should(And(
			routeCondition("Accepted", metav1.ConditionTrue, "Accepted"),
			routeCondition("Programmed", metav1.ConditionTrue, "Programmed")))
		Eventually(func() string { c, _ := configs.Get(client.ObjectKeyFromObject(gw)); return string(c.JSON) }).Should(ContainSubstring(bad.Name))
		Eventually(listenerOf).Should(HaveField("AttachedRoutes", int32(2)))
	})

	It("configures the replacement replicas after the admin certificate is reissued", func() {
		ns, gw := programmedGateway()
		names := provision.NamesFor(gw)
		old := startKong(gw)
		publishReplicas(gw, old.addr)
		programmedMessage(gw, "1/1 replicas hold the current configuration")
		var before corev1.Secret
		Expect(get(&before, ns, names.AdminTLS)()).To(Succeed())
		annotation := deployment(ns, names.DataPlane)().Spec.Template.Annotations[provision.AnnotationAdminCert]

		// The certificate is replaced (deleted here; renewal takes the same
		// path): the pods roll, and the new ones mount the new certificate.
		Expect(k8s.Delete(ctx, &before)).To(Succeed())
		Eventually(func() string {
			return deployment(ns, names.DataPlane)().Spec.Template.Annotations[provision.AnnotationAdminCert]
		}).ShouldNot(Equal(annotation))
		var after corev1.Secret
		Eventually(func() []byte { _ = get(&after, ns, names.AdminTLS)(); return after.Data["tls.crt"] }).
			ShouldNot(Or(BeEmpty(), Equal(before.Data["tls.crt"])))
		replacement := startKong(gw)
		publishReplicas(gw, replacement.addr)
		Eventually(replacement.srv.ConfigPosts).Should(Equal(int64(1)))
		programmedMessage(gw, "1/1 replicas hold the current configuration")
		Expect(replacement.srv.ConfigurationHash()).To(Equal(old.srv.ConfigurationHash()))
	})
})
