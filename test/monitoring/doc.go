// Package monitoring checks Drawbridge's Grafana dashboard and Prometheus
// alert rules (config/monitoring) with Prometheus's own PromQL parser and
// rule loader, and writes the metrics and labels they use to
// config/monitoring/metrics-used.json. The operator's tests check those names
// against its real metrics registry, and the lab e2e suite against the
// /metrics of real Kong 3.9.3.
//
// It is a module of its own because github.com/prometheus/prometheus brings
// a large dependency tree the operator does not need.
package monitoring
