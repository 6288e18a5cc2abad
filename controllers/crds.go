package controllers

import (
	"context"
	"fmt"
	"slices"
	"strings"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	gwv1 "sigs.k8s.io/gateway-api/apis/v1"
	"sigs.k8s.io/gateway-api/pkg/consts"

	"github.com/drawbridge-dev/drawbridge/internal/gatewayapi"
)

// +kubebuilder:rbac:groups=apiextensions.k8s.io,resources=customresourcedefinitions,verbs=get

// crdSchemas is what the installed Gateway API CRDs let users write, read
// once at start: which fields of featureFields each installed kind's CRD
// lacks, and the channel and release its annotations name (for the log).
type crdSchemas struct {
	installed map[string]bool
	missing   map[string][]string
	channel   map[string]string
	release   map[string]string
}

// readCRDSchemas reads the CRD of every installed kind that a claimed
// feature needs a field of (gatewayapi.FieldKinds), by the resource name the
// API server maps the kind to. installed reports the kinds the API server
// serves; Gateway must be one of them. Any error reading a CRD is returned,
// not taken for "standard channel": a schema that could not be read says
// nothing about the fields users can write, and the operator would publish
// a claim it cannot know.
func readCRDSchemas(ctx context.Context, reader client.Reader, mapper meta.RESTMapper, installed map[string]bool) (*crdSchemas, error) {
	s := &crdSchemas{installed: installed, missing: map[string][]string{}, channel: map[string]string{}, release: map[string]string{}}
	for _, kind := range gatewayapi.FieldKinds() {
		if !installed[kind] {
			continue
		}
		gk := gwv1.SchemeGroupVersion.WithKind(kind).GroupKind()
		mapping, err := mapper.RESTMapping(gk, gwv1.SchemeGroupVersion.Version)
		if err != nil {
			return nil, fmt.Errorf("find the resource of %s %s: %w", gwv1.GroupName, kind, err)
		}
		name := mapping.Resource.Resource + "." + gwv1.GroupName
		u := &unstructured.Unstructured{}
		u.SetGroupVersionKind(apiextensionsv1.SchemeGroupVersion.WithKind("CustomResourceDefinition"))
		if err := reader.Get(ctx, types.NamespacedName{Name: name}, u); err != nil {
			return nil, fmt.Errorf("read CustomResourceDefinition %s to learn which fields of %s users can write (the operator needs get on customresourcedefinitions): %w", name, kind, err)
		}
		var crd apiextensionsv1.CustomResourceDefinition
		if err := runtime.DefaultUnstructuredConverter.FromUnstructured(u.Object, &crd); err != nil {
			return nil, fmt.Errorf("decode CustomResourceDefinition %s: %w", name, err)
		}
		missing, err := gatewayapi.MissingFields(kind, &crd)
		if err != nil {
			return nil, err
		}
		s.missing[kind] = missing
		s.channel[kind] = crd.Annotations[consts.ChannelAnnotation]
		s.release[kind] = crd.Annotations[consts.BundleVersionAnnotation]
	}
	return s, nil
}

// served is the argument of gatewayapi.SupportedFeatures for these CRDs.
func (s *crdSchemas) served() gatewayapi.Served {
	return gatewayapi.Served{
		Kind:  func(kind string) bool { return s.installed[kind] },
		Field: func(kind, path string) bool { return s.installed[kind] && !slices.Contains(s.missing[kind], path) },
	}
}

// logChannels says which channel and release each kind's CRD comes from
// and, for every CRD that lacks fields a claimed feature needs, which fields
// and features.
func (s *crdSchemas) logChannels() {
	log := ctrl.Log.WithName("setup")
	channels := map[string]string{}
	for _, kind := range gatewayapi.FieldKinds() {
		if s.installed[kind] {
			channels[kind] = s.describe(kind)
		}
	}
	log.Info("Gateway API CRDs read; features follow their schemas, and a CRD replaced by another channel or release counts once the operator restarts",
		"channels", channels)
	dropped := gatewayapi.DroppedFeatures(s.served())
	for _, kind := range gatewayapi.FieldKinds() {
		if len(s.missing[kind]) == 0 {
			continue
		}
		var feats []string
		for f, lacks := range dropped {
			if slices.ContainsFunc(lacks, func(l string) bool { return strings.HasPrefix(l, kind+" ") }) {
				feats = append(feats, string(f))
			}
		}
		slices.Sort(feats)
		log.Info("the "+kind+" CRD lacks fields that claimed features need (the API server prunes them); GatewayClasses do not list those features until the operator restarts on CRDs that have them",
			"crd", s.describe(kind), "missingFields", s.missing[kind], "features", feats)
	}
}

// describe names the channel and release of a kind's CRD from its
// annotations ("standard v1.7.0").
func (s *crdSchemas) describe(kind string) string {
	ch := s.channel[kind]
	if ch == "" {
		ch = "no channel annotation"
	}
	if r := s.release[kind]; r != "" {
		return ch + " " + r
	}
	return ch
}
