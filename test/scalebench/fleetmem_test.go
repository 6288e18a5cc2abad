package scalebench

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/metrics"
	"runtime/pprof"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	promtestutil "github.com/prometheus/client_golang/prometheus/testutil"
	dto "github.com/prometheus/client_model/go"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/config"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"
	gwv1 "sigs.k8s.io/gateway-api/apis/v1"

	"github.com/drawbridge-dev/drawbridge/api/v1alpha1"
	"github.com/drawbridge-dev/drawbridge/controllers"
	"github.com/drawbridge-dev/drawbridge/internal/dataplane"
	"github.com/drawbridge-dev/drawbridge/internal/lab/proc"
	"github.com/drawbridge-dev/drawbridge/internal/provision"
	"github.com/drawbridge-dev/drawbridge/internal/testutil/envtestenv"
	"github.com/drawbridge-dev/drawbridge/internal/testutil/scalegen"
)

// fleetMemRoutes is how many HTTPRoutes each Gateway of
// BenchmarkFleetMemory has (the fleet stage's shape).
const fleetMemRoutes = 50

// fleetMemBatch is how many Gateways each iteration of
// BenchmarkFleetMemory adds: FLEETMEM_BATCH, 10 by default.
func fleetMemBatch(b *testing.B) int { return envCount(b, "FLEETMEM_BATCH", 10, 200, "Gateways") }

// envCount reads a count of things from the environment variable name:
// def when it is unset, from 1 to most.
func envCount(b *testing.B, name string, def, most int, things string) int {
	s := os.Getenv(name)
	if s == "" {
		return def
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 || n > most {
		b.Fatalf("%s=%q: want a number of %s from 1 to %d", name, s, things, most)
	}
	return n
}

// BenchmarkFleetMemory measures what the operator's memory grows by per
// Gateway: the controllers run in this process on envtest, and every
// iteration adds fleetMemBatch (FLEETMEM_BATCH) Gateways of fleetMemRoutes
// HTTPRoutes each, after a first Gateway that the baseline includes
// (with their Services and EndpointSlices, as the fleet stage creates
// them). Each Gateway has one replica: a Kong stand-in in a process of its
// own (test/kongstandin/cmd/kong-standin) on a loopback address, serving
// the admin API with the Gateway's certificate as a data-plane Pod would,
// published on the admin EndpointSlice; the operator pushes to it and
// checks it as it does a Kong, and the stand-ins' memory stays out of the
// figures. heap-B/gateway is the growth
// of the live heap after a full GC; rss-B/gateway the growth of the
// process's resident set, which includes the garbage the GC lets
// accumulate; apiserver+etcd-rss-B/gateway what envtest's API server and
// etcd grow by (the lab's grow alike, which the fleet stage leaves
// headroom for). With FLEETMEM_PROFILES=<dir> it writes heap profiles before
// and after, named after the sub-benchmark (read them with `go tool pprof
// -top -sample_index=inuse_space -base <name>-before.pb.gz
// <name>-after.pb.gz`).
//
// "created" makes the objects as the fleet stage does (client-go, no
// annotations); "kubectl-applied" adds the last-applied-configuration
// annotation `kubectl apply` writes on every object it creates, a copy of
// the object as JSON, as users' manifests carry it.
//
// Run each variant in a process of its own with one iteration: the driver
// first runs a benchmark with b.N = 1 and then again with the -benchtime
// count, and what the earlier run left (its manager's goroutines, its
// caches) is freed during the later one's measurement and skews it.
//
//	FLEETMEM_BATCH=30 go test ./test/scalebench/ -run '^$' -bench 'FleetMemory/created$' -benchtime 1x
//	FLEETMEM_BATCH=30 go test ./test/scalebench/ -run '^$' -bench 'FleetMemory/kubectl-applied$' -benchtime 1x
func BenchmarkFleetMemory(b *testing.B) {
	b.Run("created", func(b *testing.B) { benchmarkFleetMemory(b, false) })
	b.Run("kubectl-applied", func(b *testing.B) { benchmarkFleetMemory(b, true) })
}

// startMemOperator starts envtest and the operator's controllers in this
// process with the manager options main.go uses, creates the GatewayClass
// the fleet's Gateways use, and builds the Kong stand-in their replicas
// run; everything stops when b ends.
func startMemOperator(b *testing.B, kubectlApplied bool) (*memFleet, context.Context) {
	root, err := envtestenv.RepoRoot()
	if err != nil {
		b.Fatal(err)
	}
	crds, err := envtestenv.GatewayAPICRDs("experimental")
	if err != nil {
		b.Fatal(err)
	}
	// Every Gateway has 13 Services (10 backends, its proxy, admin and
	// metrics Services): envtest's default /24 of Service addresses holds
	// fewer than 20 Gateways.
	env, cfg, err := envtestenv.StartWith(root, func(env *envtest.Environment) {
		env.ControlPlane.GetAPIServer().Configure().Set("service-cluster-ip-range", "10.0.0.0/16")
	}, crds)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = env.Stop() })
	scheme := envtestenv.Scheme()
	// The operator gets controller-runtime's client rate limits (what
	// ctrl.GetConfig sets); the benchmark's own client creates the fleet
	// without client-side throttling.
	cfg.QPS, cfg.Burst = 20, 30
	fast := *cfg
	fast.QPS, fast.Burst = 400, 800
	c, err := client.New(&fast, client.Options{Scheme: scheme})
	if err != nil {
		b.Fatal(err)
	}
	// The benchmark driver calls this function more than once in one
	// process (b.N = 1, then the -benchtime count): controller names are
	// registered for metrics process-wide, so a later run's manager must
	// not refuse the names an earlier one used.
	mgr, err := ctrl.NewManager(cfg, ctrl.Options{
		Scheme:                 scheme,
		Metrics:                metricsserver.Options{BindAddress: "0"},
		HealthProbeBindAddress: "0",
		Cache:                  controllers.CacheOptions(),
		Controller:             config.Controller{SkipNameValidation: ptrTo(true)},
	})
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	b.Cleanup(cancel)
	if err := c.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "drawbridge-system"}}); err != nil {
		b.Fatal(err)
	}
	configs := dataplane.NewStore()
	metrics := dataplane.NewMetrics(prometheus.NewRegistry())
	standin := filepath.Join(b.TempDir(), "kong-standin")
	if out, err := exec.Command("go", "build", "-o", standin, filepath.Join(root, "test", "kongstandin", "cmd", "kong-standin")).CombinedOutput(); err != nil {
		b.Fatalf("build the Kong stand-in: %v\n%s", err, out)
	}
	f := &memFleet{b: b, c: c, configs: configs, metrics: metrics, standin: standin, kubectlApplied: kubectlApplied}
	b.Cleanup(f.stop)
	err = controllers.Setup(ctx, mgr, controllers.Options{
		OperatorNamespace: "drawbridge-system",
		OperatorPodLabels: map[string]string{"app.kubernetes.io/name": "drawbridge"},
		Configs:           configs,
		AdminDialer:       fleetLoopbackDialer,
		Metrics:           metrics,
	})
	if err != nil {
		b.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := mgr.Start(ctx); err != nil {
			b.Error(err)
		}
	}()
	b.Cleanup(func() {
		cancel()
		// The manager's requests must end before the API server stops.
		select {
		case <-done:
		case <-time.After(time.Minute):
			b.Error("the manager did not stop within a minute")
		}
	})
	for _, o := range []client.Object{
		&v1alpha1.GatewayConfiguration{ObjectMeta: metav1.ObjectMeta{Name: "fleet", Namespace: "drawbridge-system"},
			Spec: v1alpha1.GatewayConfigurationSpec{DataPlane: &v1alpha1.DataPlaneConfig{Image: ptrTo("kong:3.9")}}},
		&gwv1.GatewayClass{ObjectMeta: metav1.ObjectMeta{Name: fleetClassName}, Spec: gwv1.GatewayClassSpec{
			ControllerName: "drawbridge.dev/gateway-controller",
			ParametersRef: &gwv1.ParametersReference{Group: gwv1.Group(v1alpha1.GroupVersion.Group), Kind: "GatewayConfiguration",
				Name: "fleet", Namespace: (*gwv1.Namespace)(ptrTo("drawbridge-system"))}}},
	} {
		if err := c.Create(ctx, o); err != nil {
			b.Fatal(err)
		}
	}
	if !mgr.GetCache().WaitForCacheSync(ctx) {
		b.Fatal("the manager's cache did not sync")
	}
	return f, ctx
}

func benchmarkFleetMemory(b *testing.B, kubectlApplied bool) {
	dir := memProfiles(b)
	f, ctx := startMemOperator(b, kubectlApplied)
	// One Gateway first, so the baseline holds what the first one costs
	// once (informers started, type caches filled).
	f.create(ctx, 0)
	f.wait(ctx, fleetKey(0), fleetMemRoutes, 2*time.Minute)
	next := 1
	heap0, rss0 := settledMemory(b, dir, "before")
	cp0 := controlPlaneRSS()
	batch := fleetMemBatch(b)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		for g := 0; g < batch; g++ {
			f.create(ctx, next)
			next++
		}
		for g := next - batch; g < next; g++ {
			f.wait(ctx, fleetKey(g), fleetMemRoutes, 2*time.Minute)
		}
	}
	b.StopTimer()
	heap1, rss1 := settledMemory(b, dir, "after")
	cp1 := controlPlaneRSS()
	added := float64(b.N * batch)
	b.ReportMetric(float64(int64(heap1)-int64(heap0))/added, "heap-B/gateway")
	b.ReportMetric(float64(int64(rss1)-int64(rss0))/added, "rss-B/gateway")
	b.ReportMetric(float64(int64(cp1)-int64(cp0))/added, "apiserver+etcd-rss-B/gateway")
	b.ReportMetric(float64(heap1), "heap-B")
	b.ReportMetric(float64(rss1), "rss-B")
	b.ReportMetric(0, "ns/op")
}

func ptrTo[T any](v T) *T { return &v }

// memProfiles is FLEETMEM_PROFILES, the directory heap profiles go to, and
// samples allocations finely enough to tell what a few Gateways add (the
// default rate samples one per 512 KiB) while b runs.
func memProfiles(b *testing.B) string {
	dir := os.Getenv("FLEETMEM_PROFILES")
	if dir != "" {
		rate := runtime.MemProfileRate
		b.Cleanup(func() { runtime.MemProfileRate = rate })
		runtime.MemProfileRate = 4096
	}
	return dir
}

// settledMemory runs the GC twice and returns the live heap (what the last
// GC marked: steadier than HeapInuse, which also counts the free space of
// partly used spans) and the process's RSS; with dir set it also writes a
// heap profile.
func settledMemory(b *testing.B, dir, name string) (heap, rss uint64) {
	time.Sleep(3 * time.Second) // let in-flight reconciles finish
	runtime.GC()
	runtime.GC()
	if dir != "" {
		f, err := os.Create(filepath.Join(dir, strings.ReplaceAll(b.Name(), "/", "_")+"-"+name+".pb.gz"))
		if err != nil {
			b.Fatal(err)
		}
		if err := pprof.Lookup("heap").WriteTo(f, 0); err != nil {
			b.Fatal(err)
		}
		if err := f.Close(); err != nil {
			b.Fatal(err)
		}
	}
	live := []metrics.Sample{{Name: "/gc/heap/live:bytes"}}
	metrics.Read(live)
	return live[0].Value.Uint64(), kibField("/proc/self/status", "VmRSS:")
}

// controlPlaneRSS is the RSS of envtest's kube-apiserver and etcd: this
// process's children of those names (the stand-ins are its children too).
func controlPlaneRSS() uint64 {
	var rss uint64
	for _, p := range proc.Stats() {
		if p.PPID == os.Getpid() && (p.Command == "kube-apiserver" || p.Command == "etcd") {
			rss += statusRSS(filepath.Join("/proc", strconv.Itoa(p.PID), "status"))
		}
	}
	return rss
}

// memFleet is BenchmarkFleetMemory's Gateways and their stand-in replicas.
type memFleet struct {
	b       *testing.B
	c       client.Client
	configs *dataplane.Store
	metrics *dataplane.Metrics
	standin string
	// kubectlApplied gives every object the annotation `kubectl apply`
	// writes.
	kubectlApplied bool
	procs          []*exec.Cmd
}

// fleetLoopbackBlock is this process's 127.B.0.0/24 for the replicas.
var fleetLoopbackBlock = 1 + (os.Getpid()+125)%250

// fleetLoopbackDialer dials the loopback twin 127.B.0.N of a replica's
// published address 198.18.B.N (EndpointSlices refuse loopback addresses)
// and refuses anything else, so nothing leaves 127.0.0.0/8.
func fleetLoopbackDialer(ctx context.Context, network, addr string) (net.Conn, error) {
	host, port, err := net.SplitHostPort(addr)
	parts := strings.Split(host, ".")
	if err != nil || len(parts) != 4 || parts[0] != "198" || parts[1] != "18" {
		return nil, fmt.Errorf("refusing %s: only replica addresses are reachable", addr)
	}
	var d net.Dialer
	return d.DialContext(ctx, network, net.JoinHostPort("127."+parts[2]+".0."+parts[3], port))
}

// create creates Gateway g in namespace fleet-<g> with its routes, Services
// and EndpointSlices as measureFleet does, and starts its replica.
func (f *memFleet) create(ctx context.Context, g int) {
	b := f.b
	if g >= 249 {
		b.Fatalf("Gateway %d: out of loopback addresses for replicas", g)
	}
	ns := fmt.Sprintf("fleet-%d", g)
	set := scalegen.Generate(scalegen.Options{Routes: fleetMemRoutes, Namespaces: 1, GatewayNamespace: ns, GatewayName: "gw", TargetPort: 3000})
	objs := fleetNamespace(set, ns)
	gw := set.Gateway
	gw.Spec.GatewayClassName = fleetClassName
	objs = append(objs, gw)
	for i := range set.HTTPRoutes {
		set.HTTPRoutes[i].Namespace = ns
		objs = append(objs, &set.HTTPRoutes[i])
	}
	for _, o := range objs {
		if f.kubectlApplied {
			lastApplied(b, o)
		}
		if err := f.c.Create(ctx, o); err != nil {
			b.Fatalf("create %T %s/%s: %v", o, o.GetNamespace(), o.GetName(), err)
		}
	}
	f.startReplica(ctx, gw, g+1)
}

// lastApplied sets the annotation `kubectl apply` writes: the object as
// the manifest had it, in JSON.
func lastApplied(b *testing.B, o client.Object) {
	raw, err := json.Marshal(o)
	if err != nil {
		b.Fatal(err)
	}
	a := o.GetAnnotations()
	if a == nil {
		a = map[string]string{}
	}
	a[corev1.LastAppliedConfigAnnotation] = string(raw)
	o.SetAnnotations(a)
}

// startReplica runs a stand-in with gw's admin certificate on 127.B.0.n
// and publishes it as gw's only replica.
func (f *memFleet) startReplica(ctx context.Context, gw *gwv1.Gateway, n int) {
	b := f.b
	names := provision.NamesFor(gw)
	var secret corev1.Secret
	deadline := time.Now().Add(time.Minute)
	for {
		err := f.c.Get(ctx, types.NamespacedName{Namespace: gw.Namespace, Name: names.AdminTLS}, &secret)
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			b.Fatalf("Gateway %s/%s: no admin certificate Secret after a minute: %v", gw.Namespace, gw.Name, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	dir := b.TempDir()
	for _, name := range []string{"tls.crt", "tls.key", "ca.crt"} {
		if err := os.WriteFile(filepath.Join(dir, name), secret.Data[name], 0o600); err != nil {
			b.Fatal(err)
		}
	}
	ip := fmt.Sprintf("127.%d.0.%d", fleetLoopbackBlock, n)
	cmd := exec.Command(f.standin)
	cmd.Env = append(os.Environ(),
		"KONG_DATABASE=off", "KONG_ROUTER_FLAVOR=expressions",
		"KONG_PROXY_LISTEN=off", "KONG_STREAM_LISTEN=off", "KONG_CLUSTER_LISTEN=off",
		fmt.Sprintf("KONG_ADMIN_LISTEN=%s:%d ssl", ip, provision.AdminPort),
		"KONG_STATUS_LISTEN="+ip+":0",
		"KONG_ADMIN_SSL_CERT="+filepath.Join(dir, "tls.crt"),
		"KONG_ADMIN_SSL_CERT_KEY="+filepath.Join(dir, "tls.key"),
		"KONG_NGINX_ADMIN_SSL_CLIENT_CERTIFICATE="+filepath.Join(dir, "ca.crt"),
		"KONG_NGINX_ADMIN_SSL_VERIFY_CLIENT=on", "KONG_NGINX_ADMIN_SSL_VERIFY_DEPTH=1",
		"KONG_PROXY_ACCESS_LOG=off", "KONG_ADMIN_ACCESS_LOG=off", "KONG_PROXY_ERROR_LOG=off", "KONG_ADMIN_ERROR_LOG=off")
	// A benchmark killed on its timeout leaves no stand-in behind.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		b.Fatalf("start the Kong stand-in: %v", err)
	}
	f.procs = append(f.procs, cmd)
	slice := &discoveryv1.EndpointSlice{
		ObjectMeta: metav1.ObjectMeta{Namespace: gw.Namespace, Name: names.Admin + "-replicas",
			Labels: map[string]string{discoveryv1.LabelServiceName: names.Admin}},
		AddressType: discoveryv1.AddressTypeIPv4,
		Ports:       []discoveryv1.EndpointPort{{Name: ptrTo(provision.AdminPortName), Port: ptrTo(int32(provision.AdminPort))}},
		Endpoints: []discoveryv1.Endpoint{{
			Addresses:  []string{fmt.Sprintf("198.18.%d.%d", fleetLoopbackBlock, n)},
			Conditions: discoveryv1.EndpointConditions{Ready: ptrTo(false)},
			TargetRef:  &corev1.ObjectReference{Kind: "Pod", Name: names.DataPlane + "-0"},
		}},
	}
	if err := f.c.Create(ctx, slice); err != nil {
		b.Fatalf("publish the replica of %s/%s: %v", gw.Namespace, gw.Name, err)
	}
}

// fleetKey names Gateway g of the fleet.
func fleetKey(g int) types.NamespacedName {
	return types.NamespacedName{Namespace: fmt.Sprintf("fleet-%d", g), Name: "gw"}
}

// wait waits until the Gateway key's listener has routes attached and its
// replica holds the current configuration.
func (f *memFleet) wait(ctx context.Context, key types.NamespacedName, routes int32, budget time.Duration) {
	deadline := time.Now().Add(budget)
	for time.Now().Before(deadline) {
		var gw gwv1.Gateway
		if err := f.c.Get(ctx, key, &gw); err == nil && len(gw.Status.Listeners) == 1 && gw.Status.Listeners[0].AttachedRoutes == routes {
			_, ok := f.configs.Get(key)
			if ok && promtestutil.ToFloat64(f.metrics.ReplicasInSync.WithLabelValues(key.Namespace, key.Name)) == 1 {
				return
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	f.b.Fatalf("Gateway %s: not all %d routes attached, or its replica without the configuration, after %v", key, routes, budget)
}

// createAll creates objs with a few parallel workers, as a deployment
// tool would.
func (f *memFleet) createAll(ctx context.Context, objs []client.Object) {
	var next atomic.Int64
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for w := 0; w < 8; w++ {
		wg.Go(func() {
			for i := int(next.Add(1) - 1); i < len(objs); i = int(next.Add(1) - 1) {
				if err := f.c.Create(ctx, objs[i]); err != nil {
					errs <- fmt.Errorf("create %T %s/%s: %w", objs[i], objs[i].GetNamespace(), objs[i].GetName(), err)
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		f.b.Fatal(err)
	}
}

// translations is how many times the Gateway key has been translated.
func (f *memFleet) translations(key types.NamespacedName) uint64 {
	var m dto.Metric
	h := f.metrics.TranslationSeconds.WithLabelValues(key.Namespace, key.Name).(prometheus.Histogram)
	if err := h.Write(&m); err != nil {
		f.b.Fatal(err)
	}
	return m.GetHistogram().GetSampleCount()
}

// stop ends the stand-ins.
func (f *memFleet) stop() {
	for _, p := range f.procs {
		_ = p.Process.Kill()
		_ = p.Wait()
	}
}

// routeMemRoutes is how many HTTPRoutes BenchmarkRouteMemory puts on its
// Gateway: ROUTEMEM_ROUTES, 5,000 by default (issue 16's level).
func routeMemRoutes(b *testing.B) int { return envCount(b, "ROUTEMEM_ROUTES", 5000, 20000, "routes") }

// BenchmarkRouteMemory measures the operator's memory with many routes on
// one Gateway, the lab stage's shape (scalegen's routes, Services and
// EndpointSlices over 50 namespaces) on envtest with the controllers in
// this process and one Kong stand-in replica, as BenchmarkFleetMemory
// runs them. The baseline is the Gateway with no routes; then
// ROUTEMEM_ROUTES routes (5,000 by default) are created with their
// backends, and the benchmark waits until all are attached and pushed. heap-B/route is
// the growth of the live heap after a full GC, heap-B and rss-B the
// process's live heap and resident set at the end (the resident set of
// a test binary, not of the operator's: it holds envtest's client and
// the benchmark's own objects too, so compare it only with itself).
// Then 20 routes are added one at a time, as the lab stage's propagation
// samples add them, each waited for: alloc-B/change is what the process
// allocates per change, translations/change how often the Gateway was
// translated for one, and peak-heap-goal-B and peak-heap-in-use-B the
// highest the GC let the heap grow meanwhile (sampled every 10 ms). The
// resident set follows the heap goal, twice what the last collection found
// live, so what a reconcile holds at once moves it more than what it
// allocates. FLEETMEM_PROFILES=<dir> writes heap profiles before, after
// and after the changes.
//
//	go test ./test/scalebench/ -run '^$' -bench '^BenchmarkRouteMemory$' -benchtime 1x
func BenchmarkRouteMemory(b *testing.B) {
	if b.N > 1 {
		// Each call builds a cluster of 5,000 routes from nothing (about 5
		// minutes), so a second iteration would measure nothing new; the
		// driver calls once more for any -benchtime above 1x.
		b.Skip("BenchmarkRouteMemory measures one cluster per call: run it with -benchtime 1x, as make bench does")
	}
	dir := memProfiles(b)
	f, ctx := startMemOperator(b, false)
	n := routeMemRoutes(b)
	key := types.NamespacedName{Namespace: "routemem", Name: "gw"}
	set := scalegen.Generate(scalegen.Options{Routes: n, Namespaces: 50, GatewayNamespace: key.Namespace, GatewayName: key.Name, TargetPort: 3000, Prefix: "rm-"})
	gw := set.Gateway
	gw.Spec.GatewayClassName = fleetClassName
	f.createAll(ctx, []client.Object{&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: key.Namespace}}, gw})
	f.startReplica(ctx, gw, 1)
	f.wait(ctx, key, 0, time.Minute)
	heap0, _ := settledMemory(b, dir, "before")
	var objs []client.Object
	for j := range set.Namespaces {
		objs = append(objs, &set.Namespaces[j])
	}
	for j := range set.Services {
		objs = append(objs, &set.Services[j], &set.EndpointSlices[j])
	}
	f.createAll(ctx, objs)
	objs = objs[:0]
	for j := range set.HTTPRoutes {
		objs = append(objs, &set.HTTPRoutes[j])
	}
	f.createAll(ctx, objs)
	f.wait(ctx, key, int32(n), 10*time.Minute)
	b.StopTimer()
	heap1, rss1 := settledMemory(b, dir, "after")
	// Then changes one at a time, as the lab stage's propagation samples
	// make them: what each allocates, and how high the GC lets the heap
	// grow meanwhile (the heap goal: what the resident set follows).
	const changes = 20
	peak := sampleHeapPeak()
	allocs0 := readMetric("/gc/heap/allocs:bytes")
	translations0 := f.translations(key)
	for k := range changes {
		r := probeRouteOn(key.Namespace, key.Name, fmt.Sprintf("probe-%d", k), 1, 0)
		r.Namespace = set.Namespaces[k%len(set.Namespaces)].Name
		r.Spec.Rules[0].BackendRefs = nil
		f.createAll(ctx, []client.Object{r})
		f.wait(ctx, key, int32(n+k+1), 2*time.Minute)
	}
	allocs := readMetric("/gc/heap/allocs:bytes") - allocs0
	goal, inUse := peak()
	heap2, _ := settledMemory(b, dir, "changes")
	b.ReportMetric(float64(f.translations(key)-translations0)/changes, "translations/change")
	b.ReportMetric(float64(int64(heap1)-int64(heap0))/float64(n), "heap-B/route")
	b.ReportMetric(float64(heap1), "heap-B")
	b.ReportMetric(float64(heap2), "heap-after-changes-B")
	b.ReportMetric(float64(rss1), "rss-B")
	b.ReportMetric(float64(allocs)/changes, "alloc-B/change")
	b.ReportMetric(float64(goal), "peak-heap-goal-B")
	b.ReportMetric(float64(inUse), "peak-heap-in-use-B")
	b.ReportMetric(0, "ns/op")
}

// readMetric reads one runtime/metrics value.
func readMetric(name string) uint64 {
	m := []metrics.Sample{{Name: name}}
	metrics.Read(m)
	return m[0].Value.Uint64()
}

// sampleHeapPeak samples the heap goal and the heap's in-use spans every
// 10 ms until the returned function is called, which returns their peaks.
func sampleHeapPeak() func() (goal, inUse uint64) {
	stop := make(chan struct{})
	done := make(chan [2]uint64)
	go func() {
		var peak [2]uint64
		m := []metrics.Sample{{Name: "/gc/heap/goal:bytes"}, {Name: "/memory/classes/heap/objects:bytes"}, {Name: "/memory/classes/heap/unused:bytes"}}
		t := time.NewTicker(10 * time.Millisecond)
		defer t.Stop()
		for {
			metrics.Read(m)
			peak[0] = max(peak[0], m[0].Value.Uint64())
			peak[1] = max(peak[1], m[1].Value.Uint64()+m[2].Value.Uint64())
			select {
			case <-stop:
				done <- peak
				return
			case <-t.C:
			}
		}
	}()
	return func() (uint64, uint64) {
		close(stop)
		p := <-done
		return p[0], p[1]
	}
}
