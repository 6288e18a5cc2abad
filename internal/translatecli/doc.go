// Package translatecli implements `drawbridge translate`: offline
// translation of Gateway API manifests into the Kong configuration and the
// statuses Drawbridge would produce, for users' CI and for debugging.
package translatecli
