#!/usr/bin/env bash
# Runs a command while its whole process tree is stopped now and then, as a busy or paused machine
# would stop it: every EVERY seconds, every process under the command is stopped for STALL seconds
# (SIGSTOP, then SIGCONT). The tests of whole runs wait on a scaled clock, so a stall becomes simulated
# time; this says how long a stall the suite survives. Linux only (pgrep -P).
#
#   scripts/with-stalls.sh 3 0.25 npx jest        # a quarter-second stall every 3 s
set -euo pipefail
if [ $# -lt 3 ]; then
  echo "usage: scripts/with-stalls.sh EVERY_SECONDS STALL_SECONDS COMMAND [ARG...]" >&2
  exit 2
fi
every=$1 stall=$2
shift 2
"$@" &
root=$!
descendants() {
  local child
  for child in $(pgrep -P "$1" || true); do
    echo "$child"
    descendants "$child"
  done
}
(
  pids=""
  # Stopped for good, the command would never end: whatever ends this loop lets them go on.
  # shellcheck disable=SC2086
  trap 'kill -CONT $pids 2>/dev/null || true; exit 0' TERM
  while kill -0 "$root" 2>/dev/null; do
    sleep "$every"
    pids="$root $(descendants "$root")"
    # shellcheck disable=SC2086
    kill -STOP $pids 2>/dev/null || true
    sleep "$stall"
    # shellcheck disable=SC2086
    kill -CONT $pids 2>/dev/null || true
  done
) &
staller=$!
status=0
wait "$root" || status=$?
kill "$staller" 2>/dev/null || true
wait "$staller" 2>/dev/null || true
exit "$status"
