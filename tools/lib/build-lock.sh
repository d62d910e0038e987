# Sourced by the build scripts under tools/. Several test processes may call one at once: one builds, the
# others wait for it and reuse its result.
#   take_build_lock <dir> <result> <check...>
# holds <dir>/.lock (flock) for the rest of the script; when another build held it and <check...> passes once
# it is released, prints <result> and exits 0. Without flock it returns at once (the caller builds).
take_build_lock() {
  local dir="$1" result="$2"
  shift 2
  command -v flock >/dev/null || return 0
  exec 9>"$dir/.lock"
  if ! flock -n 9; then
    echo "another build of $dir is running; waiting for it" >&2
    flock 9
  fi
  if "$@"; then
    echo "$result"
    exit 0
  fi
}
