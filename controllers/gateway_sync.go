package controllers

import (
	"context"
	"crypto/tls"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
	gwv1 "sigs.k8s.io/gateway-api/apis/v1"

	"github.com/drawbridge-dev/drawbridge/internal/certs"
	"github.com/drawbridge-dev/drawbridge/internal/dataplane"
	"github.com/drawbridge-dev/drawbridge/internal/provision"
)

// pushers keeps one Pusher per Gateway: its memory of what each replica
// holds is what makes an unchanged configuration cost one GET /status.
type pushers struct {
	mu sync.Mutex
	m  map[types.NamespacedName]*dataplane.Pusher
}

func (p *pushers) get(key types.NamespacedName, create func() *dataplane.Pusher) *dataplane.Pusher {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.m == nil {
		p.m = map[types.NamespacedName]*dataplane.Pusher{}
	}
	if p.m[key] == nil {
		p.m[key] = create()
	}
	return p.m[key]
}

// lookup returns the Pusher of a Gateway, or nil when it was never pushed
// to.
func (p *pushers) lookup(key types.NamespacedName) *dataplane.Pusher {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.m[key]
}

// keys returns the Gateways with a Pusher.
func (p *pushers) keys() []types.NamespacedName {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := make([]types.NamespacedName, 0, len(p.m))
	for key := range p.m {
		out = append(out, key)
	}
	return out
}

func (p *pushers) forget(key types.NamespacedName) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if pu := p.m[key]; pu != nil {
		pu.Close()
		delete(p.m, key)
	}
}

// maxRejectionRounds bounds how many times one reconcile re-translates to
// leave newly rejected objects out. Each round removes at least one object, so
// this only caps the cost of a configuration with many bad objects; the
// rest are found by the next reconcile.
const maxRejectionRounds = 5

// syncDataPlane pushes the Gateway's current configuration to every replica
// behind its admin Service and records how many hold it. When Kong rejects
// entities it names through their tags, the objects they came from are left
// out and the rest is pushed again, so one bad route cannot keep every other
// route from being configured. Until Kong accepts a configuration, the last
// one it accepted stays in force on the replicas.
func (r *GatewayReconciler) syncDataPlane(ctx context.Context, s *gatewayScope) error {
	key := client.ObjectKeyFromObject(s.gateway)
	cfg, ok := r.Configs.Get(key)
	if !ok {
		return nil
	}
	replicas, err := r.adminReplicas(ctx, s.gateway, s.names)
	if err != nil {
		return err
	}
	pusher := r.pushers.get(key, func() *dataplane.Pusher { return r.newPusher(ctx) })
	pusher.Retain(replicas)
	if len(replicas) == 0 {
		s.sync = &dataplane.Result{}
		return nil
	}
	res := r.push(ctx, s, pusher, replicas, cfg.JSON)
	for round := 0; res.Rejection != nil && s.translation != nil && round < maxRejectionRounds; round++ {
		t := s.translation
		fresh := newRejections(res.Rejection, t.versions, t.excluded)
		separate := rejectsMergedRoute(res.Rejection) && !t.separateRoutes
		if len(fresh) == 0 && !separate {
			break // nothing Kong named can be left out
		}
		if separate {
			// Kong refused a merged route, whose error names no single
			// object: translate again with one Kong route per match, so
			// Kong's next verdict names the objects.
			t.separateRoutes = true
		}
		for _, ref := range sortedRefs(fresh) {
			t.excluded[ref] = fresh[ref]
			r.rejected.remember(key, ref, fresh[ref])
			r.reportRejection(s, ref, fresh[ref])
		}
		if err := r.retranslate(ctx, s); err != nil {
			return err
		}
		if s.translation == nil {
			return nil
		}
		cfg, _ = r.Configs.Get(key)
		res = r.push(ctx, s, pusher, replicas, cfg.JSON)
	}
	if res.Rejection != nil {
		r.Recorder.Eventf(s.gateway, nil, corev1.EventTypeWarning, "ConfigurationRejected", "Push",
			"the last configuration Kong accepted stays in force: %s", res.Rejection.Error())
	}
	if note := authFailureNote(res); note != "" {
		r.Recorder.Eventf(s.gateway, nil, corev1.EventTypeWarning, ReasonAdminAuthenticationFailed, "Push", "%s", note)
	}
	return nil
}

// ReasonAdminAuthenticationFailed is the reason of the Warning event a
// Gateway gets while a replica's admin API refuses the operator's client
// certificate, or its server certificate does not verify against the
// operator CA. It is not Kong judging the configuration: nothing is left
// out, and the replica is tried again until it accepts.
const ReasonAdminAuthenticationFailed = "AdminAuthenticationFailed"

// DefaultAdminTimeout bounds each admin API call when Options.AdminTimeout
// is zero.
const DefaultAdminTimeout = 10 * time.Second

// maxEventNote bounds an event's note (the API refuses more than 1 kB).
const maxEventNote = 1000

// authFailureNote is the event note for the replicas an admin
// authentication failure kept out of sync, or "" when there are none. It
// carries each replica's name and cause, never certificate material.
func authFailureNote(res dataplane.Result) string {
	fails := res.AuthFailures()
	if len(fails) == 0 {
		return ""
	}
	var b strings.Builder
	fmt.Fprintf(&b, "admin API authentication failed on %d/%d replicas; nothing was left out of the configuration, "+
		"and each replica is tried again until it accepts: ", len(fails), res.Total)
	for i, o := range fails {
		if i > 0 {
			b.WriteString("; ")
		}
		b.WriteString(o.Replica.Name + ": " + o.AuthFailure().Error())
	}
	note := b.String()
	if len(note) > maxEventNote {
		note = strings.ToValidUTF8(note[:maxEventNote-3], "") + "..."
	}
	return note
}

func (r *GatewayReconciler) push(ctx context.Context, s *gatewayScope, pusher *dataplane.Pusher, replicas []dataplane.Replica, body []byte) dataplane.Result {
	start := time.Now()
	// Kong may quote a refused value in its verdict; values that came from
	// Secrets are taken out before the verdict reaches status or events.
	key := client.ObjectKeyFromObject(s.gateway)
	values := func() []string { return r.Configs.SecretValuesOf(key, body) }
	res := pusher.Push(dataplane.WithSecretValuesFunc(ctx, values), replicas, body)
	r.Metrics.ObservePush(s.gateway.Namespace, s.gateway.Name, res, time.Since(start))
	s.sync = &res
	return res
}

// reportRejection tells the Gateway's owner and, for a route, the route's
// owner that Kong rejected the object and it was left out.
func (r *GatewayReconciler) reportRejection(s *gatewayScope, ref objectRef, rej rejection) {
	r.Recorder.Eventf(s.gateway, nil, corev1.EventTypeWarning, "ConfigurationRejected", "Push",
		"%s left out of the configuration: %s", ref, rej.Message)
	for _, obj := range s.translation.routes {
		if kindOf(obj) == ref.Kind && obj.GetNamespace() == ref.Namespace && obj.GetName() == ref.Name {
			r.Recorder.Eventf(obj, s.gateway, corev1.EventTypeWarning, "ConfigurationRejected", "Push",
				"left out of Gateway %s/%s: %s", s.gateway.Namespace, s.gateway.Name, rej.Message)
		}
	}
	// KongPlugins and KongConsumers get Accepted=False (reason Invalid)
	// with Kong's message when their status is written; the event says it
	// now.
	for i := range s.translation.full.KongPlugins {
		p := &s.translation.full.KongPlugins[i]
		if ref == (objectRef{kindKongPlugin, p.Namespace, p.Name}) {
			r.Recorder.Eventf(p, s.gateway, corev1.EventTypeWarning, "ConfigurationRejected", "Push",
				"left out of Gateway %s/%s: %s", s.gateway.Namespace, s.gateway.Name, rej.Message)
		}
	}
	for i := range s.translation.full.KongConsumers {
		c := &s.translation.full.KongConsumers[i]
		if ref == (objectRef{kindKongConsumer, c.Namespace, c.Name}) {
			r.Recorder.Eventf(c, s.gateway, corev1.EventTypeWarning, "ConfigurationRejected", "Push",
				"left out of Gateway %s/%s: %s", s.gateway.Namespace, s.gateway.Name, rej.Message)
		}
	}
}

func sortedRefs(m map[objectRef]rejection) []objectRef {
	out := make([]objectRef, 0, len(m))
	for ref := range m {
		out = append(out, ref)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].String() < out[j].String() })
	return out
}

// newPusher builds a Pusher that presents the operator's client certificate
// (looked up per handshake, so renewal needs no restart, and chosen by the
// CA each replica asks for, so a CA rotation reaches replicas that have not
// rolled yet) and trusts only the admin CAs (checked per handshake too).
func (r *GatewayReconciler) newPusher(ctx context.Context) *dataplane.Pusher {
	tlsConfig := &tls.Config{
		MinVersion: tls.VersionTLS12,
		GetClientCertificate: func(cri *tls.CertificateRequestInfo) (*tls.Certificate, error) {
			return r.PKI.ClientCertificateFor(ctx, cri)
		},
		// VerifyConnection does the verification, against the CAs of the
		// moment; InsecureSkipVerify only turns off the fixed-roots one.
		InsecureSkipVerify: true, //nolint:gosec // verified in VerifyConnection
		VerifyConnection: func(cs tls.ConnectionState) error {
			return r.PKI.VerifyServer(ctx, cs)
		},
	}
	// Short per-call timeouts and few attempts: the reconcile is requeued
	// until every replica holds the configuration.
	timeout := r.AdminTimeout
	if timeout <= 0 {
		timeout = DefaultAdminTimeout
	}
	opts := []dataplane.Option{dataplane.WithTLSConfig(tlsConfig), dataplane.WithTimeout(timeout),
		dataplane.WithMaxAttempts(3), dataplane.WithBackoff(200*time.Millisecond, 2*time.Second)}
	if r.AdminDialer != nil {
		opts = append(opts, dataplane.WithDialer(r.AdminDialer))
	}
	return dataplane.NewPusher(opts...)
}

// adminReplicas discovers the Kong replicas of a Gateway from the
// EndpointSlices of its headless admin Service. Terminating endpoints are
// skipped; readiness is not required, because a replica becomes Ready only
// after it has received its configuration.
func (r *GatewayReconciler) adminReplicas(ctx context.Context, gw *gwv1.Gateway, names provision.Names) ([]dataplane.Replica, error) {
	var slices discoveryv1.EndpointSliceList
	if err := r.Client.List(ctx, &slices, client.InNamespace(gw.Namespace),
		client.MatchingLabels{discoveryv1.LabelServiceName: names.Admin}); err != nil {
		return nil, fmt.Errorf("list admin EndpointSlices of Gateway %s/%s: %w", gw.Namespace, gw.Name, err)
	}
	serverName := certs.ReplicaServerName(names.Admin, gw.Namespace)
	var replicas []dataplane.Replica
	seen := map[string]bool{}
	for _, slice := range slices.Items {
		port := 0
		for _, p := range slice.Ports {
			if p.Name != nil && *p.Name == provision.AdminPortName && p.Port != nil {
				port = int(*p.Port)
			}
		}
		if port == 0 {
			continue
		}
		for _, ep := range slice.Endpoints {
			if (ep.Conditions.Terminating != nil && *ep.Conditions.Terminating) || len(ep.Addresses) == 0 {
				continue
			}
			name := ep.Addresses[0]
			if ep.TargetRef != nil && ep.TargetRef.Name != "" {
				name = ep.TargetRef.Name
			}
			if seen[name] {
				continue
			}
			seen[name] = true
			replicas = append(replicas, dataplane.Replica{Name: name, Namespace: gw.Namespace, Address: ep.Addresses[0], Port: port, ServerName: serverName})
		}
	}
	return replicas, nil
}
