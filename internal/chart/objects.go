package chart

import (
	"fmt"
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/drawbridge-dev/drawbridge/internal/bundle"
)

// Expressions of the chart's helpers (templates/_helpers.tpl).
const (
	fullnameExpr       = `{{ include "drawbridge.fullname" . }}`
	serviceAccountExpr = `{{ include "drawbridge.serviceAccountName" . }}`
	namespaceExpr      = `{{ .Release.Namespace }}`
)

// generator collects the templates made from config/ objects.
type generator struct {
	templates []chartTemplate
	crds      []*unstructured.Unstructured
	values    valueDefaults
	// seen counts the kinds config/default must have, checked at the end.
	deployments, metricsServices, serviceAccounts int
	hasRule, hasDashboard, hasServiceMonitors     bool
	// operatorNamespace is config/'s namespace of the operator, which a
	// ServiceMonitor's namespaceSelector may name (the release's in the
	// chart).
	operatorNamespace string
}

type chartTemplate struct {
	file, text string
}

// rbacFile collects every RBAC object in config order into one template.
const rbacFile = "rbac.yaml"

func (g *generator) appendTemplate(file, text string) {
	for i := range g.templates {
		if g.templates[i].file == file {
			g.templates[i].text += "---\n" + text
			return
		}
	}
	g.templates = append(g.templates, chartTemplate{file: file, text: text})
}

// add turns one object of config/default into a template or a CRD. Kinds
// the generator does not know are an error, so nothing new in config/ is
// silently left out of the chart.
func (g *generator) add(obj *unstructured.Unstructured) error {
	h := &holes{}
	switch obj.GetKind() {
	case "Namespace":
		// Helm installs into the release namespace (--namespace,
		// --create-namespace); the chart does not own it.
		return nil
	case "CustomResourceDefinition":
		g.crds = append(g.crds, obj)
		return nil
	case "ServiceAccount":
		if obj.GetName() != bundle.OperatorName {
			return fmt.Errorf("the only ServiceAccount must be %q", bundle.OperatorName)
		}
		g.serviceAccounts++
		if err := meta(h, obj, serviceAccountExpr); err != nil {
			return err
		}
		obj.Object["metadata"].(map[string]any)[h.indented(func(indent int) []string {
			return []string{
				"{{- with .Values.serviceAccount.annotations }}",
				"annotations:",
				fmt.Sprintf("  {{- toYaml . | nindent %d }}", indent+2),
				"{{- end }}",
			}
		})] = ""
		return g.render(h, obj, "serviceaccount.yaml", ".Values.serviceAccount.create")
	case "ClusterRole", "Role":
		if err := meta(h, obj, ""); err != nil {
			return err
		}
		return g.render(h, obj, rbacFile, "")
	case "ClusterRoleBinding", "RoleBinding":
		if err := meta(h, obj, ""); err != nil {
			return err
		}
		if err := binding(h, obj); err != nil {
			return err
		}
		return g.render(h, obj, rbacFile, "")
	case "Deployment":
		if obj.GetName() != bundle.OperatorName {
			return fmt.Errorf("the only Deployment must be %q", bundle.OperatorName)
		}
		g.deployments++
		g.operatorNamespace = obj.GetNamespace()
		if err := meta(h, obj, ""); err != nil {
			return err
		}
		if err := g.deployment(h, obj); err != nil {
			return err
		}
		return g.render(h, obj, "deployment.yaml", "")
	case "Service":
		if obj.GetName() != bundle.OperatorName+"-metrics" {
			return fmt.Errorf("the chart knows only the metrics Service %q", bundle.OperatorName+"-metrics")
		}
		g.metricsServices++
		if err := meta(h, obj, ""); err != nil {
			return err
		}
		if err := g.metricsService(h, obj); err != nil {
			return err
		}
		return g.render(h, obj, "metrics-service.yaml", ".Values.metrics.service.enabled")
	default:
		return fmt.Errorf("the chart generator does not know how to template a %s; teach internal/chart", obj.GetKind())
	}
}

func (g *generator) check() error {
	if g.deployments != 1 || g.serviceAccounts != 1 || g.metricsServices != 1 {
		return fmt.Errorf("%s must have one Deployment, one ServiceAccount and one metrics Service; found %d, %d, %d",
			defaultConfig, g.deployments, g.serviceAccounts, g.metricsServices)
	}
	if len(g.crds) == 0 {
		return fmt.Errorf("%s has no CustomResourceDefinition", defaultConfig)
	}
	return nil
}

func (g *generator) render(h *holes, obj *unstructured.Unstructured, file, gate string) error {
	text, err := h.render(obj.Object)
	if err != nil {
		return err
	}
	if gate != "" {
		text = "{{- if " + gate + " }}\n" + text + "{{- end }}\n"
	}
	g.appendTemplate(file, text)
	return nil
}

// nameExpr maps a config/ name (drawbridge or drawbridge-<suffix>) to the
// release's full name with the same suffix, so two releases' cluster-scoped
// objects never collide.
func nameExpr(name string) (string, error) {
	if name == bundle.OperatorName {
		return fullnameExpr, nil
	}
	if suffix, ok := strings.CutPrefix(name, bundle.OperatorName+"-"); ok {
		return fullnameExpr + "-" + suffix, nil
	}
	return "", fmt.Errorf("name %q does not start with %q; the chart derives its names from that prefix", name, bundle.OperatorName+"-")
}

// meta templates the name (as nameExpr, or the given expression), the
// namespace and the labels of any object.
func meta(h *holes, obj *unstructured.Unstructured, name string) error {
	if name == "" {
		var err error
		if name, err = nameExpr(obj.GetName()); err != nil {
			return err
		}
	}
	m := obj.Object["metadata"].(map[string]any)
	m["name"] = h.scalar(name)
	if obj.GetNamespace() != "" {
		m["namespace"] = h.scalar(namespaceExpr)
	}
	m["labels"] = labels(h, obj.GetLabels(), "drawbridge.labels")
	return nil
}

// labels keeps config/'s labels except app.kubernetes.io/name, which the
// chart's helper sets (with nameOverride) next to its standard labels.
func labels(h *holes, cfg map[string]string, helper string) map[string]any {
	out := map[string]any{}
	for k, v := range cfg {
		if k != "app.kubernetes.io/name" {
			out[k] = v
		}
	}
	out[h.indented(func(indent int) []string {
		return []string{fmt.Sprintf("{{- include %q . | nindent %d }}", helper, indent)}
	})] = ""
	return out
}

// binding points a (Cluster)RoleBinding at the chart's role and account.
func binding(h *holes, obj *unstructured.Unstructured) error {
	ref, _, _ := unstructured.NestedString(obj.Object, "roleRef", "name")
	expr, err := nameExpr(ref)
	if err != nil {
		return fmt.Errorf("roleRef: %w", err)
	}
	if err := unstructured.SetNestedField(obj.Object, h.scalar(expr), "roleRef", "name"); err != nil {
		return err
	}
	subjects, _, _ := unstructured.NestedSlice(obj.Object, "subjects")
	for i, s := range subjects {
		m, _ := s.(map[string]any)
		if m["kind"] != "ServiceAccount" || m["name"] != bundle.OperatorName {
			return fmt.Errorf("subject %v is not the operator's ServiceAccount", s)
		}
		m["name"] = h.scalar(serviceAccountExpr)
		m["namespace"] = h.scalar(namespaceExpr)
		subjects[i] = m
	}
	return unstructured.SetNestedSlice(obj.Object, subjects, "subjects")
}

func (g *generator) deployment(h *holes, obj *unstructured.Unstructured) error {
	spec := obj.Object["spec"].(map[string]any)
	spec["replicas"] = h.scalar("{{ .Values.replicaCount }}")
	selector, _, _ := unstructured.NestedStringMap(spec, "selector", "matchLabels")
	if selector["app.kubernetes.io/name"] != bundle.OperatorName {
		return fmt.Errorf("the selector must have app.kubernetes.io/name: %s", bundle.OperatorName)
	}
	if err := unstructured.SetNestedField(spec, labels(h, selector, "drawbridge.selectorLabels"), "selector", "matchLabels"); err != nil {
		return err
	}
	tmeta, _, _ := unstructured.NestedMap(spec, "template", "metadata")
	podLabels, _, _ := unstructured.NestedStringMap(tmeta, "labels")
	pl := labels(h, podLabels, "drawbridge.selectorLabels")
	pl[h.indented(func(indent int) []string {
		return []string{"{{- with .Values.podLabels }}", fmt.Sprintf("{{- toYaml . | nindent %d }}", indent), "{{- end }}"}
	})] = ""
	tmeta["labels"] = pl
	if _, ok := tmeta["annotations"]; ok {
		return fmt.Errorf("pod annotations in config/ are not supported by the chart generator yet")
	}
	tmeta[h.indented(func(indent int) []string {
		return []string{
			"{{- with .Values.podAnnotations }}",
			"annotations:",
			fmt.Sprintf("  {{- toYaml . | nindent %d }}", indent+2),
			"{{- end }}",
		}
	})] = ""
	if err := unstructured.SetNestedMap(spec, tmeta, "template", "metadata"); err != nil {
		return err
	}

	pod, _, _ := unstructured.NestedMap(spec, "template", "spec")
	if pod["serviceAccountName"] != bundle.OperatorName {
		return fmt.Errorf("serviceAccountName must be %q", bundle.OperatorName)
	}
	pod["serviceAccountName"] = h.scalar(serviceAccountExpr)
	for _, k := range []string{"nodeSelector", "tolerations", "affinity", "imagePullSecrets", "priorityClassName"} {
		if _, ok := pod[k]; ok {
			return fmt.Errorf("the pod's %s comes from values; remove it from config/ or teach internal/chart to use it as the default", k)
		}
	}
	pod[h.indented(func(indent int) []string {
		var out []string
		for _, k := range []string{"imagePullSecrets", "nodeSelector", "tolerations", "affinity"} {
			out = append(out, "{{- with .Values."+k+" }}", k+":", fmt.Sprintf("  {{- toYaml . | nindent %d }}", indent+2), "{{- end }}")
		}
		return append(out, "{{- with .Values.priorityClassName }}", "priorityClassName: {{ . }}", "{{- end }}")
	})] = ""

	containers, _, _ := unstructured.NestedSlice(pod, "containers")
	found := false
	for i, c := range containers {
		m, _ := c.(map[string]any)
		if m["name"] != bundle.ManagerContainer {
			continue
		}
		found = true
		m["image"] = h.scalar(`"{{ .Values.image.repository }}:{{ .Values.image.tag | default .Chart.AppVersion }}"`)
		m["imagePullPolicy"] = h.scalar("{{ .Values.image.pullPolicy }}")
		args, _, _ := unstructured.NestedStringSlice(m, "args")
		var newArgs []any
		elect := false
		for _, a := range args {
			switch {
			case a == leaderElectFlag:
				elect = true
				newArgs = append(newArgs, h.lines(
					`{{- if include "drawbridge.leaderElection" . }}`, "- "+leaderElectFlag, "{{- end }}"))
			case strings.HasPrefix(a, "--operator-pod-labels"):
				return fmt.Errorf("--operator-pod-labels is set by the chart from its selector labels; remove it from config/")
			default:
				newArgs = append(newArgs, a)
			}
		}
		if !elect {
			return fmt.Errorf("the manager's args have no %s; the chart turns it on and off by value", leaderElectFlag)
		}
		// The operator admits only its own pods to Kong admin APIs (a
		// NetworkPolicy per Gateway); they carry the release's labels.
		newArgs = append(newArgs, h.scalar(`--operator-pod-labels={{ include "drawbridge.podLabelSelector" . }}`))
		m["args"] = newArgs
		res, ok := m["resources"].(map[string]any)
		if !ok {
			return fmt.Errorf("the manager container has no resources; the chart's default comes from them")
		}
		g.values.Resources = res
		m["resources"] = h.block(func(indent int) []string {
			return []string{fmt.Sprintf("{{- toYaml .Values.resources | nindent %d }}", indent)}
		})
		containers[i] = m
	}
	if !found {
		return fmt.Errorf("no %q container", bundle.ManagerContainer)
	}
	pod["containers"] = containers
	return unstructured.SetNestedMap(spec, pod, "template", "spec")
}

func (g *generator) metricsService(h *holes, obj *unstructured.Unstructured) error {
	spec := obj.Object["spec"].(map[string]any)
	selector, _, _ := unstructured.NestedStringMap(spec, "selector")
	if selector["app.kubernetes.io/name"] != bundle.OperatorName {
		return fmt.Errorf("the selector must have app.kubernetes.io/name: %s", bundle.OperatorName)
	}
	spec["selector"] = labels(h, selector, "drawbridge.selectorLabels")
	ports, _, _ := unstructured.NestedSlice(spec, "ports")
	if len(ports) != 1 {
		return fmt.Errorf("the metrics Service must have one port")
	}
	p := ports[0].(map[string]any)
	var port int64
	switch n := p["port"].(type) {
	case int64:
		port = n
	case int:
		port = int64(n)
	case float64:
		port = int64(n)
	default:
		return fmt.Errorf("the metrics port is not a number: %v", p["port"])
	}
	g.values.MetricsPort = port
	p["port"] = h.scalar("{{ .Values.metrics.service.port }}")
	spec["ports"] = []any{p}
	return nil
}

// addClass templates the class-wide GatewayConfiguration and the
// GatewayClass from config/samples, whose kinds, API versions and
// controller name the chart reuses; the spec and names come from values.
func (g *generator) addClass(samples []*unstructured.Unstructured) error {
	var class, config *unstructured.Unstructured
	for _, s := range samples {
		if s.GetKind() == "GatewayClass" {
			class = s
		}
	}
	if class == nil {
		return fmt.Errorf("no GatewayClass sample")
	}
	refName, _, _ := unstructured.NestedString(class.Object, "spec", "parametersRef", "name")
	for _, s := range samples {
		if s.GetKind() == "GatewayConfiguration" && s.GetName() == refName {
			config = s
		}
	}
	if config == nil {
		return fmt.Errorf("the GatewayClass sample's GatewayConfiguration %q is not among the samples", refName)
	}
	g.values.ClassName, g.values.ConfigName = class.GetName(), config.GetName()

	h := &holes{}
	cfgNameExpr := "{{ .Values.gatewayConfiguration.name }}"
	m := config.Object["metadata"].(map[string]any)
	m["name"] = h.scalar(cfgNameExpr)
	m["namespace"] = h.scalar(namespaceExpr)
	m["labels"] = labels(h, nil, "drawbridge.labels")
	config.Object["spec"] = h.block(func(indent int) []string {
		return []string{fmt.Sprintf("{{- toYaml .Values.gatewayConfiguration.spec | nindent %d }}", indent)}
	})
	if err := g.render(h, config, "gatewayconfiguration.yaml", ".Values.gatewayConfiguration.create"); err != nil {
		return err
	}

	h = &holes{}
	m = class.Object["metadata"].(map[string]any)
	m["name"] = h.scalar("{{ .Values.gatewayClass.name }}")
	m["labels"] = labels(h, class.GetLabels(), "drawbridge.labels")
	spec := class.Object["spec"].(map[string]any)
	ref := spec["parametersRef"].(map[string]any)
	delete(spec, "parametersRef")
	// The class points at the chart's GatewayConfiguration only when the
	// chart creates one.
	spec[h.lines(
		"{{- if .Values.gatewayConfiguration.create }}",
		"parametersRef:",
		fmt.Sprintf("  group: %v", ref["group"]),
		fmt.Sprintf("  kind: %v", ref["kind"]),
		"  name: "+cfgNameExpr,
		"  namespace: "+namespaceExpr,
		"{{- end }}",
	)] = ""
	text, err := h.render(class.Object)
	if err != nil {
		return err
	}
	g.appendTemplate("gatewayclass.yaml", "{{- if .Values.gatewayClass.create }}\n"+text+"{{- end }}\n")
	return nil
}

func (g *generator) addPrometheusRule(obj *unstructured.Unstructured) error {
	h := &holes{}
	if err := meta(h, obj, ""); err != nil {
		return err
	}
	m := obj.Object["metadata"].(map[string]any)
	m["namespace"] = h.scalar(namespaceExpr)
	obj.Object["metadata"].(map[string]any)["labels"].(map[string]any)[h.indented(func(indent int) []string {
		return []string{"{{- with .Values.metrics.prometheusRule.labels }}", fmt.Sprintf("{{- toYaml . | nindent %d }}", indent), "{{- end }}"}
	})] = ""
	g.hasRule = true
	return g.render(h, obj, "prometheusrule.yaml", ".Values.metrics.prometheusRule.enabled")
}

// addServiceMonitor templates one ServiceMonitor of config/monitoring: the
// release's names, namespace and labels, a selector of the operator's
// labels narrowed to this release's pods' Service, and the operator's
// namespace of config/ replaced by the release's.
func (g *generator) addServiceMonitor(obj *unstructured.Unstructured) error {
	h := &holes{}
	if err := meta(h, obj, ""); err != nil {
		return err
	}
	m := obj.Object["metadata"].(map[string]any)
	m["namespace"] = h.scalar(namespaceExpr)
	m["labels"].(map[string]any)[h.indented(func(indent int) []string {
		return []string{"{{- with .Values.metrics.serviceMonitor.labels }}", fmt.Sprintf("{{- toYaml . | nindent %d }}", indent), "{{- end }}"}
	})] = ""
	spec, _ := obj.Object["spec"].(map[string]any)
	if spec == nil {
		return fmt.Errorf("ServiceMonitor %s has no spec", obj.GetName())
	}
	selector, _, _ := unstructured.NestedStringMap(spec, "selector", "matchLabels")
	if selector["app.kubernetes.io/name"] == bundle.OperatorName {
		if err := unstructured.SetNestedField(spec, labels(h, selector, "drawbridge.selectorLabels"), "selector", "matchLabels"); err != nil {
			return err
		}
	}
	names, found, err := unstructured.NestedStringSlice(spec, "namespaceSelector", "matchNames")
	if err != nil {
		return fmt.Errorf("ServiceMonitor %s namespaceSelector.matchNames: %w", obj.GetName(), err)
	}
	if found {
		if len(names) != 1 || names[0] != g.operatorNamespace {
			return fmt.Errorf("ServiceMonitor %s selects namespaces %v; the chart knows only the operator's (%s) and any: true", obj.GetName(), names, g.operatorNamespace)
		}
		if err := unstructured.SetNestedSlice(spec, []any{h.scalar(namespaceExpr)}, "namespaceSelector", "matchNames"); err != nil {
			return err
		}
	}
	g.hasServiceMonitors = true
	return g.render(h, obj, serviceMonitorFile, ".Values.metrics.serviceMonitor.enabled")
}

// serviceMonitorFile holds every ServiceMonitor of config/monitoring.
const serviceMonitorFile = "servicemonitor.yaml"
