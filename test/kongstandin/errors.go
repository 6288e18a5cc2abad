package kongstandin

// Kong's 400 body for an invalid declarative configuration
// (kong/db/errors.lua, reference section 1.3):
//
//	{"code":14,"name":"invalid declarative configuration","message":"declarative config is invalid: ...",
//	 "fields":{...},"flattened_errors":[...]}

import (
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"
)

// errorTree builds the nested "fields" tree that mirrors the input, with
// entity-level errors under "@entity".
func (d *declaration) errorTree() map[string]any {
	root := map[string]any{}
	for k, v := range d.topErrors {
		root[k] = v
	}
	for _, e := range d.all() {
		for _, fe := range e.errs {
			segs := treeSegs(e.tree)
			if fe.field == "" {
				segs = append(segs, "@entity")
				addTreeList(root, segs, fe.msg)
				continue
			}
			for _, s := range strings.Split(fe.field, ".") {
				if n, err := strconv.Atoi(s); err == nil && n > 0 {
					segs = append(segs, "#"+strconv.Itoa(n-1)) // 1-based Lua index -> JSON position
				} else {
					segs = append(segs, s)
				}
			}
			setTree(root, segs, fe.msg)
		}
	}
	return finishTree(root).(map[string]any)
}

func treeSegs(tree []any) []string {
	var out []string
	for _, t := range tree {
		switch x := t.(type) {
		case int:
			out = append(out, "#"+strconv.Itoa(x))
		case string:
			out = append(out, x)
		}
	}
	return out
}

func descend(root map[string]any, segs []string) map[string]any {
	cur := root
	for _, s := range segs {
		next, ok := cur[s].(map[string]any)
		if !ok {
			next = map[string]any{}
			cur[s] = next
		}
		cur = next
	}
	return cur
}

func setTree(root map[string]any, segs []string, msg string) {
	parent := descend(root, segs[:len(segs)-1])
	last := segs[len(segs)-1]
	if _, exists := parent[last]; !exists {
		parent[last] = msg
	}
}

func addTreeList(root map[string]any, segs []string, msg string) {
	parent := descend(root, segs[:len(segs)-1])
	last := segs[len(segs)-1]
	list, _ := parent[last].([]any)
	parent[last] = append(list, msg)
}

// finishTree turns maps keyed "#<n>" into JSON arrays with null holes.
func finishTree(v any) any {
	m, ok := v.(map[string]any)
	if !ok {
		return v
	}
	isArray, maxIdx := len(m) > 0, -1
	for k := range m {
		if !strings.HasPrefix(k, "#") {
			isArray = false
			break
		}
		n, _ := strconv.Atoi(k[1:])
		if n > maxIdx {
			maxIdx = n
		}
	}
	if isArray {
		arr := make([]any, maxIdx+1)
		for k, x := range m {
			n, _ := strconv.Atoi(k[1:])
			arr[n] = finishTree(x)
		}
		return arr
	}
	out := map[string]any{}
	for k, x := range m {
		out[k] = finishTree(x)
	}
	return out
}

// flattenedErrors lists one entry per invalid entity.
func (d *declaration) flattenedErrors() []any {
	out := []any{}
	for _, e := range d.all() {
		if len(e.errs) == 0 {
			continue
		}
		entry := map[string]any{"entity_type": e.typ, "entity": e.input}
		errs := []any{}
		for _, fe := range e.errs {
			if fe.field == "" {
				errs = append(errs, map[string]any{"type": "entity", "message": fe.msg})
				continue
			}
			errs = append(errs, map[string]any{"type": "field", "field": fe.field, "message": fe.msg})
		}
		entry["errors"] = errs
		// kong/db/errors.lua validate_name, validate_id, validate_tags:
		// any non-empty string is a name (even one the schema refuses),
		// an id must be a UUID, tags an array of strings.
		if n, ok := e.input["name"].(string); ok && n != "" {
			entry["entity_name"] = n
		}
		if id, ok := e.input["id"].(string); ok && checkUUID(id) == "" {
			entry["entity_id"] = id
		}
		if tags, ok := e.input["tags"].([]any); ok && allStrings(tags) {
			entry["entity_tags"] = tags
		}
		out = append(out, entry)
	}
	for _, x := range d.extraFlat {
		out = append(out, x)
	}
	return out
}

func allStrings(l []any) bool {
	for _, x := range l {
		if _, ok := x.(string); !ok {
			return false
		}
	}
	return true
}

// errorBody renders the 400 response.
func (d *declaration) errorBody(flatten bool) map[string]any {
	body := map[string]any{
		"code":    14,
		"name":    "invalid declarative configuration",
		"message": "declarative config is invalid: " + luaRender(d.tree),
	}
	if flatten {
		top := map[string]any{}
		for k, v := range d.topErrors {
			top[k] = v
		}
		// declarative_config_flattened renders the message from what
		// flattening left in the error table: "{}" when every error went
		// to an entity.
		body["message"] = "declarative config is invalid: " + luaRender(top)
		body["fields"] = top
		if flat := d.flattenedErrors(); len(flat) > 0 {
			body["flattened_errors"] = flat
		} else {
			body["flattened_errors"] = map[string]any{} // cjson's empty table
		}
	} else {
		body["fields"] = d.tree
	}
	return body
}

var luaIdent = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// luaRender approximates the Penlight pretty-printer Kong uses in "message".
func luaRender(v any) string {
	switch x := v.(type) {
	case map[string]any:
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		parts := make([]string, 0, len(keys))
		for _, k := range keys {
			key := k
			if !luaIdent.MatchString(k) {
				key = "[" + strconv.Quote(k) + "]"
			}
			parts = append(parts, key+"="+luaRender(x[k]))
		}
		return "{" + strings.Join(parts, ",") + "}"
	case []any:
		// The array part (1..n without holes) has no keys, the rest has
		// [i]= (Kong 3.9.3: {routes={"..."}} but {routes={[2]="..."}}).
		parts := make([]string, 0, len(x))
		seq := true
		for i, e := range x {
			if e == nil {
				seq = false
				continue
			}
			if seq {
				parts = append(parts, luaRender(e))
			} else {
				parts = append(parts, fmt.Sprintf("[%d]=%s", i+1, luaRender(e)))
			}
		}
		return "{" + strings.Join(parts, ",") + "}"
	case string:
		return strconv.Quote(x)
	}
	return fmt.Sprint(v)
}
