package kongstandin

// A small schema engine modelled on Kong's kong/db/schema: typed fields with
// defaults, one_of, between, nested records, arrays, sets and maps, producing
// Kong's field error messages (reference section 1.3 and 2).

import (
	"encoding/json"
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
)

type kind int

const (
	kString kind = iota
	kInteger
	kNumber
	kBoolean
	kArray
	kSet
	kRecord
	kMap
	kForeign
	kAny
)

// fspec describes one field of an entity or plugin config.
type fspec struct {
	name     string
	kind     kind
	required bool
	def      any // default applied when the field is absent (not when null)
	oneOf    []string
	between  *[2]float64
	lenMin   int
	elem     *fspec   // arrays, sets and map values
	fields   []*fspec // records
	check    func(v any) string
	// recordCheck runs on a record after its fields validated cleanly; a
	// non-empty result is reported at the record's own path (or @entity at top).
	recordCheck func(rec map[string]any) string
}

func between(lo, hi float64) *[2]float64 { return &[2]float64{lo, hi} }

// fieldErr is one error at a dot-joined field path with 1-based array indexes.
type fieldErr struct {
	field string // empty for entity-level errors
	msg   string
}

func joinPath(base, name string) string {
	if base == "" {
		return name
	}
	return base + "." + name
}

// validateRecord validates input against fields, returning the record with
// defaults filled in and any errors. Unknown fields are errors, as in Kong.
func validateRecord(fields []*fspec, input map[string]any, path string) (map[string]any, []fieldErr) {
	out := map[string]any{}
	var errs []fieldErr
	known := map[string]bool{}
	for _, f := range fields {
		known[f.name] = true
		v, present := input[f.name]
		if !present {
			switch {
			case f.def != nil:
				out[f.name] = cloneJSON(f.def)
			case f.kind == kRecord:
				// Records are materialised with their own defaults, as Kong does.
				rec, sub := validateRecord(f.fields, map[string]any{}, joinPath(path, f.name))
				errs = append(errs, sub...)
				out[f.name] = rec
			case f.required:
				errs = append(errs, fieldErr{joinPath(path, f.name), "required field missing"})
			}
			continue
		}
		if v == nil {
			if f.required {
				errs = append(errs, fieldErr{joinPath(path, f.name), "required field missing"})
				continue
			}
			out[f.name] = nil
			continue
		}
		val, sub := validateValue(f, v, joinPath(path, f.name))
		errs = append(errs, sub...)
		out[f.name] = val
	}
	var unknown []string
	for k := range input {
		if !known[k] {
			unknown = append(unknown, k)
		}
	}
	sort.Strings(unknown)
	for _, k := range unknown {
		errs = append(errs, fieldErr{joinPath(path, k), "unknown field"})
	}
	return out, errs
}

func validateValue(f *fspec, v any, path string) (any, []fieldErr) {
	fail := func(msg string) (any, []fieldErr) { return v, []fieldErr{{path, msg}} }
	switch f.kind {
	case kString:
		s, ok := v.(string)
		if !ok {
			return fail("expected a string")
		}
		if f.lenMin > 0 && len(s) < f.lenMin {
			return fail(fmt.Sprintf("length must be at least %d", f.lenMin))
		}
		if len(f.oneOf) > 0 && !contains(f.oneOf, s) {
			return fail("expected one of: " + strings.Join(f.oneOf, ", "))
		}
	case kInteger, kNumber:
		n, ok := v.(json.Number)
		if !ok {
			if f.kind == kInteger {
				return fail("expected an integer")
			}
			return fail("expected a number")
		}
		x, err := n.Float64()
		if err != nil {
			return fail("expected a number")
		}
		if f.kind == kInteger && x != math.Trunc(x) {
			return fail("expected an integer")
		}
		if f.between != nil && (x < f.between[0] || x > f.between[1]) {
			return fail(fmt.Sprintf("value should be between %s and %s", fmtNum(f.between[0]), fmtNum(f.between[1])))
		}
	case kBoolean:
		if _, ok := v.(bool); !ok {
			return fail("expected a boolean")
		}
	case kArray, kSet:
		arr, ok := v.([]any)
		if !ok {
			if m, isMap := v.(map[string]any); isMap && len(m) == 0 {
				arr = []any{} // an empty JSON object is an empty Lua table
			} else if f.kind == kSet {
				return fail("expected a set")
			} else {
				return fail("expected an array")
			}
		}
		if f.lenMin > 0 && len(arr) < f.lenMin {
			return fail(fmt.Sprintf("length must be at least %d", f.lenMin))
		}
		var errs []fieldErr
		out := make([]any, 0, len(arr))
		for i, e := range arr {
			ev, sub := validateValue(f.elem, e, path+"."+strconv.Itoa(i+1))
			errs = append(errs, sub...)
			out = append(out, ev)
		}
		if len(errs) > 0 {
			return out, errs
		}
		v = out
	case kMap:
		m, ok := v.(map[string]any)
		if !ok {
			return fail("expected a map")
		}
		var errs []fieldErr
		out := map[string]any{}
		for k, e := range m {
			ev, sub := validateValue(f.elem, e, path+"."+k)
			errs = append(errs, sub...)
			out[k] = ev
		}
		if len(errs) > 0 {
			return out, errs
		}
		v = out
	case kRecord:
		m, ok := v.(map[string]any)
		if !ok {
			return fail("expected a record")
		}
		rec, errs := validateRecord(f.fields, m, path)
		if len(errs) == 0 && f.recordCheck != nil {
			if msg := f.recordCheck(rec); msg != "" {
				errs = append(errs, fieldErr{path, msg})
			}
		}
		return rec, errs
	case kForeign:
		switch x := v.(type) {
		case string:
			if x == "" {
				return fail("expected a record")
			}
			return map[string]any{"ref": x}, nil
		case map[string]any:
			if _, injected := x["ref"]; injected && len(x) == 1 {
				return x, nil // parent reference injected for a nested child
			}
			id, _ := x["id"].(string)
			name, _ := x["name"].(string)
			if id == "" && name == "" {
				return fail("expected a record")
			}
			if id != "" {
				return map[string]any{"ref": id}, nil
			}
			return map[string]any{"ref": name}, nil
		default:
			return fail("expected a record")
		}
	case kAny:
	}
	if f.check != nil {
		if msg := f.check(v); msg != "" {
			return fail(msg)
		}
	}
	return v, nil
}

func fmtNum(x float64) string { return strconv.FormatFloat(x, 'f', -1, 64) }

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// cloneJSON deep-copies a JSON-like value so defaults are never shared.
func cloneJSON(v any) any {
	switch x := v.(type) {
	case []any:
		out := make([]any, len(x))
		for i := range x {
			out[i] = cloneJSON(x[i])
		}
		return out
	case []string:
		out := make([]any, len(x))
		for i := range x {
			out[i] = x[i]
		}
		return out
	case map[string]any:
		out := map[string]any{}
		for k, e := range x {
			out[k] = cloneJSON(e)
		}
		return out
	case int:
		return json.Number(strconv.Itoa(x))
	}
	return v
}

// Accessors over validated records. Numbers are json.Number.

func getString(m map[string]any, k string) string {
	s, _ := m[k].(string)
	return s
}

func getInt(m map[string]any, k string) int {
	n, ok := m[k].(json.Number)
	if !ok {
		return 0
	}
	i, err := n.Int64()
	if err != nil {
		f, _ := n.Float64()
		return int(f)
	}
	return int(i)
}

func getBool(m map[string]any, k string) bool {
	b, _ := m[k].(bool)
	return b
}

func getStrings(m map[string]any, k string) []string {
	arr, _ := m[k].([]any)
	out := make([]string, 0, len(arr))
	for _, e := range arr {
		if s, ok := e.(string); ok {
			out = append(out, s)
		}
	}
	return out
}

func getRecord(m map[string]any, k string) map[string]any {
	r, _ := m[k].(map[string]any)
	if r == nil {
		return map[string]any{}
	}
	return r
}
