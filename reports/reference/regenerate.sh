#!/usr/bin/env bash
# Regenerates the reference reports in reports/reference/ from seed sweeps of the shipped
# scenarios. About two minutes in release on two idle cores. The sweeps' per-seed
# outcomes go to reports/reference/sweeps/ (not committed: regenerate them with this).
set -euo pipefail
cd "$(dirname "$0")/../.."
cargo build --release --quiet
zabsim=target/release/zabsim
sweeps=reports/reference/sweeps
mkdir -p "$sweeps"

# The correct protocol under two fault mixes: leader crashes vs flapping partitions.
$zabsim sweep scenarios/leader-crash.toml --seeds 0..10000 --variant none --out $sweeps/leader-crash.jsonl
$zabsim sweep scenarios/partition-flapping.toml --seeds 0..5000 --variant none --out $sweeps/partition-flapping.jsonl
$zabsim report --sweep $sweeps/leader-crash.jsonl --vs $sweeps/partition-flapping.jsonl \
  -o reports/reference/leader-crash-vs-partition-flapping

# A bug variant against the correct protocol on its own scenario (under client load).
$zabsim sweep scenarios/zk-3911.toml --seeds 0..3000 --variant zk-3911 --out $sweeps/zk-3911.jsonl
$zabsim sweep scenarios/zk-3911.toml --seeds 0..3000 --variant none --out $sweeps/zk-3911-none.jsonl
$zabsim report --sweep $sweeps/zk-3911.jsonl --vs $sweeps/zk-3911-none.jsonl -o reports/reference/zk-3911-vs-none

# The service-failover workload on the correct protocol: client failover times.
$zabsim sweep scenarios/service-failover.toml --seeds 0..2000 --variant none --out $sweeps/service-failover.jsonl
$zabsim report --sweep $sweeps/service-failover.jsonl -o reports/reference/service-failover

# A migration step by step against the same migration in one reconfig: unavailability per
# reconfig step, recovery, failovers.
$zabsim sweep scenarios/migrate-3-to-3.toml --seeds 0..2000 --variant none --out $sweeps/migrate-3-to-3.jsonl
$zabsim sweep scenarios/migrate-3-to-3-one-step.toml --seeds 0..2000 --variant none --out $sweeps/migrate-3-to-3-one-step.jsonl
$zabsim report --sweep $sweeps/migrate-3-to-3.jsonl --vs $sweeps/migrate-3-to-3-one-step.jsonl \
  -o reports/reference/migrate-3-to-3-vs-one-step

# The recipes (see the README's recipes section): the unfenced leader election against the
# fenced one over the same seeds, the fenced lock, and the naive ephemeral /config.
$zabsim sweep scenarios/recipe-leader-unfenced.toml --seeds 0..2000 --variant none --out $sweeps/recipe-leader-unfenced.jsonl
$zabsim sweep scenarios/recipe-leader-fenced.toml --seeds 0..2000 --variant none --out $sweeps/recipe-leader-fenced.jsonl
$zabsim report --sweep $sweeps/recipe-leader-unfenced.jsonl --vs $sweeps/recipe-leader-fenced.jsonl \
  -o reports/reference/recipe-leader-unfenced-vs-fenced
$zabsim sweep scenarios/recipe-lock-fenced.toml --seeds 0..2000 --variant none --out $sweeps/recipe-lock-fenced.jsonl
$zabsim sweep scenarios/recipe-leader-naive.toml --seeds 0..2000 --variant none --out $sweeps/recipe-leader-naive.jsonl
$zabsim report --sweep $sweeps/recipe-lock-fenced.jsonl --vs $sweeps/recipe-leader-naive.jsonl \
  -o reports/reference/recipe-lock-fenced-vs-leader-naive
