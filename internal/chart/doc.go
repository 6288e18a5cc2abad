// Package chart generates Drawbridge's Helm chart (charts/drawbridge) from the
// same kustomize configuration in config/ that `make deploy` and the OLM
// bundle use: the CRDs, RBAC rules, the manager Deployment and the metrics
// Service are read from config/ and only the parts a chart must vary (names,
// namespace, labels, image, replicas, leader election, scheduling) are
// turned into Helm expressions, so the chart cannot drift from config/.
//
// When config/monitoring holds a PrometheusRule (prometheus-rule.yaml),
// ServiceMonitors (listed in its kustomization) or a Grafana dashboard
// (grafana-dashboard.json), they become templates gated by values; when those files are absent the chart simply has no such option
// wired to anything.
//
// The Gateway API CRDs (v1.7.0, from the sigs.k8s.io/gateway-api module) are
// two subcharts, one per release channel, whose crds/ directories Helm
// installs before any template only when their condition value is true.
//
// Generation is deterministic: the same config/ and options give the same
// bytes, so the committed chart can be checked against a fresh generation.
package chart
