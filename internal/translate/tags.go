package translate

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"
)

// objectTags tags a Kong entity with the Kubernetes object it came from,
// in the k8s-* convention Kong's flattened errors are mapped back with
// (internal/dataplane reads the kind, namespace, name and uid). Nothing
// else goes in: Kong checks every tag of every entity character by
// character on each POST /config, then stores, hashes and returns it, and
// at 5,000 routes the tags were about a sixth of Kong's apply. The group
// and version are left out because each kind Drawbridge reads belongs to
// one group.
func objectTags(kind, namespace, name, uid string) []string {
	tags := []string{"k8s-kind:" + kind, "k8s-namespace:" + namespace, "k8s-name:" + name}
	if uid != "" {
		tags = append(tags, "k8s-uid:"+uid)
	}
	return tags
}

// routeTags tags an entity generated from a route. Its rule, match and
// listener are not tags: the entity's name carries their indexes
// (entityName).
func routeTags(meta *routeMeta, extra ...string) []string {
	tags := objectTags(meta.key.Kind, meta.key.Namespace, meta.key.Name, meta.uid)
	return append(tags, extra...)
}

// safeTag keeps a tag within Kong's rules (printable, no ',' or '/').
func safeTag(s string) string {
	return strings.Map(func(r rune) rune {
		if r == ',' || r == '/' || r <= ' ' || r == 0x7f {
			return '_'
		}
		return r
	}, s)
}

// maxNameLen bounds generated names. Kong has no limit, but upstream names
// must be valid hostnames (at most 253 characters), so long object names
// are shortened with a hash that keeps them unique and stable.
const maxNameLen = 200

// entityName joins a route kind, namespace, name and numeric indexes into a
// Kong entity name such as "httproute.default.web.0". Namespaces never
// contain dots and every suffix is numeric, so the name cannot collide with
// another object's.
func entityName(kind, namespace, name string, indexes ...int) string {
	var b strings.Builder
	b.WriteString(strings.ToLower(kind))
	b.WriteByte('.')
	b.WriteString(namespace)
	b.WriteByte('.')
	b.WriteString(name)
	for _, i := range indexes {
		fmt.Fprintf(&b, ".%d", i)
	}
	return boundName(b.String())
}

// backendUpstreamName names the Kong upstream of one backendRef of a rule
// whose backendRefs have different filters, such as
// "httproute.default.web.0.backend-1". The last label is never numeric, so
// it cannot be the name of a rule's upstream (entityName), and reading the
// name from the right gives back the rule and backendRef indexes.
func backendUpstreamName(kind, namespace, name string, rule, ref int) string {
	return boundName(entityName(kind, namespace, name) + fmt.Sprintf(".%d.backend-%d", rule, ref))
}

// boundName shortens a name longer than maxNameLen with a hash of it.
func boundName(s string) string {
	if len(s) <= maxNameLen {
		return s
	}
	sum := sha256.Sum256([]byte(s))
	return strings.TrimRight(s[:maxNameLen-17], ".-") + "-" + hex.EncodeToString(sum[:8])
}
