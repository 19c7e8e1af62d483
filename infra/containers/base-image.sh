#!/usr/bin/env bash
# The project's Debian base image, ledger-bridge/debian-base:<suite>, made from Debian packages
# with mmdebstrap through Debian's apt archive (no image registry is reachable here), then
# `docker import`ed. Every service image builds FROM it here (--build-arg BASE_IMAGE=...); a user
# elsewhere builds the same Dockerfiles FROM the official debian:<suite>-slim.
#
#   bash infra/containers/base-image.sh [--rebuild] [SUITE]      SUITE: bookworm (default)
#
# Cached twice, outside the clone: the image in the engine (present: nothing to do), and the
# root filesystem tarball under ~/.cache/ledger-bridge/docker/rootfs/, so an engine with a fresh
# data root re-imports it in seconds instead of bootstrapping again. The tarball is named by a
# hash of its recipe (suite, mirrors, variant, packages, options): editing the recipe builds
# afresh. --rebuild bootstraps again even so (newer Debian point release or security updates).
# Starts the engine if none answers, and stops it at the end only if this script started it.
set -euo pipefail
LOG_TAG=base-image
# shellcheck source=../lib/common.sh
source "$(dirname "$0")/../lib/common.sh"
# shellcheck source=../lib/apt.sh
source "$INFRA_DIR/lib/apt.sh"
# shellcheck source=lib.sh
source "$INFRA_DIR/containers/lib.sh"

BASE_IMAGE_REPO=ledger-bridge/debian-base
# The host's archive (/etc/apt/sources.list.d/debian.sources names the same ones).
DEBIAN_MIRROR="${DEBIAN_MIRROR:-http://deb.debian.org/debian}"
DEBIAN_SECURITY_MIRROR="${DEBIAN_SECURITY_MIRROR:-http://deb.debian.org/debian-security}"
# What the official *-slim images are: the minbase variant (Essential + apt) without manuals,
# documentation and translations, and apt set up to keep no package cache in the image.
BASE_VARIANT=minbase
BASE_DPKG_OPTIONS=(
  "path-exclude=/usr/share/man/*"
  "path-exclude=/usr/share/doc/*"
  "path-include=/usr/share/doc/*/copyright"
  "path-exclude=/usr/share/info/*"
  "path-exclude=/usr/share/locale/*"
  "path-include=/usr/share/locale/locale.alias"
)
# Merged /usr set up by directory symlinks, as debootstrap and the official images do: without it
# mmdebstrap installs the usrmerge package, which pulls in the full perl (about 40 MB more).
BASE_MMDEBSTRAP_OPTIONS=(
  --hook-dir=/usr/share/mmdebstrap/hooks/merged-usr
)
# For the bootstrap itself (it is also kept in the image, as base/rootfs says it again).
BASE_APT_OPTIONS=(
  'Acquire::Languages "none"'
)
# The official images' apt and dpkg settings for building in layers (no package caches, no
# service starts), copied into the image after the packages are installed.
BASE_ROOTFS_OVERLAY="$CONTAINERS_DIR/base/rootfs"
# Bumped when the recipe changes in a way the hash below cannot see.
BASE_RECIPE_VERSION=4

usage() {
  echo "usage: bash infra/containers/base-image.sh [--rebuild] [SUITE]" >&2
  exit 2
}

# The archive lines for SUITE: the release, its updates and its security updates.
sources_for() {
  local suite="$1"
  printf 'deb %s %s main\n' "$DEBIAN_MIRROR" "$suite"
  printf 'deb %s %s-updates main\n' "$DEBIAN_MIRROR" "$suite"
  printf 'deb %s %s-security main\n' "$DEBIAN_SECURITY_MIRROR" "$suite"
}

# A short hash of everything that decides the tarball's content.
recipe_key() {
  local suite="$1"
  {
    echo "$BASE_RECIPE_VERSION $BASE_VARIANT"
    sources_for "$suite"
    printf '%s\n' "${BASE_MMDEBSTRAP_OPTIONS[@]}" "${BASE_DPKG_OPTIONS[@]}" \
      "${BASE_APT_OPTIONS[@]}"
    (cd "$BASE_ROOTFS_OVERLAY" && find . -type f -printf '%p %m\n' | sort &&
      find . -type f -print0 | sort -z | xargs -0 cat)
  } | sha256sum | cut -c1-12
}

# The recipe label of an image in the engine, or nothing when there is no such image.
image_recipe() {
  "$(docker_cli)" image inspect --format '{{index .Config.Labels "org.ledger-bridge.recipe"}}' \
    "$1" 2>/dev/null || true
}

bootstrap_tarball() {
  local suite="$1" tarball="$2" log args=("${BASE_MMDEBSTRAP_OPTIONS[@]}") option
  log="$IMAGE_TARBALL_DIR/mmdebstrap-$suite.log"
  for option in "${BASE_DPKG_OPTIONS[@]}"; do args+=(--dpkgopt="$option"); done
  for option in "${BASE_APT_OPTIONS[@]}"; do args+=(--aptopt="$option"); done
  # The overlay's docker-clean tells apt to keep no binary caches, so mmdebstrap's own clean-up
  # (next, with the image's apt settings) no longer removes those the install made: we do.
  # shellcheck disable=SC2016 # $1 is the chroot, expanded by mmdebstrap's shell.
  args+=(--customize-hook="sync-in $BASE_ROOTFS_OVERLAY /"
    --customize-hook='rm -f "$1"/var/cache/apt/*.bin')
  note "bootstrapping Debian $suite ($BASE_VARIANT) with mmdebstrap from $DEBIAN_MIRROR" \
    "(a minute or two the first time; log $log)"
  # The tarball is written beside its final name and renamed: an interrupted run leaves no
  # tarball that a later run would trust.
  if ! sources_for "$suite" | low_priority mmdebstrap --variant="$BASE_VARIANT" --format=tar \
    "${args[@]}" "$suite" "$tarball.tmp" - >"$log" 2>&1; then
    rm -f "$tarball.tmp"
    fail_with_log mmdebstrap "$log" "bootstrapping Debian $suite failed"
  fi
  # mmdebstrap removes /usr/sbin/policy-rc.d after the hooks (it put its own there for the
  # bootstrap), so the overlay's is appended to the tarball.
  tar --append --file "$tarball.tmp" --owner=0 --group=0 --numeric-owner \
    -C "$BASE_ROOTFS_OVERLAY" ./usr/sbin/policy-rc.d
  mv "$tarball.tmp" "$tarball"
  # Tarballs of earlier recipes of this suite are never imported again.
  find "$IMAGE_TARBALL_DIR" -maxdepth 1 -name "debian-base-$suite-*.tar" ! -path "$tarball" -delete
}

main() {
  local rebuild=0 suite=bookworm key image tarball started_ms
  while (($#)); do
    case "$1" in
      --rebuild) rebuild=1 ;;
      -*) usage ;;
      *) suite="$1" ;;
    esac
    shift
  done
  [[ "$suite" =~ ^[a-z]+$ ]] || usage
  started_ms="$(now_ms)"
  key="$(recipe_key "$suite")"
  image="$BASE_IMAGE_REPO:$suite"
  tarball="$IMAGE_TARBALL_DIR/debian-base-$suite-$key.tar"
  engine_up
  trap engine_down_if_started EXIT
  if ((rebuild == 0)) && [[ "$(image_recipe "$image")" == "$key" ]]; then
    note "$image: present in the engine (recipe $key); nothing to do"
    return 0
  fi
  mkdir -p "$IMAGE_TARBALL_DIR"
  if ((rebuild == 1)) || [[ ! -s "$tarball" ]]; then
    with_lock "$CACHE_DIR/setup.lock" apt_ensure "mmdebstrap" "mmdebstrap" \
      "mmdebstrap:/usr/bin/mmdebstrap" >&2
    bootstrap_tarball "$suite" "$tarball"
    note "bootstrapped $tarball ($(du -h "$tarball" | cut -f1)) in" \
      "$((($(now_ms) - started_ms) / 1000)) s"
  else
    note "re-importing the cached root filesystem $tarball"
  fi
  low_priority "$(docker_cli)" import \
    --change 'CMD ["bash"]' --change 'ENV LANG=C.UTF-8' \
    --change "LABEL org.ledger-bridge.recipe=$key org.ledger-bridge.suite=$suite" \
    --message "mmdebstrap --variant=$BASE_VARIANT $suite (infra/containers/base-image.sh)" \
    "$tarball" "$image" >/dev/null
  note "$image: imported in $(($(now_ms) - started_ms)) ms in all" \
    "($("$(docker_cli)" image inspect --format '{{.Size}}' "$image" | numfmt --to=iec))"
}

main "$@"
