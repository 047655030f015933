#!/usr/bin/env bash
# Instructions per `GET /api/v1/items/{id}`, layer by layer, counted by callgrind
# (crates/tenantry/benches/crud.rs in its probe mode; docs/PERFORMANCE.md, "CRUD router: where a
# get's time goes"). Instruction counts do not depend on what else the machine is doing, so two
# builds can be compared on a busy 2-core VM where wall-clock figures wander by 20 %.
#
# The bench first builds its 100,000-row SQLite file once, natively. Then, for each case, it
# runs twice under callgrind on a fresh copy of that file, with N1 and N2 requests; the
# difference in instructions over N2 - N1 is the cost of one request without the set-up. SQLite's own work is counted (it runs on sqlx's worker
# thread, which callgrind follows), and is the same statement in every case.
#
#   bench/crud_probe.sh                # every case
#   CASES="service;tenancy+crud" bench/crud_probe.sh
#   KEEP=1 bench/crud_probe.sh         # keep the callgrind files (for callgrind_annotate)
#
# Environment: N1 (200), N2 (1200), CASES (';'-separated, default all), OUT (/tmp/tenantry-probe).
set -euo pipefail
cd "$(dirname "$0")/.."

N1="${N1:-200}"
N2="${N2:-1200}"
OUT="${OUT:-/tmp/tenantry-probe}"
CASES="${CASES:-sqlx+struct;service;router+plain handler;tenancy+plain handler;tenancy+crud}"

die() { echo "crud_probe: $*" >&2; exit 1; }
command -v valgrind >/dev/null || die "valgrind is missing: apt-get install -y valgrind"
[ "$N2" -gt "$N1" ] || die "N2 ($N2) must be larger than N1 ($N1)"

bin=$(cargo bench -p tenantry --features sqlite,crud --bench crud --no-run --message-format=json 2>/dev/null |
  python3 -c 'import json,sys
for l in sys.stdin:
    m = json.loads(l)
    if m.get("reason") == "compiler-artifact" and m["target"]["name"] == "crud" and m.get("executable"):
        print(m["executable"])')
[ -x "$bin" ] || die "the crud bench did not build: cargo bench -p tenantry --features sqlite,crud --bench crud --no-run"
mkdir -p "$OUT"
# The data once, natively; every callgrind run starts from a fresh copy of the same file.
rm -f "$OUT"/template.db*
TENANTRY_PROBE_DB="$OUT/template.db" TENANTRY_PROBE="sqlx+struct" TENANTRY_PROBE_N=0 "$bin" >/dev/null ||
  die "the bench could not build its data in $OUT"

# instructions CASE N: total instructions of one probe run.
instructions() {
  local file="$OUT/$(echo "$1" | tr -c 'a-z0-9\n' '_').$2.out"
  rm -f "$OUT"/run.db*
  cp "$OUT/template.db" "$OUT/run.db"
  TENANTRY_PROBE_DB="$OUT/run.db" TENANTRY_PROBE="$1" TENANTRY_PROBE_N="$2" valgrind --tool=callgrind \
    --collect-atstart=no --toggle-collect='crud::Case::run::*' --callgrind-out-file="$file" \
    "$bin" >/dev/null 2>"$file.log" || die "callgrind failed on $1 (see $file.log)"
  sed -n 's/^summary: //p' "$file"
  [ -n "${KEEP:-}" ] || rm -f "$file" "$file.log"
}

echo "# $(date -u +%FT%TZ) $(rustc --version), valgrind $(valgrind --version | sed 's/valgrind-//')"
echo "# instructions per request = (Ir(N2=$N2) - Ir(N1=$N1)) / $((N2 - N1))"
printf '%-24s %14s %10s\n' case "per request" "step"
prev=""
IFS=';'
for case in $CASES; do
  a=$(instructions "$case" "$N1")
  b=$(instructions "$case" "$N2")
  per=$(( (b - a) / (N2 - N1) ))
  step=""
  [ -n "$prev" ] && step=$(printf '%+d' $((per - prev)))
  printf '%-24s %14d %10s\n' "$case" "$per" "$step"
  prev=$per
done
