package kongplugins

import (
	"fmt"
	"strings"
	"testing"
)

// backendRewriteRoutes are the routes of the upstream test
// HTTPRouteBackendURLRewrite (a URLRewrite on the only backendRef of each
// rule), plus a rule whose two backendRefs carry the same rewrite, with a
// hostname.
const backendRewriteRoutes = `apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: backend-url-rewrite, namespace: gateway-conformance-infra}
spec:
  parentRefs: [{name: same-namespace}]
  rules:
  - matches: [{path: {type: PathPrefix, value: /full}}]
    backendRefs:
    - name: infra-backend-v1
      port: 8080
      filters: [{type: URLRewrite, urlRewrite: {path: {type: ReplaceFullPath, replaceFullPath: /rewritten-full}}}]
  - matches: [{path: {type: PathPrefix, value: /prefix}}]
    backendRefs:
    - name: infra-backend-v1
      port: 8080
      filters: [{type: URLRewrite, urlRewrite: {path: {type: ReplacePrefixMatch, replacePrefixMatch: /rewritten-prefix}}}]
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: backend-url-rewrite-both, namespace: gateway-conformance-infra}
spec:
  parentRefs: [{name: same-namespace}]
  rules:
  - matches: [{path: {type: PathPrefix, value: /both}}]
    backendRefs:
    - name: infra-backend-v1
      port: 8080
      filters: [{type: URLRewrite, urlRewrite: {hostname: rewritten.example.com, path: {type: ReplacePrefixMatch, replacePrefixMatch: /new}}}]
    - name: infra-backend-v2
      port: 8080
      filters: [{type: URLRewrite, urlRewrite: {hostname: rewritten.example.com, path: {type: ReplacePrefixMatch, replacePrefixMatch: /new}}}]
`

// TestHTTPRouteBackendURLRewrite runs HTTPRouteBackendURLRewrite's cases
// on real Kong (the backend must see the rewritten path), and the same
// rewrite on both backendRefs of a rule, which each backend applies.
func TestHTTPRouteBackendURLRewrite(t *testing.T) {
	k := v17StartKong(t, false)
	v1 := v17StartEcho(t, "infra-backend-v1-pod")
	v2 := v17StartEcho(t, "infra-backend-v2-pod")
	res := translateResult(t, v17GatewayClass, v17SameNamespace("same-namespace", k.httpPort, "Same"),
		v17Service("infra-backend-v1", v1, ""), v17Service("infra-backend-v2", v2, ""), backendRewriteRoutes)
	v17RequireAccepted(t, res)
	k.post(t, res)
	for _, c := range []struct{ path, wantPath, wantHost, backend string }{
		{"/full/original", "/rewritten-full", "", "infra-backend-v1"},
		{"/prefix/original", "/rewritten-prefix/original", "", "infra-backend-v1"},
		{"/prefix", "/rewritten-prefix", "", "infra-backend-v1"},
		{"/both/a/b", "/new/a/b", "rewritten.example.com", "infra-backend-v"},
		{"/both/c", "/new/c", "rewritten.example.com", "infra-backend-v"},
	} {
		t.Run(c.path, func(t *testing.T) {
			v17Eventually(t, c.path, func() error {
				code, e, err := v17HTTPGet(k.httpAddr(), "www.example.com", c.path, nil)
				if err != nil {
					return err
				}
				if code != 200 || e == nil || !strings.HasPrefix(e.Pod, c.backend) {
					return fmt.Errorf("got %d from %+v, want %s", code, e, c.backend)
				}
				wantHost := c.wantHost
				if wantHost == "" {
					wantHost = "www.example.com"
				}
				if e.Path != c.wantPath || e.Host != wantHost {
					return fmt.Errorf("backend got %s for host %s, want %s for %s", e.Path, e.Host, c.wantPath, wantHost)
				}
				return nil
			})
		})
	}
}
