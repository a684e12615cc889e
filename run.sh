#!/usr/bin/env bash
# Set up (see setup.sh) and start T2 Workbench. Arguments go to t2-workbench (try --help).
# Without a display the workbench says so; this script then shows what the CLI offers.
set -euo pipefail
cd "$(dirname "$0")"
./setup.sh
bin=${T2_BUILD_DIR:-$PWD/build}/app
status=0
"$bin/t2-workbench" "$@" || status=$?
if [[ $status -eq 3 ]]; then  # no display: offer the command line instead
  echo
  echo "Here is 't2 info' (this machine's compute report) from the command line:"
  "$bin/t2" info
  echo
  echo "The bundled demo ('t2 demo info'); evaluate it with 't2 eval MODEL --task SPEC':"
  "$bin/t2" demo info
  exit 0
fi
exit $status
