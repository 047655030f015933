# Sourced by bench/crud_server_probe.sh and bench/observe_probe.sh: `probe`, one server under
# callgrind, its instructions per `GET /api/v1/items/5` (id 5 is acme's in both scripts' data).
#
# Globals read: WORK (holds template.db and any t_*.db tenant files), OUT, N, HOST; PROBE_ENV
# (an array of NAME=VALUE set for the server, RUST_LOG unset otherwise), TOGGLE (callgrind
# --toggle-collect pattern), KEEP (keep the callgrind files). Sets VPID while a server runs.

# probe NAME PORT AUTH_HEADER CMD...: prints NAME and its instructions per request.
probe() {
  local name="$1" port="$2" auth="$3"; shift 3
  rm -f "$OUT/$name".*
  cp "$WORK/template.db" "$OUT/$name.db"
  # Tenants placed in a database of their own (the demo's globex) live in files beside it.
  for f in "$WORK"/t_*.db; do [ -e "$f" ] && cp "$f" "$OUT/"; done
  env -u RUST_LOG "${PROBE_ENV[@]}" valgrind --tool=callgrind \
    --callgrind-out-file="$OUT/$name.%p.out" ${TOGGLE:+"--toggle-collect=$TOGGLE"} "$@" \
    --database-url "sqlite://$OUT/$name.db" >"$OUT/$name.log" 2>&1 &
  VPID=$!
  for _ in $(seq 1 600); do
    curl -fsS "http://$HOST:$port/healthz" >/dev/null 2>&1 && break
    sleep 0.2
  done
  curl -fsS "http://$HOST:$port/healthz" >/dev/null || die "$name did not start (see $OUT/$name.log)"
  local url="http://$HOST:$port/api/v1/items/5"
  ab -k -n 200 -c 4 -H "$auth" "$url" >/dev/null 2>&1
  callgrind_control -z "$VPID" >/dev/null 2>&1
  ab -k -n "$N" -c 4 -H "$auth" "$url" >"$OUT/$name.ab" 2>&1
  callgrind_control -d "$VPID" >/dev/null 2>&1
  sleep 1
  kill "$VPID"; wait "$VPID" 2>/dev/null || true; VPID=""
  grep -q "Non-2xx" "$OUT/$name.ab" && die "$name answered non-2xx (see $OUT/$name.ab)"
  local file total
  file="$(ls -t "$OUT/$name".*.out.* | head -1)"
  total="$(sed -n 's/^summary: //p' "$file")"
  printf '%-10s %12d\n' "$name" "$((total / N))"
  [ -n "${KEEP:-}" ] || rm -f "$OUT/$name".*.out*
}
