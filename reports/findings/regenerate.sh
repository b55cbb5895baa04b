#!/usr/bin/env bash
# Regenerates the space-time diagrams of the README's findings in reports/findings/: each
# finding's reproducer run with its seed, drawn over the window that holds its chain (the
# run's traces go to a temporary directory). A few seconds in release.
set -euo pipefail
cd "$(dirname "$0")/../.."
cargo build --release --quiet
zabsim=target/release/zabsim
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# name seed from_us to_us
while read -r name seed from to; do
  [ -z "$name" ] && continue
  $zabsim run "scenarios/findings/$name.toml" --seed "$seed" --trace "$tmp/$name.jsonl" > /dev/null || true
  $zabsim diagram "$tmp/$name.jsonl" -o "reports/findings/$name.html" --from-us "$from" --to-us "$to"
done <<'LIST'
stale-txnlog-diff 3 16000000 26400000
dirty-snapshot-trunc 177 37000000 47000000
trunc-absent-zxid 0 0 220000
sync-crash-window 27 13000000 16200000
accepted-epoch-ahead 1452916811379324612 1300000 5700000
retire-at-once 4 0 8000000
uptodate-leaves-reconfig-unlogged 393 1500000 3300000
stale-leader-hands-reconfig 411 4500000 6400000
stale-pending-reconfig 31518549553455241 1000000 4000000
lost-trunc-watch 204 18000000 28300000
reconfig-storm 2879 3300000 4320000
trunc-snapshot-power-loss 132 10150000 10680000
LIST
