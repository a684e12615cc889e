#!/usr/bin/env bash
# Set up (see setup.sh) and run the whole test suite. Arguments go to ctest, e.g.
#   ./test.sh -L unit        only the hermetic unit tests
#   ./test.sh -R ui -V       the widget tests, verbosely
# Screenshots and other test artefacts land in build/test-output/.
set -euo pipefail
cd "$(dirname "$0")"
./setup.sh
build=${T2_BUILD_DIR:-$PWD/build}
# Reference data for tokenizer/template tests comes from the npm registry (needs node + npm).
if ! command -v npm >/dev/null 2>&1; then
  echo "test: installing nodejs and npm (for reference tokenizer/template data)"
  if [[ $(id -u) -eq 0 ]]; then sudo=(); else sudo=(sudo); fi
  DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get -o DPkg::Lock::Timeout=900 install -y -q \
    --no-install-recommends nodejs npm || echo "test: could not install npm; those tests will skip"
fi
tests/fixtures/fetch_npm_refs.sh "$build/test-data/npm"
jobs=$(nproc 2>/dev/null || echo 2)
ctest --test-dir "$build" --output-on-failure -j "$jobs" "$@"
