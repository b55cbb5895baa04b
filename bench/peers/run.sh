#!/usr/bin/env bash
# The peer benchmark: zabsim's engine against a bare event loop, turmoil, madsim and
# stateright on one workload, interleaved (zabsim, peer, zabsim, peer, ...), CPU time per run.
# Opt-in: its own workspace, never built by the root's `cargo test` or by CI.
#
#   bench/peers/run.sh [--pairs N] [--engines floor,turmoil,madsim,stateright-walk,stateright-bfs]
#
# Builds in release with one job (CARGO_TARGET_DIR is honoured; madsim, which needs
# `--cfg madsim` for every crate it builds, gets a target dir of its own below it).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
target="${CARGO_TARGET_DIR:-$here/target}"
cd "$here"
cargo build --release -j1 --locked -p peers --target-dir "$target"
RUSTFLAGS="--cfg madsim" cargo build --release -j1 --locked -p peers-madsim --target-dir "$target/madsim-cfg"
exec "$target/release/peers" bench --madsim "$target/madsim-cfg/release/peers-madsim" "$@"
