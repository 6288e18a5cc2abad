package provision

import (
	"encoding/json"
	"testing"

	corev1 "k8s.io/api/core/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	gwv1 "sigs.k8s.io/gateway-api/apis/v1"

	"github.com/drawbridge-dev/drawbridge/api/v1alpha1"
)

// FuzzRenderMergedConfiguration merges a class and a Gateway
// GatewayConfiguration, each with a fuzzed podTemplate patch and env
// variable, and renders them. No input may panic, and whatever renders
// must still run Kong the way Drawbridge set it up: the proxy container
// with every managed variable as generated, and the admin certificates.
func FuzzRenderMergedConfiguration(f *testing.F) {
	f.Add(`{"spec":{"nodeSelector":{"a":"b"}}}`, `{"spec":{"containers":[{"name":"proxy","env":[{"name":"KONG_LOG_LEVEL","value":"debug"}]}]}}`, "KONG_LOG_LEVEL", "info")
	f.Add(`{"spec":{"containers":[{"name":"proxy","$patch":"delete"}]}}`, ``, "", "")
	f.Add(`{"spec":{"containers":[{"name":"proxy","env":[{"name":"KONG_ADMIN_LISTEN","value":"0.0.0.0:8001"}]}]}}`, `{}`, "X", "y")
	f.Add(`{"spec":{"volumes":[{"name":"admin-tls","emptyDir":{}}]}}`, `[]`, "KONG_UNTRUSTED_LUA", "on")
	f.Add(`{"spec":{"containers":[{"name":"proxy","envFrom":[{"configMapRef":{"name":"x"}}]}]}}`, `null`, "KONG_NGINX_WORKER_PROCESSES", "1")
	f.Add(`{"metadata":{"labels":{"app.kubernetes.io/instance":"other"}}}`, `{"spec":{"containers":[{"name":"proxy","env":[{"$patch":"replace"}]}]}}`, "", "")
	f.Add(`{"spec":{"containers":[{"name":"proxy","volumeMounts":[{"name":"x","mountPath":"/var/run/secrets/drawbridge/admin-tls/tls.crt"}]}]}}`, `{"spec":{"volumes":[{"name":"x","emptyDir":{}}]}}`, "", "")
	f.Fuzz(func(t *testing.T, classPatch, gatewayPatch, envName, envValue string) {
		layer := func(patch string) *v1alpha1.GatewayConfigurationSpec {
			dp := &v1alpha1.DataPlaneConfig{}
			if json.Valid([]byte(patch)) {
				dp.PodTemplate = &apiextensionsv1.JSON{Raw: []byte(patch)}
			}
			if envName != "" {
				dp.Env = []corev1.EnvVar{{Name: envName, Value: envValue}}
			}
			return &v1alpha1.GatewayConfigurationSpec{DataPlane: dp}
		}
		gw := &gwv1.Gateway{
			ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "apps", UID: "00000000-0000-0000-0000-000000000001"},
			Spec:       gwv1.GatewaySpec{GatewayClassName: "drawbridge", Listeners: []gwv1.Listener{{Name: "http", Port: 80, Protocol: gwv1.HTTPProtocolType}}},
		}
		in := Input{Gateway: gw, Config: Merge(layer(classPatch), layer(gatewayPatch)), Listeners: gw.Spec.Listeners, OperatorNamespace: "drawbridge-system"}
		objs, err := Render(in)
		if err != nil {
			return
		}
		plain := in
		plain.Config.PodTemplatePatches = nil
		plain.Config.Env = nil
		base, err := Render(plain)
		if err != nil {
			t.Fatalf("the configuration without patches and env does not render: %v", err)
		}
		if err := keepsManagedSettings(base.Deployment.Spec.Template, objs.Deployment.Spec.Template); err != nil {
			t.Fatalf("rendered a pod template that %v", err)
		}
		for k, v := range ObjectLabels(gw) {
			if objs.Deployment.Spec.Template.Labels[k] != v {
				t.Fatalf("pod template lost selector label %s=%s", k, v)
			}
		}
	})
}
