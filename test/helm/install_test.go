package helm

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	appsv1 "k8s.io/api/apps/v1"
	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	gwv1 "sigs.k8s.io/gateway-api/apis/v1"

	"github.com/drawbridge-dev/drawbridge/api/v1alpha1"
	"github.com/drawbridge-dev/drawbridge/internal/lab"
	"github.com/drawbridge-dev/drawbridge/internal/provision"
)

const (
	release   = "drawbridge"
	namespace = "drawbridge-system"
	// The chart's full name is the release name when it holds the chart
	// name, so the operator Deployment is "drawbridge".
	fullname = "drawbridge"
	appNS    = "helm-demo"
)

var _ = Describe("The Helm chart", func() {
	It("installs an operator that serves traffic, upgrades it and uninstalls it cleanly", func(ctx SpecContext) {
		start := time.Now()
		chartDir := filepath.Join(repoRoot(), "charts", "drawbridge")

		By("installing the chart with the Gateway API standard-channel CRDs from the chart")
		// The lab runs the operator binary for any drawbridge:<tag> image;
		// the tag is left to the chart (its appVersion).
		_, err := helm(ctx, "install", release, chartDir, "--namespace", namespace, "--create-namespace",
			"--set", "image.repository=drawbridge", "--set", "gatewayAPI.installCRDs=true")
		Expect(err).NotTo(HaveOccurred())
		waitDeployment(ctx, 1)
		installed := time.Since(start)

		By("checking the objects the release created")
		var crd apiextensionsv1.CustomResourceDefinition
		Expect(k8s.Get(ctx, client.ObjectKey{Name: "gateways.gateway.networking.k8s.io"}, &crd)).To(Succeed())
		Expect(crd.Annotations).To(HaveKeyWithValue("gateway.networking.k8s.io/channel", "standard"))
		Expect(k8s.Get(ctx, client.ObjectKey{Name: "gatewayconfigurations.gateway.drawbridge.dev"}, &crd)).To(Succeed())
		var dep appsv1.Deployment
		Expect(k8s.Get(ctx, client.ObjectKey{Namespace: namespace, Name: fullname}, &dep)).To(Succeed())
		Expect(dep.Spec.Template.Spec.Containers[0].Image).To(Equal("drawbridge:v0.1.0"))
		Expect(dep.Spec.Template.Spec.Containers[0].Args).To(ContainElement("--leader-elect"))
		Eventually(func(g Gomega) {
			var class gwv1.GatewayClass
			g.Expect(k8s.Get(ctx, client.ObjectKey{Name: "drawbridge"}, &class)).To(Succeed())
			g.Expect(meta.IsStatusConditionTrue(class.Status.Conditions, string(gwv1.GatewayClassConditionStatusAccepted))).To(BeTrue(), "GatewayClass drawbridge Accepted")
		}).WithTimeout(time.Minute).WithPolling(250 * time.Millisecond).Should(Succeed())

		By("serving an HTTPRoute through a Gateway of the chart's GatewayClass")
		Expect(applyYAML(ctx, demoYAML)).To(Succeed())
		DeferCleanup(func(ctx SpecContext) {
			_ = k8s.Delete(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: appNS}})
		})
		waitReady(ctx, appNS, "echo", 1)
		gw := waitProgrammed(ctx, appNS, "web")
		url := "http://" + hostAddr(gw, 80) + "/"
		eventuallyEcho(url, "echo-")
		served := time.Since(start)

		By("upgrading the release to two operator replicas and no metrics Service")
		metricsSvc := &corev1.Service{ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: fullname + "-metrics"}}
		Expect(k8s.Get(ctx, client.ObjectKeyFromObject(metricsSvc), metricsSvc)).To(Succeed())
		_, err = helm(ctx, "upgrade", release, chartDir, "--namespace", namespace, "--reuse-values",
			"--set", "replicaCount=2", "--set", "metrics.service.enabled=false")
		Expect(err).NotTo(HaveOccurred())
		waitDeployment(ctx, 2)
		Expect(isGone(ctx, metricsSvc)).To(BeTrue(), "the upgrade left the metrics Service it no longer renders")
		Expect(k8s.Get(ctx, client.ObjectKey{Namespace: namespace, Name: fullname}, &dep)).To(Succeed())
		Expect(*dep.Spec.Replicas).To(BeEquivalentTo(2))
		Expect(dep.Spec.Template.Spec.Containers[0].Args).To(ContainElement("--leader-elect"))
		out, err := helm(ctx, "status", release, "--namespace", namespace)
		Expect(err).NotTo(HaveOccurred())
		Expect(out).To(ContainSubstring("REVISION: 2"))
		// Two replicas elect a leader through a Lease in the release namespace.
		Eventually(func(g Gomega) {
			var leases coordinationv1.LeaseList
			g.Expect(k8s.List(ctx, &leases, client.InNamespace(namespace))).To(Succeed())
			g.Expect(leases.Items).NotTo(BeEmpty())
			g.Expect(leases.Items[0].Spec.HolderIdentity).NotTo(BeNil())
		}).WithTimeout(time.Minute).WithPolling(250*time.Millisecond).Should(Succeed(), "a leader-election Lease held in %s", namespace)
		// The new operator pods take over the Gateway (a route change is
		// pushed by whichever replica leads) and traffic still flows.
		Expect(applyYAML(ctx, strings.Replace(routeYAML, "PathPrefix, value: /}", "PathPrefix, value: /after-upgrade}", 1))).To(Succeed())
		eventuallyEcho(url+"after-upgrade", "echo-")
		upgraded := time.Since(start)

		By("uninstalling: the Gateway first (its data plane is the operator's to remove), then the release")
		Expect(k8s.Delete(ctx, gw)).To(Succeed())
		Eventually(func() bool {
			return isGone(ctx, &gwv1.Gateway{ObjectMeta: metav1.ObjectMeta{Namespace: appNS, Name: "web"}})
		}).
			WithTimeout(2*time.Minute).WithPolling(250*time.Millisecond).Should(BeTrue(), "Gateway web deleted (its finalizer removed by the operator)")
		_, err = helm(ctx, "uninstall", release, "--namespace", namespace, "--wait")
		Expect(err).NotTo(HaveOccurred())
		for _, obj := range []client.Object{
			&appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: fullname}},
			&corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: fullname}},
			&corev1.Service{ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: fullname + "-metrics"}},
			&rbacv1.Role{ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: fullname + "-leader-election"}},
			&rbacv1.RoleBinding{ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: fullname + "-leader-election"}},
			&rbacv1.ClusterRole{ObjectMeta: metav1.ObjectMeta{Name: fullname + "-manager"}},
			&rbacv1.ClusterRoleBinding{ObjectMeta: metav1.ObjectMeta{Name: fullname + "-manager"}},
			&gwv1.GatewayClass{ObjectMeta: metav1.ObjectMeta{Name: "drawbridge"}},
			&v1alpha1.GatewayConfiguration{ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: "drawbridge-defaults"}},
		} {
			Eventually(func() bool { return isGone(ctx, obj) }).WithTimeout(time.Minute).WithPolling(250*time.Millisecond).
				Should(BeTrue(), "%T %s left after helm uninstall", obj, client.ObjectKeyFromObject(obj))
		}
		// Nothing else carrying the release's label is left, namespaced or not.
		for _, list := range []client.ObjectList{&rbacv1.ClusterRoleList{}, &rbacv1.ClusterRoleBindingList{}, &rbacv1.RoleList{}, &rbacv1.RoleBindingList{},
			&corev1.ServiceList{}, &corev1.ServiceAccountList{}, &appsv1.DeploymentList{}, &corev1.PodList{}, &gwv1.GatewayClassList{}} {
			Eventually(func() []string { return labelled(ctx, list) }).WithTimeout(time.Minute).WithPolling(250*time.Millisecond).
				Should(BeEmpty(), "objects of the release left after helm uninstall")
		}
		out, err = helm(ctx, "list", "--all-namespaces", "--deployed", "--failed", "--pending", "--superseded", "--uninstalling", "--short")
		Expect(err).NotTo(HaveOccurred())
		Expect(strings.TrimSpace(out)).To(BeEmpty(), "helm still lists a release")
		// CRDs from crds/ stay, as Helm documents: deleting them would
		// delete every object of their kinds in the cluster.
		Expect(k8s.Get(ctx, client.ObjectKey{Name: "gatewayconfigurations.gateway.drawbridge.dev"}, &crd)).To(Succeed())
		Expect(k8s.Get(ctx, client.ObjectKey{Name: "httproutes.gateway.networking.k8s.io"}, &crd)).To(Succeed())
		var left corev1.SecretList
		Expect(k8s.List(ctx, &left, client.InNamespace(namespace))).To(Succeed())
		for _, s := range left.Items {
			fmt.Fprintf(GinkgoWriter, "left in %s (created by the operator, not the release): Secret %s\n", namespace, s.Name)
		}
		AddReportEntry("timings", fmt.Sprintf("installed+available %s, first 200 %s, upgraded+200 %s, uninstalled %s (data plane: %s)",
			installed.Round(time.Second), served.Round(time.Second), upgraded.Round(time.Second), time.Since(start).Round(time.Second), lab.DataPlaneName(os.Getenv("LAB_KONG"))))
	}, NodeTimeout(15*time.Minute))
})

const routeYAML = `
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: echo, namespace: helm-demo}
spec:
  parentRefs: [{name: web}]
  rules:
  - matches: [{path: {type: PathPrefix, value: /}}]
    backendRefs: [{name: echo, port: 8080}]
`

// demoYAML is a namespace with the conformance echo server behind a
// Service, a Gateway of the chart's class and a route to the echo server.
const demoYAML = `
apiVersion: v1
kind: Namespace
metadata: {name: helm-demo}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: echo, namespace: helm-demo}
spec:
  replicas: 1
  selector:
    matchLabels: {app: echo}
  template:
    metadata:
      labels: {app: echo}
    spec:
      containers:
      - name: echo
        image: registry.k8s.io/gateway-api/echo-basic:v1.5.1
        env:
        - name: POD_NAME
          valueFrom: {fieldRef: {fieldPath: metadata.name}}
        - name: NAMESPACE
          valueFrom: {fieldRef: {fieldPath: metadata.namespace}}
---
apiVersion: v1
kind: Service
metadata: {name: echo, namespace: helm-demo}
spec:
  selector: {app: echo}
  ports:
  - {name: http, port: 8080, targetPort: 3000}
---
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: web, namespace: helm-demo}
spec:
  gatewayClassName: drawbridge
  listeners:
  - {name: http, port: 80, protocol: HTTP}
---` + routeYAML

func applyYAML(ctx context.Context, doc string) error {
	objs, err := lab.ParseYAML([]byte(doc))
	if err != nil {
		return err
	}
	return lab.ApplyObjects(ctx, k8s, objs)
}

// waitDeployment waits until the operator has the given number of
// available, updated replicas.
func waitDeployment(ctx context.Context, replicas int32) {
	Eventually(func(g Gomega) {
		var d appsv1.Deployment
		g.Expect(k8s.Get(ctx, client.ObjectKey{Namespace: namespace, Name: fullname}, &d)).To(Succeed())
		g.Expect(d.Status.ObservedGeneration).To(BeNumerically(">=", d.Generation))
		g.Expect(d.Status.UpdatedReplicas).To(Equal(replicas))
		g.Expect(d.Status.AvailableReplicas).To(Equal(replicas))
		g.Expect(d.Status.Replicas).To(Equal(replicas), "old pods still terminating")
	}).WithTimeout(3*time.Minute).WithPolling(250*time.Millisecond).Should(Succeed(), "operator Deployment with %d available replicas", replicas)
}

func waitReady(ctx context.Context, ns, name string, replicas int32) {
	Eventually(func(g Gomega) {
		var d appsv1.Deployment
		g.Expect(k8s.Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, &d)).To(Succeed())
		g.Expect(d.Status.ReadyReplicas).To(Equal(replicas))
	}).WithTimeout(2*time.Minute).WithPolling(250*time.Millisecond).Should(Succeed(), "Deployment %s/%s ready", ns, name)
}

func waitProgrammed(ctx context.Context, ns, name string) *gwv1.Gateway {
	key := client.ObjectKey{Namespace: ns, Name: name}
	Eventually(func() string {
		ok, msg := lab.GatewayProgrammed(ctx, k8s, key)
		if ok {
			return "Programmed"
		}
		return msg
	}).WithTimeout(3*time.Minute).WithPolling(250*time.Millisecond).Should(Equal("Programmed"), "Gateway %s", key)
	var gw gwv1.Gateway
	Expect(k8s.Get(ctx, key, &gw)).To(Succeed())
	return &gw
}

// hostAddr is the 127.0.0.1 address that reaches a Gateway port.
func hostAddr(gw *gwv1.Gateway, port int32) string {
	svc := provision.NamesFor(gw).DataPlane
	var addr string
	Eventually(func() bool {
		var ok bool
		addr, ok = theLab.Proxy.HostAddr(gw.Namespace, svc, port, corev1.ProtocolTCP)
		return ok
	}).WithTimeout(30*time.Second).WithPolling(100*time.Millisecond).Should(BeTrue(), "host forward for %s/%s port %d", gw.Namespace, svc, port)
	return addr
}

// eventuallyEcho polls (at most 240 requests in 60s, 5s each) until the
// echo server answers 200 from a pod whose name has the prefix.
func eventuallyEcho(url, podPrefix string) {
	c := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	Eventually(func(g Gomega) {
		resp, err := c.Get(url)
		g.Expect(err).NotTo(HaveOccurred())
		defer resp.Body.Close()
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
		g.Expect(resp.StatusCode).To(Equal(http.StatusOK), "body: %s", body)
		var echo struct {
			Pod string `json:"pod"`
		}
		g.Expect(json.Unmarshal(body, &echo)).To(Succeed(), "not an echo answer: %s", body)
		g.Expect(echo.Pod).To(HavePrefix(podPrefix))
	}).WithTimeout(60*time.Second).WithPolling(250*time.Millisecond).Should(Succeed(), "GET %s", url)
}

func isGone(ctx context.Context, obj client.Object) bool {
	return apierrors.IsNotFound(k8s.Get(ctx, client.ObjectKeyFromObject(obj), obj))
}

// labelled lists the objects of a kind that carry the release's instance
// label, as "Kind namespace/name".
func labelled(ctx context.Context, list client.ObjectList) []string {
	if err := k8s.List(ctx, list, client.MatchingLabels{"app.kubernetes.io/instance": release}); err != nil {
		return []string{err.Error()}
	}
	var out []string
	items, _ := meta.ExtractList(list)
	for _, o := range items {
		mo, _ := o.(client.Object)
		out = append(out, fmt.Sprintf("%T %s/%s", o, mo.GetNamespace(), mo.GetName()))
	}
	slices.Sort(out)
	return out
}
