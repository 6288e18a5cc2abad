package chart

import (
	"strings"
	"testing"
)

func TestHolesFillEveryKind(t *testing.T) {
	h := &holes{}
	obj := map[string]any{
		"metadata": map[string]any{
			"name": h.scalar("{{ .Name }}"),
			h.lines("{{- if .X }}", "x: 1", "{{- end }}"): "",
		},
		"args":      []any{"a", h.lines("- b"), "c"},
		"resources": h.block(func(indent int) []string { return []string{strings.Repeat(">", indent)} }),
		"note":      "{{ $labels.x }}",
	}
	got, err := h.render(obj)
	if err != nil {
		t.Fatal(err)
	}
	want := `args:
- a
- b
- c
metadata:
  {{- if .X }}
  x: 1
  {{- end }}
  name: {{ .Name }}
note: '{{ "{{" }} $labels.x }}'
resources:
  >>
`
	if got != want {
		t.Errorf("render:\n%s\nwant:\n%s", got, want)
	}
}

func TestHolesRefuseALostPlaceholder(t *testing.T) {
	h := &holes{}
	h.scalar("{{ .Lost }}")
	if _, err := h.render(map[string]any{"a": "b"}); err == nil {
		t.Error("a placeholder that never reached the output was accepted")
	}
}
