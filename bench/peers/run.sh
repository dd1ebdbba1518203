#!/usr/bin/env bash
# grantdesk side by side with the vendors' SDKs (issue 7, item 3). One command:
#
#   bench/peers/run.sh            # 3 repetitions; REPS=5 bench/peers/run.sh for more
#   ONLY=servicenow bench/peers/run.sh   # one side only (okta or servicenow)
#
# Creates target/peers-venv with Okta's Python SDK and ServiceNow's pysnc from PyPI at pinned
# versions (their code is installed, never copied), builds grantdesk in release, starts one
# `grantdesk emulator --scale large --tls` (pysnc needs HTTPS) with an Okta rate limit far above
# what any contender uses, so the services' limits are not what is measured, and runs
# bench/peers/compare.py: interleaved repetitions of each listing, medians, ratios, and the
# emulator's own per-page serving time. The table is printed and written with every run's figures
# to target/peers/results.json.
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
REPS=${REPS:-3}
OUT=$ROOT/target/peers
mkdir -p "$OUT"

VENV=$ROOT/target/peers-venv
if [ ! -x "$VENV/bin/python" ]; then python3 -m venv "$VENV"; fi
"$VENV/bin/pip" install --quiet --disable-pip-version-check okta==3.4.6 pysnc==1.2.1

cargo build --release --locked --quiet
BIN=$ROOT/target/release/grantdesk

EMU_PID=""
cleanup() { if [ -n "$EMU_PID" ]; then kill "$EMU_PID" 2>/dev/null || true; wait "$EMU_PID" 2>/dev/null || true; fi; }
trap cleanup EXIT
: > "$OUT/env"
"$BIN" emulator --scale large --tls --tls-dir "$OUT/tls" --okta-rate-limit 10000000 > "$OUT/env" 2> "$OUT/emulator.log" &
EMU_PID=$!
for _ in $(seq 1 600); do
  if grep -q '^GRANTDESK_CA_BUNDLE=' "$OUT/env"; then break; fi
  if ! kill -0 "$EMU_PID" 2>/dev/null; then cat "$OUT/emulator.log" >&2; exit 1; fi
  sleep 0.1
done
set -a; . "$OUT/env"; set +a

echo "machine: $(nproc) cores, $(uname -sr); load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
"$VENV/bin/python" bench/peers/compare.py "$BIN" "$VENV/bin/python" "$REPS" "$OUT/results.json"
echo "load average at end: $(cut -d' ' -f1-3 /proc/loadavg)"
