#!/usr/bin/env bash
# Builds the programs the lab runs into bin/ (or $1): the lab command, the
# launcher of the Kong build, the Kong and CoreDNS stand-ins and the Gateway API echo server from the conformance module
# (gateway-api-conformance-images v0.1.0, nested module hack/echobasic). go build is incremental, so a warm
# run takes seconds; a cold one prints how many packages it has compiled.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
bin="${1:-${root}/bin}"
export GOTOOLCHAIN=go1.27.3
mkdir -p "${bin}"

build() { # name dir package [ldflags]
  local name="$1" dir="$2" pkg="$3" ldflags="${4:-}" start
  start=$(date +%s)
  # -v names each package compiled (cached ones are silent): the progress.
  (cd "${dir}" && go build -v -trimpath -ldflags "${ldflags}" -o "${bin}/${name}.tmp" "${pkg}" 2>&1 \
    | awk -v name="${name}" '/^#|: |error/ { print; next } { n++; if (n % 50 == 0) { printf "lab-binaries:   %s: %d packages compiled\n", name, n; fflush() } }')
  mv "${bin}/${name}.tmp" "${bin}/${name}"
  echo "lab-binaries: ${name} ready ($(( $(date +%s) - start ))s)"
}

build lab "${root}" ./hack/lab
# The launcher of the Kong build (hack/build-kong.sh) knows where it is.
build kong-launcher "${root}" ./hack/konglauncher "-X main.installDir=${bin}/kong/${KONG_VERSION:-3.9.3}"
build kong-standin "${root}" ./test/kongstandin/cmd/kong-standin
build dns-standin "${root}" ./test/dnsstandin/cmd/dns-standin
build echo-basic "${root}/hack/echobasic" sigs.k8s.io/gateway-api-conformance-images/echo-basic
