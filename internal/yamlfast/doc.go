// Package yamlfast converts between YAML and JSON like sigs.k8s.io/yaml, byte
// for byte, at a fraction of its cost for the shapes Drawbridge reads and
// writes.
//
// sigs.k8s.io/yaml goes through go-yaml v2 and encoding/json in both
// directions: YAMLToJSON parses a document into generic maps and marshals
// them as JSON, and Marshal renders a value as JSON, parses that JSON back as
// YAML and emits it. For `drawbridge translate` over thousands of routes those
// round trips cost seconds and gigabytes. ToJSON and Marshal here produce the
// same bytes directly: ToJSON parses the block-style YAML that manifests are
// written in, and Marshal walks the value with encoding/json's field rules
// and writes go-yaml v2's layout (sorted keys, its quoting rules, folding at
// 80 columns). Whatever falls outside what they handle exactly (flow
// collections, anchors, block scalars and escapes in input; types with their
// own JSON methods, unusual characters in output) is passed to
// sigs.k8s.io/yaml itself, so results never differ, only speed does.
package yamlfast
