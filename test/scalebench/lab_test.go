package scalebench

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	authv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/util/retry"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	gwv1 "sigs.k8s.io/gateway-api/apis/v1"

	"github.com/drawbridge-dev/drawbridge/internal/lab"
	"github.com/drawbridge-dev/drawbridge/internal/testutil/scalegen"
)

const (
	labName   = "bench"
	className = "bench"
	// fleetClassName is the class of the fleet's Gateways.
	fleetClassName = "bench-fleet"
	infraNS        = "bench-infra"
	backendNS      = "bench-backends"
	probeNS        = "bench-probe"
	churnNS        = "bench-churn"
	echoImage      = "registry.k8s.io/gateway-api/echo-basic:v1.5.1"
	echoPods       = 8
	pollEvery      = 10 * time.Millisecond
	waitBudget     = 60 * time.Second // the longest one propagation wait may take
)

// labBench is one lab with the operator and real Kong, and what the
// scenarios share.
type labBench struct {
	t      testing.TB
	ctx    context.Context
	lab    *lab.Lab
	c      client.Client
	cs     kubernetes.Interface
	dyn    dynamic.Interface
	http   *http.Client
	gwAddr string // the Gateway's lab address and port 80
	logf   func(string, ...any)

	echoIPs []string
	scraper *scraper
	events  *eventCounter

	routes   int // generated routes created so far on the big Gateway
	services int // generated Services created so far
	opts     scalegen.Options
}

func upLab(t testing.TB, ctx context.Context, root string, logf func(string, ...any)) *labBench {
	bin, assets, crds := os.Getenv("LAB_BIN_DIR"), os.Getenv("KUBEBUILDER_ASSETS"), os.Getenv("GATEWAY_API_CRDS")
	if bin == "" || assets == "" || crds == "" {
		t.Fatal("the lab benchmarks run under `make bench` (LAB_BIN_DIR, KUBEBUILDER_ASSETS, GATEWAY_API_CRDS)")
	}
	if os.Geteuid() != 0 {
		t.Fatal("the lab needs root (network and mount namespaces)")
	}
	programs, err := lab.Programs(bin, os.Getenv("LAB_KONG"))
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(root, ".lab", labName)
	l, err := lab.Up(ctx, lab.Options{Name: labName, Dir: dir, Assets: assets, LabBinary: filepath.Join(bin, "lab"), Programs: programs, Log: logf})
	if err != nil {
		t.Fatalf("lab up: %v", err)
	}
	t.Cleanup(func() {
		l.Stop()
		if err := lab.Down(context.Background(), labName, dir); err != nil {
			t.Errorf("lab down: %v", err)
		}
	})
	cfg := *l.Config
	cfg.QPS, cfg.Burst = 400, 800 // bulk creation, not client-side throttling, is what is measured
	c, err := client.New(&cfg, client.Options{Scheme: lab.Scheme()})
	if err != nil {
		t.Fatal(err)
	}
	dyn, err := dynamic.NewForConfig(&cfg)
	if err != nil {
		t.Fatal(err)
	}
	b := &labBench{t: t, ctx: ctx, lab: l, c: c, cs: l.Client, dyn: dyn, logf: logf,
		http: &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{
			DialContext: l.NodeNS().DialContext, MaxIdleConnsPerHost: 64, IdleConnTimeout: 30 * time.Second,
		}}}
	if err := lab.Install(ctx, c, crds, filepath.Join(root, "config"), logf); err != nil {
		t.Fatalf("install: %v", err)
	}
	return b
}

func (b *labBench) apply(doc string) {
	b.t.Helper()
	objs, err := lab.ParseYAML([]byte(doc))
	if err != nil {
		b.t.Fatalf("parse: %v\n%s", err, doc)
	}
	if err := lab.ApplyObjects(b.ctx, b.c, objs); err != nil {
		b.t.Fatalf("apply: %v", err)
	}
}

// setUp installs the class, the backends and the big Gateway.
func (b *labBench) setUp() {
	b.apply(fmt.Sprintf(`
apiVersion: v1
kind: Namespace
metadata: {name: %[1]s}
---
apiVersion: v1
kind: Namespace
metadata: {name: %[2]s}
---
apiVersion: v1
kind: Namespace
metadata: {name: %[3]s}
---
apiVersion: v1
kind: Namespace
metadata: {name: %[4]s}
---
apiVersion: gateway.drawbridge.dev/v1alpha1
kind: GatewayConfiguration
metadata: {name: bench, namespace: drawbridge-system}
spec:
  dataPlane: {image: "kong:3.9", replicas: 1}
  service: {type: LoadBalancer}
---
apiVersion: gateway.networking.k8s.io/v1
kind: GatewayClass
metadata: {name: %[5]s}
spec:
  controllerName: drawbridge.dev/gateway-controller
  parametersRef: {group: gateway.drawbridge.dev, kind: GatewayConfiguration, name: bench, namespace: drawbridge-system}
---
# Many small Gateways: one Kong worker each, as a platform team would size them.
apiVersion: gateway.drawbridge.dev/v1alpha1
kind: GatewayConfiguration
metadata: {name: bench-fleet, namespace: drawbridge-system}
spec:
  dataPlane:
    image: "kong:3.9"
    replicas: 1
    env: [{name: KONG_NGINX_WORKER_PROCESSES, value: "1"}]
  service: {type: LoadBalancer}
---
apiVersion: gateway.networking.k8s.io/v1
kind: GatewayClass
metadata: {name: %[6]s}
spec:
  controllerName: drawbridge.dev/gateway-controller
  parametersRef: {group: gateway.drawbridge.dev, kind: GatewayConfiguration, name: bench-fleet, namespace: drawbridge-system}
`, infraNS, backendNS, probeNS, churnNS, className, fleetClassName))
	b.echo(backendNS, "echo", echoPods, 0)
	b.echo(probeNS, "edit-a", 1, 0)
	b.echo(probeNS, "edit-b", 1, 0)
	b.echo(churnNS, "churn", 2, churnPreStop)
	var pods corev1.PodList
	if err := b.c.List(b.ctx, &pods, client.InNamespace(backendNS), client.MatchingLabels{"app": "echo"}); err != nil {
		b.t.Fatal(err)
	}
	for _, p := range pods.Items {
		if p.Status.PodIP != "" && p.DeletionTimestamp == nil {
			b.echoIPs = append(b.echoIPs, p.Status.PodIP)
		}
	}
	if len(b.echoIPs) < 3 {
		b.t.Fatalf("only %d echo pods have addresses", len(b.echoIPs))
	}
	b.gwAddr = b.gateway(infraNS, "gw")
	b.opts = scalegen.Options{Namespaces: 50, GatewayNamespace: infraNS, GatewayName: "gw", TargetPort: 3000, Endpoints: b.endpointsOf}
	b.scraper = newScraper(b)
	b.events = watchStatusWrites(b)
}

// endpointsOf gives generated Service i three of the echo pods, so that
// Services differ in their endpoints the way real ones do (56 distinct
// sets from 8 pods) and every route is served.
func (b *labBench) endpointsOf(i int) []string {
	n := len(b.echoIPs)
	var combos [][3]int
	for x := 0; x < n; x++ {
		for y := x + 1; y < n; y++ {
			for z := y + 1; z < n; z++ {
				combos = append(combos, [3]int{x, y, z})
			}
		}
	}
	c := combos[i%len(combos)]
	return []string{b.echoIPs[c[0]], b.echoIPs[c[1]], b.echoIPs[c[2]]}
}

// echo deploys echo-basic behind a Service of the same name (port 8080).
// A non-zero preStop keeps each pod serving that long after its deletion
// starts, the way backends are deployed for rollouts without errors: the
// endpoint is withdrawn at once, and the pod stays reachable until every
// proxy has stopped sending to it.
func (b *labBench) echo(ns, name string, replicas int, preStop time.Duration) {
	lifecycle := ""
	if preStop > 0 {
		lifecycle = fmt.Sprintf("\n        lifecycle: {preStop: {sleep: {seconds: %d}}}", int(preStop.Seconds()))
	}
	b.apply(fmt.Sprintf(`
apiVersion: apps/v1
kind: Deployment
metadata: {name: %[2]s, namespace: %[1]s}
spec:
  replicas: %[3]d
  selector: {matchLabels: {app: %[2]s}}
  template:
    metadata: {labels: {app: %[2]s}}
    spec:
      containers:
      - name: echo
        image: %[4]s
        env:
        - name: POD_NAME
          valueFrom: {fieldRef: {fieldPath: metadata.name}}
        - name: NAMESPACE
          valueFrom: {fieldRef: {fieldPath: metadata.namespace}}%[5]s
---
apiVersion: v1
kind: Service
metadata: {name: %[2]s, namespace: %[1]s}
spec:
  selector: {app: %[2]s}
  ports: [{name: http, port: 8080, targetPort: 3000}]
`, ns, name, replicas, echoImage, lifecycle))
	b.waitDeployment(ns, name, replicas)
}

func (b *labBench) waitDeployment(ns, name string, replicas int) {
	err := lab.WaitFor(b.ctx, 3*time.Minute, fmt.Sprintf("Deployment %s/%s to have %d ready replicas", ns, name, replicas), func() (bool, error) {
		var d appsv1.Deployment
		if err := b.c.Get(b.ctx, client.ObjectKey{Namespace: ns, Name: name}, &d); err != nil {
			return false, nil
		}
		return d.Status.ReadyReplicas == int32(replicas) && d.Status.Replicas == int32(replicas) && d.Status.ObservedGeneration >= d.Generation, nil
	})
	if err != nil {
		b.t.Fatal(err)
	}
}

// gateway creates a Gateway with one HTTP listener on port 80 that admits
// routes from every namespace, waits until it is Programmed and returns
// its lab address.
func (b *labBench) gateway(ns, name string) string {
	b.apply(fmt.Sprintf(`
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: %s, namespace: %s}
spec:
  gatewayClassName: %s
  listeners:
  - {name: http, port: 80, protocol: HTTP, allowedRoutes: {namespaces: {from: All}}}
`, name, ns, className))
	return b.waitGateway(ns, name, 5*time.Minute)
}

func (b *labBench) waitGateway(ns, name string, timeout time.Duration) string {
	key := client.ObjectKey{Namespace: ns, Name: name}
	err := lab.WaitFor(b.ctx, timeout, "Gateway "+key.String()+" to be Programmed", func() (bool, error) {
		ok, _ := lab.GatewayProgrammed(b.ctx, b.c, key)
		return ok, nil
	})
	if err != nil {
		b.t.Fatal(err)
	}
	var gw gwv1.Gateway
	if err := b.c.Get(b.ctx, key, &gw); err != nil {
		b.t.Fatal(err)
	}
	if len(gw.Status.Addresses) == 0 {
		b.t.Fatalf("Gateway %s is Programmed without an address", key)
	}
	return gw.Status.Addresses[0].Value + ":80"
}

// get sends one request through a Gateway and returns the status and the
// echo pod that answered.
func (b *labBench) get(addr, host, path string) (int, string, error) {
	return b.getWith(addr, host, path, "", "")
}

// getRoute requests generated route i of o through addr.
func (b *labBench) getRoute(addr string, o scalegen.Options, i int) (int, string, error) {
	name, value, _ := o.Header(i)
	return b.getWith(addr, o.Hostname(i), o.Path(i), name, value)
}

func (b *labBench) getWith(addr, host, path, header, value string) (int, string, error) {
	req, err := http.NewRequestWithContext(b.ctx, http.MethodGet, "http://"+addr+path, nil)
	if err != nil {
		return 0, "", err
	}
	req.Host = host
	if header != "" {
		req.Header.Set(header, value)
	}
	resp, err := b.http.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	var echo struct {
		Pod string `json:"pod"`
	}
	if resp.StatusCode == http.StatusOK {
		_ = json.Unmarshal(body, &echo)
	}
	return resp.StatusCode, echo.Pod, nil
}

// waitUntil polls a Gateway every pollEvery until done accepts an answer,
// and returns how long it took from start (false when waitBudget ran out).
func (b *labBench) waitUntil(start time.Time, addr, host, path string, done func(code int, pod string) bool) (time.Duration, bool) {
	return b.waitFor(start, func() (int, string, error) { return b.get(addr, host, path) }, done)
}

// waitRoute is waitUntil for generated route i of o.
func (b *labBench) waitRoute(start time.Time, addr string, o scalegen.Options, i int, done func(code int, pod string) bool) (time.Duration, bool) {
	return b.waitFor(start, func() (int, string, error) { return b.getRoute(addr, o, i) }, done)
}

func (b *labBench) waitFor(start time.Time, send func() (int, string, error), done func(code int, pod string) bool) (time.Duration, bool) {
	deadline := start.Add(waitBudget)
	for time.Now().Before(deadline) {
		code, pod, err := send()
		if err == nil && done(code, pod) {
			return time.Since(start), true
		}
		time.Sleep(pollEvery)
	}
	return time.Since(start), false
}

// propagation is one level's create, edit and delete samples.
type propagation struct {
	Level                 int // generated routes on the Gateway
	Create, Edit, Delete  []float64
	TimedOut              int
	StatusWrites, Pushes  float64 // per change
	Translations          float64 // per change
	Changes               int
	PushSecondsMean       float64
	TranslateSecondsMean  float64
	ConfigBytes           float64
	OperatorRSS, KongRSS  uint64
	OperatorCPUPerChange  float64 // operator CPU seconds per change during the samples
	SettleSeconds         float64 // bulk creation of this level until its last route served
	Served, ServedChecked int
}

func probeRoute(level, k int, weightA, weightB int32) *gwv1.HTTPRoute {
	return probeRouteOn(infraNS, "gw", fmt.Sprintf("probe-%d-%d", level, k), weightA, weightB)
}

func probeRouteOn(gwNS, gwName, name string, weightA, weightB int32) *gwv1.HTTPRoute {
	ref := func(svc string, w int32) gwv1.HTTPBackendRef {
		return gwv1.HTTPBackendRef{BackendRef: gwv1.BackendRef{BackendObjectReference: gwv1.BackendObjectReference{
			Name: gwv1.ObjectName(svc), Port: ptr.To(gwv1.PortNumber(8080))}, Weight: ptr.To(w)}}
	}
	return &gwv1.HTTPRoute{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: probeNS},
		Spec: gwv1.HTTPRouteSpec{
			CommonRouteSpec: gwv1.CommonRouteSpec{ParentRefs: []gwv1.ParentReference{{Name: gwv1.ObjectName(gwName), Namespace: ptr.To(gwv1.Namespace(gwNS))}}},
			Hostnames:       []gwv1.Hostname{"probe.example.com"},
			Rules: []gwv1.HTTPRouteRule{{
				Matches:     []gwv1.HTTPRouteMatch{{Path: &gwv1.HTTPPathMatch{Type: ptr.To(gwv1.PathMatchPathPrefix), Value: ptr.To("/" + name)}}},
				BackendRefs: []gwv1.HTTPBackendRef{ref("edit-a", weightA), ref("edit-b", weightB)},
			}},
		},
	}
}

// measurePropagation creates, edits and deletes samples probe routes one
// at a time on the big Gateway.
func (b *labBench) measurePropagation(level, samples int) propagation {
	return b.measurePropagationOn(infraNS, "gw", b.gwAddr, level, samples)
}

// measurePropagationOn samples the Gateway gwNS/gwName at addr.
func (b *labBench) measurePropagationOn(gwNS, gwName, addr string, level, samples int) propagation {
	p := propagation{Level: level}
	before := b.scraper.scrape()
	writes0 := b.events.count()
	cpu0 := processUsage(isOperator).CPUSeconds()
	for k := 0; k < samples; k++ {
		r := probeRouteOn(gwNS, gwName, fmt.Sprintf("probe-%s-%d-%d", gwNS, level, k), 1, 0)
		path := "/" + r.Name
		start := time.Now()
		if err := b.c.Create(b.ctx, r); err != nil {
			b.t.Fatalf("create %s: %v", r.Name, err)
		}
		d, ok := b.waitUntil(start, addr, "probe.example.com", path, func(code int, _ string) bool { return code == 200 })
		p.Create = append(p.Create, d.Seconds())
		if !ok {
			p.TimedOut++
		}
		start = time.Now()
		err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
			var cur gwv1.HTTPRoute
			if err := b.c.Get(b.ctx, client.ObjectKeyFromObject(r), &cur); err != nil {
				return err
			}
			cur.Spec.Rules[0].BackendRefs[0].Weight = ptr.To(int32(0))
			cur.Spec.Rules[0].BackendRefs[1].Weight = ptr.To(int32(1))
			return b.c.Update(b.ctx, &cur)
		})
		if err != nil {
			b.t.Fatalf("edit %s: %v", r.Name, err)
		}
		d, ok = b.waitUntil(start, addr, "probe.example.com", path, func(code int, pod string) bool {
			return code == 200 && strings.HasPrefix(pod, "edit-b")
		})
		p.Edit = append(p.Edit, d.Seconds())
		if !ok {
			p.TimedOut++
		}
		start = time.Now()
		if err := b.c.Delete(b.ctx, r); err != nil {
			b.t.Fatalf("delete %s: %v", r.Name, err)
		}
		d, ok = b.waitUntil(start, addr, "probe.example.com", path, func(code int, _ string) bool { return code == 404 })
		p.Delete = append(p.Delete, d.Seconds())
		if !ok {
			p.TimedOut++
		}
	}
	// Let the last change's status writes land before counting them.
	time.Sleep(2 * time.Second)
	after := b.scraper.scrape()
	p.Changes = 3 * samples
	p.StatusWrites = float64(b.events.count()-writes0) / float64(p.Changes)
	p.Pushes = (after.pushesOK - before.pushesOK) / float64(p.Changes)
	if n := after.pushCount - before.pushCount; n > 0 {
		p.PushSecondsMean = (after.pushSum - before.pushSum) / n
	}
	if n := after.translateCount - before.translateCount; n > 0 {
		p.TranslateSecondsMean = (after.translateSum - before.translateSum) / n
		p.Translations = n / float64(p.Changes)
	}
	p.ConfigBytes = after.configBytes[gwNS+"/"+gwName]
	p.OperatorCPUPerChange = (processUsage(isOperator).CPUSeconds() - cpu0) / float64(p.Changes)
	p.OperatorRSS = processUsage(isOperator).RSSBytes
	p.KongRSS = processUsage(isKong).PSSBytes
	b.logf("propagation at %d routes: create p50 %.3f s, edit p50 %.3f s, delete p50 %.3f s, %d timed out; %.1f status writes, %.2f translations, %.2f pushes per change; config %.0f bytes; operator %d MiB, Kong %d MiB",
		level, median(p.Create), median(p.Edit), median(p.Delete), p.TimedOut, p.StatusWrites, p.Translations, p.Pushes, p.ConfigBytes, p.OperatorRSS>>20, p.KongRSS>>20)
	return p
}

// grow creates generated routes (and the Services they need) until level
// routes are on the big Gateway, and returns how long until the last one
// was served.
func (b *labBench) grow(level int) time.Duration {
	o := b.opts
	o.Routes = level
	set := scalegen.Generate(o)
	start := time.Now()
	var objs []client.Object
	if b.routes == 0 {
		for i := range set.Namespaces {
			objs = append(objs, &set.Namespaces[i])
		}
	}
	for i := b.services; i < len(set.Services); i++ {
		objs = append(objs, &set.Services[i], &set.EndpointSlices[i])
	}
	b.createAll(objs)
	objs = objs[:0]
	for i := b.routes; i < level; i++ {
		objs = append(objs, &set.HTTPRoutes[i])
	}
	b.createAll(objs)
	b.services = max(b.services, len(set.Services))
	b.routes = level
	defer b.quiesce()
	served := func(code int, _ string) bool { return code == 200 }
	d, ok := b.waitRoute(start, b.gwAddr, o, level-1, served)
	if !ok {
		// A level this large may take longer than one wait budget.
		d2, ok2 := b.waitRoute(time.Now(), b.gwAddr, o, level-1, served)
		if !ok2 {
			b.t.Fatalf("route %d of %d was not served %v after its creation began", level-1, level, d+d2)
		}
		d += d2
	}
	return d
}

// createAll creates objects with a few parallel workers; an object that
// already exists is fine (a rerun on the same lab).
func (b *labBench) createAll(objs []client.Object) {
	var wg sync.WaitGroup
	var next atomic.Int64
	errs := make(chan error, 1)
	for w := 0; w < 8; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1) - 1)
				if i >= len(objs) {
					return
				}
				o := objs[i]
				o.SetResourceVersion("")
				if err := b.c.Create(b.ctx, o); err != nil && !apierrors.IsAlreadyExists(err) {
					select {
					case errs <- fmt.Errorf("create %T %s/%s: %w", o, o.GetNamespace(), o.GetName(), err):
					default:
					}
					return
				}
			}
		}()
	}
	wg.Wait()
	select {
	case err := <-errs:
		b.t.Fatal(err)
	default:
	}
}

// checkServed requests n random generated routes and counts 200s.
func (b *labBench) checkServed(n int) (served, checked int) {
	for i := 0; i < n; i++ {
		code, _, err := b.getRoute(b.gwAddr, b.opts, rand.IntN(b.routes))
		checked++
		if err == nil && code == 200 {
			served++
		}
	}
	return served, checked
}

func median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := append([]float64(nil), xs...)
	for i := 1; i < len(s); i++ {
		for j := i; j > 0 && s[j] < s[j-1]; j-- {
			s[j], s[j-1] = s[j-1], s[j]
		}
	}
	return s[len(s)/2]
}

// eventCounter counts status writes: MODIFIED events of HTTPRoutes and
// Gateways (their specs do not change during the samples, except the one
// edit per sample, which is counted as a change, not a write).
type eventCounter struct{ n atomic.Int64 }

func (e *eventCounter) count() int64 { return e.n.Load() }

func watchStatusWrites(b *labBench) *eventCounter {
	e := &eventCounter{}
	for _, res := range []string{"httproutes", "gateways"} {
		w, err := b.dyn.Resource(schema.GroupVersionResource{Group: "gateway.networking.k8s.io", Version: "v1", Resource: res}).
			Namespace("").Watch(b.ctx, metav1.ListOptions{})
		if err != nil {
			b.t.Fatalf("watch %s: %v", res, err)
		}
		b.t.Cleanup(w.Stop)
		go func() {
			for ev := range w.ResultChan() {
				if ev.Type == watch.Modified {
					e.n.Add(1)
				}
			}
		}()
	}
	return e
}

// scraper reads the operator's metrics with a token of a ServiceAccount
// bound to drawbridge-metrics-reader, as a Prometheus in the cluster would.
type scraper struct {
	b     *labBench
	token string
	http  *http.Client
}

type metricsSnapshot struct {
	pushesOK, pushSum, pushCount, translateSum, translateCount float64
	configBytes                                                map[string]float64 // namespace/gateway
}

func newScraper(b *labBench) *scraper {
	const sa, ns = "bench-scraper", "drawbridge-system"
	b.apply(fmt.Sprintf(`
apiVersion: v1
kind: ServiceAccount
metadata: {name: %[1]s, namespace: %[2]s}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: %[1]s}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: drawbridge-metrics-reader}
subjects: [{kind: ServiceAccount, name: %[1]s, namespace: %[2]s}]
`, sa, ns))
	tok, err := b.cs.CoreV1().ServiceAccounts(ns).CreateToken(b.ctx, sa, &authv1.TokenRequest{
		Spec: authv1.TokenRequestSpec{ExpirationSeconds: ptr.To(int64(4 * 3600))}}, metav1.CreateOptions{})
	if err != nil {
		b.t.Fatalf("token for %s: %v", sa, err)
	}
	return &scraper{b: b, token: tok.Status.Token, http: &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{
		DialContext: b.lab.NodeNS().DialContext,
		// The operator serves metrics with a certificate it generated at
		// start; the lab has no CA for it. The token is what is checked.
		TLSClientConfig: &tls.Config{InsecureSkipVerify: true}, //nolint:gosec // lab-only scrape
	}}}
}

func (s *scraper) operatorIP() string {
	var pods corev1.PodList
	if err := s.b.c.List(s.b.ctx, &pods, client.InNamespace("drawbridge-system")); err != nil {
		s.b.t.Fatal(err)
	}
	for _, p := range pods.Items {
		if strings.HasPrefix(p.Name, "drawbridge-") && p.Status.PodIP != "" && p.DeletionTimestamp == nil {
			return p.Status.PodIP
		}
	}
	s.b.t.Fatal("no operator pod with an address")
	return ""
}

func (s *scraper) scrape() metricsSnapshot {
	req, _ := http.NewRequestWithContext(s.b.ctx, http.MethodGet, "https://"+s.operatorIP()+":8443/metrics", nil)
	req.Header.Set("Authorization", "Bearer "+s.token)
	resp, err := s.http.Do(req)
	if err != nil {
		s.b.t.Fatalf("scrape operator metrics: %v", err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		s.b.t.Fatalf("scrape operator metrics: %d %s", resp.StatusCode, body)
	}
	snap := metricsSnapshot{configBytes: map[string]float64{}}
	for _, line := range strings.Split(string(body), "\n") {
		if line == "" || line[0] == '#' {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		if i < 0 {
			continue
		}
		v, err := strconv.ParseFloat(line[i+1:], 64)
		if err != nil {
			continue
		}
		series := line[:i]
		name, labels, _ := strings.Cut(series, "{")
		switch name {
		case "drawbridge_replica_pushes_total":
			if strings.Contains(labels, `result="ok"`) {
				snap.pushesOK += v
			}
		case "drawbridge_push_duration_seconds_sum":
			snap.pushSum += v
		case "drawbridge_push_duration_seconds_count":
			snap.pushCount += v
		case "drawbridge_translation_duration_seconds_sum":
			snap.translateSum += v
		case "drawbridge_translation_duration_seconds_count":
			snap.translateCount += v
		case "drawbridge_config_bytes":
			snap.configBytes[label(labels, "namespace")+"/"+label(labels, "gateway")] = v
		}
	}
	return snap
}

func label(labels, key string) string {
	_, rest, ok := strings.Cut(labels, key+`="`)
	if !ok {
		return ""
	}
	v, _, _ := strings.Cut(rest, `"`)
	return v
}

// quiesce waits (at most five minutes) until no status write has been
// seen for ten seconds, so the writes a bulk creation causes are not
// counted against the samples that follow. (The operator writes route
// statuses in bursts, one per reconcile; at 5,000 routes the bursts were
// more than three seconds apart.)
func (b *labBench) quiesce() {
	deadline := time.Now().Add(5 * time.Minute)
	last, quietSince := b.events.count(), time.Now()
	for time.Now().Before(deadline) && time.Since(quietSince) < 10*time.Second {
		time.Sleep(250 * time.Millisecond)
		if n := b.events.count(); n != last {
			last, quietSince = n, time.Now()
		}
	}
}
