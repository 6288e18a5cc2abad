package controllers

import (
	"context"
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/client"
	gwv1 "sigs.k8s.io/gateway-api/apis/v1"
)

// crdReader holds the CustomResourceDefinitions named in installed, or
// fails every read with err.
type crdReader struct {
	client.Reader
	installed map[string]bool
	err       error
}

func (r crdReader) Get(_ context.Context, key client.ObjectKey, _ client.Object, _ ...client.GetOption) error {
	if r.err != nil {
		return r.err
	}
	if !r.installed[key.Name] {
		return apierrors.NewNotFound(schema.GroupResource{Group: "apiextensions.k8s.io", Resource: "customresourcedefinitions"}, key.Name)
	}
	return nil
}

// laggingMapper does not know any kind for its first lag lookups, like
// discovery right after an API server starts, and then knows HTTPRoute.
type laggingMapper struct {
	meta.RESTMapper
	lag   int32
	calls atomic.Int32
}

func (m *laggingMapper) RESTMapping(gk schema.GroupKind, versions ...string) (*meta.RESTMapping, error) {
	if m.calls.Add(1) <= m.lag {
		return nil, &meta.NoKindMatchError{GroupKind: gk, SearchedVersions: versions}
	}
	return m.RESTMapper.RESTMapping(gk, versions...)
}

func TestKindInstalledTrustsTheCRDAndWaitsForDiscovery(t *testing.T) {
	ctx := context.Background()
	served := meta.NewDefaultRESTMapper([]schema.GroupVersion{gwv1.SchemeGroupVersion})
	served.Add(gwv1.SchemeGroupVersion.WithKind("HTTPRoute"), meta.RESTScopeNamespace)
	onlyHTTPRoutes := crdReader{installed: map[string]bool{"httproutes.gateway.networking.k8s.io": true}}

	kinds, err := installedRouteKinds(ctx, onlyHTTPRoutes, served)
	if err != nil {
		t.Fatalf("only the HTTPRoute CRD: %v", err)
	}
	if len(kinds) != 1 || kinds[0].kind != "HTTPRoute" {
		t.Errorf("installed route kinds = %v, want only HTTPRoute", kinds)
	}
	if ok, err := listenerSetsInstalled(ctx, onlyHTTPRoutes, served); ok || err != nil {
		t.Errorf("ListenerSet without its CRD: installed %v, error %v; want false, nil", ok, err)
	}

	// Discovery lags behind the CRD for two lookups: still installed.
	lagging := &laggingMapper{RESTMapper: served, lag: 2}
	if ok, err := kindInstalled(ctx, onlyHTTPRoutes, lagging, "HTTPRoute"); !ok || err != nil {
		t.Errorf("HTTPRoute while discovery lags: installed %v, error %v; want true", ok, err)
	}

	// Discovery never serves it: an error, never "not installed".
	defer func(d time.Duration) { mappingWait = d }(mappingWait)
	mappingWait = 1500 * time.Millisecond
	never := &laggingMapper{RESTMapper: served, lag: 1 << 30}
	if ok, err := kindInstalled(ctx, onlyHTTPRoutes, never, "HTTPRoute"); ok || err == nil || !strings.Contains(err.Error(), "is installed but") {
		t.Errorf("HTTPRoute never served: installed %v, error %v; want the error", ok, err)
	}

	// The API server not answering is retried, then an error.
	unreachable := crdReader{err: errors.New("dial tcp 10.96.0.1:443: connect: connection refused")}
	if kinds, err := installedRouteKinds(ctx, unreachable, served); err == nil || !strings.Contains(err.Error(), "connection refused") {
		t.Fatalf("unreachable API server: kinds %v, error %v; want the error", kinds, err)
	}
	if ok, err := backendTLSPoliciesInstalled(ctx, unreachable, served); ok || err == nil {
		t.Errorf("BackendTLSPolicy with the API server unreachable: installed %v, error %v; want an error", ok, err)
	}
}
