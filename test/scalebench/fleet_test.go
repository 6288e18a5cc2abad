package scalebench

import (
	"fmt"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/drawbridge-dev/drawbridge/internal/lab"
	"github.com/drawbridge-dev/drawbridge/internal/testutil/scalegen"
)

// fleetResult is many Gateways with a few routes each.
type fleetResult struct {
	Requested, Gateways, RoutesEach int
	Reason                          string // why fewer Gateways than requested ran
	KongEach                        uint64 // PSS of the first Gateway's Kong, alone
	// MemAvailableAfter is MemAvailable with the whole fleet up: what
	// fleetHeadroom left unused.
	MemAvailableAfter    uint64
	ProgrammedSeconds    float64
	OperatorRSS, KongRSS uint64
	KongProcesses        int
	IdleCPUPercent       float64 // operator CPU while nothing changes
	IdleSeconds          float64
	Propagation          propagation
	Served, Checked      int
}

// dropBigGateway removes the big Gateway and the generated namespaces, so
// the fleet is measured on its own.
func (b *labBench) dropBigGateway() {
	for i := 0; i < b.opts.Namespaces; i++ {
		ns := &corev1.Namespace{}
		ns.Name = b.opts.Namespace(i)
		if err := b.c.Delete(b.ctx, ns); err != nil && !apierrors.IsNotFound(err) {
			b.t.Fatalf("delete namespace %s: %v", ns.Name, err)
		}
	}
	ns := &corev1.Namespace{}
	ns.Name = infraNS
	if err := b.c.Delete(b.ctx, ns); err != nil && !apierrors.IsNotFound(err) {
		b.t.Fatalf("delete namespace %s: %v", infraNS, err)
	}
	err := lab.WaitFor(b.ctx, 10*time.Minute, "the generated namespaces to be gone", func() (bool, error) {
		var list corev1.NamespaceList
		if err := b.c.List(b.ctx, &list); err != nil {
			return false, nil
		}
		for _, n := range list.Items {
			if n.Name == infraNS || strings.HasPrefix(n.Name, "team-") {
				return false, nil
			}
		}
		return true, nil
	})
	if err != nil {
		b.t.Fatal(err)
	}
	// The namespaces can be gone while the big Gateway's Kong is still
	// draining (kong quit --wait); the fleet is sized on what its first
	// Gateway's Kong alone uses, so wait for the last nginx to exit.
	err = lab.WaitFor(b.ctx, 3*time.Minute, "the big Gateway's Kong processes to exit", func() (bool, error) {
		return processUsage(isKong).Count == 0, nil
	})
	if err != nil {
		b.t.Fatal(err)
	}
	b.routes, b.services = 0, 0
}

// The fleet is sized on the memory the machine has, so that a smaller
// machine runs fewer Gateways instead of swapping. Each Gateway costs its
// Kong (measured: the first Gateway's Kong PSS) plus what the rest of the
// lab grows by per Gateway, fleetOthersEach; fleetHeadroom is kept free
// whatever the size.
const (
	// fleetOthersEach is what the rest of the lab grows by per Gateway of
	// 50 routes, with a margin of about two: the API server and etcd
	// together about 12 MiB (RSS; BenchmarkFleetMemory on envtest, from 1
	// to 31 Gateways), the operator 0.84 MiB (the 94-Gateway run: 65 to
	// 144 MiB), and the lab's kube-controller-manager, which envtest does
	// not run, a little for the Deployment, ReplicaSet, Pod and
	// EndpointSlices of every data plane.
	fleetOthersEach = 32 << 20
	// fleetHeadroom is kept free for what does not grow with the number of
	// Gateways: Kong's growth under the stage's load (one route changed at
	// a time on one Gateway; in the 94-Gateway run Kong's processes used
	// 130 MiB per Gateway together, less than the first one's 139 MiB
	// alone, since shared pages count once), the page cache of the lab's
	// programs, and a margin.
	fleetHeadroom = 2 << 30
)

// fleetFits is how many Gateways run: the first one (already up, its Kong
// using kongEach bytes of PSS), plus as many more as fit in the memory
// available with it up, less fleetHeadroom; at most requested.
func fleetFits(requested int, kongEach, available uint64) int {
	if kongEach == 0 || available <= fleetHeadroom {
		return min(requested, 1)
	}
	return min(requested, 1+int((available-fleetHeadroom)/(kongEach+fleetOthersEach)))
}

// fleetNamespace moves a generated set's Services and EndpointSlices into
// namespace ns, a Gateway of the fleet's own, and lists them after the
// namespace, in the order to create them.
func fleetNamespace(set *scalegen.Set, ns string) []client.Object {
	set.Namespaces[0].Name = ns
	objs := []client.Object{&set.Namespaces[0]}
	for i := range set.Services {
		set.Services[i].Namespace = ns
		set.EndpointSlices[i].Namespace = ns
		objs = append(objs, &set.Services[i], &set.EndpointSlices[i])
	}
	return objs
}

// measureFleet creates up to requested Gateways with routesEach routes each,
// bounded by the memory the machine has for their Kong processes: the
// first Gateway's Kong is measured, and as many run as fleetFits allows.
func (b *labBench) measureFleet(requested, routesEach int) fleetResult {
	res := fleetResult{Requested: requested, RoutesEach: routesEach, Gateways: requested}
	start := time.Now()
	create := func(g int) {
		ns := fmt.Sprintf("fleet-%d", g)
		set := scalegen.Generate(scalegen.Options{Routes: routesEach, Namespaces: 1, GatewayNamespace: ns, GatewayName: "gw",
			TargetPort: 3000, Endpoints: func(i int) []string { return b.endpointsOf(g*10 + i) }})
		b.createAll(fleetNamespace(set, ns))
		b.apply(fmt.Sprintf(`
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: gw, namespace: %s}
spec:
  gatewayClassName: %s
  listeners:
  - {name: http, port: 80, protocol: HTTP, allowedRoutes: {namespaces: {from: All}}}
`, ns, fleetClassName))
		var objs []client.Object
		for i := range set.HTTPRoutes {
			set.HTTPRoutes[i].Namespace = ns
			objs = append(objs, &set.HTTPRoutes[i])
		}
		b.createAll(objs)
	}
	create(0)
	b.waitGateway("fleet-0", "gw", 5*time.Minute)
	if each, avail := processUsage(isKong).PSSBytes, memAvailable(); each > 0 && avail > 0 {
		res.KongEach = each
		if fit := fleetFits(requested, each, avail); fit < requested {
			res.Gateways = fit
			res.Reason = fmt.Sprintf("%d MiB were available with the first Gateway up; its Kong uses %d MiB (PSS), and the lab's API server, etcd and the operator grow by about %d MiB per Gateway: %d fit with %d MiB kept free",
				avail>>20, each>>20, fleetOthersEach>>20, fit, fleetHeadroom>>20)
		}
	}
	b.logf("fleet: %d Gateways with %d routes each", res.Gateways, routesEach)
	for g := 1; g < res.Gateways; g++ {
		create(g)
	}
	var addrs []string
	for g := 0; g < res.Gateways; g++ {
		addrs = append(addrs, b.waitGateway(fmt.Sprintf("fleet-%d", g), "gw", 20*time.Minute))
	}
	res.ProgrammedSeconds = time.Since(start).Seconds()
	b.logf("fleet: %d Gateways Programmed after %.0f s", res.Gateways, res.ProgrammedSeconds)
	o := scalegen.Options{Routes: routesEach, Namespaces: 1}
	for g := 0; g < res.Gateways; g++ {
		r := (g * 7) % routesEach
		if _, ok := b.waitRoute(time.Now(), addrs[g], o, r, func(code int, _ string) bool { return code == 200 }); ok {
			res.Served++
		}
		res.Checked++
	}
	// Idle: nothing changes; what the operator spends now is its periodic
	// work for every Gateway.
	time.Sleep(10 * time.Second)
	idle := 60 * time.Second
	cpu0 := processUsage(isOperator).CPUSeconds()
	time.Sleep(idle)
	res.IdleSeconds = idle.Seconds()
	res.IdleCPUPercent = 100 * (processUsage(isOperator).CPUSeconds() - cpu0) / idle.Seconds()
	res.OperatorRSS = processUsage(isOperator).RSSBytes
	k := processUsage(isKong)
	res.KongRSS, res.KongProcesses = k.PSSBytes, k.Count
	res.MemAvailableAfter = memAvailable()
	res.Propagation = b.measurePropagationOn("fleet-0", "gw", addrs[0], routesEach, 10)
	b.logf("fleet: operator %d MiB, idle CPU %.1f%%, Kong %d MiB in %d processes, %d MiB still available", res.OperatorRSS>>20, res.IdleCPUPercent, res.KongRSS>>20, res.KongProcesses, res.MemAvailableAfter>>20)
	return res
}

// memAvailable is MemAvailable from /proc/meminfo, in bytes.
func memAvailable() uint64 { return kibField("/proc/meminfo", "MemAvailable:") }
