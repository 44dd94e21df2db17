#!/usr/bin/env bash
# Records the demo: starts the five services, captures their loopback traffic
# with tcpdump while curl drives a fixed scenario, then writes
#   <out>.pcap             the capture (only the demo's TCP traffic)
#   <out>.sdk-spans.jsonl  every span the services' own OpenTelemetry SDK ended
#   <out>.recording.json   how it was made: scenario, ports, Host headers, propagators
# and checks the two agree (check-ground-truth.mjs).
#
# Environment (all optional):
#   DEMO_OUT                 output path prefix            (default: <this folder>/demo)
#   DEMO_PROPAGATOR          w3c | b3 | b3multi | jaeger   (default: w3c)
#   DEMO_PROPAGATOR_<NAME>   per-service override, e.g. DEMO_PROPAGATOR_ORDERS=b3
#   DEMO_SCENARIO            plain | external-parent       (default: plain)
#   DEMO_BASE_PORT           first of five ports            (default: 7101)
#
# Needs root (or CAP_NET_RAW) for tcpdump on the loopback interface.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
out="${DEMO_OUT:-$here/demo}"
scenario="${DEMO_SCENARIO:-plain}"
base_port="${DEMO_BASE_PORT:-7101}"
export DEMO_PROPAGATOR="${DEMO_PROPAGATOR:-w3c}" DEMO_SCENARIO="$scenario" DEMO_BASE_PORT="$base_port"

services=(frontend users orders inventory payments)
ports=()
for i in "${!services[@]}"; do ports+=($((base_port + i))); done
frontend="http://127.0.0.1:${ports[0]}"

for tool in node curl tcpdump tshark ss; do
  command -v "$tool" >/dev/null || { echo "record.sh: $tool is required" >&2; exit 1; }
done
for port in "${ports[@]}"; do
  if [ -n "$(ss -Htln "sport = :$port")" ]; then
    echo "record.sh: port $port is in use; set DEMO_BASE_PORT to a free range" >&2
    exit 1
  fi
done

work="$(mktemp -d)"
# tcpdump may drop to its own unprivileged user before opening the output file.
chmod 0777 "$work"
mkdir "$work/spans"
service_pids=()
tcpdump_pid=""

cleanup() {
  local pid
  for pid in "${service_pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  if [ -n "$tcpdump_pid" ]; then kill -INT "$tcpdump_pid" 2>/dev/null || true; fi
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

# wait_for_line FILE PATTERN PID: until FILE has a line matching PATTERN (10 s).
wait_for_line() {
  local tries=0
  until grep -q "$2" "$1" 2>/dev/null; do
    if ! kill -0 "$3" 2>/dev/null; then
      echo "record.sh: process $3 exited before printing '$2':" >&2
      cat "$1" >&2
      exit 1
    fi
    tries=$((tries + 1))
    if [ "$tries" -gt 200 ]; then
      echo "record.sh: timed out waiting for '$2' in $1" >&2
      exit 1
    fi
    sleep 0.05
  done
}

export DEMO_SPANS_DIR="$work/spans"
for name in "${services[@]}"; do
  node "$here/services/$name.mjs" >"$work/$name.log" 2>&1 &
  service_pids+=($!)
done
for i in "${!services[@]}"; do
  wait_for_line "$work/${services[$i]}.log" "ready on" "${service_pids[$i]}"
done

# Only the demo ports, only IPv4 loopback: nothing else may end up in the file.
# --immediate-mode: without it packets wait in the kernel ring for up to a
# second, and whatever is still there at SIGINT is lost.
filter="tcp and host 127.0.0.1 and ($(printf 'port %s or ' "${ports[@]}" | sed 's/ or $//'))"
tcpdump -i lo --immediate-mode -U -s 0 -w "$work/capture.pcap" "$filter" 2>"$work/tcpdump.err" &
tcpdump_pid=$!
wait_for_line "$work/tcpdump.err" "listening on" "$tcpdump_pid"

# request PATH EXPECTED_STATUS [curl args...]: one scenario step.
request() {
  local path="$1" expected="$2"
  shift 2
  local status
  status="$(curl -sS -o /dev/null -w '%{http_code}' "$@" "$frontend$path")"
  echo "  GET $path -> $status"
  if [ "$status" != "$expected" ]; then
    echo "record.sh: GET $path answered $status, expected $expected" >&2
    exit 1
  fi
}

echo "recording scenario '$scenario' (propagator $DEMO_PROPAGATOR) on ports ${ports[*]}"
case "$scenario" in
  plain)
    # curl sends no trace headers: frontend starts every trace.
    request /api/users/42 200
    request /api/users/7 200
    request /api/users/42/orders/1001 200
    request /api/users/7/orders/1002 200
    request /api/users/42/orders/1003 502 # payments: card processor unavailable
    request /api/users/7/orders/1004 409  # inventory: unknown item 99
    request /api/users/99 404             # users: unknown user
    request /api/users/42/orders/1001 200
    ;;
  external-parent)
    # The caller outside the demo already has a trace: every trace id and the
    # frontend SERVER spans' parent ids are known in advance. The last request
    # is not sampled (flags 00): it is propagated, but no SDK records it.
    request /api/users/42 200 -H 'traceparent: 00-0af7651916cd43dd8448eb211c803101-b7ad6b7169203301-01'
    request /api/users/7 200 -H 'traceparent: 00-0af7651916cd43dd8448eb211c803102-b7ad6b7169203302-01'
    request /api/users/42/orders/1001 200 -H 'traceparent: 00-0af7651916cd43dd8448eb211c803103-b7ad6b7169203303-01' \
      -H 'tracestate: edge=gw1,wiretrace=demo'
    request /api/users/7/orders/1002 200 -H 'traceparent: 00-0af7651916cd43dd8448eb211c803104-b7ad6b7169203304-01'
    request /api/users/42/orders/1003 502 -H 'traceparent: 00-0af7651916cd43dd8448eb211c803105-b7ad6b7169203305-01'
    request /api/users/7/orders/1004 409 -H 'traceparent: 00-0af7651916cd43dd8448eb211c803106-b7ad6b7169203306-01'
    request /api/users/99 404 -H 'traceparent: 00-0af7651916cd43dd8448eb211c803107-b7ad6b7169203307-01'
    request /api/users/42/orders/1001 200 -H 'traceparent: 00-0af7651916cd43dd8448eb211c803108-b7ad6b7169203308-01'
    request /api/users/7/orders/1002 200 -H 'traceparent: 00-0af7651916cd43dd8448eb211c803109-b7ad6b7169203309-00'
    ;;
  *)
    echo "record.sh: unknown DEMO_SCENARIO '$scenario' (plain | external-parent)" >&2
    exit 1
    ;;
esac

# Stop the services one by one, callers first, so every keep-alive connection
# closes with a FIN inside the capture; SimpleSpanProcessor has already
# written each span when it ended.
for pid in "${service_pids[@]}"; do
  kill -TERM "$pid"
  wait "$pid"
done
service_pids=()
sleep 0.3
kill -INT "$tcpdump_pid"
wait "$tcpdump_pid"
tcpdump_pid=""
sed 's/^/  tcpdump: /' "$work/tcpdump.err"

mkdir -p "$(dirname "$out")"
cp "$work/capture.pcap" "$out.pcap"
node "$here/lib/merge-spans.mjs" "$work/spans" >"$out.sdk-spans.jsonl"

node "$here/lib/describe-recording.mjs" >"$out.recording.json"
echo "wrote $out.pcap ($(wc -c <"$out.pcap") bytes), $out.sdk-spans.jsonl ($(wc -l <"$out.sdk-spans.jsonl") spans), $out.recording.json"

node "$here/check-ground-truth.mjs" "$out"
