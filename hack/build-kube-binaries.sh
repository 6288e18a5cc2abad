#!/usr/bin/env bash
# Builds kube-apiserver, etcd and kube-controller-manager from source into
# bin/k8s/<version>/ (the directory envtest reads through KUBEBUILDER_ASSETS).
# Only the Go module proxy is needed. A binary that already exists is kept, so
# a second run takes seconds; a cold build takes about 5 minutes on 2 cores.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
kube_version="v1.36.3"
out="${root}/bin/k8s/${kube_version}"
module="${root}/hack/kubebin"
export GOTOOLCHAIN=go1.27.3 CGO_ENABLED=0

# etcd reports its own version; the Kubernetes binaries get the release we pin
# so that `kubectl version` and discovery answer like a real v1.36.3 cluster.
ldflags="-s -w \
 -X k8s.io/component-base/version.gitVersion=${kube_version} \
 -X k8s.io/component-base/version.gitMajor=1 \
 -X k8s.io/component-base/version.gitMinor=36 \
 -X k8s.io/component-base/version.gitTreeState=clean \
 -X k8s.io/client-go/pkg/version.gitVersion=${kube_version}"

declare -A packages=(
  [kube-apiserver]="k8s.io/kubernetes/cmd/kube-apiserver"
  [kube-controller-manager]="k8s.io/kubernetes/cmd/kube-controller-manager"
  [etcd]="./etcd"
)

mkdir -p "${out}"
for name in etcd kube-apiserver kube-controller-manager; do
  if [[ -x "${out}/${name}" ]]; then
    echo "kube-binaries: ${name} ${kube_version} is cached in ${out#"${root}"/}"
    continue
  fi
  echo "kube-binaries: building ${name} from source (cold builds take minutes; progress below)..."
  start=$(date +%s)
  # -v prints each package as it compiles, which is the progress a user sees.
  (cd "${module}" && go build -v -trimpath -ldflags "${ldflags}" -o "${out}/${name}.tmp" "${packages[$name]}" 2>&1 \
    | awk '{ n++; if (n % 100 == 0) { printf "kube-binaries:   %s: %d packages compiled\n", "'"${name}"'", n; fflush() } }')
  mv "${out}/${name}.tmp" "${out}/${name}"
  echo "kube-binaries: ${name} built in $(( $(date +%s) - start ))s"
done
echo "kube-binaries: KUBEBUILDER_ASSETS=${out}"
