#!/bin/sh
# Runs every fuzz target for SECONDS (default 600) one after another, each on its own corpus
# grown from the checked-in seeds; logs go to LOGDIR (default target/fuzz-logs).
# Usage: fuzz/run.sh [target...]
set -u
cd "$(dirname "$0")"
secs=${SECONDS_EACH:-600}
logs=${LOGDIR:-target/fuzz-logs}
mkdir -p "$logs"
targets=${*:-tenant_id path_resolver subdomain_resolver jwt_resolver list_query import_reader}
for t in $targets; do
    mkdir -p "corpus/$t"
    echo "$(date -u +%FT%TZ) start $t" >> "$logs/summary"
    RUSTC_BOOTSTRAP=1 nice -n 10 cargo fuzz run -s none -a "$t" "corpus/$t" "seeds/$t" -- \
        -max_total_time="$secs" -max_len=4096 -print_final_stats=1 > "$logs/$t.log" 2>&1
    echo "$(date -u +%FT%TZ) end $t rc=$? $(grep -E '^Done|stat::number_of_executed_units' "$logs/$t.log" | tr '\n' ' ')" >> "$logs/summary"
done
