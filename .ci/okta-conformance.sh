#!/usr/bin/env bash
# Okta conformance: Okta's official Python and Node SDKs run the scenarios of issue 3 against
# `grantdesk emulator` (each on a fresh emulator), and every implemented operation's answer is
# validated against Okta's OpenAPI files. Fails if any scenario or validation fails.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD

shared=""
for d in "${GRANTDESK_SHARED_DIR:-}" "$ROOT/../shared" "$ROOT/../../shared"; do
  if [ -n "$d" ] && [ -d "$d/reference/okta/openapi" ]; then shared=$d; break; fi
done
if [ -z "$shared" ]; then
  echo "okta conformance: shared/reference/okta not found beside the repository (set GRANTDESK_SHARED_DIR)" >&2
  exit 1
fi

cargo build --locked --quiet
BIN=$ROOT/target/debug/grantdesk

VENV=$ROOT/target/ci-venv
if [ ! -x "$VENV/bin/python" ]; then python3 -m venv "$VENV"; fi
# Versions the scenarios were written against; bump deliberately.
"$VENV/bin/pip" install --quiet --disable-pip-version-check okta==3.4.6 openapi-schema-validator==0.9.0 pyyaml==6.0.4

NODE_DIR=$ROOT/target/ci-node
mkdir -p "$NODE_DIR"
if [ ! -f "$NODE_DIR/package.json" ]; then (cd "$NODE_DIR" && npm init -y >/dev/null); fi
if [ ! -f "$NODE_DIR/node_modules/@okta/okta-sdk-nodejs/package.json" ] \
  || ! grep -q "\"version\": \"8.1.0\"" "$NODE_DIR/node_modules/@okta/okta-sdk-nodejs/package.json"; then
  (cd "$NODE_DIR" && npm install --silent --no-audit --no-fund @okta/okta-sdk-nodejs@8.1.0)
fi

WORK=$(mktemp -d)
EMU_PID=""
stop_emulator() {
  if [ -n "$EMU_PID" ]; then kill "$EMU_PID" 2>/dev/null || true; wait "$EMU_PID" 2>/dev/null || true; EMU_PID=""; fi
}
trap 'stop_emulator; rm -rf "$WORK"' EXIT

start_emulator() {
  : > "$WORK/env"
  "$BIN" emulator --listen 127.0.0.1:0 > "$WORK/env" 2> "$WORK/emulator.log" &
  EMU_PID=$!
  for _ in $(seq 1 200); do
    if grep -q '^GRANTDESK_OKTA_TOKEN=' "$WORK/env"; then break; fi
    if ! kill -0 "$EMU_PID" 2>/dev/null; then cat "$WORK/emulator.log" >&2; return 1; fi
    sleep 0.1
  done
  set -a; . "$WORK/env"; set +a
}

passed=0
failed=0
run() {
  local name=$1; shift
  echo "--- $name"
  start_emulator
  if "$@"; then passed=$((passed + 1)); else failed=$((failed + 1)); echo "okta conformance: $name FAILED" >&2; fi
  stop_emulator
}

run "python SDK (okta)" env OKTA_TESTING_TESTINGDISABLEHTTPSCHECK=true "$VENV/bin/python" .ci/conformance/okta/sdk_python.py
run "node SDK (@okta/okta-sdk-nodejs)" env NODE_PATH="$NODE_DIR/node_modules" node .ci/conformance/okta/sdk_node.js
run "OpenAPI validation" "$VENV/bin/python" .ci/conformance/okta/openapi_validate.py "$shared/reference/okta/openapi"

echo "okta conformance: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
