// Package kongdiff is the differential suite that keeps the Go Kong stand-in
// (test/kongstandin) honest against real open-source Kong 3.9.3.
//
// The suite starts real Kong as a local process (found through KONG_DIR, the
// install made by hack/build-kong.sh) and the stand-in in-process, both on
// 127.0.0.1 ports only and from the same KONG_* environment. It then
//
//   - posts every golden Kong configuration of internal/translate/testdata
//     to both and compares the verdicts (accepted, or rejected naming the
//     same entities);
//   - rewrites each accepted configuration's upstream targets to local echo
//     servers, loads it into both, sends the same generated corpus of
//     requests (HTTP/1.1, h2c, h2 over TLS, gRPC, WebSocket, TLS with and
//     without SNI, TCP, UDP) and compares the normalised answers.
//
// Every remaining difference must be listed, with its reason, in
// known-differences.yaml: an unlisted difference fails the suite, and so
// does a listed one that no longer occurs. Without KONG_DIR the suite skips.
package kongdiff
