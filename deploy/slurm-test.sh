#!/usr/bin/env bash
# Runs deploy/slurm-sweep.sh as a real Slurm job array and checks that the merged shards
# are byte for byte the file one local sweep writes. .ci/run runs it; locally:
#   deploy/slurm-test.sh
# It uses the cluster SLURM_CONF names when that is set, and otherwise the one-node cluster
# of deploy/slurm-local.sh (installed and started when missing, stopped again afterwards
# if this run started it; ZABSIM_SLURM_KEEP=1 leaves it up for the next run).
#
# Environment: ZABSIM (a zabsim binary; default: build the dev one), ZABSIM_SLURM_SHARDS
# (array tasks, default 4), ZABSIM_SLURM_SEEDS (default 0..1000), ZABSIM_SLURM_SCENARIO
# (default scenarios/leader-crash.toml), ZABSIM_SLURM_TIMEOUT_S (how long the array may take
# from submission, default 300).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
shards=${ZABSIM_SLURM_SHARDS:-4}
seeds=${ZABSIM_SLURM_SEEDS:-0..1000}
scenario=${ZABSIM_SLURM_SCENARIO:-scenarios/leader-crash.toml}
timeout_s=${ZABSIM_SLURM_TIMEOUT_S:-300}
name=$(basename "$scenario" .toml)
t0=$SECONDS

fail() {
  echo "slurm-test: FAILED: $*" >&2
  local f
  for f in "$work"/slurm-*.log; do
    [ -f "$f" ] || continue
    echo "--- $f" >&2
    tail -n 20 "$f" >&2
  done
  if [ -n "${jobid:-}" ]; then
    scontrol -o show job "$jobid" 2>/dev/null |
      sed -E 's/.* ArrayTaskId=([^ ]*) .* JobState=([^ ]*) Reason=([^ ]*) .* ExitCode=([^ ]*) .*/task \1: \2 (\3, exit code \4)/' >&2 || true
  fi
  if [ -z "${user_conf:-}" ]; then
    local log
    for log in slurmctld slurmd; do
      echo "--- $(dirname "$SLURM_CONF")/$log.log (last 20 lines)" >&2
      tail -n 20 "$(dirname "$SLURM_CONF")/$log.log" >&2 2>/dev/null || true
    done
  fi
  echo "slurm-test: files kept in $work" >&2
  exit 1
}

# The dev build: the one `cargo test` leaves (the sweep here takes about a second with it).
if [ -n "${ZABSIM:-}" ]; then
  bin=$(realpath "$ZABSIM")
else
  cargo build -q -p zabsim
  bin="$(realpath "${CARGO_TARGET_DIR:-target}")/debug/zabsim"
fi
[ -x "$bin" ] || {
  echo "slurm-test: no zabsim binary at $bin" >&2
  exit 1
}

work=$(mktemp -d /tmp/zabsim-slurm-test.XXXXXX)
user_conf=${SLURM_CONF:-}
stop_cluster=""
if [ -n "$user_conf" ]; then
  echo "slurm-test: using the cluster of SLURM_CONF=$user_conf"
else
  "$root/deploy/slurm-local.sh" up | tee "$work/up.out" || {
    echo "slurm-test: FAILED: could not bring up the local cluster" >&2
    rm -rf "$work"
    exit 1
  }
  SLURM_CONF=$(sed -n 's/^export SLURM_CONF=//p' "$work/up.out")
  export SLURM_CONF
  grep -q '^slurm-local: reusing' "$work/up.out" || [ "${ZABSIM_SLURM_KEEP:-}" = 1 ] || stop_cluster=1
fi
cleanup() {
  if [ -n "${jobid:-}" ] && [ -z "${job_done:-}" ]; then
    scancel "$jobid" 2>/dev/null || true
    for _ in $(seq 1 20); do
      [ -z "$(squeue -h -j "$jobid" -o %i 2>/dev/null)" ] && break
      sleep 0.5
    done
  fi
  if [ -n "$stop_cluster" ]; then "$root/deploy/slurm-local.sh" down; fi
}
trap cleanup EXIT

# One CPU and little memory per task, so that every task fits on a small node; the log
# directory must exist before the job starts.
jobid=$(sbatch --parsable --array="0-$((shards - 1))" --cpus-per-task=1 --mem=256M --time=00:10:00 \
  --job-name=zabsim-slurm-test --chdir="$root" --output="$work/slurm-%A_%a.log" \
  --export="ALL,SCENARIO=$scenario,SEEDS=$seeds,SHARDS=$shards,JOBS=1,OUT_DIR=$work/shards,ZABSIM=$bin" \
  deploy/slurm-sweep.sh) || fail "sbatch refused the job"
jobid=${jobid%%;*}
echo "slurm-test: submitted job array $jobid ($shards tasks: $scenario, seeds $seeds)"

deadline=$((SECONDS + timeout_s))
while [ -n "$(squeue -h -j "$jobid" -o %i 2>/dev/null)" ]; do
  [ "$SECONDS" -lt "$deadline" ] || fail "job array $jobid not done after ${timeout_s}s"
  sleep 1
done
job_done=1

# Every task must have completed (exit 0); scontrol keeps finished jobs for MinJobAge.
states=$(scontrol -o show job "$jobid" | grep -o 'JobState=[A-Z_]*' | sort | uniq -c | tr -s ' \n' ' ')
[ "$states" = " $shards JobState=COMPLETED " ] || fail "job array $jobid ended with:$states"

files=()
for k in $(seq 0 $((shards - 1))); do
  f="$work/shards/$name-$k.jsonl"
  [ -s "$f" ] || fail "task $k wrote no $f"
  files+=("$f")
done
"$bin" merge "${files[@]}" -o "$work/merged.jsonl" || fail "zabsim merge failed"
"$bin" sweep "$scenario" --seeds "$seeds" --out "$work/local.jsonl" --json >/dev/null ||
  fail "the local sweep failed"
cmp "$work/merged.jsonl" "$work/local.jsonl" || fail "the merged shards differ from one local sweep"
lines=$(wc -l <"$work/local.jsonl")
[ "$lines" -gt 0 ] || fail "the local sweep wrote no lines"
rm -rf "$work"
echo "slurm-test: $shards array tasks merged = one local sweep, $lines seeds byte for byte ($((SECONDS - t0)) s)"
