package controllers

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"
	"sigs.k8s.io/controller-runtime/pkg/client/interceptor"
	gwv1 "sigs.k8s.io/gateway-api/apis/v1"
	"sigs.k8s.io/gateway-api/pkg/consts"
	"sigs.k8s.io/gateway-api/pkg/features"

	"github.com/drawbridge-dev/drawbridge/internal/gatewayapi"
)

// crd returns a Gateway API CRD whose v1 schema has spec with these
// properties (each an object that keeps whatever is below it).
func crd(plural, kind string, annotations map[string]string, spec map[string]apiextensionsv1.JSONSchemaProps) *apiextensionsv1.CustomResourceDefinition {
	return &apiextensionsv1.CustomResourceDefinition{
		TypeMeta:   metav1.TypeMeta{APIVersion: "apiextensions.k8s.io/v1", Kind: "CustomResourceDefinition"},
		ObjectMeta: metav1.ObjectMeta{Name: plural + "." + gwv1.GroupName, Annotations: annotations},
		Spec: apiextensionsv1.CustomResourceDefinitionSpec{
			Group: gwv1.GroupName,
			Names: apiextensionsv1.CustomResourceDefinitionNames{Plural: plural, Kind: kind},
			Scope: apiextensionsv1.NamespaceScoped,
			Versions: []apiextensionsv1.CustomResourceDefinitionVersion{{Name: "v1", Served: true, Storage: true,
				Schema: &apiextensionsv1.CustomResourceValidation{OpenAPIV3Schema: &apiextensionsv1.JSONSchemaProps{
					Type: "object", Properties: map[string]apiextensionsv1.JSONSchemaProps{"spec": {Type: "object", Properties: spec}},
				}}}},
		},
	}
}

func keepsAll() apiextensionsv1.JSONSchemaProps {
	return apiextensionsv1.JSONSchemaProps{Type: "object", XPreserveUnknownFields: ptr.To(true)}
}

func TestReadCRDSchemasFindsTheFieldsACRDLacks(t *testing.T) {
	mapper := servedKinds(map[string]string{"Gateway": "gateways", "HTTPRoute": "httproutes", "ReferenceGrant": "referencegrants"})
	installed := map[string]bool{"Gateway": true, "HTTPRoute": true, "ReferenceGrant": true}
	// Gateway and ReferenceGrant keep every field. HTTPRoute is a CRD
	// without the channel annotation whose parentRefs have no port: its
	// schema, not an annotation, says what users can write.
	gateway := crd("gateways", "Gateway", map[string]string{consts.ChannelAnnotation: "standard"}, map[string]apiextensionsv1.JSONSchemaProps{
		"gatewayClassName": {Type: "string"}, "listeners": {Type: "array", Items: &apiextensionsv1.JSONSchemaPropsOrArray{Schema: ptr.To(keepsAll())}},
		"addresses": {Type: "array", Items: &apiextensionsv1.JSONSchemaPropsOrArray{Schema: ptr.To(keepsAll())}},
		"tls":       keepsAll(), "infrastructure": keepsAll(), "allowedListeners": keepsAll(),
	})
	parentRef := apiextensionsv1.JSONSchemaProps{Type: "object", Properties: map[string]apiextensionsv1.JSONSchemaProps{
		"name": {Type: "string"}, "sectionName": {Type: "string"},
	}}
	httproute := crd("httproutes", "HTTPRoute", nil, map[string]apiextensionsv1.JSONSchemaProps{
		"parentRefs": {Type: "array", Items: &apiextensionsv1.JSONSchemaPropsOrArray{Schema: &parentRef}},
		"hostnames":  {Type: "array", Items: &apiextensionsv1.JSONSchemaPropsOrArray{Schema: &apiextensionsv1.JSONSchemaProps{Type: "string"}}},
		"rules":      {Type: "array", Items: &apiextensionsv1.JSONSchemaPropsOrArray{Schema: ptr.To(keepsAll())}},
	})
	referencegrant := crd("referencegrants", "ReferenceGrant", nil, map[string]apiextensionsv1.JSONSchemaProps{"from": {Type: "array",
		Items: &apiextensionsv1.JSONSchemaPropsOrArray{Schema: ptr.To(keepsAll())}}, "to": {Type: "array", Items: &apiextensionsv1.JSONSchemaPropsOrArray{Schema: ptr.To(keepsAll())}}})
	reader := fake.NewClientBuilder().WithScheme(runtime.NewScheme()).WithObjects(toUnstructured(t, gateway), toUnstructured(t, httproute), toUnstructured(t, referencegrant)).Build()

	schemas, err := readCRDSchemas(context.Background(), reader, mapper, installed)
	if err != nil {
		t.Fatal(err)
	}
	if got := schemas.missing["HTTPRoute"]; !slices.Equal(got, []string{"spec.parentRefs[].port"}) {
		t.Errorf("HTTPRoute CRD lacks %v, want only spec.parentRefs[].port", got)
	}
	if got := schemas.missing["Gateway"]; len(got) != 0 {
		t.Errorf("Gateway CRD lacks %v, want nothing", got)
	}
	if schemas.channel["Gateway"] != "standard" || schemas.channel["HTTPRoute"] != "" {
		t.Errorf("channels %v", schemas.channel)
	}
	var names []features.FeatureName
	for _, f := range gatewayapi.SupportedFeatures(schemas.served()) {
		names = append(names, features.FeatureName(f.Name))
	}
	for _, want := range []features.FeatureName{features.SupportGateway, features.SupportHTTPRoute, features.SupportHTTPRouteNamedRouteRule, features.SupportReferenceGrant} {
		if !slices.Contains(names, want) {
			t.Errorf("%s missing from %v", want, names)
		}
	}
	for _, absent := range []features.FeatureName{features.SupportHTTPRouteParentRefPort, features.SupportHTTPRouteDestinationPortMatching, features.SupportGRPCRoute, features.SupportTLSRouteModeTerminate} {
		if slices.Contains(names, absent) {
			t.Errorf("%s published, though the CRDs do not allow it", absent)
		}
	}
	schemas.logChannels()
}

func TestReadCRDSchemasFailsWhenItCannotReadACRD(t *testing.T) {
	mapper := servedKinds(map[string]string{"Gateway": "gateways"})
	for name, getErr := range map[string]error{
		"unreachable": errors.New("dial tcp 10.96.0.1:443: connect: connection refused"),
		"forbidden":   apierrors.NewForbidden(schema.GroupResource{Group: "apiextensions.k8s.io", Resource: "customresourcedefinitions"}, "gateways.gateway.networking.k8s.io", errors.New("no RBAC")),
		"not found":   nil, // no CRD object at all
	} {
		b := fake.NewClientBuilder().WithScheme(runtime.NewScheme())
		if getErr != nil {
			b = b.WithInterceptorFuncs(interceptor.Funcs{Get: func(context.Context, client.WithWatch, client.ObjectKey, client.Object, ...client.GetOption) error {
				return getErr
			}})
		}
		_, err := readCRDSchemas(context.Background(), b.Build(), mapper, map[string]bool{"Gateway": true})
		if err == nil || !strings.Contains(err.Error(), "gateways.gateway.networking.k8s.io") {
			t.Errorf("%s: error %v; want one naming the CRD", name, err)
		}
	}
}

// servedKinds maps Gateway API kinds to their resources (plural names),
// as discovery would.
func servedKinds(plurals map[string]string) meta.RESTMapper {
	mapper := meta.NewDefaultRESTMapper([]schema.GroupVersion{gwv1.SchemeGroupVersion})
	for kind, plural := range plurals {
		gvk := gwv1.SchemeGroupVersion.WithKind(kind)
		mapper.AddSpecific(gvk, gwv1.SchemeGroupVersion.WithResource(plural), gwv1.SchemeGroupVersion.WithResource(strings.ToLower(kind)), meta.RESTScopeNamespace)
	}
	return mapper
}

func toUnstructured(t *testing.T, obj runtime.Object) client.Object {
	t.Helper()
	m, err := runtime.DefaultUnstructuredConverter.ToUnstructured(obj)
	if err != nil {
		t.Fatal(err)
	}
	return &unstructured.Unstructured{Object: m}
}
