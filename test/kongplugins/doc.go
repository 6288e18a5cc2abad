// Package kongplugins tests Drawbridge's own Kong plugins
// (internal/kong/luaplugins) on real Kong 3.9.3 with traffic: each test
// starts the lab's Kong on 127.0.0.1 (internal/testutil/realkong), posts a
// configuration that the translator produced from Gateway API objects, and
// sends requests to local backends. `make test` runs it with KONG_DIR set;
// without KONG_DIR every test skips.
package kongplugins
