#!/usr/bin/env bash
# Development and CI services for mailledger: PostgreSQL, Redis and a real Apache Kafka broker.
#
#   infra/services.sh up       make sure all three answer on 127.0.0.1, starting what is down
#   infra/services.sh down     stop what `up` started (never a service that was already running)
#   infra/services.sh reset    `down`, then delete Kafka's data (topics and consumer offsets)
#   infra/services.sh status   say what runs
#
# Idempotent. The Kafka jars come from Maven Central (infra/kafka/pom.xml) and are cached in
# $MAILLEDGER_CACHE (default ~/.cache/mailledger); broker data lives under a temp directory and is
# kept across `down` and `up` (a restarted broker has its topics and offsets); only `reset` wipes it.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
PG_PORT=${PG_PORT:-5432}
REDIS_PORT=${REDIS_PORT:-6379}
KAFKA_PORT=${KAFKA_PORT:-9092}
KAFKA_CONTROLLER_PORT=${KAFKA_CONTROLLER_PORT:-9093}
KAFKA_VERSION=3.9.1
CACHE=${MAILLEDGER_CACHE:-$HOME/.cache/mailledger}
KAFKA_LIB=$CACHE/kafka-$KAFKA_VERSION/lib
STATE=${MAILLEDGER_SERVICES_STATE:-${TMPDIR:-/tmp}/mailledger-services}
KAFKA_DIR=$STATE/kafka-$KAFKA_PORT
WAIT_SECONDS=${SERVICES_WAIT_SECONDS:-90}

log() { printf '[services] %s\n' "$*" >&2; }
fail() { printf '[services] ERROR: %s\n' "$*" >&2; exit 1; }

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

pg_up() { pg_isready -q -h 127.0.0.1 -p "$PG_PORT" 2>/dev/null; }
redis_up() { [ "$(redis-cli -h 127.0.0.1 -p "$REDIS_PORT" ping 2>/dev/null)" = "PONG" ]; }
# The readiness probe is TypeScript (kafkajs): it needs the project's Node 24 and node_modules.
NODE_BIN="$here/../node_modules/.bin/node"
kafka_up() {
  port_open "$KAFKA_PORT" || return 1
  # The port opens before the broker can serve metadata; ask it for real when we can.
  if [ -x "$NODE_BIN" ] && [ -d "$here/../node_modules/kafkajs" ]; then
    "$NODE_BIN" "$here/kafka/ready.ts" "127.0.0.1:$KAFKA_PORT" >/dev/null 2>&1
  fi
}

wait_for() { # name check
  local name=$1 check=$2 deadline=$((SECONDS + WAIT_SECONDS))
  until $check; do
    [ $SECONDS -lt "$deadline" ] || return 1
    sleep 0.5
  done
  log "$name is up"
}

mark_started() { mkdir -p "$STATE"; touch "$STATE/started-$1"; }

start_postgres() {
  pg_up && { log "PostgreSQL already answers on 127.0.0.1:$PG_PORT"; return; }
  if ! command -v pg_ctlcluster >/dev/null; then
    log "PostgreSQL is not installed; installing Debian's postgresql"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
  fi
  local version
  version=$(ls /etc/postgresql | sort -V | tail -n 1)
  log "starting PostgreSQL $version"
  pg_ctlcluster --skip-systemctl-redirect "$version" main start || true
  wait_for PostgreSQL pg_up || fail "PostgreSQL did not answer on 127.0.0.1:$PG_PORT within ${WAIT_SECONDS}s"
  mark_started postgres
}

start_redis() {
  redis_up && { log "Redis already answers on 127.0.0.1:$REDIS_PORT"; return; }
  if ! command -v redis-server >/dev/null; then
    log "Redis is not installed; installing Debian's redis-server"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server >/dev/null
  fi
  log "starting Redis"
  mkdir -p "$STATE/redis"
  redis-server --daemonize yes --bind 127.0.0.1 --port "$REDIS_PORT" --save "" --appendonly no \
    --dir "$STATE/redis" --logfile "$STATE/redis/redis.log" --pidfile "$STATE/redis/redis.pid"
  wait_for Redis redis_up || fail "Redis did not answer on 127.0.0.1:$REDIS_PORT within ${WAIT_SECONDS}s"
  mark_started redis
}

fetch_kafka() {
  [ -f "$KAFKA_LIB/kafka_2.13-$KAFKA_VERSION.jar" ] && return
  command -v mvn >/dev/null || fail "Maven (mvn) is needed to fetch the Kafka broker jars"
  command -v java >/dev/null || fail "Java 17+ is needed to run the Kafka broker"
  log "fetching Kafka $KAFKA_VERSION jars from Maven Central into $KAFKA_LIB"
  local tmp="$KAFKA_LIB.tmp.$$"
  rm -rf "$tmp"
  # Maven 3.8 writes colour resets (ESC[0m) even with -B and style.color=never: what it says is
  # shown without them, and only when it says something.
  local said fetched=0
  said=$(mktemp)
  mvn -q -B -Dstyle.color=never -f "$here/kafka/pom.xml" dependency:copy-dependencies -DoutputDirectory="$tmp" \
    >"$said" 2>&1 && fetched=1
  sed 's/\x1b\[[0-9;]*m//g' "$said" | grep -v '^[[:space:]]*$' >&2 || true
  rm -f "$said"
  [ "$fetched" = 1 ] || fail "could not fetch the Kafka jars (mvn dependency:copy-dependencies)"
  mkdir -p "$(dirname "$KAFKA_LIB")"
  rm -rf "$KAFKA_LIB"
  mv "$tmp" "$KAFKA_LIB"
}

start_kafka() {
  kafka_up && { log "Kafka already answers on 127.0.0.1:$KAFKA_PORT"; return; }
  if port_open "$KAFKA_PORT"; then
    log "port $KAFKA_PORT is open but Kafka is not ready yet; waiting"
    wait_for Kafka kafka_up && return
    fail "something listens on 127.0.0.1:$KAFKA_PORT but does not answer as a Kafka broker"
  fi
  fetch_kafka
  mkdir -p "$KAFKA_DIR/data" "$KAFKA_DIR/logs"
  cat >"$KAFKA_DIR/server.properties" <<PROPS
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:$KAFKA_CONTROLLER_PORT
listeners=PLAINTEXT://127.0.0.1:$KAFKA_PORT,CONTROLLER://127.0.0.1:$KAFKA_CONTROLLER_PORT
advertised.listeners=PLAINTEXT://127.0.0.1:$KAFKA_PORT
controller.listener.names=CONTROLLER
listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT
inter.broker.listener.name=PLAINTEXT
log.dirs=$KAFKA_DIR/data
num.partitions=4
offsets.topic.replication.factor=1
offsets.topic.num.partitions=4
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
default.replication.factor=1
min.insync.replicas=1
group.initial.rebalance.delay.ms=0
auto.create.topics.enable=true
delete.topic.enable=true
log.retention.hours=168
PROPS
  cat >"$KAFKA_DIR/log4j.properties" <<PROPS
log4j.rootLogger=WARN, file
log4j.appender.file=org.apache.log4j.FileAppender
log4j.appender.file.File=$KAFKA_DIR/logs/server.log
log4j.appender.file.layout=org.apache.log4j.PatternLayout
log4j.appender.file.layout.ConversionPattern=[%d] %p %m (%c)%n
log4j.logger.kafka=INFO
log4j.logger.org.apache.kafka=INFO
PROPS
  if [ -f "$KAFKA_DIR/data/meta.properties" ]; then
    log "starting Kafka $KAFKA_VERSION on its existing data in $KAFKA_DIR (infra/services.sh reset wipes it)"
  else
    local cluster_id
    cluster_id=$(java -cp "$KAFKA_LIB/*" kafka.tools.StorageTool random-uuid 2>/dev/null | tail -n 1)
    java -Dlog4j.configuration="file:$KAFKA_DIR/log4j.properties" -cp "$KAFKA_LIB/*" \
      kafka.tools.StorageTool format -t "$cluster_id" -c "$KAFKA_DIR/server.properties" >"$KAFKA_DIR/logs/format.log" 2>&1 \
      || { cat "$KAFKA_DIR/logs/format.log" >&2; fail "kafka StorageTool format failed"; }
    log "starting Kafka $KAFKA_VERSION (KRaft, new data in $KAFKA_DIR)"
  fi
  nohup java -Xmx512m -Xms256m -XX:+UseG1GC -Djava.awt.headless=true \
    -Dlog4j.configuration="file:$KAFKA_DIR/log4j.properties" -Dkafka.logs.dir="$KAFKA_DIR/logs" \
    -cp "$KAFKA_LIB/*" kafka.Kafka "$KAFKA_DIR/server.properties" >"$KAFKA_DIR/logs/stdout.log" 2>&1 </dev/null &
  echo $! >"$KAFKA_DIR/kafka.pid"
  mark_started kafka
  wait_for Kafka kafka_up || {
    tail -n 30 "$KAFKA_DIR/logs/server.log" "$KAFKA_DIR/logs/stdout.log" >&2 || true
    fail "Kafka did not answer on 127.0.0.1:$KAFKA_PORT within ${WAIT_SECONDS}s"
  }
}

stop_kafka() {
  [ -f "$STATE/started-kafka" ] || return 0
  local pid
  pid=$(cat "$KAFKA_DIR/kafka.pid" 2>/dev/null || true)
  if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
    log "stopping Kafka (pid $pid)"
    kill "$pid"
    for _ in $(seq 1 60); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
    kill -9 "$pid" 2>/dev/null || true
  fi
  rm -f "$STATE/started-kafka" "$KAFKA_DIR/kafka.pid"
}

reset_kafka() {
  if kafka_up && [ ! -f "$STATE/started-kafka" ]; then
    fail "a Kafka this script did not start answers on 127.0.0.1:$KAFKA_PORT; not deleting its data"
  fi
  log "deleting Kafka's data in $KAFKA_DIR"
  rm -rf "$KAFKA_DIR"
}

stop_redis() {
  [ -f "$STATE/started-redis" ] || return 0
  log "stopping Redis"
  redis-cli -h 127.0.0.1 -p "$REDIS_PORT" shutdown nosave >/dev/null 2>&1 || true
  rm -f "$STATE/started-redis"
}

stop_postgres() {
  [ -f "$STATE/started-postgres" ] || return 0
  log "stopping PostgreSQL"
  pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | sort -V | tail -n 1)" main stop || true
  rm -f "$STATE/started-postgres"
}

status() {
  local rc=0
  if pg_up; then echo "postgresql  up    127.0.0.1:$PG_PORT"; else echo "postgresql  DOWN  127.0.0.1:$PG_PORT"; rc=1; fi
  if redis_up; then echo "redis       up    127.0.0.1:$REDIS_PORT"; else echo "redis       DOWN  127.0.0.1:$REDIS_PORT"; rc=1; fi
  if kafka_up; then echo "kafka       up    127.0.0.1:$KAFKA_PORT"; else echo "kafka       DOWN  127.0.0.1:$KAFKA_PORT"; rc=1; fi
  return $rc
}

case "${1:-}" in
  up) start_postgres; start_redis; start_kafka ;;
  down) stop_kafka; stop_redis; stop_postgres ;;
  reset) stop_kafka; stop_redis; stop_postgres; reset_kafka ;;
  status) status ;;
  *) echo "usage: $0 up|down|reset|status" >&2; exit 2 ;;
esac
