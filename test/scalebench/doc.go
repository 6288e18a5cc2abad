// Package scalebench measures Drawbridge at scale on real Kong and writes
// the report under bench/ (`make bench`):
//
//   - Kong's own cost to apply a configuration, against its size, on a
//     real Kong started on 127.0.0.1 (internal/testutil/realkong), for the
//     configuration Drawbridge generates and for the per-rule shape it
//     generated before upstreams were shared;
//   - `drawbridge translate` end to end (time and peak RSS of the binary);
//   - on the lab with real Kong: route propagation (create, edit, delete)
//     with 0 to 10,000 HTTPRoutes on the Gateway, changes under traffic,
//     and the operator's and Kong's CPU and memory at each scale, and a
//     fleet of Gateways.
//
// The objects come from internal/testutil/scalegen. Every load loop is
// bounded in count and time and sends traffic only to 127.0.0.1 or to lab
// addresses, through the lab's node network namespace.
package scalebench
