#!/usr/bin/env bash
# The demo: backend on an embedded SQLite file, demo permits, one device, the edge on the demo clip.
# Prints each verdict as it comes back, then shuts everything down.
set -euo pipefail
cd "$(dirname "$0")/.."

work=var/demo
rm -rf "$work" && mkdir -p "$work"
export PLATEPATROL_DATABASE_URL="sqlite:///$work/platepatrol.db"
port=${PLATEPATROL_DEMO_PORT:-$(python -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')}

echo "== seeding demo permits"
platepatrol backend seed-demo
token=$(platepatrol backend add-device demo-car)

echo "== starting the backend on 127.0.0.1:$port"
platepatrol backend serve --port "$port" >"$work/backend.log" 2>&1 &
backend_pid=$!
trap 'kill "$backend_pid" 2>/dev/null || true; wait "$backend_pid" 2>/dev/null || true' EXIT

echo "== the edge on demo/patrol.mp4 (time, camera, plate, confidence, outcome, reason, round trip)"
PLATEPATROL_DEVICE_TOKEN="$token" platepatrol edge run --config demo/edge.yaml --backend "127.0.0.1:$port"
