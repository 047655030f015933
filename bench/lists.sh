#!/usr/bin/env bash
# Lists that do less (issue 16, item 3), on the demo's items (bench/crud.sh's data and client):
#   list             ?limit=50 with the total: tenantry, the plain axum + sqlx handler, svc-infra;
#   list-none        ?limit=50&count=none: tenantry without the total;
#   page1            ?limit=10&count=none: the first page of 10;
#   page1000-offset  ?limit=10&offset=9990&count=none: the 1,000th page, by offset;
#   page1000-cursor  ?limit=10&after=C&count=none: the same rows, by the cursor after row 9,990.
#
#   bench/lists.sh                       # SQLite (the demo's backend), every system
#   BACKENDS="sqlite postgres" bench/lists.sh
#
# Every variable of bench/crud.sh applies (DURATION, CONNS, SKIP_BUILD, ...).
set -euo pipefail
export ROUTES="${ROUTES:-list list-none page1 page1000-offset page1000-cursor}"
export SYSTEMS="${SYSTEMS:-tenantry-header plain svc-infra}"
export BACKENDS="${BACKENDS:-sqlite}"
export BENCH_DIR="${BENCH_DIR:-/tmp/tenantry-bench-lists}"
exec "$(dirname "${BASH_SOURCE[0]}")/crud.sh" "$@"
