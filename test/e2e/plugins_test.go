package e2e

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	corev1 "k8s.io/api/core/v1"
	apimeta "k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	gwv1 "sigs.k8s.io/gateway-api/apis/v1"

	"github.com/drawbridge-dev/drawbridge/api/v1alpha1"
	"github.com/drawbridge-dev/drawbridge/internal/monitoring"
	"github.com/drawbridge-dev/drawbridge/internal/provision"
)

// send is one bounded request with a method, headers and a body; it
// returns the status and the response headers.
func send(c *http.Client, method, url, host string, headers map[string]string, body []byte) (int, http.Header, error) {
	req, err := http.NewRequest(method, url, bytes.NewReader(body))
	if err != nil {
		return 0, nil, err
	}
	req.Host = host
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	resp, err := c.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
	return resp.StatusCode, resp.Header, nil
}

// eventuallyStatus polls (at most 240 requests in 60s) until a request is
// answered with the given status.
func eventuallyStatus(c *http.Client, method, url, host string, headers map[string]string, body []byte, want int) http.Header {
	var h http.Header
	Eventually(func(g Gomega) {
		code, hdr, err := send(c, method, url, host, headers, body)
		g.Expect(err).NotTo(HaveOccurred())
		g.Expect(code).To(Equal(want))
		h = hdr
	}).WithTimeout(60*time.Second).WithPolling(250*time.Millisecond).Should(Succeed(), "%s %s (Host %s, %v)", method, url, host, headers)
	return h
}

// pluginAccepted returns the Accepted condition a Gateway wrote on a
// KongPlugin (GEP-713 status.ancestors), or nil.
func pluginAccepted(ctx context.Context, ns, name, gateway string) *metav1.Condition {
	var kp v1alpha1.KongPlugin
	if err := k8s.Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, &kp); err != nil {
		return nil
	}
	for _, a := range kp.Status.Ancestors {
		if string(a.AncestorRef.Name) == gateway && a.ControllerName == "drawbridge.dev/gateway-controller" {
			if c := apimeta.FindStatusCondition(a.Conditions, "Accepted"); c != nil && c.ObservedGeneration == kp.Generation {
				return c
			}
		}
	}
	return nil
}

var _ = Describe("Kong plugins", func() {
	It("applies KongPlugins to one rule through ExtensionRef filters, and deleting one removes its effect", func(ctx SpecContext) {
		ns := newNamespace(ctx)
		echoBackend(ctx, ns, "echo", 1, corev1.ProtocolTCP, "")
		Expect(applyYAML(ctx, gatewayYAML(ns, "web", `
  - name: http
    port: 80
    protocol: HTTP
`)+fmt.Sprintf(`
---
apiVersion: gateway.drawbridge.dev/v1alpha1
kind: KongPlugin
metadata: {name: limit, namespace: %[1]s}
spec:
  plugin: rate-limiting
  config: {minute: 3, policy: local}
---
apiVersion: gateway.drawbridge.dev/v1alpha1
kind: KongPlugin
metadata: {name: small-bodies, namespace: %[1]s}
spec:
  plugin: request-size-limiting
  config: {allowed_payload_size: 16, size_unit: bytes}
---
apiVersion: gateway.drawbridge.dev/v1alpha1
kind: KongPlugin
metadata: {name: tag-rule, namespace: %[1]s}
spec:
  plugin: response-transformer
  config: {add: {headers: ["X-Rule:tagged"]}}
---
apiVersion: gateway.drawbridge.dev/v1alpha1
kind: KongPlugin
metadata: {name: nobody, namespace: %[1]s}
spec:
  plugin: ip-restriction
  config: {deny: ["0.0.0.0/0"]}
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: plugged, namespace: %[1]s}
spec:
  parentRefs: [{name: web}]
  hostnames: [plugins.example.com]
  rules:
  - matches: [{path: {type: PathPrefix, value: /limited}}]
    filters: [{type: ExtensionRef, extensionRef: {group: gateway.drawbridge.dev, kind: KongPlugin, name: limit}}]
    backendRefs: [{name: echo, port: 8080}]
  - matches: [{path: {type: PathPrefix, value: /upload}}]
    filters: [{type: ExtensionRef, extensionRef: {group: gateway.drawbridge.dev, kind: KongPlugin, name: small-bodies}}]
    backendRefs: [{name: echo, port: 8080}]
  - matches: [{path: {type: PathPrefix, value: /tagged}}]
    filters: [{type: ExtensionRef, extensionRef: {group: gateway.drawbridge.dev, kind: KongPlugin, name: tag-rule}}]
    backendRefs: [{name: echo, port: 8080}]
  - matches: [{path: {type: PathPrefix, value: /closed}}]
    filters: [{type: ExtensionRef, extensionRef: {group: gateway.drawbridge.dev, kind: KongPlugin, name: nobody}}]
    backendRefs: [{name: echo, port: 8080}]
  - backendRefs: [{name: echo, port: 8080}]
`, ns))).To(Succeed())
		gw := waitProgrammed(ctx, ns, "web")
		base := "http://" + hostAddr(gw, 80, corev1.ProtocolTCP)
		c := httpClient()
		const host = "plugins.example.com"

		By("response-transformer adds its header on its rule only")
		h := eventuallyStatus(c, "GET", base+"/tagged", host, nil, nil, http.StatusOK)
		Expect(h.Get("X-Rule")).To(Equal("tagged"))
		_, h, err := send(c, "GET", base+"/plain", host, nil, nil)
		Expect(err).NotTo(HaveOccurred())
		Expect(h.Get("X-Rule")).To(BeEmpty(), "the rule without the filter")

		By("ip-restriction refuses every client on its rule")
		eventuallyStatus(c, "GET", base+"/closed", host, nil, nil, http.StatusForbidden)

		By("request-size-limiting answers 413 to a body over 16 bytes")
		eventuallyStatus(c, "POST", base+"/upload", host, nil, []byte(strings.Repeat("x", 100)), http.StatusRequestEntityTooLarge)
		code, _, err := send(c, "POST", base+"/upload", host, nil, []byte("small"))
		Expect(err).NotTo(HaveOccurred())
		Expect(code).To(Equal(http.StatusOK))

		By("rate-limiting (local policy, 3 a minute) answers 429 after its limit")
		h = eventuallyStatus(c, "GET", base+"/limited", host, nil, nil, http.StatusOK)
		Expect(h.Get("X-RateLimit-Limit-Minute")).To(Equal("3"))
		limited := false
		// A minute boundary may reset the counter once: 8 requests are
		// enough to see the limit whatever the clock does.
		for i := 0; i < 8 && !limited; i++ {
			code, _, err := send(c, "GET", base+"/limited", host, nil, nil)
			Expect(err).NotTo(HaveOccurred())
			limited = code == http.StatusTooManyRequests
		}
		Expect(limited).To(BeTrue(), "no 429 within 8 requests of a 3-a-minute limit")

		By("every KongPlugin reports Accepted on the Gateway")
		for _, name := range []string{"limit", "small-bodies", "tag-rule", "nobody"} {
			Eventually(func() *metav1.Condition { return pluginAccepted(ctx, ns, name, "web") }).
				WithTimeout(30*time.Second).Should(And(Not(BeNil()), HaveField("Status", metav1.ConditionTrue)), "KongPlugin %s", name)
		}

		By("deleting the ip-restriction KongPlugin removes its effect")
		Expect(k8s.Delete(ctx, &v1alpha1.KongPlugin{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "nobody"}})).To(Succeed())
		// The filter now names a missing plugin: the rule answers 500, as
		// the spec says for an invalid filter, instead of opening up.
		eventuallyStatus(c, "GET", base+"/closed", host, nil, nil, http.StatusInternalServerError)
		Expect(applyYAML(ctx, fmt.Sprintf(`
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: plugged, namespace: %[1]s}
spec:
  parentRefs: [{name: web}]
  hostnames: [plugins.example.com]
  rules:
  - matches: [{path: {type: PathPrefix, value: /closed}}]
    backendRefs: [{name: echo, port: 8080}]
`, ns))).To(Succeed())
		eventuallyStatus(c, "GET", base+"/closed", host, nil, nil, http.StatusOK)
	}, NodeTimeout(4*time.Minute))

	It("authenticates consumers with key-auth and authorizes them by acl group", func(ctx SpecContext) {
		ns := newNamespace(ctx)
		echoBackend(ctx, ns, "echo", 1, corev1.ProtocolTCP, "")
		Expect(applyYAML(ctx, gatewayYAML(ns, "web", `
  - name: http
    port: 80
    protocol: HTTP
`)+fmt.Sprintf(`
---
apiVersion: v1
kind: Secret
metadata: {name: gold-key, namespace: %[1]s}
stringData: {key: gold-secret-key}
---
apiVersion: v1
kind: Secret
metadata: {name: silver-key, namespace: %[1]s}
stringData: {key: silver-secret-key}
---
apiVersion: gateway.drawbridge.dev/v1alpha1
kind: KongConsumer
metadata: {name: alice, namespace: %[1]s}
spec:
  username: alice
  groups: [gold]
  credentials: [{type: key-auth, secretName: gold-key}]
---
apiVersion: gateway.drawbridge.dev/v1alpha1
kind: KongConsumer
metadata: {name: bob, namespace: %[1]s}
spec:
  username: bob
  groups: [silver]
  credentials: [{type: key-auth, secretName: silver-key}]
---
apiVersion: gateway.drawbridge.dev/v1alpha1
kind: KongPlugin
metadata: {name: need-key, namespace: %[1]s}
spec:
  plugin: key-auth
  targetRefs: [{group: gateway.networking.k8s.io, kind: HTTPRoute, name: members}]
---
apiVersion: gateway.drawbridge.dev/v1alpha1
kind: KongPlugin
metadata: {name: gold-only, namespace: %[1]s}
spec:
  plugin: acl
  config: {allow: [gold]}
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: members, namespace: %[1]s}
spec:
  parentRefs: [{name: web}]
  hostnames: [members.example.com]
  rules:
  - matches: [{path: {type: PathPrefix, value: /gold}}]
    filters: [{type: ExtensionRef, extensionRef: {group: gateway.drawbridge.dev, kind: KongPlugin, name: gold-only}}]
    backendRefs: [{name: echo, port: 8080}]
  - backendRefs: [{name: echo, port: 8080}]
`, ns))).To(Succeed())
		gw := waitProgrammed(ctx, ns, "web")
		base := "http://" + hostAddr(gw, 80, corev1.ProtocolTCP)
		c := httpClient()
		const host = "members.example.com"
		gold := map[string]string{"apikey": "gold-secret-key"}
		silver := map[string]string{"apikey": "silver-secret-key"}

		By("key-auth: 401 without a key or with an unknown one, 200 with a consumer's key")
		eventuallyStatus(c, "GET", base+"/", host, nil, nil, http.StatusUnauthorized)
		code, _, err := send(c, "GET", base+"/", host, map[string]string{"apikey": "guess"}, nil)
		Expect(err).NotTo(HaveOccurred())
		Expect(code).To(Equal(http.StatusUnauthorized))
		eventuallyStatus(c, "GET", base+"/", host, gold, nil, http.StatusOK)
		eventuallyStatus(c, "GET", base+"/", host, silver, nil, http.StatusOK)

		By("acl: the gold rule admits alice's group and forbids bob's")
		eventuallyStatus(c, "GET", base+"/gold", host, gold, nil, http.StatusOK)
		eventuallyStatus(c, "GET", base+"/gold", host, silver, nil, http.StatusForbidden)
		code, _, err = send(c, "GET", base+"/gold", host, nil, nil)
		Expect(err).NotTo(HaveOccurred())
		Expect(code).To(Equal(http.StatusUnauthorized), "the route's key-auth applies to the rule too")

		By("deleting the key-auth KongPlugin attached with targetRefs opens the route again")
		Expect(k8s.Delete(ctx, &v1alpha1.KongPlugin{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "need-key"}})).To(Succeed())
		eventuallyStatus(c, "GET", base+"/", host, nil, nil, http.StatusOK)

		By("the consumers report Accepted")
		for _, name := range []string{"alice", "bob"} {
			Eventually(func(g Gomega) {
				var kc v1alpha1.KongConsumer
				g.Expect(k8s.Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, &kc)).To(Succeed())
				cond := apimeta.FindStatusCondition(kc.Status.Conditions, "Accepted")
				g.Expect(cond).NotTo(BeNil())
				g.Expect(cond.Status).To(Equal(metav1.ConditionTrue))
			}).WithTimeout(30 * time.Second).Should(Succeed())
		}
	}, NodeTimeout(4*time.Minute))

	It("refuses plugins off the allow-list and configurations Kong rejects on their objects, while other routes keep serving", func(ctx SpecContext) {
		ns := newNamespace(ctx)
		echoBackend(ctx, ns, "echo", 1, corev1.ProtocolTCP, "")
		Expect(applyYAML(ctx, gatewayYAML(ns, "web", `
  - name: http
    port: 80
    protocol: HTTP
`)+fmt.Sprintf(`
---
apiVersion: gateway.drawbridge.dev/v1alpha1
kind: KongPlugin
metadata: {name: run-lua, namespace: %[1]s}
spec:
  plugin: pre-function
  config: {access: ["kong.response.exit(200)"]}
---
apiVersion: gateway.drawbridge.dev/v1alpha1
kind: KongPlugin
metadata: {name: broken-limit, namespace: %[1]s}
spec:
  plugin: rate-limiting
  config: {minute: "many", policy: local}
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: lua, namespace: %[1]s}
spec:
  parentRefs: [{name: web}]
  hostnames: [lua.example.com]
  rules:
  - filters: [{type: ExtensionRef, extensionRef: {group: gateway.drawbridge.dev, kind: KongPlugin, name: run-lua}}]
    backendRefs: [{name: echo, port: 8080}]
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: broken, namespace: %[1]s}
spec:
  parentRefs: [{name: web}]
  hostnames: [broken.example.com]
  rules:
  - filters: [{type: ExtensionRef, extensionRef: {group: gateway.drawbridge.dev, kind: KongPlugin, name: broken-limit}}]
    backendRefs: [{name: echo, port: 8080}]
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: fine, namespace: %[1]s}
spec:
  parentRefs: [{name: web}]
  hostnames: [fine.example.com]
  rules:
  - backendRefs: [{name: echo, port: 8080}]
`, ns))).To(Succeed())
		gw := waitProgrammed(ctx, ns, "web")
		base := "http://" + hostAddr(gw, 80, corev1.ProtocolTCP)
		c := httpClient()

		By("the route without plugins serves")
		eventuallyEcho(c, base+"/", "fine.example.com", nil, "echo-")

		By("pre-function is not on the default allow-list: refused on the KongPlugin and the route")
		Eventually(func() *metav1.Condition { return pluginAccepted(ctx, ns, "run-lua", "web") }).WithTimeout(30 * time.Second).
			Should(And(Not(BeNil()), HaveField("Status", metav1.ConditionFalse), HaveField("Reason", "Invalid")))
		Eventually(func(g Gomega) {
			var r gwv1.HTTPRoute
			g.Expect(k8s.Get(ctx, client.ObjectKey{Namespace: ns, Name: "lua"}, &r)).To(Succeed())
			g.Expect(r.Status.Parents).NotTo(BeEmpty())
			g.Expect(apimeta.IsStatusConditionTrue(r.Status.Parents[0].Conditions, "Accepted") &&
				apimeta.IsStatusConditionTrue(r.Status.Parents[0].Conditions, "ResolvedRefs")).To(BeFalse(),
				"a route with a refused plugin must say so")
		}).WithTimeout(30 * time.Second).Should(Succeed())
		code, _, err := send(c, "GET", base+"/", "lua.example.com", nil, nil)
		Expect(err).NotTo(HaveOccurred())
		Expect(code).NotTo(Equal(http.StatusOK), "the refused plugin's rule must not serve as if it ran")

		By("Kong's schema refuses the rate-limiting config; the verdict reaches the KongPlugin")
		Eventually(func() *metav1.Condition { return pluginAccepted(ctx, ns, "broken-limit", "web") }).WithTimeout(60 * time.Second).
			Should(And(Not(BeNil()), HaveField("Status", metav1.ConditionFalse), HaveField("Message", ContainSubstring("minute"))))
		eventuallyEcho(c, base+"/", "fine.example.com", nil, "echo-")
	}, NodeTimeout(4*time.Minute))

	It("runs the platform's Gateway-wide prometheus plugin and a custom Lua plugin from a ConfigMap", func(ctx SpecContext) {
		ns := newNamespace(ctx)
		echoBackend(ctx, ns, "echo", 1, corev1.ProtocolTCP, "")
		Expect(applyYAML(ctx, pluginsClass)).To(Succeed())
		Expect(applyYAML(ctx, fmt.Sprintf(`
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: web, namespace: %[1]s}
spec:
  gatewayClassName: e2e-plugins
  listeners:
  - {name: http, port: 80, protocol: HTTP}
---
apiVersion: gateway.drawbridge.dev/v1alpha1
kind: KongPlugin
metadata: {name: hello, namespace: %[1]s}
spec:
  plugin: hello-header
  config: {greeting: hi from a ConfigMap}
  targetRefs: [{group: gateway.networking.k8s.io, kind: Gateway, name: web}]
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: app, namespace: %[1]s}
spec:
  parentRefs: [{name: web}]
  rules:
  - backendRefs: [{name: echo, port: 8080}]
`, ns))).To(Succeed())
		gw := waitProgrammed(ctx, ns, "web")
		base := "http://" + hostAddr(gw, 80, corev1.ProtocolTCP)
		c := httpClient()

		By("the custom plugin runs on every route of the Gateway")
		h := eventuallyStatus(c, "GET", base+"/", "app.example.com", nil, nil, http.StatusOK)
		Expect(h.Get("X-Hello")).To(Equal("hi from a ConfigMap"))

		By("prometheus metrics of the data plane are scraped through the status port")
		pods := dataPlanePods(ctx, gw)
		Expect(pods).NotTo(BeEmpty())
		Eventually(func(g Gomega) {
			resp, err := podClient().Get(fmt.Sprintf("http://%s:%d/metrics", pods[0].Status.PodIP, provision.StatusPort))
			g.Expect(err).NotTo(HaveOccurred())
			defer resp.Body.Close()
			body, _ := io.ReadAll(io.LimitReader(resp.Body, 4<<20))
			g.Expect(resp.StatusCode).To(Equal(http.StatusOK))
			g.Expect(string(body)).To(ContainSubstring("kong_nginx_connections_total"))
		}).WithTimeout(30 * time.Second).WithPolling(500 * time.Millisecond).Should(Succeed())

		By("the metrics Service carries what the README's ServiceMonitor selects and relabels by")
		var svc corev1.Service
		Expect(k8s.Get(ctx, client.ObjectKey{Namespace: ns, Name: provision.NamesFor(gw).Metrics}, &svc)).To(Succeed())
		Expect(svc.Labels).To(HaveKeyWithValue(provision.LabelMetrics, "prometheus"))
		Expect(svc.Labels).To(HaveKeyWithValue(gwv1.GatewayNameLabelKey, "web"))
		Expect(svc.Spec.Ports).To(ContainElement(HaveField("Name", provision.MetricsPortName)))

		By("after traffic, Kong exports every kong_* metric and label the dashboard and the alert rules query")
		used, err := monitoring.Load(filepath.Join("..", ".."))
		Expect(err).NotTo(HaveOccurred())
		Expect(used.Kong()).NotTo(BeEmpty())
		// Bounded traffic: 20 requests through the route to the echo
		// backend, then at most 4 a second while the scrape is retried.
		for i := 0; i < 20; i++ {
			code, _, err := send(c, "GET", fmt.Sprintf("%s/m/%d", base, i), "app.example.com", nil, nil)
			Expect(err).NotTo(HaveOccurred())
			Expect(code).To(Equal(http.StatusOK))
		}
		// upstream_target_health is exported by a worker only after that
		// worker logged a request with upstream_health_metrics on, and
		// /metrics may be served by another worker: keep sending a few
		// requests between scrapes.
		Eventually(func(g Gomega) {
			for i := 0; i < 4; i++ {
				_, _, _ = send(c, "GET", base+"/again", "app.example.com", nil, nil)
			}
			for _, pod := range pods {
				families := scrapeKong(g, pod.Status.PodIP)
				g.Expect(missingKongMetrics(used, families)).To(BeEmpty(), "pod %s", pod.Name)
			}
		}).WithTimeout(60 * time.Second).WithPolling(time.Second).Should(Succeed())
	}, NodeTimeout(4*time.Minute))
})

// scrapeKong reads and parses a data-plane pod's /metrics.
func scrapeKong(g Gomega, podIP string) map[string]*dto.MetricFamily {
	resp, err := podClient().Get(fmt.Sprintf("http://%s:%d/metrics", podIP, provision.StatusPort))
	g.Expect(err).NotTo(HaveOccurred())
	defer resp.Body.Close()
	g.Expect(resp.StatusCode).To(Equal(http.StatusOK))
	parser := expfmt.NewTextParser(model.UTF8Validation)
	families, err := parser.TextToMetricFamilies(io.LimitReader(resp.Body, 8<<20))
	g.Expect(err).NotTo(HaveOccurred())
	return families
}

// missingKongMetrics names each Kong metric of the dashboard and rules that
// the scrape lacks, and each label they query that no series of it has.
func missingKongMetrics(used *monitoring.Used, families map[string]*dto.MetricFamily) []string {
	var missing []string
	for _, m := range used.Kong() {
		var fam *dto.MetricFamily
		for _, name := range monitoring.Candidates(m.Name) {
			if f, ok := families[name]; ok {
				fam = f
				break
			}
		}
		if fam == nil {
			missing = append(missing, m.Name)
			continue
		}
		for _, l := range used.OwnLabels(m) {
			found := false
			for _, series := range fam.GetMetric() {
				for _, pair := range series.GetLabel() {
					found = found || pair.GetName() == l
				}
			}
			if !found {
				missing = append(missing, m.Name+"{"+l+"}")
			}
		}
	}
	return missing
}

// pluginsClass is a GatewayClass whose platform configuration runs
// prometheus on every Gateway and ships a custom Lua plugin, written here,
// that adds a greeting header to every response.
const pluginsClass = `
apiVersion: v1
kind: ConfigMap
metadata:
  name: hello-header
  namespace: drawbridge-system
data:
  handler.lua: |
    local Hello = { PRIORITY = 900, VERSION = "1.0.0" }
    function Hello:header_filter(conf)
      kong.response.set_header("X-Hello", conf.greeting)
    end
    return Hello
  schema.lua: |
    local typedefs = require "kong.db.schema.typedefs"
    return {
      name = "hello-header",
      fields = {
        { protocols = typedefs.protocols_http },
        { config = { type = "record", fields = {
          { greeting = { type = "string", default = "hello" } },
        } } },
      },
    }
---
apiVersion: gateway.drawbridge.dev/v1alpha1
kind: GatewayConfiguration
metadata:
  name: e2e-plugins
  namespace: drawbridge-system
spec:
  dataPlane:
    image: kong:3.9
    replicas: 1
  service:
    type: LoadBalancer
  plugins:
    gateway:
    # Configured as the README tells for the dashboard's data-plane panels
    # and the data-plane alerts (per_consumer stays off: consumer usernames
    # would multiply the series).
    - plugin: prometheus
      config:
        status_code_metrics: true
        latency_metrics: true
        bandwidth_metrics: true
        upstream_health_metrics: true
    custom:
    - name: hello-header
      configMapName: hello-header
---
apiVersion: gateway.networking.k8s.io/v1
kind: GatewayClass
metadata:
  name: e2e-plugins
spec:
  controllerName: drawbridge.dev/gateway-controller
  parametersRef:
    group: gateway.drawbridge.dev
    kind: GatewayConfiguration
    name: e2e-plugins
    namespace: drawbridge-system
`
