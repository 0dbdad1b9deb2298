#!/usr/bin/env bash
# Builds the real servers Kitemark's own tests run against (kube-apiserver, etcd, opa) from the Go
# module proxy, at the versions pinned in tools/testservers/, into a cache folder outside the checkout:
#   ${KITEMARK_SERVERS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/kitemark/test-servers}/<key>/bin/
# The key names the pinned versions and hashes the pins (go.mod, go.sum) and the build recipe, so a
# change of either builds afresh and a finished build is reused. The bin folder is the last line on
# stdout (messages go to stderr). `--print-dir` prints that folder without building (no Go needed):
# the tests find the binaries that way (kitemark.testservers), unless KITEMARK_TEST_SERVERS names a
# bin folder of servers built elsewhere (then nothing is built).
# Without Go it says so on one line and exits 0: the tests that need the servers then skip, which
# the repository's conftest.py turns into failures under CI=true.
set -euo pipefail

# All in a function: bash reads a script as it runs, and an edit during a long build (a git pull)
# would otherwise run whatever then sits at the offset it reached.
main() {
  root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
  src="$root/tools/testservers"
  cache_root=${KITEMARK_SERVERS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/kitemark/test-servers}

  # The version a go.mod requires of a module (its `require` line; the `tool` line has no version).
  pinned() {
    awk -v m="$2" '$1 == m && $2 ~ /^v/ { print $2; exit }' "$1"
  }
  kube_version=$(pinned "$src/go.mod" k8s.io/kubernetes)
  etcd_version=$(pinned "$src/go.mod" go.etcd.io/etcd/server/v3)
  opa_version=$(pinned "$src/opa/go.mod" github.com/open-policy-agent/opa)
  if [[ -z $kube_version || -z $etcd_version || -z $opa_version ]]; then
    echo "test-servers: could not read the pinned versions from $src/go.mod and $src/opa/go.mod" >&2
    exit 1
  fi

  # kube-apiserver reports its release (/version) from these, as Kubernetes' own build sets them.
  kube_minor=${kube_version#v1.}
  kube_minor=${kube_minor%%.*}
  kube_ldflags="-s -w"
  for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
    kube_ldflags+=" -X $pkg.gitVersion=$kube_version -X $pkg.gitMajor=1 -X $pkg.gitMinor=$kube_minor"
    kube_ldflags+=" -X $pkg.gitTreeState=clean"
  done
  recipe="CGO_ENABLED=0 go build -trimpath; kube-apiserver -ldflags=$kube_ldflags; etcd, opa -ldflags=-s -w"

  hash=$(cat "$src/go.mod" "$src/go.sum" "$src/opa/go.mod" "$src/opa/go.sum" <(echo "$recipe") \
    | sha256sum | cut -c1-12)
  key="kube-apiserver-${kube_version}_etcd-${etcd_version#v}_opa-${opa_version#v}_$hash"
  dest="$cache_root/$key"
  bins=(kube-apiserver etcd opa)

  if [[ ${1:-} == --print-dir ]]; then
    echo "$dest/bin"
    exit 0
  elif [[ $# -gt 0 ]]; then
    echo "usage: $0 [--print-dir]" >&2
    exit 2
  fi

  if [[ -n ${KITEMARK_TEST_SERVERS:-} ]]; then
    echo "test-servers: the tests use $KITEMARK_TEST_SERVERS (KITEMARK_TEST_SERVERS); nothing built" >&2
    echo "$KITEMARK_TEST_SERVERS"
    exit 0
  fi

  finished() {
    local b
    for b in "${bins[@]}"; do [[ -x $1/bin/$b ]] || return 1; done
  }

  if finished "$dest"; then
    echo "test-servers: reusing $dest/bin" >&2
    echo "$dest/bin"
    exit 0
  fi

  if ! command -v go >/dev/null 2>&1; then
    echo "test-servers: Go is not installed, so kube-apiserver, etcd and opa are not built; the tests" \
      "that need them skip (and fail under CI=true)" >&2
    exit 0
  fi

  # Built in a scratch folder beside the destination and renamed into place when all three are
  # built: an interrupted build leaves only a scratch folder, never a key folder that looks finished.
  mkdir -p "$cache_root"
  scratch=$(mktemp -d "$cache_root/.building-$key.XXXXXX")
  trap 'rm -rf "$scratch"' EXIT

  echo "test-servers: building kube-apiserver $kube_version, etcd $etcd_version and opa $opa_version" \
    "into $dest (the first build takes minutes)" >&2
  start=$SECONDS
  export CGO_ENABLED=0
  (
    cd "$src"
    go build -trimpath -ldflags="$kube_ldflags" -o "$scratch/bin/kube-apiserver" k8s.io/kubernetes/cmd/kube-apiserver
    go build -trimpath -ldflags="-s -w" -o "$scratch/bin/etcd" go.etcd.io/etcd/server/v3
    cd opa
    go build -trimpath -ldflags="-s -w" -o "$scratch/bin/opa" github.com/open-policy-agent/opa
  ) >&2
  printf 'kube-apiserver %s\netcd %s\nopa %s\n%s\n%s\n' "$kube_version" "$etcd_version" "$opa_version" \
    "$recipe" "$(go version)" >"$scratch/versions.txt"
  chmod 755 "$scratch"

  if ! mv -T "$scratch" "$dest" 2>/dev/null; then
    # Another run finished the same key first: its build is as good as ours.
    finished "$dest" || { echo "test-servers: could not move the build into $dest" >&2; exit 1; }
  fi
  echo "test-servers: built kube-apiserver, etcd, opa in $((SECONDS - start)) s" >&2
  echo "$dest/bin"
}

main "$@"
