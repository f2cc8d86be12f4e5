#!/usr/bin/env bash
# The demo: backend on an embedded SQLite file, the demo city (permits, residents, staff accounts), one device,
# the edge on the demo clip, and the permit office's web pages. Prints each verdict as it comes back.
# At a terminal the backend and its pages keep running after the clip until Ctrl-C; otherwise (CI, tests)
# everything shuts down when the clip ends.
set -euo pipefail
cd "$(dirname "$0")/.."

work=var/demo
rm -rf "$work" && mkdir -p "$work"
export PLATEPATROL_DATABASE_URL="sqlite:///$work/platepatrol.db"
free_port() { python -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
port=${PLATEPATROL_DEMO_PORT:-$(free_port)}
web_port=${PLATEPATROL_DEMO_WEB_PORT:-$(free_port)}
# The demo city is Bucharest: its pages show local times; mail (password resets) lands in the demo folder.
cat >"$work/backend.yaml" <<YAML
web:
  port: $web_port
  timezone: Europe/Bucharest
  mail_dir: $work/mail
YAML

echo "== seeding the demo city"
platepatrol backend seed-demo | tee "$work/seed.txt"
token=$(platepatrol backend add-device demo-car)

echo "== starting the backend on 127.0.0.1:$port, web pages on http://127.0.0.1:$web_port"
platepatrol backend serve --config "$work/backend.yaml" --port "$port" >"$work/backend.log" 2>&1 &
backend_pid=$!
stop_backend() { kill "$backend_pid" 2>/dev/null || true; wait "$backend_pid" 2>/dev/null || true; }
trap stop_backend EXIT
# The car would cope with an office that is not up yet (it keeps its reads), but the demo's latency figures
# should be the pipeline's, not the office's start-up: wait until it listens.
for _ in $(seq 1 120); do
  grep -q "backend listening on" "$work/backend.log" 2>/dev/null && break
  kill -0 "$backend_pid" 2>/dev/null || { cat "$work/backend.log"; echo "the backend did not start" >&2; exit 1; }
  sleep 0.5
done

echo "== the edge on demo/patrol.mp4 (time, camera, plate, confidence, outcome, reason, round trip)"
PLATEPATROL_DEVICE_TOKEN="$token" platepatrol edge run --config demo/edge.yaml --backend "127.0.0.1:$port"

if [ -t 0 ] && [ -t 1 ]; then
  pages=$(sed -n 's/^web pages on //p' "$work/backend.log" | tail -n 1)
  echo
  echo "== the permit office is open: ${pages:-http://127.0.0.1:$web_port}"
  echo "   review queue (the clip's flagged reads): ${pages:-http://127.0.0.1:$web_port}/review"
  sed -n '/^demo accounts/,$p' "$work/seed.txt"
  echo "   press Ctrl-C to stop"
  trap 'echo; echo "== stopping"; exit 0' INT TERM
  wait "$backend_pid" || true
fi
