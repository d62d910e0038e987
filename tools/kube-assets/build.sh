#!/usr/bin/env bash
# Builds kube-apiserver and etcd for the Kubernetes test suites, once, into .cache/kube-assets/<versions>/,
# from the Go module proxy (Go is on the machines only for this). Prints the directory on its last line.
# With KUBEBUILDER_ASSETS pointing at a directory holding both binaries (the envtest layout), uses that.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"

if [ -n "${KUBEBUILDER_ASSETS:-}" ] && [ -x "$KUBEBUILDER_ASSETS/kube-apiserver" ] && [ -x "$KUBEBUILDER_ASSETS/etcd" ]; then
  echo "$KUBEBUILDER_ASSETS"
  exit 0
fi

k8s=$(grep -oE 'k8s.io/kubernetes v[0-9.]+' "$here/apiserver/go.mod" | head -1 | cut -d' ' -f2)
etcd=$(grep -oE 'go.etcd.io/etcd/server/v3 v[0-9.]+' "$here/etcd/go.mod" | head -1 | cut -d' ' -f2)
out="$root/.cache/kube-assets/$k8s-$etcd"
if [ -x "$out/kube-apiserver" ] && [ -x "$out/etcd" ]; then
  echo "$out"
  exit 0
fi
command -v go >/dev/null || { echo "go is needed to build kube-apiserver and etcd (or set KUBEBUILDER_ASSETS)" >&2; exit 1; }
mkdir -p "$out"
export CGO_ENABLED=0 GOTOOLCHAIN=local GOFLAGS=-mod=mod
start=$(date +%s)
for component in etcd apiserver; do
  bin=$([ "$component" = apiserver ] && echo kube-apiserver || echo etcd)
  if [ ! -x "$out/$bin" ]; then
    echo "building $bin ($([ "$component" = apiserver ] && echo "$k8s" || echo "$etcd")); the first build takes a few minutes" >&2
    (cd "$here/$component" && go build -trimpath -ldflags="-s -w" -o "$out/$bin.tmp" . && mv "$out/$bin.tmp" "$out/$bin")
  fi
done
echo "built in $(( $(date +%s) - start )) s" >&2
echo "$out"
