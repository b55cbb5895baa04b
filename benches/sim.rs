//! Simulator speed: events per second on one core for each shipped scenario, seeds per
//! second for `leader-crash`, and the checker's cost (on vs off).
//!
//! `cargo bench --bench sim`; CI runs `cargo bench --no-run` so these keep compiling.

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use std::path::PathBuf;
use zabsim::{run, RunOptions, Scenario};

fn scenario(name: &str) -> Scenario {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("scenarios").join(format!("{name}.toml"));
    Scenario::load(&p).unwrap_or_else(|e| panic!("{e}"))
}

/// Events one batch of seeds produces (the same every time: runs are deterministic).
fn events_of(s: &Scenario, seeds: std::ops::Range<u64>, check: bool) -> u64 {
    seeds
        .map(|seed| {
            let mut o = RunOptions::new(seed);
            o.check = check;
            run(s, o).events
        })
        .sum()
}

fn events_per_second(c: &mut Criterion) {
    let mut g = c.benchmark_group("events");
    for name in ["election-basic", "leader-crash", "partition-flapping", "zk-1419"] {
        let s = scenario(name);
        let seeds = if name == "zk-1419" { 0..1 } else { 0..20 };
        g.throughput(Throughput::Elements(events_of(&s, seeds.clone(), true)));
        g.bench_with_input(BenchmarkId::from_parameter(name), &s, |b, s| b.iter(|| events_of(s, seeds.clone(), true)));
    }
    g.finish();
}

fn seeds_per_second(c: &mut Criterion) {
    let mut g = c.benchmark_group("seeds");
    let s = scenario("leader-crash");
    g.throughput(Throughput::Elements(20));
    g.bench_function("leader-crash", |b| b.iter(|| events_of(&s, 0..20, true)));
    g.finish();
}

fn checker_overhead(c: &mut Criterion) {
    let mut g = c.benchmark_group("checker");
    let s = scenario("partition-flapping");
    for check in [true, false] {
        let label = if check { "on" } else { "off" };
        g.bench_with_input(BenchmarkId::new("partition-flapping", label), &check, |b, &check| {
            b.iter(|| events_of(&s, 0..20, check))
        });
    }
    g.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(20).measurement_time(std::time::Duration::from_secs(5));
    targets = events_per_second, seeds_per_second, checker_overhead
}
criterion_main!(benches);
