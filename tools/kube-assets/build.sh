#!/usr/bin/env bash
# Builds kube-apiserver and etcd for the Kubernetes test suites, once, from the Go module proxy, into
#   <repo>/.cache/kube-assets/<k8s version>-<etcd version>/{kube-apiserver,etcd}
# Progress goes to stderr; the directory holding both binaries is the last line on stdout.
# With KUBEBUILDER_ASSETS pointing at a directory holding both binaries (the envtest layout), prints that instead.
# Environment: KUBE_ASSETS_BUILD_P (go build -p, default 2), GOMODCACHE/GOCACHE/GOPROXY as usual for go.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"

if [ -n "${KUBEBUILDER_ASSETS:-}" ]; then
  if [ -x "$KUBEBUILDER_ASSETS/kube-apiserver" ] && [ -x "$KUBEBUILDER_ASSETS/etcd" ]; then
    echo "$KUBEBUILDER_ASSETS"
    exit 0
  fi
  echo "KUBEBUILDER_ASSETS=$KUBEBUILDER_ASSETS lacks kube-apiserver or etcd; building them instead" >&2
fi

# The version a go.mod requires a module at ("require m v" or a line "m v" inside "require (...)").
required() { awk -v m="$1" '$1 == "require" { $1 = ""; $0 = $0 } $1 == m && $2 ~ /^v/ { print $2; exit }' "$2"; }
k8s=$(required k8s.io/kubernetes "$here/apiserver/go.mod")
etcd=$(required go.etcd.io/etcd/server/v3 "$here/etcd/go.mod")
[ -n "$k8s" ] && [ -n "$etcd" ] || { echo "cannot read the pinned versions from $here/*/go.mod" >&2; exit 1; }
out="$root/.cache/kube-assets/$k8s-$etcd"

have() { [ -x "$out/kube-apiserver" ] && [ -x "$out/etcd" ]; }
if have; then
  echo "$out"
  exit 0
fi

command -v go >/dev/null || { echo "go is needed to build kube-apiserver and etcd (or set KUBEBUILDER_ASSETS)" >&2; exit 1; }
mkdir -p "$out"
# shellcheck source=../lib/build-lock.sh
. "$here/../lib/build-lock.sh"
take_build_lock "$out" "$out" have

export CGO_ENABLED=0 GOTOOLCHAIN=local GOFLAGS="-mod=readonly -buildvcs=false"
jobs="${KUBE_ASSETS_BUILD_P:-2}"
start=$(date +%s)
for component in etcd apiserver; do
  if [ "$component" = apiserver ]; then bin=kube-apiserver version=$k8s; else bin=etcd version=$etcd; fi
  [ -x "$out/$bin" ] && continue
  echo "building $bin $version with $(go env GOVERSION) (-p $jobs); the first build takes several minutes" >&2
  t0=$(date +%s)
  tmp="$out/.$bin.$$"
  (cd "$here/$component" && go build -p "$jobs" -trimpath -ldflags="-s -w" -o "$tmp" .)
  mv -f "$tmp" "$out/$bin"
  echo "built $bin in $(($(date +%s) - t0)) s" >&2
done
echo "kube-assets ready in $(($(date +%s) - start)) s: $out" >&2
echo "$out"
