package convert

import (
	"fmt"
	"sort"
)

// Item is one thing that was not converted, or converted with a
// difference the user must know about.
type Item struct {
	// Object is "Kind namespace/name" (or "Kind name" for cluster-scoped).
	Object string
	// Field is the annotation, field or path concerned.
	Field string
	// Why says what Drawbridge cannot do, or does differently.
	Why string
	// Do says what the user should do instead.
	Do string
}

func (i Item) String() string {
	return fmt.Sprintf("%s: %s: %s; instead: %s", i.Object, i.Field, i.Why, i.Do)
}

// report collects items without duplicates.
type report struct {
	items []Item
	seen  map[Item]bool
}

func (r *report) add(object, field, why, do string) {
	it := Item{Object: object, Field: field, Why: why, Do: do}
	if r.seen == nil {
		r.seen = map[Item]bool{}
	}
	if r.seen[it] {
		return
	}
	r.seen[it] = true
	r.items = append(r.items, it)
}

// sorted returns the items ordered by object, then field, then text, so the
// report does not depend on map order anywhere in conversion.
func (r *report) sorted() []Item {
	out := append([]Item(nil), r.items...)
	sort.SliceStable(out, func(a, b int) bool {
		if out[a].Object != out[b].Object {
			return out[a].Object < out[b].Object
		}
		if out[a].Field != out[b].Field {
			return out[a].Field < out[b].Field
		}
		return out[a].String() < out[b].String()
	})
	return out
}

func objName(kind, ns, name string) string {
	if ns == "" {
		return kind + " " + name
	}
	return kind + " " + ns + "/" + name
}
