//! The `zabsim` command line.

use crate::checker::Invariant;
use crate::cluster::{run, RunOptions};
use crate::scenario::{elide_long_words, ms_to_us, Scenario, TIME_MS_MAX};
use crate::sweep::{sweep, SweepOptions};
use clap::{Parser, Subcommand};
use std::io::{BufWriter, IsTerminal, Write};
use std::ops::Range;
use std::path::PathBuf;
use std::process::ExitCode;
use zab::release::Release;
use zab::Variant;

/// `println!` that ignores a closed stdout (`zabsim ... | head`) instead of panicking.
macro_rules! outln {
    ($($t:tt)*) => {{
        let _ = writeln!(std::io::stdout(), $($t)*);
    }};
}

/// `print!` that ignores a closed stdout.
macro_rules! out {
    ($($t:tt)*) => {{
        let _ = write!(std::io::stdout(), $($t)*);
    }};
}

/// Exit status for a run or sweep that found what it should not (or missed what it should).
const EXIT_FAILED: u8 = 1;
/// Exit status for bad input: a scenario file, a flag, a trace.
const EXIT_BAD_INPUT: u8 = 2;
/// Exit status for a run stopped because virtual time stopped advancing
/// (`TimeProgress`): the model looped, not the protocol broke.
const EXIT_STUCK: u8 = 3;

#[derive(Parser, Debug)]
#[command(name = "zabsim", version, about = "Deterministic simulation testbed for ZooKeeper's protocols")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Run one seed of a scenario and print a summary; exit 1 on a violation.
    Run {
        /// The scenario file (TOML).
        scenario: PathBuf,
        #[arg(long)]
        seed: u64,
        /// Write every event as JSON lines to FILE.
        #[arg(long, value_name = "FILE")]
        trace: Option<PathBuf>,
        /// Protocol variant, overriding the scenario's (`none` is the correct protocol).
        #[arg(long, value_name = "NAME")]
        variant: Option<Variant>,
        /// The ZooKeeper release the servers behave as (`3.8.0`, `3.9.3`, `3.9.4`),
        /// overriding the scenario's.
        #[arg(long, value_name = "VERSION")]
        zookeeper: Option<Release>,
        /// Stop at this simulated time (milliseconds, at most 2^40).
        #[arg(long, value_name = "MS", value_parser = clap::value_parser!(u64).range(0..=TIME_MS_MAX))]
        until_ms: Option<u64>,
        /// Print the report as JSON instead of the human summary.
        #[arg(long)]
        json: bool,
        /// Print the events from this one on (events are numbered from 1, as in traces).
        #[arg(long, value_name = "K")]
        from_event: Option<u64>,
        /// Print the events up to this one.
        #[arg(long, value_name = "L")]
        to_event: Option<u64>,
    },
    /// Re-run the run a trace records and check it is the same, event for event.
    Replay {
        /// A trace written by `run --trace`.
        trace: PathBuf,
    },
    /// Run many seeds over all cores and summarize.
    Sweep {
        scenario: PathBuf,
        /// Seeds to run: `A..B` (B excluded), `A..=B`, or one seed.
        #[arg(long, value_name = "A..B", value_parser = parse_seeds)]
        seeds: Range<u64>,
        /// Parallel jobs (default: all cores).
        #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..=1024))]
        jobs: Option<u64>,
        #[arg(long, value_name = "NAME")]
        variant: Option<Variant>,
        /// The ZooKeeper release, overriding the scenario's.
        #[arg(long, value_name = "VERSION")]
        zookeeper: Option<Release>,
        /// Print one JSON object instead of the human summary.
        #[arg(long)]
        json: bool,
        /// Run without the checker (to measure its cost).
        #[arg(long)]
        no_check: bool,
        /// Stop once a seed fails (to measure how fast a bug is found); with several jobs,
        /// the seeds already running finish.
        #[arg(long)]
        stop_on_failure: bool,
        /// Write one JSON line per seed with its outcome and metrics.
        #[arg(long, value_name = "FILE")]
        out: Option<PathBuf>,
        /// Run only shard K of N (every N-th seed from the K-th). `auto/N` takes K from
        /// JOB_COMPLETION_INDEX (Kubernetes Indexed Jobs) or SLURM_ARRAY_TASK_ID (Slurm).
        #[arg(long, value_name = "K/N", value_parser = parse_shard)]
        shard: Option<ShardSpec>,
    },
    /// Shrink a failing run to the fewest, shortest, earliest faults that still break the
    /// same invariant, and write it as a scenario file.
    Shrink {
        scenario: PathBuf,
        #[arg(long)]
        seed: u64,
        #[arg(long, value_name = "NAME")]
        variant: Option<Variant>,
        /// Where to write the shrunk scenario (default: NAME-shrunk-seedN.toml here).
        #[arg(short, long, value_name = "FILE")]
        out: Option<PathBuf>,
    },
    /// Merge the `--out` files of sweep shards into the one a single sweep writes.
    Merge {
        /// The shards' `--out` files.
        #[arg(required = true)]
        files: Vec<PathBuf>,
        /// Where to write the merged lines.
        #[arg(short, long, value_name = "FILE")]
        out: PathBuf,
    },
    /// Draw a trace as a space-time diagram: one self-contained HTML page (lanes per server,
    /// messages as arrows, roles and epochs, faults, the violation; zoom and filters).
    Diagram {
        /// A trace written by `run --trace`.
        trace: PathBuf,
        /// Where to write the page.
        #[arg(short, long, value_name = "FILE")]
        out: PathBuf,
        /// Only from this simulated time (microseconds).
        #[arg(long, value_name = "US")]
        from_us: Option<u64>,
        /// Only up to this simulated time (microseconds).
        #[arg(long, value_name = "US")]
        to_us: Option<u64>,
        /// Put at most this many messages in the page (the earliest of the window).
        #[arg(long, value_name = "N", default_value_t = crate::diagram::DiagramOptions::MAX_MESSAGES_DEFAULT)]
        max_messages: usize,
    },
    /// Write a report (index.md and SVG plots) from a sweep's `--out` file, optionally
    /// compared with another sweep's.
    Report {
        /// A sweep's `--out` file (one JSON line per seed).
        #[arg(long, value_name = "RESULTS.jsonl")]
        sweep: PathBuf,
        /// Another sweep's `--out` file to compare with.
        #[arg(long, value_name = "OTHER.jsonl")]
        vs: Option<PathBuf>,
        /// The directory to write into (created if missing).
        #[arg(short, long, value_name = "DIR")]
        out: PathBuf,
    },
    /// List the protocol variants and the ZooKeeper releases with what each turns on.
    Variants,
    /// Check a scenario file and print it with every default filled in.
    Check { scenario: PathBuf },
}

/// `--shard`: an index, or one to read from the batch engine's environment.
#[derive(Clone, Debug)]
struct ShardSpec {
    index: Option<u64>,
    count: u64,
}

/// Parses `K/N` or `auto/N`.
fn parse_shard(s: &str) -> Result<ShardSpec, String> {
    let (k, n) = s.split_once('/').ok_or_else(|| format!("`{s}` is not K/N"))?;
    let count: u64 = n.trim().parse().map_err(|e| format!("`{n}` is not a shard count: {e}"))?;
    if count == 0 {
        return Err("the shard count must be at least 1".into());
    }
    let index = match k.trim() {
        "auto" => None,
        k => {
            let i: u64 = k.parse().map_err(|e| format!("`{k}` is not a shard index: {e}"))?;
            if i >= count {
                return Err(format!("shard index {i} is not below the count {count}"));
            }
            Some(i)
        }
    };
    Ok(ShardSpec { index, count })
}

/// The environment variables batch engines set for an array task's index.
const SHARD_ENV: [&str; 2] = ["JOB_COMPLETION_INDEX", "SLURM_ARRAY_TASK_ID"];

fn resolve_shard(spec: ShardSpec) -> Result<(u64, u64), String> {
    let index = match spec.index {
        Some(i) => i,
        None => {
            let (var, value) = SHARD_ENV
                .iter()
                .find_map(|v| std::env::var(v).ok().map(|x| (*v, x)))
                .ok_or_else(|| format!("--shard auto/{}: neither {} is set", spec.count, SHARD_ENV.join(" nor ")))?;
            value.trim().parse().map_err(|e| format!("--shard auto: {var}=`{value}` is not an index: {e}"))?
        }
    };
    if index >= spec.count {
        return Err(format!("--shard: index {index} is not below the count {}", spec.count));
    }
    Ok((index, spec.count))
}

/// Parses `A..B`, `A..=B` or `N`.
fn parse_seeds(s: &str) -> Result<Range<u64>, String> {
    let num = |x: &str| x.trim().parse::<u64>().map_err(|e| format!("`{x}` is not a seed: {e}"));
    let r = if let Some((a, b)) = s.split_once("..=") {
        num(a)?..num(b)?.checked_add(1).ok_or("the last seed must be below 2^64-1")?
    } else if let Some((a, b)) = s.split_once("..") {
        num(a)?..num(b)?
    } else {
        let n = num(s)?;
        n..n.checked_add(1).ok_or("the last seed must be below 2^64-1")?
    };
    if r.start >= r.end {
        return Err(format!("`{s}` is an empty range"));
    }
    Ok(r)
}

fn load(path: &std::path::Path) -> Result<Scenario, ExitCode> {
    Scenario::load(path).map_err(|e| {
        eprintln!("error: {e}");
        ExitCode::from(EXIT_BAD_INPUT)
    })
}

pub fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) if e.use_stderr() => {
            // clap quotes the bad value: a 100 KB one is cut short.
            eprint!("{}", elide_long_words(&e.to_string()));
            return ExitCode::from(EXIT_BAD_INPUT);
        }
        Err(e) => {
            let _ = e.print();
            return ExitCode::SUCCESS;
        }
    };
    match cli.command {
        Command::Run { scenario, seed, trace, variant, zookeeper, until_ms, json, from_event, to_event } => {
            let window = (from_event.is_some() || to_event.is_some())
                .then(|| (from_event.unwrap_or(1), to_event.unwrap_or(u64::MAX)));
            cmd_run(scenario, seed, trace, (variant, zookeeper), until_ms, json, window)
        }
        Command::Replay { trace } => cmd_replay(trace),
        Command::Sweep { scenario, seeds, jobs, variant, zookeeper, json, no_check, stop_on_failure, out, shard } => {
            let shard = match shard.map(resolve_shard).transpose() {
                Ok(s) => s,
                Err(e) => {
                    eprintln!("error: {e}");
                    return ExitCode::from(EXIT_BAD_INPUT);
                }
            };
            let flags = SweepFlags { jobs, variant, zookeeper, json, no_check, stop_on_failure, out, shard };
            cmd_sweep(scenario, seeds, flags)
        }
        Command::Merge { files, out } => cmd_merge(files, out),
        Command::Diagram { trace, out, from_us, to_us, max_messages } => {
            cmd_diagram(trace, out, crate::diagram::DiagramOptions { from_us, to_us, max_messages })
        }
        Command::Report { sweep, vs, out } => cmd_report(sweep, vs, out),
        Command::Shrink { scenario, seed, variant, out } => cmd_shrink(scenario, seed, variant, out),
        Command::Variants => {
            for v in Variant::ALL {
                outln!("{:<10} {}", v.name(), v.description());
            }
            outln!();
            outln!("ZooKeeper releases (--zookeeper; {} by default), each read at its tag:", Release::default());
            for r in Release::ALL {
                outln!("{} ({})", r.name(), r.tag());
                for b in r.behaviours() {
                    outln!("  {b}");
                }
            }
            ExitCode::SUCCESS
        }
        Command::Check { scenario } => match load(&scenario) {
            Ok(s) => {
                out!("{}", s.to_toml());
                ExitCode::SUCCESS
            }
            Err(code) => code,
        },
    }
}

fn cmd_run(
    path: PathBuf,
    seed: u64,
    trace: Option<PathBuf>,
    (variant, zookeeper): (Option<Variant>, Option<Release>),
    until_ms: Option<u64>,
    json: bool,
    window: Option<(u64, u64)>,
) -> ExitCode {
    let scenario = match load(&path) {
        Ok(s) => s,
        Err(code) => return code,
    };
    let mut opts = RunOptions::new(seed);
    opts.variant = variant;
    opts.release = zookeeper;
    opts.until_us = until_ms.map(ms_to_us);
    opts.scenario_path = path.display().to_string();
    if let Some(t) = &trace {
        match std::fs::File::create(t) {
            Ok(f) => opts.trace = Some(Box::new(BufWriter::new(f))),
            Err(e) => {
                eprintln!("error: --trace {}: cannot create: {e}", t.display());
                return ExitCode::from(EXIT_BAD_INPUT);
            }
        }
    }
    let memory = crate::trace::SharedBuffer::default();
    if window.is_some() && trace.is_none() {
        opts.trace = Some(Box::new(memory.clone()));
    }
    let report = run(&scenario, opts);
    if let Some((from, to)) = window {
        let text = match &trace {
            Some(t) => std::fs::read_to_string(t).unwrap_or_default(),
            None => String::from_utf8_lossy(&memory.contents()).into_owned(),
        };
        print_window(&text, from, to);
    }
    if json {
        outln!("{}", serde_json::to_string_pretty(&report).expect("reports serialize"));
    } else {
        if report.violation.is_some() {
            let v = report.variant;
            // The replay command goes before the summary's last line, the trace hash.
            let text = report.to_string();
            let (body, last) = text.rsplit_once('\n').unwrap_or(("", &text));
            outln!("{body}");
            outln!("replay: zabsim run {} --seed {seed} --variant {v} --trace run.jsonl", path.display());
            outln!("{last}");
        } else {
            outln!("{report}");
        }
    }
    if let Some(e) = &report.trace_error {
        eprintln!("error: writing the trace failed: {e}");
        return ExitCode::from(EXIT_BAD_INPUT);
    }
    match &report.violation {
        Some(v) if v.invariant == Invariant::TimeProgress => ExitCode::from(EXIT_STUCK),
        Some(_) => ExitCode::from(EXIT_FAILED),
        None => ExitCode::SUCCESS,
    }
}

/// The options of `sweep` beyond the scenario and seeds.
struct SweepFlags {
    jobs: Option<u64>,
    variant: Option<Variant>,
    zookeeper: Option<Release>,
    json: bool,
    no_check: bool,
    stop_on_failure: bool,
    out: Option<PathBuf>,
    shard: Option<(u64, u64)>,
}

fn cmd_sweep(path: PathBuf, seeds: Range<u64>, flags: SweepFlags) -> ExitCode {
    let SweepFlags { jobs, variant, zookeeper, json, no_check, stop_on_failure, out, shard } = flags;
    let scenario = match load(&path) {
        Ok(s) => s,
        Err(code) => return code,
    };
    let jobs = jobs.map(|j| j as usize).unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
    let opts = SweepOptions {
        seeds,
        jobs,
        variant,
        release: zookeeper,
        progress: !json && std::io::stderr().is_terminal(),
        check: !no_check,
        stop_on_failure,
        shard,
    };
    let (summary, outcomes) = sweep(&scenario, &opts);
    if let Some(out) = &out {
        if let Err(e) = write_outcomes(out, &outcomes) {
            eprintln!("error: --out {}: {e}", out.display());
            return ExitCode::from(EXIT_BAD_INPUT);
        }
    }
    let mut stdout = std::io::stdout().lock();
    if json {
        let _ = writeln!(stdout, "{}", serde_json::to_string(&summary).expect("summaries serialize"));
    } else {
        let _ = writeln!(stdout, "{summary}");
        if let Some(first) = summary.failing_seeds.first() {
            let _ = writeln!(
                stdout,
                "replay the first: zabsim run {} --seed {first} --variant {}",
                path.display(),
                summary.variant
            );
        }
    }
    if summary.as_expected() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(EXIT_FAILED)
    }
}

fn write_outcomes(path: &std::path::Path, outcomes: &[crate::sweep::SeedOutcome]) -> std::io::Result<()> {
    let mut w = BufWriter::new(std::fs::File::create(path)?);
    for o in outcomes {
        writeln!(w, "{}", serde_json::to_string(o).expect("outcomes serialize"))?;
    }
    w.flush()
}

fn read_outcomes(path: &std::path::Path) -> Result<Vec<crate::sweep::SeedOutcome>, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: cannot read: {e}", path.display()))?;
    crate::trace::parse_json_lines(&text).map_err(|e| format!("{}: {e}", path.display()))
}

fn cmd_merge(files: Vec<PathBuf>, out: PathBuf) -> ExitCode {
    let mut shards = Vec::new();
    for f in &files {
        match read_outcomes(f) {
            Ok(o) => shards.push(o),
            Err(e) => {
                eprintln!("error: {e}");
                return ExitCode::from(EXIT_BAD_INPUT);
            }
        }
    }
    let merged = match crate::sweep::merge(shards) {
        Ok(m) => m,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(EXIT_BAD_INPUT);
        }
    };
    if let Err(e) = write_outcomes(&out, &merged) {
        eprintln!("error: -o {}: {e}", out.display());
        return ExitCode::from(EXIT_BAD_INPUT);
    }
    let failing: Vec<String> = merged.iter().filter(|o| o.violation.is_some()).map(|o| o.seed.to_string()).collect();
    outln!(
        "merged {} seeds from {} files into {}; {} failing{}",
        merged.len(),
        files.len(),
        out.display(),
        failing.len(),
        if failing.is_empty() { String::new() } else { format!(": {}", failing.join(", ")) }
    );
    ExitCode::SUCCESS
}

/// Prints the events numbered `from..=to`, each with the observations it caused.
fn print_window(text: &str, from: u64, to: u64) {
    let Ok(records) = crate::trace::parse_trace(text) else { return };
    let mut current = 0;
    outln!("events {from}..={}:", if to == u64::MAX { "end".to_string() } else { to.to_string() });
    for r in &records {
        match r {
            crate::trace::TraceRecord::Input { i, .. } => current = *i,
            crate::trace::TraceRecord::Fault { i, .. } => current = *i,
            _ => {}
        }
        let line = crate::summary::describe_record(r);
        if current >= from && current <= to && !line.is_empty() {
            match r {
                crate::trace::TraceRecord::Input { i, .. } => outln!("  #{i:<8}{line}"),
                _ => outln!("  {:9}{line}", ""),
            }
        }
    }
}

fn cmd_replay(path: PathBuf) -> ExitCode {
    use crate::trace::TraceRecord;
    let fail = |msg: String| {
        eprintln!("error: {}: {msg}", path.display());
        ExitCode::from(EXIT_BAD_INPUT)
    };
    let text = match std::fs::read_to_string(&path) {
        Ok(t) => t,
        Err(e) => return fail(format!("cannot read: {e}")),
    };
    let recorded = match crate::trace::parse_trace(&text) {
        Ok(r) => r,
        Err(e) => return fail(e),
    };
    let Some(TraceRecord::Header(h)) = recorded.first() else {
        return fail("the first line is not a trace header".into());
    };
    if h.tool_version != env!("CARGO_PKG_VERSION") {
        eprintln!("warning: the trace was written by zabsim {}, this is {}", h.tool_version, env!("CARGO_PKG_VERSION"));
    }
    let scenario = match Scenario::load(std::path::Path::new(&h.scenario_path)) {
        Ok(s) => s,
        Err(e) => return fail(format!("its scenario: {e}")),
    };
    let hash = crate::trace::hash_hex(scenario.content_hash());
    if hash != h.scenario_hash {
        return fail(format!(
            "the scenario {} changed since the trace was written (content hash {hash}, the trace has {})",
            h.scenario_path, h.scenario_hash
        ));
    }
    let variant = match h.variant.parse::<Variant>() {
        Ok(v) => v,
        Err(e) => return fail(e),
    };
    let memory = crate::trace::SharedBuffer::default();
    let release = match h.zookeeper.parse::<Release>() {
        Ok(r) => r,
        Err(e) => return fail(e),
    };
    let mut opts = RunOptions::new(h.seed);
    opts.variant = Some(variant);
    opts.release = Some(release);
    opts.scenario_path = h.scenario_path.clone();
    opts.trace = Some(Box::new(memory.clone()));
    let report = run(&scenario, opts);
    let again = match crate::trace::parse_trace(&String::from_utf8_lossy(&memory.contents())) {
        Ok(r) => r,
        Err(e) => return fail(format!("the new run's trace: {e}")),
    };
    let recorded_hash = recorded.iter().rev().find_map(|r| match r {
        TraceRecord::End { trace_hash, .. } => Some(trace_hash.clone()),
        _ => None,
    });
    let now_hash = crate::trace::hash_hex(report.trace_hash);
    match recorded.iter().zip(&again).position(|(a, b)| a != b) {
        None if recorded.len() == again.len() && recorded_hash.as_deref() == Some(now_hash.as_str()) => {
            outln!(
                "replayed {} seed {} variant {}: {} events, trace-hash {now_hash} matches",
                h.scenario,
                h.seed,
                variant,
                report.events
            );
            ExitCode::SUCCESS
        }
        first => {
            let at = first.unwrap_or(recorded.len().min(again.len()));
            outln!("the replay differs from the trace at line {}:", at + 1);
            let show = |r: Option<&TraceRecord>| {
                r.map_or("(nothing)".to_string(), |r| serde_json::to_string(r).expect("records serialize"))
            };
            outln!("  recorded: {}", show(recorded.get(at)));
            outln!("  replayed: {}", show(again.get(at)));
            outln!("trace-hash recorded {}, replayed {now_hash}", recorded_hash.unwrap_or_else(|| "(none)".into()));
            ExitCode::from(EXIT_FAILED)
        }
    }
}

fn cmd_diagram(trace: PathBuf, out: PathBuf, opts: crate::diagram::DiagramOptions) -> ExitCode {
    let page = match crate::diagram::render(&trace, &opts) {
        Ok(p) => p,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(EXIT_BAD_INPUT);
        }
    };
    if let Err(e) = std::fs::write(&out, &page) {
        eprintln!("error: -o {}: cannot write: {e}", out.display());
        return ExitCode::from(EXIT_BAD_INPUT);
    }
    outln!("wrote {} ({} bytes): open it in a browser", out.display(), page.len());
    ExitCode::SUCCESS
}

fn cmd_report(sweep: PathBuf, vs: Option<PathBuf>, out: PathBuf) -> ExitCode {
    let fail = |e: String| {
        eprintln!("error: {e}");
        ExitCode::from(EXIT_BAD_INPUT)
    };
    let main = match crate::report::load(&sweep) {
        Ok(s) => s,
        Err(e) => return fail(e),
    };
    let other = match vs.as_deref().map(crate::report::load).transpose() {
        Ok(o) => o,
        Err(e) => return fail(e),
    };
    let report = crate::report::build(&main, other.as_ref(), &out.display().to_string());
    if let Err(e) = report.write(&out) {
        return fail(format!("-o {e}"));
    }
    let names: Vec<&str> = report.files.iter().map(|f| f.0.as_str()).collect();
    outln!("wrote {}: {}", out.display(), names.join(", "));
    ExitCode::SUCCESS
}

fn cmd_shrink(path: PathBuf, seed: u64, variant: Option<Variant>, out: Option<PathBuf>) -> ExitCode {
    let scenario = match load(&path) {
        Ok(s) => s,
        Err(code) => return code,
    };
    let shrunk = match crate::shrink::shrink(&scenario, seed, variant) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(EXIT_FAILED);
        }
    };
    let out = out.unwrap_or_else(|| PathBuf::from(format!("{}.toml", shrunk.scenario.name)));
    if let Err(e) = std::fs::write(&out, shrunk.scenario.to_toml()) {
        eprintln!("error: -o {}: {e}", out.display());
        return ExitCode::from(EXIT_BAD_INPUT);
    }
    outln!(
        "shrunk {} seed {seed}: still breaks {}; faults {} -> {} ({} removed), events {} -> {} ({} removed), {} runs",
        scenario.name,
        shrunk.invariant,
        shrunk.faults_before,
        shrunk.faults_after,
        shrunk.faults_before - shrunk.faults_after,
        shrunk.events_before,
        shrunk.events_after,
        shrunk.events_before.saturating_sub(shrunk.events_after),
        shrunk.runs
    );
    outln!("wrote {}", out.display());
    outln!("run it: zabsim run {} --seed {seed}", out.display());
    ExitCode::SUCCESS
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seed_ranges_parse() {
        assert_eq!(parse_seeds("0..10").unwrap(), 0..10);
        assert_eq!(parse_seeds("3..=5").unwrap(), 3..6);
        assert_eq!(parse_seeds("7").unwrap(), 7..8);
        assert!(parse_seeds("5..3").unwrap_err().contains("empty"));
        assert!(parse_seeds("a..3").unwrap_err().contains("not a seed"));
    }
}
