// Package kong describes the Kong 3.9 declarative configuration Drawbridge
// produces (DB-less, expressions router, _format_version "3.0") and validates
// it against the subset of Kong's schema rules that the translator relies on,
// so a config that would be rejected by POST /config is caught before it is
// pushed, with a path that names the offending entity.
package kong
