package chart

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"sigs.k8s.io/yaml"
)

// holes turn an object read from config/ into a Helm template. The generator
// puts a placeholder string where the chart needs a Helm expression, encodes
// the object as YAML like any other, and then replaces each placeholder: this
// keeps every other byte of the object exactly as config/ has it.
type holes struct {
	fill []func(indent int) []string
	kind []holeKind
}

type holeKind int

const (
	// scalarHole replaces a quoted scalar with an expression on the same line.
	scalarHole holeKind = iota
	// lineHole replaces a whole line (a map key `'<token>': ""` or a list
	// item `- '<token>'`) with lines at that line's indentation.
	lineHole
	// blockHole replaces the value of `key: '<token>'` with lines indented
	// under the key.
	blockHole
)

var tokenRE = regexp.MustCompile(`'?"?@@h(\d+)@@"?'?`)

func (h *holes) add(k holeKind, fill func(indent int) []string) string {
	h.fill = append(h.fill, fill)
	h.kind = append(h.kind, k)
	return "@@h" + strconv.Itoa(len(h.fill)-1) + "@@"
}

// scalar is a placeholder for a value written as expr.
func (h *holes) scalar(expr string) string {
	return h.add(scalarHole, func(int) []string { return []string{expr} })
}

// lines is a placeholder (a map key or list item) for lines of template
// text, each indented like the placeholder's own line.
func (h *holes) lines(text ...string) string {
	return h.add(lineHole, func(int) []string { return text })
}

// indented is like lines but its text depends on the indentation (nindent).
func (h *holes) indented(fill func(indent int) []string) string {
	return h.add(lineHole, fill)
}

// block is a placeholder for a map value rendered by fill, which gets the
// indentation the value's lines need.
func (h *holes) block(fill func(indent int) []string) string {
	return h.add(blockHole, fill)
}

// escapeActions keeps template actions that config/ text itself contains
// (a PrometheusRule's {{ $labels.x }}) literal in the rendered output.
func escapeActions(s string) string {
	return strings.ReplaceAll(s, "{{", `{{ "{{" }}`)
}

// render encodes obj and fills every placeholder; a placeholder left over or
// missing means the generator and the object disagree, which is an error.
func (h *holes) render(obj map[string]any) (string, error) {
	raw, err := yaml.Marshal(obj)
	if err != nil {
		return "", err
	}
	text := escapeActions(string(raw))
	used := make([]bool, len(h.fill))
	var out []string
	for _, line := range strings.Split(strings.TrimRight(text, "\n"), "\n") {
		m := tokenRE.FindStringSubmatchIndex(line)
		if m == nil {
			out = append(out, line)
			continue
		}
		i, _ := strconv.Atoi(line[m[2]:m[3]])
		if i >= len(h.fill) || used[i] {
			return "", fmt.Errorf("placeholder %d appears twice or is unknown in %q", i, line)
		}
		used[i] = true
		indent := len(line) - len(strings.TrimLeft(line, " "))
		pad := strings.Repeat(" ", indent)
		switch h.kind[i] {
		case scalarHole:
			out = append(out, line[:m[0]]+h.fill[i](indent)[0]+line[m[1]:])
		case lineHole:
			for _, l := range h.fill[i](indent) {
				out = append(out, pad+l)
			}
		case blockHole:
			key := strings.TrimRight(line[:m[0]], " ")
			if !strings.HasSuffix(key, ":") {
				return "", fmt.Errorf("block placeholder %d is not a map value: %q", i, line)
			}
			out = append(out, key)
			for _, l := range h.fill[i](indent + 2) {
				out = append(out, pad+"  "+l)
			}
		}
		if tokenRE.MatchString(line[m[1]:]) {
			return "", fmt.Errorf("two placeholders on one line: %q", line)
		}
	}
	for i, u := range used {
		if !u {
			return "", fmt.Errorf("placeholder %d was lost in encoding", i)
		}
	}
	return strings.Join(out, "\n") + "\n", nil
}
