package controllers

import (
	"context"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	promtestutil "github.com/prometheus/client_golang/prometheus/testutil"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"
	"sigs.k8s.io/controller-runtime/pkg/event"
	logf "sigs.k8s.io/controller-runtime/pkg/log"
	gwv1 "sigs.k8s.io/gateway-api/apis/v1"

	"github.com/drawbridge-dev/drawbridge/internal/dataplane"
	"github.com/drawbridge-dev/drawbridge/internal/provision"
)

// guard bounds the waits of these tests; it is not an assertion.
const guard = 10 * time.Second

// checkFixture is a reconciler over a fake API with one Gateway and the
// admin EndpointSlice of its data plane.
type checkFixture struct {
	gw      *gwv1.Gateway
	r       *GatewayReconciler
	events  chan event.TypedGenericEvent[*gwv1.Gateway]
	check   *replicaCheck
	metrics *dataplane.Metrics
}

func newCheckFixture(t *testing.T, podIPs ...string) *checkFixture {
	t.Helper()
	scheme := gatewayTestScheme(t)
	gw := &gwv1.Gateway{ObjectMeta: metav1.ObjectMeta{Namespace: "apps", Name: "web"}}
	names := provision.NamesFor(gw)
	slice := &discoveryv1.EndpointSlice{
		ObjectMeta: metav1.ObjectMeta{Namespace: gw.Namespace, Name: names.Admin + "-x",
			Labels: map[string]string{discoveryv1.LabelServiceName: names.Admin}},
		AddressType: discoveryv1.AddressTypeIPv4,
		Ports:       []discoveryv1.EndpointPort{{Name: ptr.To(provision.AdminPortName), Port: ptr.To(int32(provision.AdminPort))}},
	}
	for i, ip := range podIPs {
		slice.Endpoints = append(slice.Endpoints, discoveryv1.Endpoint{
			Addresses: []string{ip},
			TargetRef: &corev1.ObjectReference{Kind: "Pod", Name: names.DataPlane + "-" + string(rune('a'+i))},
		})
	}
	metrics := dataplane.NewMetrics(prometheus.NewRegistry())
	r := &GatewayReconciler{
		Client:  fake.NewClientBuilder().WithScheme(scheme).WithObjects(gw, slice).Build(),
		Metrics: metrics,
	}
	events := make(chan event.TypedGenericEvent[*gwv1.Gateway], 1)
	return &checkFixture{
		gw: gw, r: r, events: events, metrics: metrics,
		check: &replicaCheck{reconciler: r, period: 10 * time.Millisecond, reconcile: events, log: logf.Log},
	}
}

// pushedTo gives the Gateway a Pusher, as its first push would.
func (f *checkFixture) pushedTo() {
	f.r.pushers.get(client.ObjectKeyFromObject(f.gw), func() *dataplane.Pusher { return dataplane.NewPusher() })
}

func (f *checkFixture) checks(result dataplane.CheckResult) float64 {
	return promtestutil.ToFloat64(f.metrics.ReplicaChecks.WithLabelValues(f.gw.Namespace, f.gw.Name, string(result)))
}

func (f *checkFixture) reconciles() float64 {
	return promtestutil.ToFloat64(f.metrics.CheckReconciles.WithLabelValues(f.gw.Namespace, f.gw.Name))
}

// A replica the Gateway's Pusher has never pushed to sends the Gateway to
// the reconciler without any admin API call.
func TestReplicaCheckReconcilesAGatewayWithANewReplica(t *testing.T) {
	f := newCheckFixture(t, "10.0.0.7")
	f.pushedTo()
	f.check.checkGateway(context.Background(), client.ObjectKeyFromObject(f.gw))
	select {
	case ev := <-f.events:
		if ev.Object == nil || client.ObjectKeyFromObject(ev.Object) != client.ObjectKeyFromObject(f.gw) {
			t.Fatalf("event for %v", ev.Object)
		}
	default:
		t.Fatal("no reconcile asked for a new replica")
	}
	if f.checks(dataplane.CheckNew) != 1 || f.reconciles() != 1 {
		t.Fatalf("metrics: new=%v reconciles=%v", f.checks(dataplane.CheckNew), f.reconciles())
	}
}

// A Gateway with no replicas before and none now, one that was never
// pushed to, and one that is gone are left alone.
func TestReplicaCheckLeavesUnchangedAndUnknownGatewaysAlone(t *testing.T) {
	f := newCheckFixture(t)
	ctx := context.Background()
	f.check.checkGateway(ctx, client.ObjectKeyFromObject(f.gw)) // never pushed to
	f.pushedTo()
	f.check.checkGateway(ctx, client.ObjectKeyFromObject(f.gw)) // no replicas, as before
	f.check.checkGateway(ctx, types.NamespacedName{Namespace: "apps", Name: "deleted"})
	select {
	case ev := <-f.events:
		t.Fatalf("unexpected reconcile of %v", client.ObjectKeyFromObject(ev.Object))
	default:
	}
	if f.reconciles() != 0 {
		t.Fatalf("reconciles counted: %v", f.reconciles())
	}
}

// The check runs once per period, never twice at once for one Gateway,
// and Start returns when its context ends, even with a check waiting to
// hand its Gateway over.
func TestReplicaCheckRunsPeriodicallyAndStops(t *testing.T) {
	f := newCheckFixture(t, "10.0.0.7")
	f.pushedTo()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- f.check.Start(ctx) }()

	select {
	case <-f.events:
	case <-time.After(guard):
		t.Fatal("no periodic check asked for a reconcile")
	}
	// Nobody takes the next event: the next check waits to hand it over,
	// and the Gateway is not checked again meanwhile.
	key := client.ObjectKeyFromObject(f.gw)
	deadline := time.Now().Add(guard)
	for len(f.events) == 0 && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	for !f.check.isInFlight(key) && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	if !f.check.isInFlight(key) {
		t.Fatal("the blocked check is not in flight")
	}
	if f.check.begin(key) {
		t.Fatal("a second check of the same Gateway could start")
	}

	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Start: %v", err)
		}
	case <-time.After(guard):
		t.Fatal("Start did not return after its context ended")
	}
	if f.check.isInFlight(key) {
		t.Fatal("a check outlived Start")
	}
}

func (c *replicaCheck) isInFlight(key types.NamespacedName) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.inFlight[key]
}
