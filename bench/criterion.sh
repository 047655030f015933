#!/usr/bin/env bash
# The in-process figures of docs/PERFORMANCE.md, each against its baseline of the same run:
#
#   enforce  `cargo bench -p tenantry --bench enforce` (criterion): a request through the tenancy
#            layer against the same request without it ("Tenancy layer overhead"): the header
#            path with a principal and the cached catalog against `bare+principal ext`, the
#            trusted-gateway path against `bare`, JWT with and without the token cache.
#   limiter  `cargo bench -p tenantry --bench limit -- ab`: MemoryStore against governor's keyed
#            limiter, alternating in rounds, 1 or 2 threads over 1, 10,000 and 1,000,000 keys
#            ("Rate limits", "In memory, against governor's keyed limiter").
#   data     `cargo bench -p tenantry --features postgres --bench data`, criterion's own cases
#            filtered out: the scoped service against hand-written sqlx on PostgreSQL, paired
#            request by request and in throughput ("Data layer"). Loads 2 x 1,000,000 rows into
#            tenantry_bench_data the first time (reused afterwards).
#
#   bench/criterion.sh                     # all three (about 9 minutes after the builds)
#   PARTS=limiter bench/criterion.sh
#   FILTER='enforce/(bare|header)' PARTS=enforce bench/criterion.sh   # only those cases
#
# Env: PARTS (enforce limiter data), FILTER (a criterion filter for enforce; default: every
#      case), TENANTRY_BENCH_ROUNDS / TENANTRY_BENCH_CALLS (limiter: rounds, 11, and decisions
#      per round), DATA_THROUGHPUT (1; 0 skips the data bench's throughput part),
#      TENANTRY_BENCH_POSTGRES_URL, HEADLINE_OUT (a file: each comparison is also appended there
#      as a HEADLINE line for bench/headline.sh). Every case runs for a fixed time or a fixed
#      number of calls: bounded.
set -euo pipefail
cd "$(dirname "$0")/.."

PARTS="${PARTS:-enforce limiter data}"
OUT_DIR="$(mktemp -d)"
trap 'rm -rf "$OUT_DIR"' EXIT
headline() { local IFS=$'\t'; printf 'HEADLINE\t%s\n' "$*" >>"${HEADLINE_OUT:-/dev/null}"; }

echo "# $(date -u +%FT%TZ), $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg), $(rustc --version)"

# criterion_ns FILE CASE: criterion's middle estimate of enforce/CASE: "NS VALUE UNIT" (in ns,
# then as criterion printed it). Criterion prints "NAME  time:   [low unit mid unit high unit]",
# NAME on a line of its own when it is long.
criterion_ns() {
  awk -v want="enforce/$2" '
    function ns(v, u) { return u == "ps" ? v / 1000 : u == "ns" ? v : u == "µs" || u == "us" ? v * 1e3 : u == "ms" ? v * 1e6 : v * 1e9 }
    /time:[ \t]+\[/ {
      name = $0; sub(/[ \t]*time:.*/, "", name); sub(/^[ \t]+/, "", name)
      if (name == "") name = prev
      if (name == want) { s = $0; sub(/.*\[/, "", s); split(s, f, " "); printf "%.3f %s %s\n", ns(f[3], f[4]), f[3], f[4]; exit }
    }
    NF { prev = $0; sub(/^[ \t]+/, "", prev); sub(/[ \t]+$/, "", prev) }' "$1"
}

part_enforce() {
  echo "== enforce: the tenancy layer in process (criterion)"
  local out="$OUT_DIR/enforce.txt"
  # shellcheck disable=SC2086
  cargo bench -q -p tenantry --bench enforce -- ${FILTER:+"$FILTER"} 2>&1 | tee "$out"
  echo
  echo "| case | criterion estimate | baseline | baseline estimate | added | ratio (baseline / case) |"
  echo "|---|---:|---|---:|---:|---:|"
  local pair c b cn bn ct bt added ratio
  for pair in "header+principal+catalog|bare+principal ext" "header (trusted gateway)|bare" \
    "jwt HS256|bare" "jwt HS256 uncached|bare" "jwt RS256|bare" "jwt RS256 uncached|bare"; do
    c="${pair%|*}"; b="${pair#*|}"
    read -r cn ct <<<"$(criterion_ns "$out" "$c")"
    read -r bn bt <<<"$(criterion_ns "$out" "$b")"
    [ -n "$cn" ] && [ -n "$bn" ] || continue
    added="$(awk -v a="$cn" -v b="$bn" 'BEGIN { printf "%+.1f ns", a - b }')"
    ratio="$(awk -v a="$cn" -v b="$bn" 'BEGIN { printf "%.2f", b / a }')"
    echo "| \`$c\` | $ct | \`$b\` | $bt | $added | $ratio |"
    headline "enforce/$c" "$ct" "$bt ($b)" "$ratio" "$added per request over the same request without tenancy (criterion's middle estimates; current-thread runtime, oneshot)"
  done
}

part_limiter() {
  echo "== limiter: MemoryStore against governor, alternating rounds (limit -- ab)"
  local out="$OUT_DIR/ab.txt"
  cargo bench -q -p tenantry --bench limit -- ab 2>&1 | tee "$out"
  # "ab: 1000000 2 |   1.14 |   0.93 | 1.24": keys threads | tenantry M/s | governor M/s | ratio
  awk -F'|' '/^ab: +[0-9]+ +[0-9]+ \|/ {
      split($1, k, " "); t = $2; g = $3; r = $4; gsub(/ /, "", t); gsub(/ /, "", g); gsub(/ /, "", r)
      printf "HEADLINE\tlimiter/%s/%s\t%s M/s\t%s M/s\t%s\tmedian of the rounds\x27 ratios; keys %s, threads %s\n", k[2], k[3], t, g, r, k[2], k[3]
      if (min == "" || r + 0 < min + 0) { min = r; at = k[2] " keys, " k[3] " thread" (k[3] == 1 ? "" : "s"); mt = t; mg = g }
    }
    END { if (min != "") printf "HEADLINE\tlimiter/lowest\t%s M/s\t%s M/s\t%s\tthe lowest of the cases (%s); median of the rounds\x27 ratios\n", mt, mg, min, at }' \
    "$out" >>"${HEADLINE_OUT:-/dev/null}"
}

part_data() {
  echo "== data: the scoped service against hand-written sqlx (PostgreSQL)"
  local out="$OUT_DIR/data.txt"
  local -a env=()
  [ "${DATA_THROUGHPUT:-1}" = 0 ] && env=(TENANTRY_BENCH_THROUGHPUT=0)
  env "${env[@]}" cargo bench -q -p tenantry --features postgres --bench data -- zzz-no-criterion-case 2>&1 | tee "$out"
  # "paired get: service: median 187.71 µs (...)" and
  # "paired get: throughput ratio service / sqlx: 0.998 (ratio of medians), 1.020 (median of per-request ratios)"
  local op
  for op in get list50; do
    local s q r
    s="$(awk -v p="paired $op: service: median" 'index($0, p) == 1 { print $5 " " $6; exit }' "$out")"
    q="$(awk -v p="paired $op: sqlx: median" 'index($0, p) == 1 { print $5 " " $6; exit }' "$out")"
    r="$(awk -v p="paired $op: throughput ratio service / sqlx:" 'index($0, p) == 1 { sub(/.*\(ratio of medians\), /, ""); print $1; exit }' "$out")"
    [ -n "$r" ] && headline "data/$op/paired" "$s (median latency)" "$q" "$r" \
      "one request at a time, service and sqlx interleaved request by request; median of the per-request throughput ratios"
    r="$(awk -v p="throughput $op: throughput ratio service / sqlx:" 'index($0, p) == 1 { sub(/.*\(ratio of medians\), /, ""); print $1; exit }' "$out")"
    s="$(awk -v p="throughput $op: service: median" 'index($0, p) == 1 { print $5 " " $6; exit }' "$out")"
    q="$(awk -v p="throughput $op: sqlx: median" 'index($0, p) == 1 { print $5 " " $6; exit }' "$out")"
    [ -n "$r" ] && headline "data/$op/throughput" "$s" "$q" "$r" \
      "16 tasks on a 2-worker runtime, the two alternating; median of the per-round ratios"
  done
  return 0
}

for part in $PARTS; do
  case "$part" in
    enforce) part_enforce ;;
    limiter) part_limiter ;;
    data) part_data ;;
    *) echo "criterion.sh: unknown part $part (enforce limiter data)" >&2; exit 2 ;;
  esac
done
echo "# end $(date -u +%FT%TZ), load average $(cut -d' ' -f1-3 /proc/loadavg)"
