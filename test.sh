#!/usr/bin/env bash
# Set up (see setup.sh) and run the whole test suite. Arguments go to ctest, e.g.
#   ./test.sh -L unit        only the hermetic unit tests
#   ./test.sh -R ui -V       the widget tests, verbosely
# Screenshots and other test artefacts land in build/test-output/.
set -euo pipefail
cd "$(dirname "$0")"
./setup.sh
jobs=$(nproc 2>/dev/null || echo 2)
ctest --test-dir "${T2_BUILD_DIR:-$PWD/build}" --output-on-failure -j "$jobs" "$@"
