#!/usr/bin/env bash
# ServiceNow conformance: ServiceNow's own Python client PySNC (HTTPS only: the emulator's
# --tls certificate) and pysnow (plain HTTP) run their scenarios against `grantdesk emulator`,
# comparing every result with the emulator's own JSON. Fails loudly on any mismatch.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
VENV=$ROOT/target/ci-venv
WORK=$(mktemp -d)
PIDS=()

cleanup() {
    for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
    rm -rf "$WORK"
}
trap cleanup EXIT

if [ ! -x "$VENV/bin/python" ]; then
    python3 -m venv "$VENV"
fi
"$VENV/bin/pip" install --quiet --disable-pip-version-check pysnc pysnow
cargo build --locked --quiet --bin grantdesk

# Starts an emulator, waits for its KEY=value lines, and loads them under a prefix.
start_emulator() {
    local name=$1
    shift
    "$ROOT/target/debug/grantdesk" emulator --listen 127.0.0.1:0 "$@" >"$WORK/$name.env" 2>"$WORK/$name.log" &
    PIDS+=($!)
    local pid=$!
    for _ in $(seq 1 600); do
        if grep -q '^GRANTDESK_SERVICENOW_URL=' "$WORK/$name.env"; then
            return 0
        fi
        if ! kill -0 "$pid" 2>/dev/null; then
            echo "emulator ($name) exited:" >&2
            cat "$WORK/$name.log" >&2
            exit 1
        fi
        sleep 0.2
    done
    echo "emulator ($name) did not start within 120 s" >&2
    exit 1
}
value() { grep "^$2=" "$WORK/$1.env" | head -1 | cut -d= -f2-; }

start_emulator tls --tls --tls-dir "$WORK/tls"
start_emulator plain

export SN_HTTPS_URL SN_CA SN_HTTP_URL SN_USER SN_PASSWORD
SN_HTTPS_URL=$(value tls GRANTDESK_SERVICENOW_URL)
SN_CA=$(value tls GRANTDESK_CA_BUNDLE)
SN_HTTP_URL=$(value plain GRANTDESK_SERVICENOW_URL)
SN_USER=$(value plain GRANTDESK_SERVICENOW_USER)
SN_PASSWORD=$(value plain GRANTDESK_SERVICENOW_PASSWORD)

# requests lets REQUESTS_CA_BUNDLE/CURL_CA_BUNDLE override the `verify=` PySNC passes; the
# scenarios trust exactly the emulator's certificate.
unset REQUESTS_CA_BUNDLE CURL_CA_BUNDLE

status=0
"$VENV/bin/python" .ci/conformance/servicenow/pysnc_scenarios.py || status=1
"$VENV/bin/python" .ci/conformance/servicenow/pysnow_scenarios.py || status=1
exit $status
