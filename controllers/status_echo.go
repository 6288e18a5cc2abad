package controllers

import (
	"context"
	"maps"
	"reflect"
	"slices"
	"sync"

	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
)

// statusEchoes tells the Gateway controller's own status writes apart from
// everything else that updates the objects it watches. Every write it
// makes to a route's, the Gateway's, a ListenerSet's, a KongPlugin's, a
// KongConsumer's or a BackendTLSPolicy's status comes back as a watch
// event, and each of those used to translate the Gateway again: with 5,000
// routes a change cost two or three full translations instead of one
// (BenchmarkRouteMemory, translations/change). Status updates made by
// anyone else still pass: a stale entry of ours written back by a restore,
// or by an earlier operator version, must still reach the Gateway it
// names so that the Gateway removes it.
//
// The watch event of a write often arrives before the write's own answer
// does, so a status-only update of an object while our write to it is in
// flight counts as its echo too. Every status write of the controller
// carries the resourceVersion it was computed from (optimistic locking):
// another writer's update that lands first makes ours fail and the Gateway
// is reconciled again, so the only update this can hide is one that lands
// within the same few milliseconds after ours.
type statusEchoes struct {
	mu sync.Mutex
	// rv is the resourceVersion our last status write to an object
	// produced, until its watch event arrives.
	rv map[echoKey]string
	// inFlight counts our status writes to an object still awaiting their
	// answer.
	inFlight map[echoKey]int
}

type echoKey struct {
	kind            reflect.Type
	namespace, name string
}

func newStatusEchoes() *statusEchoes {
	return &statusEchoes{rv: map[echoKey]string{}, inFlight: map[echoKey]int{}}
}

func keyOf(obj client.Object) echoKey {
	return echoKey{reflect.TypeOf(obj), obj.GetNamespace(), obj.GetName()}
}

// begin notes a status write to obj that is about to be sent.
func (e *statusEchoes) begin(obj client.Object) echoKey {
	k := keyOf(obj)
	e.mu.Lock()
	defer e.mu.Unlock()
	e.inFlight[k]++
	return k
}

// end notes that the write begun under k has been answered; after a
// success obj carries the resourceVersion it left (the client copies the
// API server's answer into it).
func (e *statusEchoes) end(k echoKey, obj client.Object, err error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.inFlight[k]--; e.inFlight[k] <= 0 {
		delete(e.inFlight, k)
	}
	if err == nil && obj.GetResourceVersion() != "" {
		e.rv[k] = obj.GetResourceVersion()
	}
}

// echo reports whether obj is the object as our last status write left it
// (and forgets that write), or our write to it is still in flight.
func (e *statusEchoes) echo(obj client.Object) bool {
	k := keyOf(obj)
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.inFlight[k] > 0 {
		return true
	}
	rv, ok := e.rv[k]
	if !ok {
		return false
	}
	delete(e.rv, k)
	return rv == obj.GetResourceVersion()
}

// forget drops what is remembered of a deleted object.
func (e *statusEchoes) forget(obj client.Object) {
	e.mu.Lock()
	defer e.mu.Unlock()
	delete(e.rv, keyOf(obj))
}

// predicate passes every event except an update that changes nothing a
// translation reads (specOrMetadataChanged) and is the echo of our own
// status write.
func (e *statusEchoes) predicate() predicate.Funcs {
	return predicate.Funcs{
		UpdateFunc: func(ev event.UpdateEvent) bool {
			if ev.ObjectOld == nil || ev.ObjectNew == nil || specOrMetadataChanged(ev.ObjectOld, ev.ObjectNew) {
				return true
			}
			return !e.echo(ev.ObjectNew)
		},
		DeleteFunc: func(ev event.DeleteEvent) bool {
			if ev.Object != nil {
				e.forget(ev.Object)
			}
			return true
		},
	}
}

// specOrMetadataChanged reports whether an update changed what a Gateway's
// translation can read of an object: the spec (the generation, which the
// API server also bumps when deletion starts), labels, annotations,
// deletion or finalizers.
func specOrMetadataChanged(o, n client.Object) bool {
	return o.GetGeneration() != n.GetGeneration() ||
		!maps.Equal(o.GetLabels(), n.GetLabels()) ||
		!maps.Equal(o.GetAnnotations(), n.GetAnnotations()) ||
		!o.GetDeletionTimestamp().Equal(n.GetDeletionTimestamp()) ||
		!slices.Equal(o.GetFinalizers(), n.GetFinalizers())
}

// echoRecordingClient is the Gateway controller's client: its status
// writes are recorded in echoes.
type echoRecordingClient struct {
	client.Client
	echoes *statusEchoes
}

func (c echoRecordingClient) Status() client.SubResourceWriter {
	return echoRecordingWriter{c.Client.Status(), c.echoes}
}

type echoRecordingWriter struct {
	client.SubResourceWriter
	echoes *statusEchoes
}

func (w echoRecordingWriter) Update(ctx context.Context, obj client.Object, opts ...client.SubResourceUpdateOption) error {
	k := w.echoes.begin(obj)
	err := w.SubResourceWriter.Update(ctx, obj, opts...)
	w.echoes.end(k, obj, err)
	return err
}

func (w echoRecordingWriter) Patch(ctx context.Context, obj client.Object, patch client.Patch, opts ...client.SubResourcePatchOption) error {
	k := w.echoes.begin(obj)
	err := w.SubResourceWriter.Patch(ctx, obj, patch, opts...)
	w.echoes.end(k, obj, err)
	return err
}
