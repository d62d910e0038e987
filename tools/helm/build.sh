#!/usr/bin/env bash
# Builds the helm binary the chart test renders with, once, from the Go module proxy, into
#   <repo>/.cache/helm/<version>/helm
# Progress goes to stderr; the path of the binary is the last line on stdout.
# With HELM_BIN pointing at an executable helm, prints that instead (use it to test another version).
# Environment: HELM_VERSION (default below), HELM_BUILD_P (go build -p, default 2), GOMODCACHE/GOCACHE/GOPROXY.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"

if [ -n "${HELM_BIN:-}" ]; then
  if [ -x "$HELM_BIN" ]; then
    echo "$HELM_BIN"
    exit 0
  fi
  echo "HELM_BIN=$HELM_BIN is not executable; building helm instead" >&2
fi

# The one place the version is pinned (tools/helm/README.md says why this one).
version="${HELM_VERSION:-v3.19.0}"
out="$root/.cache/helm/$version"
bin="$out/helm"

if [ -x "$bin" ]; then
  echo "$bin"
  exit 0
fi
command -v go >/dev/null || { echo "go is needed to build helm (or set HELM_BIN)" >&2; exit 1; }
mkdir -p "$out"
have() { [ -x "$bin" ]; }
# shellcheck source=../lib/build-lock.sh
. "$here/../lib/build-lock.sh"
take_build_lock "$out" "$bin" have

export CGO_ENABLED=0 GOTOOLCHAIN=local GOFLAGS="-buildvcs=false"
start=$(date +%s)
echo "building helm $version with $(go env GOVERSION) (-p ${HELM_BUILD_P:-2}); the first build takes a few minutes" >&2
# go install writes into GOBIN; a private temporary GOBIN and a rename mean an interrupted build never leaves a
# half-written binary that later runs would trust.
tmp="$out/.build.$$"
mkdir -p "$tmp"
trap 'rm -rf "$tmp"' EXIT
# The same version stamps as helm's Makefile: its own version, and the Kubernetes version `helm template` and
# `helm lint` assume without --kube-version (that of the client-go its go.mod requires: v0.34.0 is 1.34).
gomod=$(go mod download -json "helm.sh/helm/v3@$version" | sed -n 's/^[[:space:]]*"GoMod": "\(.*\)",*$/\1/p')
minor=$(awk '$1 == "k8s.io/client-go" { split($2, v, "."); print v[2]; exit }' "$gomod")
[ -n "$minor" ] || { echo "cannot read the client-go version from $gomod" >&2; exit 1; }
ldflags="-s -w -X helm.sh/helm/v3/internal/version.version=$version"
for pkg in lint/rules chartutil; do
  ldflags="$ldflags -X helm.sh/helm/v3/pkg/$pkg.k8sVersionMajor=1 -X helm.sh/helm/v3/pkg/$pkg.k8sVersionMinor=$minor"
done
GOBIN="$tmp" go install -p "${HELM_BUILD_P:-2}" -trimpath -ldflags="$ldflags" "helm.sh/helm/v3/cmd/helm@$version"
mv -f "$tmp/helm" "$bin"
echo "built helm $version in $(($(date +%s) - start)) s: $bin" >&2
echo "$bin"
