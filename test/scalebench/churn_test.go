package scalebench

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/util/retry"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	gwv1 "sigs.k8s.io/gateway-api/apis/v1"
)

// churnResult counts the requests sent to established routes while other
// routes and the backends changed.
type churnResult struct {
	Level          int // generated routes on the Gateway
	Established    int
	Sent, OK       int64
	Failures       map[string]int64 // "503", "502", "error: ..." -> count
	FailureTimes   []float64        // seconds after the start at which a failed request was sent (the first 200)
	Actions        []churnAction
	DurationSecond float64
	RatePerSecond  float64
}

type churnAction struct {
	AtSeconds float64
	What      string
}

const (
	// churnPreStop is how long the established routes' backend pods keep
	// serving after their deletion starts (a preStop sleep).
	churnPreStop  = 5 * time.Second
	churnRoutes   = 20  // routes added, edited and removed
	churnRate     = 100 // requests per second on established routes
	churnMaxSent  = 30000
	churnMaxTotal = 4 * time.Minute
)

func steadyRoute(k int) *gwv1.HTTPRoute {
	return &gwv1.HTTPRoute{
		ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("steady-%d", k), Namespace: churnNS},
		Spec: gwv1.HTTPRouteSpec{
			CommonRouteSpec: gwv1.CommonRouteSpec{ParentRefs: []gwv1.ParentReference{{Name: "gw", Namespace: ptr.To(gwv1.Namespace(infraNS))}}},
			Hostnames:       []gwv1.Hostname{"steady.example.com"},
			Rules: []gwv1.HTTPRouteRule{{
				Matches: []gwv1.HTTPRouteMatch{{Path: &gwv1.HTTPPathMatch{Type: ptr.To(gwv1.PathMatchPathPrefix), Value: ptr.To(fmt.Sprintf("/steady/%d", k))}}},
				BackendRefs: []gwv1.HTTPBackendRef{{BackendRef: gwv1.BackendRef{BackendObjectReference: gwv1.BackendObjectReference{
					Name: "churn", Port: ptr.To(gwv1.PortNumber(8080))}}}},
			}},
		},
	}
}

// measureChurn sends steady load to 10 established routes whose backend
// Deployment is scaled up and down, while churnRoutes other routes are
// added, edited and removed.
func (b *labBench) measureChurn() churnResult {
	res := churnResult{Level: b.routes, Established: 10, Failures: map[string]int64{}}
	for k := 0; k < res.Established; k++ {
		if err := b.c.Create(b.ctx, steadyRoute(k)); err != nil {
			b.t.Fatalf("create steady route: %v", err)
		}
	}
	for k := 0; k < res.Established; k++ {
		if _, ok := b.waitUntil(time.Now(), b.gwAddr, "steady.example.com", fmt.Sprintf("/steady/%d", k), func(code int, _ string) bool { return code == 200 }); !ok {
			b.t.Fatalf("steady route %d was not served", k)
		}
	}

	var sent, ok atomic.Int64
	var mu sync.Mutex
	stop := make(chan struct{})
	var wg sync.WaitGroup
	start := time.Now()
	tick := time.NewTicker(time.Second / churnRate)
	defer tick.Stop()
	wg.Add(1)
	go func() {
		defer wg.Done()
		var inflight sync.WaitGroup
		defer inflight.Wait()
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			case <-tick.C:
			}
			if sent.Load() >= churnMaxSent || time.Since(start) > churnMaxTotal {
				return
			}
			sent.Add(1)
			inflight.Add(1)
			go func(k int) {
				defer inflight.Done()
				at := time.Since(start).Seconds()
				code, _, err := b.get(b.gwAddr, "steady.example.com", fmt.Sprintf("/steady/%d", k))
				if err == nil && code >= 200 && code < 300 {
					ok.Add(1)
					return
				}
				key := fmt.Sprint(code)
				if err != nil {
					key = "error: " + errorKind(err)
				}
				mu.Lock()
				res.Failures[key]++
				if len(res.FailureTimes) < 200 {
					res.FailureTimes = append(res.FailureTimes, at)
				}
				mu.Unlock()
			}(i % res.Established)
		}
	}()
	act := func(what string, f func()) {
		f()
		res.Actions = append(res.Actions, churnAction{AtSeconds: time.Since(start).Seconds(), What: what})
		b.logf("churn: %s at %.1f s", what, time.Since(start).Seconds())
	}
	time.Sleep(5 * time.Second)
	act(fmt.Sprintf("added %d routes", churnRoutes), func() {
		for k := 0; k < churnRoutes; k++ {
			r := probeRoute(-1, k, 1, 0)
			r.Name = fmt.Sprintf("churn-%d", k)
			r.Spec.Rules[0].Matches[0].Path.Value = ptr.To("/churn/" + r.Name)
			if err := b.c.Create(b.ctx, r); err != nil {
				b.t.Errorf("create %s: %v", r.Name, err)
			}
		}
	})
	time.Sleep(5 * time.Second)
	act(fmt.Sprintf("edited the weights of %d routes", churnRoutes), func() {
		for k := 0; k < churnRoutes; k++ {
			key := client.ObjectKey{Namespace: probeNS, Name: fmt.Sprintf("churn-%d", k)}
			err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
				var cur gwv1.HTTPRoute
				if err := b.c.Get(b.ctx, key, &cur); err != nil {
					return err
				}
				cur.Spec.Rules[0].BackendRefs[0].Weight = ptr.To(int32(0))
				cur.Spec.Rules[0].BackendRefs[1].Weight = ptr.To(int32(1))
				return b.c.Update(b.ctx, &cur)
			})
			if err != nil {
				b.t.Errorf("edit %s: %v", key, err)
			}
		}
	})
	time.Sleep(5 * time.Second)
	act("scaled the established routes' backend from 2 to 4 pods", func() { b.scale(churnNS, "churn", 4) })
	time.Sleep(5 * time.Second)
	act(fmt.Sprintf("removed %d routes", churnRoutes), func() {
		for k := 0; k < churnRoutes; k++ {
			r := &gwv1.HTTPRoute{ObjectMeta: metav1.ObjectMeta{Namespace: probeNS, Name: fmt.Sprintf("churn-%d", k)}}
			if err := b.c.Delete(b.ctx, r); err != nil {
				b.t.Errorf("delete %s: %v", r.Name, err)
			}
		}
	})
	time.Sleep(5 * time.Second)
	act("scaled the established routes' backend from 4 to 2 pods", func() { b.scale(churnNS, "churn", 2) })
	time.Sleep(10 * time.Second)
	close(stop)
	wg.Wait()
	res.DurationSecond = time.Since(start).Seconds()
	res.Sent, res.OK = sent.Load(), ok.Load()
	res.RatePerSecond = float64(res.Sent) / res.DurationSecond
	b.logf("churn at %d routes: %d sent, %d ok, failures %v", res.Level, res.Sent, res.OK, res.Failures)
	return res
}

// scale sets a Deployment's replicas and waits until exactly that many are
// ready (pods being deleted are gone).
func (b *labBench) scale(ns, name string, replicas int) {
	err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		var d appsv1.Deployment
		if err := b.c.Get(b.ctx, client.ObjectKey{Namespace: ns, Name: name}, &d); err != nil {
			return err
		}
		d.Spec.Replicas = ptr.To(int32(replicas))
		return b.c.Update(b.ctx, &d)
	})
	if err != nil {
		b.t.Fatalf("scale %s/%s: %v", ns, name, err)
	}
	b.waitDeployment(ns, name, replicas)
}

// errorKind names a request error without its URL, so equal failures on
// different routes count together.
func errorKind(err error) string {
	var uerr *url.Error
	if errors.As(err, &uerr) {
		err = uerr.Err
	}
	if errors.Is(err, context.DeadlineExceeded) || strings.Contains(err.Error(), "Client.Timeout") {
		return "no answer within the client's 5 s timeout"
	}
	return err.Error()
}
