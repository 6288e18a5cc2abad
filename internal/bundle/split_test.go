package bundle

import (
	"slices"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

const testObjects = `
apiVersion: v1
kind: Namespace
metadata: {name: drawbridge-system}
---
apiVersion: v1
kind: ServiceAccount
metadata: {name: drawbridge, namespace: drawbridge-system}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: drawbridge, namespace: drawbridge-system, labels: {app: drawbridge}}
spec:
  selector: {matchLabels: {app: drawbridge}}
  template:
    metadata: {labels: {app: drawbridge}}
    spec:
      serviceAccountName: drawbridge
      containers:
      - {name: manager, image: drawbridge:dev}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: z-manager}
rules:
- {apiGroups: [apps], resources: [deployments], verbs: [get]}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: a-auth}
rules:
- {apiGroups: [authentication.k8s.io], resources: [tokenreviews], verbs: [create]}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: reader}
rules:
- {nonResourceURLs: [/metrics], verbs: [get]}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: z-manager}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: z-manager}
subjects: [{kind: ServiceAccount, name: drawbridge, namespace: drawbridge-system}]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: a-auth}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: a-auth}
subjects: [{kind: ServiceAccount, name: drawbridge, namespace: drawbridge-system}]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: {name: leader, namespace: drawbridge-system}
rules:
- {apiGroups: [coordination.k8s.io], resources: [leases], verbs: [get, update]}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: leader, namespace: drawbridge-system}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: leader}
subjects: [{kind: ServiceAccount, name: drawbridge, namespace: drawbridge-system}]
---
apiVersion: v1
kind: Service
metadata: {name: drawbridge-metrics, namespace: drawbridge-system}
spec: {ports: [{port: 8443}]}
`

func decodeTest(t *testing.T, extra string) []*unstructured.Unstructured {
	t.Helper()
	objs, err := DecodeObjects([]byte(testObjects + extra))
	if err != nil {
		t.Fatal(err)
	}
	return objs
}

func TestSplitDerivesPermissionsFromBindings(t *testing.T) {
	objs := decodeTest(t, "")
	if err := SetOperatorImage(objs, "registry.example/drawbridge:v1"); err != nil {
		t.Fatal(err)
	}
	p, err := split(objs)
	if err != nil {
		t.Fatal(err)
	}
	if got := p.deployment.Spec.Template.Spec.Containers[0].Image; got != "registry.example/drawbridge:v1" {
		t.Errorf("image = %q", got)
	}
	if len(p.clusterPermissions) != 1 || p.clusterPermissions[0].ServiceAccountName != "drawbridge" {
		t.Fatalf("clusterPermissions = %+v", p.clusterPermissions)
	}
	// Rules of both bound ClusterRoles, ordered by role name.
	want := []string{"tokenreviews", "deployments"}
	var got []string
	for _, r := range p.clusterPermissions[0].Rules {
		got = append(got, r.Resources...)
	}
	if !slices.Equal(got, want) {
		t.Errorf("cluster rule resources = %v, want %v", got, want)
	}
	if len(p.permissions) != 1 || !slices.Equal(p.permissions[0].Rules[0].Resources, []string{"leases"}) {
		t.Errorf("permissions = %+v", p.permissions)
	}
	var extra []string
	for _, o := range p.extra {
		extra = append(extra, o.GetKind()+"/"+o.GetName())
		if o.GetNamespace() != "" {
			t.Errorf("%s/%s keeps namespace %q; OLM chooses the namespace", o.GetKind(), o.GetName(), o.GetNamespace())
		}
	}
	// The unbound reader role ships as a manifest; the Namespace, the
	// operator's ServiceAccount, the Deployment and bound roles do not.
	if !slices.Equal(extra, []string{"ClusterRole/reader", "Service/drawbridge-metrics"}) {
		t.Errorf("extra manifests = %v", extra)
	}
}

func TestSplitRejectsWhatOLMCannotInstall(t *testing.T) {
	for name, tc := range map[string]struct{ extra, want string }{
		"unsupported kind": {`---
apiVersion: batch/v1
kind: Job
metadata: {name: migrate, namespace: drawbridge-system}
`, "Job migrate cannot be shipped"},
		"binding to a missing role": {`---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: ghost}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: ghost}
subjects: [{kind: ServiceAccount, name: drawbridge, namespace: drawbridge-system}]
`, "refers to ClusterRole/ghost"},
		"binding shared with others": {`---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: shared}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: reader}
subjects:
- {kind: ServiceAccount, name: drawbridge, namespace: drawbridge-system}
- {kind: User, name: alice}
`, "binds the operator and others"},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := split(decodeTest(t, tc.extra))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error = %v, want it to contain %q", err, tc.want)
			}
		})
	}
}

func TestSetOperatorImageNeedsTheManagerContainer(t *testing.T) {
	objs := decodeTest(t, "")
	for _, o := range objs {
		if o.GetKind() == "Deployment" {
			_ = unstructured.SetNestedSlice(o.Object, []any{map[string]any{"name": "other", "image": "x"}}, "spec", "template", "spec", "containers")
		}
	}
	if err := SetOperatorImage(objs, "img"); err == nil || !strings.Contains(err.Error(), `no "manager" container`) {
		t.Errorf("error = %v", err)
	}
}
