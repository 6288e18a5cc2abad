package monitoring

import (
	"fmt"
	"regexp"
	"slices"
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// ScrapeOptions say what a Prometheus outside the Prometheus Operator needs
// to run the scrape configuration that the operator would generate from a
// ServiceMonitor.
type ScrapeOptions struct {
	// Kubeconfig is the file Kubernetes service discovery reads (a
	// Prometheus Operator's Prometheus uses its pod's ServiceAccount).
	Kubeconfig string
	// Files maps a path a ServiceMonitor names in the Prometheus pod
	// (bearerTokenFile) to the file that holds it here.
	Files map[string]string
	// Interval is the scrape interval of endpoints that set none (the
	// Prometheus resource's scrapeInterval).
	Interval string
}

// endpointFields are the ServiceMonitor endpoint fields ScrapeConfigs
// derives; any other field is refused rather than silently dropped.
var endpointFields = []string{"port", "path", "scheme", "honorLabels", "bearerTokenFile", "tlsConfig", "relabelings", "interval", "scrapeTimeout"}

// specFields are the ServiceMonitor spec fields ScrapeConfigs derives.
var specFields = []string{"selector", "namespaceSelector", "endpoints", "jobLabel"}

// ScrapeConfigs derives Prometheus scrape configurations (one per endpoint)
// from a ServiceMonitor (monitoring.coreos.com/v1), with the relabelings the
// Prometheus Operator generates for it: kubernetes_sd role endpoints in the
// selected namespaces, keep by the Service's labels and the port name, then
// node, pod, namespace, service, container, job (the Service name, or the
// jobLabel's value) and endpoint (the port name) target labels, then the
// endpoint's own relabelings. Where it approximates the operator:
//   - the operator's sharding relabelings (hashmod over __address__) and its
//     __tmp_prometheus_job_name bookkeeping are left out (one shard);
//   - scrape classes, enforced namespace labels, attachMetadata, targetLabels
//     and podTargetLabels are not derived (a monitor that sets them is
//     refused, as is any field not listed in endpointFields);
//   - discovery reads opts.Kubeconfig instead of the Prometheus pod's
//     ServiceAccount, and a bearerTokenFile is read from opts.Files;
//   - tlsConfig supports insecureSkipVerify and serverName only (ca, cert
//     and key come from Secrets the operator copies into its pod).
func ScrapeConfigs(sm *unstructured.Unstructured, opts ScrapeOptions) ([]map[string]any, error) {
	where := fmt.Sprintf("ServiceMonitor %s/%s", sm.GetNamespace(), sm.GetName())
	if sm.GetKind() != "ServiceMonitor" {
		return nil, fmt.Errorf("%s is a %s", where, sm.GetKind())
	}
	spec, _, _ := unstructured.NestedMap(sm.Object, "spec")
	if err := onlyFields(spec, specFields); err != nil {
		return nil, fmt.Errorf("%s spec: %w", where, err)
	}
	sd := map[string]any{"role": "endpoints"}
	if opts.Kubeconfig != "" {
		sd["kubeconfig_file"] = opts.Kubeconfig
	}
	if anyNS, _, _ := unstructured.NestedBool(spec, "namespaceSelector", "any"); !anyNS {
		names, _, _ := unstructured.NestedStringSlice(spec, "namespaceSelector", "matchNames")
		if len(names) == 0 {
			names = []string{sm.GetNamespace()}
		}
		sd["namespaces"] = map[string]any{"names": toAny(names)}
	}

	var selection []any
	matchLabels, _, _ := unstructured.NestedStringMap(spec, "selector", "matchLabels")
	keys := make([]string, 0, len(matchLabels))
	for k := range matchLabels {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		selection = append(selection, map[string]any{
			"action":        "keep",
			"source_labels": []any{"__meta_kubernetes_service_label_" + labelName(k), "__meta_kubernetes_service_labelpresent_" + labelName(k)},
			"regex":         "(" + matchLabels[k] + ");true",
		})
	}
	if exprs, _, _ := unstructured.NestedSlice(spec, "selector", "matchExpressions"); len(exprs) > 0 {
		return nil, fmt.Errorf("%s: selector.matchExpressions are not derived", where)
	}
	jobLabel, _, _ := unstructured.NestedString(spec, "jobLabel")

	endpoints, _, _ := unstructured.NestedSlice(spec, "endpoints")
	if len(endpoints) == 0 {
		return nil, fmt.Errorf("%s has no endpoints", where)
	}
	var out []map[string]any
	for i, raw := range endpoints {
		ep, ok := raw.(map[string]any)
		if !ok {
			return nil, fmt.Errorf("%s endpoint %d is not an object", where, i)
		}
		if err := onlyFields(ep, endpointFields); err != nil {
			return nil, fmt.Errorf("%s endpoint %d: %w", where, i, err)
		}
		port, _ := ep["port"].(string)
		if port == "" {
			return nil, fmt.Errorf("%s endpoint %d: only named ports are derived", where, i)
		}
		cfg := map[string]any{
			"job_name":              fmt.Sprintf("serviceMonitor/%s/%s/%d", sm.GetNamespace(), sm.GetName(), i),
			"honor_labels":          ep["honorLabels"] == true,
			"kubernetes_sd_configs": []any{sd},
			"scrape_interval":       opts.Interval,
		}
		if v, ok := ep["interval"].(string); ok {
			cfg["scrape_interval"] = v
		}
		if v, ok := ep["scrapeTimeout"].(string); ok {
			cfg["scrape_timeout"] = v
		}
		if v, ok := ep["path"].(string); ok {
			cfg["metrics_path"] = v
		}
		if v, ok := ep["scheme"].(string); ok {
			cfg["scheme"] = strings.ToLower(v)
		}
		if f, ok := ep["bearerTokenFile"].(string); ok {
			local, ok := opts.Files[f]
			if !ok {
				return nil, fmt.Errorf("%s endpoint %d: bearerTokenFile %s has no file here (ScrapeOptions.Files)", where, i, f)
			}
			cfg["bearer_token_file"] = local
		}
		if tls, ok := ep["tlsConfig"].(map[string]any); ok {
			if err := onlyFields(tls, []string{"insecureSkipVerify", "serverName"}); err != nil {
				return nil, fmt.Errorf("%s endpoint %d tlsConfig: %w", where, i, err)
			}
			t := map[string]any{}
			if v, ok := tls["insecureSkipVerify"].(bool); ok {
				t["insecure_skip_verify"] = v
			}
			if v, ok := tls["serverName"].(string); ok {
				t["server_name"] = v
			}
			cfg["tls_config"] = t
		}

		relabel := slices.Clone(selection)
		relabel = append(relabel,
			map[string]any{"action": "keep", "source_labels": []any{"__meta_kubernetes_endpoint_port_name"}, "regex": port},
			map[string]any{"source_labels": []any{"__meta_kubernetes_endpoint_address_target_kind", "__meta_kubernetes_endpoint_address_target_name"},
				"separator": ";", "regex": "Node;(.*)", "replacement": "${1}", "target_label": "node"},
			map[string]any{"source_labels": []any{"__meta_kubernetes_endpoint_address_target_kind", "__meta_kubernetes_endpoint_address_target_name"},
				"separator": ";", "regex": "Pod;(.*)", "replacement": "${1}", "target_label": "pod"},
			map[string]any{"source_labels": []any{"__meta_kubernetes_namespace"}, "target_label": "namespace"},
			map[string]any{"source_labels": []any{"__meta_kubernetes_service_name"}, "target_label": "service"},
			map[string]any{"source_labels": []any{"__meta_kubernetes_pod_name"}, "target_label": "pod"},
			map[string]any{"source_labels": []any{"__meta_kubernetes_pod_container_name"}, "target_label": "container"},
			// Pods that finished are not scraped (filterRunning's default).
			map[string]any{"action": "drop", "source_labels": []any{"__meta_kubernetes_pod_phase"}, "regex": "(Failed|Succeeded)"},
			map[string]any{"source_labels": []any{"__meta_kubernetes_service_name"}, "target_label": "job", "replacement": "${1}"},
		)
		if jobLabel != "" {
			relabel = append(relabel, map[string]any{"source_labels": []any{"__meta_kubernetes_service_label_" + labelName(jobLabel)},
				"target_label": "job", "regex": "(.+)", "replacement": "${1}"})
		}
		relabel = append(relabel, map[string]any{"target_label": "endpoint", "replacement": port})
		own, _ := ep["relabelings"].([]any)
		for j, r := range own {
			rc, err := relabelConfig(r)
			if err != nil {
				return nil, fmt.Errorf("%s endpoint %d relabeling %d: %w", where, i, j, err)
			}
			relabel = append(relabel, rc)
		}
		cfg["relabel_configs"] = relabel
		out = append(out, cfg)
	}
	return out, nil
}

// relabelFields map a ServiceMonitor relabeling's fields to Prometheus's.
var relabelFields = map[string]string{
	"sourceLabels": "source_labels", "separator": "separator", "targetLabel": "target_label",
	"regex": "regex", "modulus": "modulus", "replacement": "replacement", "action": "action",
}

func relabelConfig(raw any) (map[string]any, error) {
	r, ok := raw.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("not an object")
	}
	out := map[string]any{}
	for k, v := range r {
		name, ok := relabelFields[k]
		if !ok {
			return nil, fmt.Errorf("field %s is not derived", k)
		}
		if k == "action" {
			// The CRD accepts Replace as well as replace.
			v = strings.ToLower(fmt.Sprint(v))
		}
		out[name] = v
	}
	return out, nil
}

func onlyFields(m map[string]any, allowed []string) error {
	var extra []string
	for k := range m {
		if !slices.Contains(allowed, k) {
			extra = append(extra, k)
		}
	}
	if len(extra) > 0 {
		slices.Sort(extra)
		return fmt.Errorf("fields %v are not derived (known: %v)", extra, allowed)
	}
	return nil
}

var invalidLabelChars = regexp.MustCompile(`[^a-zA-Z0-9_]`)

// labelName is a Kubernetes label key as Prometheus's discovery spells it
// in meta label names.
func labelName(k string) string { return invalidLabelChars.ReplaceAllString(k, "_") }

func toAny(s []string) []any {
	out := make([]any, len(s))
	for i, v := range s {
		out[i] = v
	}
	return out
}
