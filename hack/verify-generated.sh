#!/usr/bin/env bash
# Regenerates CRDs, RBAC, deepcopy code and the Helm chart and fails if that changed anything,
# so stale generated files never pass CI. It compares file contents, not git
# state, so it works the same in a fresh clone and in a dirty work tree.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
generated=(config/crd/bases config/rbac/role.yaml api/v1alpha1/zz_generated.deepcopy.go charts/drawbridge)
before="$(find "${generated[@]}" -type f -print0 | sort -z | xargs -0 sha256sum)"
make --no-print-directory manifests generate >/dev/null
# The chart after the CRDs and RBAC: it is generated from them.
make --no-print-directory chart >/dev/null
after="$(find "${generated[@]}" -type f -print0 | sort -z | xargs -0 sha256sum)"
if [[ "${before}" != "${after}" ]]; then
  echo "verify: generated files were stale and have been regenerated:" >&2
  diff <(echo "${before}") <(echo "${after}") >&2 || true
  echo "verify: review and commit them (make manifests generate chart)." >&2
  exit 1
fi
echo "verify: generated files are up to date"
