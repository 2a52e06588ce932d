#!/usr/bin/env bash
# CPU seconds `cdc stream` spends per event draining a topic that already holds N events:
# user + system time of the process (from /proc), which a busy machine disturbs far less than
# wall time; and how that splits between its main thread and the others (V8's GC helpers), next
# to what the stack's MariaDB and Kafka spent meanwhile. Optionally writes a V8 CPU profile
# (PROFILE=dir) to see where the time goes, or sums up V8's garbage collections (GC_TRACE=1).
#
#   tests/bench/cpu_per_event.sh TOPIC_PREFIX DATABASE TABLE N [extra cdc stream flags...]
#
# N counts the events of every table streamed (more with `--table`), not the markers of a
# transaction topic (`--transactions`).
# The topic is <prefix>.<database>.<table>: make one that stays with
# `deno run -A tests/bench/backlog.ts <name> <events>` (the bench deletes its own). Each run streams into a fresh sink database and group, and
# drops the database afterwards. Needs the local stack (`deno task stack up`) and its
# `eval "$(deno task stack env)"` variables.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
[ $# -ge 4 ] || { sed -n '2,15p' "$0"; exit 2; }
prefix=$1 database=$2 table=$3 events=$4
shift 4
sink="cpu_$(date +%s%N | cut -c1-13)"
sql() { mariadb --no-defaults -h"${CDC_MYSQL_HOST:?}" -P"${CDC_MYSQL_PORT:?}" -u"${CDC_MYSQL_USER:?}" \
  -p"${CDC_MYSQL_PASSWORD:?}" -N -e "$1"; }
stack_dir=${CDC_STACK_DIR:-.stack}
# CPU ticks (user + system) of a process, or of one of its threads
ticks() { awk '{print $14 + $15}' "$1" 2>/dev/null || echo 0; }
server_ticks() { ticks "/proc/$(cat "$stack_dir/run/$1.pid" 2>/dev/null || echo 0)/stat"; }
mariadb0=$(server_ticks mariadb) kafka0=$(server_ticks kafka)
profile=()
[ -n "${PROFILE:-}" ] && profile=(--cpu-prof "--cpu-prof-dir=$PROFILE")
started=$(date +%s.%N)
# the binary's V8 heap settings (tools/compile.ts), so that memory is measured as it ships
v8_flags=$(deno eval 'import { V8_FLAGS } from "./tools/compile.ts"; console.log(V8_FLAGS)')
# GC_TRACE=1: V8's per-collection trace on stdout, summed up at the end (tests/bench/gc_summary.ts)
[ -n "${GC_TRACE:-}" ] && v8_flags="$v8_flags,--trace-gc-nvp"
deno run -A "$v8_flags" "${profile[@]}" main.ts stream --table "$table" --topic-prefix "$prefix" \
  --database "$database" --sink-database "$sink" --group-id "$sink" --status-interval 0 "$@" \
  >"/tmp/$sink.gc" 2>"/tmp/$sink.log" &
pid=$!
deadline=$((SECONDS + 600))
until [ "$(sql "SELECT COALESCE(SUM(next_offset), 0) FROM $sink.__cdc_offsets
  WHERE topic NOT LIKE '%.transaction'" 2>/dev/null)" \
  = "$events" ]; do
  kill -0 "$pid" 2>/dev/null || { cat "/tmp/$sink.log"; exit 1; }
  [ $SECONDS -lt $deadline ] || { echo "not drained within 10 min" >&2; kill "$pid"; exit 1; }
  sleep 0.2 # the poll's resolution, not synchronisation
done
ended=$(date +%s.%N)
read -r utime stime < <(awk '{print $14, $15}' "/proc/$pid/stat")
main_thread=$(ticks "/proc/$pid/task/$pid/stat")
mariadb=$(($(server_ticks mariadb) - mariadb0)) kafka=$(($(server_ticks kafka) - kafka0))
hwm=$(awk '/VmHWM/ {print $2}' "/proc/$pid/status")
kill -TERM "$pid"
wait "$pid" || true
sql "DROP DATABASE $sink"
tick=$(getconf CLK_TCK)
awk -v u="$utime" -v s="$stime" -v t="$tick" -v n="$events" -v a="$started" -v b="$ended" \
  -v h="$hwm" -v l="$(cut -d' ' -f1-3 /proc/loadavg)" -v m="$main_thread" -v db="$mariadb" \
  -v k="$kafka" 'BEGIN {
  cpu = (u + s) / t
  printf "%d events: %.2f s CPU (%.1f us/event, start-up included), %.2f s wall, peak RSS %.0f MiB, load %s\n",
    n, cpu, cpu * 1e6 / n, b - a, h / 1024, l
  printf "  CPU of the main thread %.2f s, other threads %.2f s; meanwhile mariadbd %.2f s, Kafka %.2f s\n",
    m / t, cpu - m / t, db / t, k / t
}'
[ -z "${GC_TRACE:-}" ] || deno run tests/bench/gc_summary.ts <"/tmp/$sink.gc"
rm -f "/tmp/$sink.gc"
