#!/usr/bin/env bash
# HTTP throughput of the demo with rate limits on (quota never reached) vs off, same route, same
# token, alternating runs: `tenantry serve` (release build) on loopback, driven by wrk.
#
#   bench/limits_http.sh                         # GET /api/v1/items/1 as alice (tenant acme, plan pro)
#   ROUTE=/api/v1/whoami bench/limits_http.sh    # another route of the demo
#   ROUNDS=3 DURATION=10s CONNECTIONS=32 THREADS=1 bench/limits_http.sh
#
# "on" runs `serve --rate-pro 200000 --burst-pro 1000` (in memory; every request is decided and
# gets the headers; 200,000/s is twice what this machine serves, so the quota is not reached),
# "off" runs `serve --no-rate-limit`. Loopback only;
# every wrk run is bounded by DURATION. Figures go to docs/PERFORMANCE.md, "Rate limits".
# SKIP_BUILD=1 uses target/release as it is; HEADLINE_OUT (a file) also receives the result as a
# HEADLINE line for bench/headline.sh.
set -euo pipefail
cd "$(dirname "$0")/.."

route=${ROUTE:-/api/v1/items/1}
rounds=${ROUNDS:-3}
duration=${DURATION:-10s}
connections=${CONNECTIONS:-32}
threads=${THREADS:-1}
command -v wrk >/dev/null || { echo "wrk is missing: apt-get install -y wrk" >&2; exit 1; }

[ -n "${SKIP_BUILD:-}" ] || cargo build -q --release -p tenantry-cli
bin="${CARGO_TARGET_DIR:-target}/release/tenantry"
work=$(mktemp -d)
# `start` runs in a command substitution (a subshell), so its servers are not this shell's jobs:
# each writes its pid to $work/*.pid, and the exit trap stops them all.
trap 'kill $(cat "$work"/*.pid 2>/dev/null) 2>/dev/null || true; rm -rf "$work"' EXIT

token=$("$bin" token --sub alice --tenant acme)

# Starts the demo with EXTRA flags; prints its base URL.
start() {
  local name="$1" log="$work/serve-$1.log"
  shift
  "$bin" serve --bind 127.0.0.1:0 --database-url "sqlite://$work/demo-$RANDOM.db" "$@" >"$log" 2>&1 &
  echo $! >"$work/$name.pid"
  for _ in $(seq 100); do
    base=$(sed -n 's/^tenantry demo listening on //p' "$log")
    [ -n "$base" ] && { echo "$base"; return; }
    sleep 0.1
  done
  echo "serve did not start: $(cat "$log")" >&2
  exit 1
}

run() { # NAME BASE -> requests/s (non-2xx responses, if any, are reported on stderr)
  local out
  out=$(wrk -t"$threads" -c"$connections" -d"$duration" -H "Authorization: Bearer $token" "$2$route")
  if grep -q 'Non-2xx' <<<"$out"; then
    echo "$1: $(grep 'Non-2xx' <<<"$out" | xargs) of $(grep -o '[0-9]* requests in' <<<"$out")" >&2
  fi
  grep 'Requests/sec' <<<"$out" | awk '{print $2}'
}

on=$(start on --rate-pro 200000 --burst-pro 1000)
off=$(start off --no-rate-limit)
echo "route: GET $route as alice (acme, plan pro); wrk -t$threads -c$connections -d$duration; $(nproc) cores"
curl -s -D - -o /dev/null -H "Authorization: Bearer $token" "$on$route" | grep -i '^x-ratelimit' || true
# Warm both up.
wrk -t1 -c4 -d2s -H "Authorization: Bearer $token" "$on$route" >/dev/null
wrk -t1 -c4 -d2s -H "Authorization: Bearer $token" "$off$route" >/dev/null
ons=() offs=() ratios=()
for r in $(seq "$rounds"); do
  # Odd rounds run "off" first, even rounds "on" first, so neither always follows the other.
  if ((r % 2)); then
    offs+=("$(run off "$off")")
    ons+=("$(run on "$on")")
  else
    ons+=("$(run on "$on")")
    offs+=("$(run off "$off")")
  fi
  ratios+=("$(awk -v a="${ons[-1]}" -v b="${offs[-1]}" 'BEGIN {printf "%.3f", a/b}')")
  echo "round $r: off ${offs[-1]} req/s, on ${ons[-1]} req/s, on/off ${ratios[-1]}"
done
median() { printf '%s\n' "$@" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
m_on=$(median "${ons[@]}")
m_off=$(median "${offs[@]}")
echo "median: off $m_off req/s, on $m_on req/s, on/off $(awk -v a="$m_on" -v b="$m_off" 'BEGIN {printf "%.3f", a/b}'); median of the rounds' on/off: $(median "${ratios[@]}")"
printf 'HEADLINE\t%s\t%s\t%s\t%s\t%s\n' "limits-http$route" "$m_on req/s" "$m_off req/s" "$(median "${ratios[@]}")" \
  "median of $rounds per-round on/off ratios (wrk -t$threads -c$connections -d$duration), rounds $(printf '%s\n' "${ratios[@]}" | sort -g | sed -n '1p;$p' | paste -sd' ' | sed 's/ / to /')" \
  >>"${HEADLINE_OUT:-/dev/null}"
