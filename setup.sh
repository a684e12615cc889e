#!/usr/bin/env bash
# T2 Workbench set-up: installs the Debian packages that are missing (apt is skipped when all
# are present), then configures and builds Release with ccache into ./build.
# Used by run.sh and test.sh; safe to re-run (a no-op rebuild takes about a second).
#
# Environment:
#   T2_BUILD_DIR    build directory (default: ./build)
#   T2_CMAKE_ARGS   extra arguments for the CMake configure step
#   T2_SKIP_APT=1   never call apt (fails with a list of what is missing instead)
set -euo pipefail
cd "$(dirname "$0")"
root=$PWD

packages=(
  build-essential cmake ninja-build pkg-config ccache
  qt6-base-dev qt6-base-dev-tools qt6-svg-dev libgl-dev
  libqcustomplot-dev libqcustomplot2.1-qt6
  libtorch-dev libopenblas0-pthread
  libsqlite3-dev libgtest-dev libgmock-dev nlohmann-json3-dev libpcre2-dev libutf8proc-dev libcli11-dev zlib1g-dev
  python3 python3-jinja2 clang-format
  xvfb xauth fonts-dejavu-core fonts-wqy-microhei fonts-noto-color-emoji
)

missing=()
for p in "${packages[@]}"; do
  status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
  [[ "$status" == "install ok installed" ]] || missing+=("$p")
done

if ((${#missing[@]})); then
  echo "setup: installing ${#missing[@]} missing Debian package(s): ${missing[*]}"
  if [[ "${T2_SKIP_APT:-0}" == 1 ]]; then
    echo "setup: T2_SKIP_APT=1 is set; install them yourself: apt-get install ${missing[*]}" >&2
    exit 1
  fi
  if [[ $(id -u) -eq 0 ]]; then
    sudo=()
  elif command -v sudo >/dev/null 2>&1; then
    sudo=(sudo)
  else
    echo "setup: need root or sudo to install: ${missing[*]}" >&2
    exit 1
  fi
  export DEBIAN_FRONTEND=noninteractive
  apt_opts=(-o DPkg::Lock::Timeout=900)
  "${sudo[@]}" apt-get "${apt_opts[@]}" update -q
  "${sudo[@]}" apt-get "${apt_opts[@]}" install -y -q --no-install-recommends "${missing[@]}"
fi

build_dir=${T2_BUILD_DIR:-$root/build}
export CCACHE_BASEDIR=$root
export CCACHE_SLOPPINESS=pch_defines,time_macros,include_file_mtime,include_file_ctime
export CCACHE_COMPRESS=1

if [[ ! -f "$build_dir/build.ninja" ]]; then
  # shellcheck disable=SC2086
  cmake -S "$root" -B "$build_dir" -G Ninja \
    -DCMAKE_BUILD_TYPE=Release \
    -DCMAKE_CXX_COMPILER_LAUNCHER=ccache \
    ${T2_CMAKE_ARGS:-}
fi
cmake --build "$build_dir"
