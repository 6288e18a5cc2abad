// Package bundle generates Drawbridge's OLM bundle (registry+v1 format) from
// the kustomize configuration in config/, without operator-sdk: the
// ClusterServiceVersion with its install strategy and permissions, the CRDs,
// the extra manifests, metadata/annotations.yaml and bundle.Dockerfile.
//
// Generation is deterministic: the same config/ and options give the same
// bytes, so the committed bundle/ can be checked against a fresh generation.
package bundle
