// Package translate turns everything attached to one Gateway into the Kong
// 3.9 declarative configuration its data plane runs (DB-less, expressions
// router) and into the status every attached route should carry.
//
// Translate is a pure function of a Snapshot: it reads no cluster, keeps no
// state, and the same snapshot always yields byte-identical JSON. Every Kong
// entity is named after and tagged with the Kubernetes object it came from so
// errors reported by Kong can be mapped back to that object.
//
// Gateway API semantics are encoded as follows:
//   - a route matches only traffic that arrived on the listeners it attached
//     to: each Kong route pins net.dst.port (Kong reports the Gateway port,
//     because the data plane sets KONG_PORT_MAPS and Kong's router fields read
//     the mapped port) and excludes hostnames owned by more specific listeners
//     on the same port;
//   - the precedence rules across routes (the route's own hostname, path
//     type and length, method, header and query counts, then age and name)
//     are encoded in the Kong route priority, see precedence.go;
//   - anything Kong cannot express yields an explicit condition on the route
//     rather than silently different behaviour.
package translate
