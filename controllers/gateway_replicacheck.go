package controllers

import (
	"context"
	"sync"
	"time"

	"github.com/go-logr/logr"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/event"
	gwv1 "sigs.k8s.io/gateway-api/apis/v1"

	"github.com/drawbridge-dev/drawbridge/internal/provision"
)

// DefaultReplicaCheckPeriod is how often every Gateway's replicas are asked
// for the configuration they hold when nothing else happens.
const DefaultReplicaCheckPeriod = 30 * time.Second

const (
	// replicaCheckTimeout bounds one Gateway's check (one GET /status per
	// replica, concurrently). A replica that does not answer in time is
	// unreachable, and a full reconcile takes over with its retries.
	replicaCheckTimeout = 5 * time.Second
	// replicaCheckParallel bounds the Gateways checked at once, like
	// MaxConcurrentReconciles bounds the reconciles.
	replicaCheckParallel = 4
)

// replicaCheck is the periodic check of what each Gateway's replicas hold.
// Events start a Gateway's full reconcile (translation, server-side apply,
// push, status); between events, a replica can still lose its
// configuration (a container restart that no readiness change reports).
// Finding that out costs one GET /status per replica, so that is all this
// check does; only when a replica differs from what the last push left it
// holding, is unreachable, or appeared or went away, is the Gateway sent to
// the reconciler. When nothing changed, nothing is translated, applied or
// written.
//
// It runs only on the leader, which alone reconciles and so alone knows
// what the replicas should hold, and stops with the manager.
type replicaCheck struct {
	reconciler *GatewayReconciler
	period     time.Duration
	log        logr.Logger
	// reconcile carries the Gateways to reconcile to the controller.
	reconcile chan<- event.TypedGenericEvent[*gwv1.Gateway]

	mu sync.Mutex
	// inFlight holds the Gateways whose check has not finished, so a slow
	// Gateway is never checked twice at once and checks cannot pile up.
	inFlight map[types.NamespacedName]bool
}

// NeedLeaderElection makes the manager run the check on the leader only.
func (c *replicaCheck) NeedLeaderElection() bool { return true }

// Start checks every Gateway the reconciler pushed to, once per period,
// until ctx ends, and waits for the checks under way before returning.
func (c *replicaCheck) Start(ctx context.Context) error {
	ticker := time.NewTicker(c.period)
	defer ticker.Stop()
	slots := make(chan struct{}, replicaCheckParallel)
	var wg sync.WaitGroup
	defer wg.Wait()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-ticker.C:
		}
		for _, key := range c.reconciler.pushers.keys() {
			if !c.begin(key) {
				continue
			}
			wg.Go(func() {
				defer c.end(key)
				select {
				case slots <- struct{}{}:
				case <-ctx.Done():
					return
				}
				defer func() { <-slots }()
				c.checkGateway(ctx, key)
			})
		}
	}
}

func (c *replicaCheck) begin(key types.NamespacedName) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.inFlight == nil {
		c.inFlight = map[types.NamespacedName]bool{}
	}
	if c.inFlight[key] {
		return false
	}
	c.inFlight[key] = true
	return true
}

func (c *replicaCheck) end(key types.NamespacedName) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.inFlight, key)
}

// checkGateway compares one Gateway's replicas, as its admin Service lists
// them now, with what its last push left them holding, and asks for a full
// reconcile when they differ.
func (c *replicaCheck) checkGateway(ctx context.Context, key types.NamespacedName) {
	r := c.reconciler
	log := c.log.WithValues("gateway", key)
	var gw gwv1.Gateway
	if err := r.Client.Get(ctx, key, &gw); err != nil {
		if !apierrors.IsNotFound(err) {
			log.Error(err, "read Gateway for the replica check")
		}
		return // a deleted Gateway is forgotten by its last reconcile
	}
	if !gw.DeletionTimestamp.IsZero() {
		return
	}
	pusher := r.pushers.lookup(key)
	if pusher == nil {
		return
	}
	replicas, err := r.adminReplicas(ctx, &gw, provision.NamesFor(&gw))
	if err != nil {
		log.Error(err, "list replicas for the replica check")
		return
	}
	checkCtx, cancel := context.WithTimeout(ctx, replicaCheckTimeout)
	report := pusher.Check(checkCtx, replicas)
	cancel()
	if !report.NeedsReconcile() {
		r.Metrics.ObserveCheck(gw.Namespace, gw.Name, report, false)
		return
	}
	select {
	case c.reconcile <- event.TypedGenericEvent[*gwv1.Gateway]{Object: &gw}:
		r.Metrics.ObserveCheck(gw.Namespace, gw.Name, report, true)
		log.Info("replicas differ from what was pushed; reconciling", "reason", report.Reason())
	case <-ctx.Done():
	}
}
