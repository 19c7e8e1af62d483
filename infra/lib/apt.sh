# shellcheck shell=bash
# Installs Debian packages with apt-get, idempotently, as infra/setup.sh installs the stack's:
# infra/containers/*.sh use it for the container engine and mmdebstrap (setup.sh keeps its own
# copy of these steps for now; it can call apt_ensure the same way).
# Sourced after infra/lib/common.sh, never executed: the caller has already set `set -euo pipefail`.
#
# Each package is named as "package:file", the file being one the package installs: the quick
# "is it there" check, so a machine that has everything asks apt nothing and takes milliseconds.
# Machine-wide: callers hold "$CACHE_DIR/setup.lock" (with_lock), so two clones never run
# apt-get at the same time.

# Prints the package of each "package:file" entry whose file is missing.
apt_missing_packages() {
  local entry
  for entry in "$@"; do
    [[ -e "${entry#*:}" ]] || echo "${entry%%:*}"
  done
}

# apt_ensure LABEL DETAIL ENTRY...: installs the packages of the entries whose file is missing.
# LABEL and DETAIL name them in the messages ("debian packages: present (DETAIL)").
apt_ensure() {
  local label="$1" detail="$2" missing log="$CACHE_DIR/apt-install.log"
  shift 2
  mapfile -t missing < <(apt_missing_packages "$@")
  if ((${#missing[@]} == 0)); then
    say "$label: present ($detail)"
    return 0
  fi
  [[ $EUID -eq 0 ]] || die "$label missing (${missing[*]}): run this script as root"
  say "$label: installing ${missing[*]}"
  mkdir -p "$CACHE_DIR"
  # The package index is refreshed only when something is missing: it costs seconds and network.
  DEBIAN_FRONTEND=noninteractive apt-get update -qq || die "apt-get update failed (see above)"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
    -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold "${missing[@]}" \
    >"$log" 2>&1 || fail_with_log apt "$log" "apt-get install ${missing[*]} failed"
  mapfile -t missing < <(apt_missing_packages "$@")
  ((${#missing[@]} == 0)) || die "apt-get reported success but ${missing[*]} is still missing"
  say "$label: installed"
}
