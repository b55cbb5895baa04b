//! The `zabsim` command line.

use crate::run::cluster::{run, RunOptions};
use crate::scenario::{elide_long_words, ms_to_us, Scenario, TIME_MS_MAX};
use crate::tools::sweep::{sweep_into, SeedOutcome, SweepOptions, Tally};
use clap::{Parser, Subcommand};
use std::io::{BufWriter, IsTerminal, Write};
use std::ops::Range;
use std::path::{Path, PathBuf};
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

mod explore;

/// Exit status for a run or sweep that found what it should not (or missed what it should).
pub(crate) const EXIT_FAILED: u8 = 1;
/// Exit status for bad input: a scenario file, a flag, a trace.
pub(crate) const EXIT_BAD_INPUT: u8 = 2;

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
        /// Write one JSON line per seed with its outcome and metrics, in seed order, as the
        /// seeds finish.
        #[arg(long, value_name = "FILE")]
        out: Option<PathBuf>,
        /// Skip the seeds whose lines `--out` already holds (a sweep that was interrupted),
        /// after checking they are this sweep's, and append the rest.
        #[arg(long, requires = "out")]
        resume: bool,
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
    /// Coverage-guided fault search: mutate the fault scripts and random fault mixes of
    /// runs that reached new abstract protocol states; write the first violation as a
    /// scenario file.
    Fuzz {
        scenario: PathBuf,
        /// The campaign seed: the same seed gives the same campaign, whatever `--jobs`.
        #[arg(long, default_value_t = 0)]
        campaign: u64,
        /// Stop after this many runs.
        #[arg(long, value_name = "N", default_value_t = 10_000, value_parser = clap::value_parser!(u64).range(1..=1_000_000_000))]
        runs: u64,
        /// Parallel jobs (default: all cores).
        #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..=1024))]
        jobs: Option<u64>,
        #[arg(long, value_name = "NAME")]
        variant: Option<Variant>,
        /// Go on after the first violation (to measure coverage for `--runs` runs).
        #[arg(long)]
        keep_going: bool,
        /// Print one JSON object instead of the human summary.
        #[arg(long)]
        json: bool,
        /// Where to write the first finding (default: NAME-fuzz-cCAMPAIGN-runK.toml here).
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
        #[arg(long, value_name = "N", default_value_t = crate::present::diagram::DiagramOptions::MAX_MESSAGES_DEFAULT)]
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
    /// Search every order of a small scenario's steps (deliveries, timers, fsyncs, and
    /// the crashes, restarts, writes and partitions its budgets allow) for a violation,
    /// with worlds deduplicated by their hash; exit 1 on a violation.
    Explore(explore::ExploreArgs),
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

pub(crate) fn load(path: &std::path::Path) -> Result<Scenario, ExitCode> {
    Scenario::load(path).map_err(bad_input)
}

/// clap's error text on one line: its message lines, without the usage and the help hint.
fn one_line(clap_error: &str) -> String {
    clap_error
        .lines()
        .map(str::trim)
        .take_while(|l| !l.starts_with("Usage:") && !l.starts_with("For more information"))
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

pub fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) if e.use_stderr() => {
            // One line, as every other refusal: clap's usage and help trailer go, and the
            // bad value it quotes is cut short when long.
            eprintln!("{}", elide_long_words(&one_line(&e.to_string())));
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
        Command::Sweep {
            scenario,
            seeds,
            jobs,
            variant,
            zookeeper,
            json,
            no_check,
            stop_on_failure,
            out,
            resume,
            shard,
        } => {
            let shard = match shard.map(resolve_shard).transpose() {
                Ok(s) => s,
                Err(e) => return bad_input(e),
            };
            let flags = SweepFlags { jobs, variant, zookeeper, json, no_check, stop_on_failure, out, resume, shard };
            cmd_sweep(scenario, seeds, flags)
        }
        Command::Merge { files, out } => cmd_merge(files, out),
        Command::Fuzz { scenario, campaign, runs, jobs, variant, keep_going, json, out } => {
            cmd_fuzz(scenario, FuzzFlags { campaign, runs, jobs, variant, keep_going, json, out })
        }
        Command::Diagram { trace, out, from_us, to_us, max_messages } => {
            cmd_diagram(trace, out, crate::present::diagram::DiagramOptions { from_us, to_us, max_messages })
        }
        Command::Report { sweep, vs, out } => cmd_report(sweep, vs, out),
        Command::Shrink { scenario, seed, variant, out } => cmd_shrink(scenario, seed, variant, out),
        Command::Explore(args) => explore::cmd_explore(args),
        Command::Variants => {
            let width = Variant::ALL.iter().map(|v| v.name().len()).max().unwrap_or(0);
            for v in Variant::ALL {
                outln!("{:<width$} {}", v.name(), v.description());
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

/// Refuses to write `out` over one of the command's inputs (`--trace scenario.toml` once
/// replaced the scenario with the trace): the same file, however it is named (a symlink, a
/// hard link, `./x`). An output that does not exist yet is no input.
pub(crate) fn refuse_input(flag: &str, out: &Path, inputs: &[&Path]) -> Result<(), String> {
    match inputs.iter().find(|i| same_file(out, i)) {
        Some(input) => {
            Err(format!("{flag} {}: is the input {}: refusing to overwrite it", out.display(), input.display()))
        }
        None => Ok(()),
    }
}

fn same_file(a: &Path, b: &Path) -> bool {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        match (std::fs::metadata(a), std::fs::metadata(b)) {
            (Ok(x), Ok(y)) => x.dev() == y.dev() && x.ino() == y.ino(),
            _ => false,
        }
    }
    #[cfg(not(unix))]
    {
        matches!((std::fs::canonicalize(a), std::fs::canonicalize(b)), (Ok(x), Ok(y)) if x == y)
    }
}

/// Prints bad input the one way: `error: ...`, exit 2.
/// Refuses an input on one line; a long value the message quotes is cut short, whoever
/// wrote the message.
pub(crate) fn bad_input(e: impl std::fmt::Display) -> ExitCode {
    eprintln!("error: {}", elide_long_words(&e.to_string()));
    ExitCode::from(EXIT_BAD_INPUT)
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
    let mut sinks: Vec<Box<dyn Write + Send + Sync>> = Vec::new();
    if let Some(t) = &trace {
        if let Err(e) = refuse_input("--trace", t, &[&path]) {
            return bad_input(e);
        }
        match std::fs::File::create(t) {
            Ok(f) => sinks.push(Box::new(BufWriter::new(f))),
            Err(e) => return bad_input(format!("--trace {}: cannot create: {e}", t.display())),
        }
    }
    if let Some((from, to)) = window {
        outln!("events {from}..={}:", if to == u64::MAX { "end".to_string() } else { to.to_string() });
        sinks.push(Box::new(BufWriter::new(EventWindow::new(from, to))));
    }
    opts.trace = match sinks.len() {
        0 => None,
        1 => sinks.pop(),
        _ => Some(Box::new(Tee(sinks))),
    };
    let report = run(&scenario, opts);
    if json {
        outln!("{}", serde_json::to_string_pretty(&report).expect("reports serialize"));
    } else if report.violation.is_some() {
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
    if let Some(e) = &report.trace_error {
        return bad_input(format!("writing the trace failed: {e}"));
    }
    // TimeProgress (the model looped) is a violation like the others: the summary names it.
    if report.violation.is_some() {
        ExitCode::from(EXIT_FAILED)
    } else {
        ExitCode::SUCCESS
    }
}

/// Writes a trace to several sinks (the `--trace` file and an event window).
struct Tee(Vec<Box<dyn Write + Send + Sync>>);

impl Write for Tee {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        for w in &mut self.0 {
            w.write_all(b)?;
        }
        Ok(b.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.0.iter_mut().try_for_each(|w| w.flush())
    }
}

/// `run --from-event K --to-event L`: prints events K to L, each with the observations it
/// caused, from the trace as the run writes it. Nothing is kept, so a window of a long run
/// costs no memory.
struct EventWindow {
    from: u64,
    to: u64,
    /// The event the lines being written belong to.
    current: u64,
    partial: Vec<u8>,
}

/// What the window needs of a line to know which event it belongs to.
#[derive(serde::Deserialize)]
struct EventNumber {
    kind: String,
    i: Option<u64>,
}

impl EventWindow {
    fn new(from: u64, to: u64) -> EventWindow {
        EventWindow { from, to, current: 0, partial: Vec::new() }
    }

    fn line(&mut self, line: &[u8]) {
        if self.current > self.to {
            return;
        }
        let Ok(n) = serde_json::from_slice::<EventNumber>(line) else { return };
        if matches!(n.kind.as_str(), "input" | "fault") {
            self.current = n.i.unwrap_or(self.current);
        }
        if self.current < self.from || self.current > self.to {
            return;
        }
        let Ok(r) = serde_json::from_slice::<crate::trace::TraceRecord>(line) else { return };
        let text = crate::present::summary::describe_record(&r);
        if text.is_empty() {
            return;
        }
        match r {
            crate::trace::TraceRecord::Input { i, .. } => outln!("  #{i:<8}{text}"),
            _ => outln!("  {:9}{text}", ""),
        }
    }
}

impl Write for EventWindow {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        let mut rest = bytes;
        while let Some(i) = rest.iter().position(|b| *b == b'\n') {
            if self.partial.is_empty() {
                self.line(&rest[..i]);
            } else {
                let mut line = std::mem::take(&mut self.partial);
                line.extend_from_slice(&rest[..i]);
                self.line(&line);
                line.clear();
                self.partial = line;
            }
            rest = &rest[i + 1..];
        }
        self.partial.extend_from_slice(rest);
        Ok(bytes.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
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
    resume: bool,
    shard: Option<(u64, u64)>,
}

fn cmd_sweep(path: PathBuf, seeds: Range<u64>, flags: SweepFlags) -> ExitCode {
    let SweepFlags { jobs, variant, zookeeper, json, no_check, stop_on_failure, out, resume, shard } = flags;
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
    let mut done = Tally::default();
    let mut file = None;
    if let Some(out) = &out {
        match open_out(out, &path, resume, &scenario, &opts) {
            Ok((f, d)) => (file, done) = (Some(f), d),
            Err(e) => return bad_input(e),
        }
    }
    let out_name = out.as_ref().map(|o| o.display().to_string()).unwrap_or_default();
    // Each line is flushed as it is written: an interrupted sweep leaves every seed it
    // handed out, and `--resume` goes on from there.
    let mut each = |o: SeedOutcome| -> Result<(), String> {
        let Some(w) = file.as_mut() else { return Ok(()) };
        let line = serde_json::to_string(&o).expect("outcomes serialize");
        writeln!(w, "{line}").and_then(|()| w.flush()).map_err(|e| format!("--out {out_name}: cannot write: {e}"))
    };
    let summary = match sweep_into(&scenario, &opts, done, &mut each) {
        Ok(s) => s,
        Err(e) => return bad_input(e),
    };
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

/// Opens `sweep --out`: created afresh, or with `--resume` checked (see
/// [`crate::tools::sweep::read_resumed`]), cut after its last complete line and appended to.
fn open_out(
    out: &Path,
    scenario_path: &Path,
    resume: bool,
    scenario: &crate::scenario::Scenario,
    opts: &SweepOptions,
) -> Result<(BufWriter<std::fs::File>, Tally), String> {
    use std::io::Seek;
    refuse_input("--out", out, &[scenario_path])?;
    let name = out.display();
    if !resume {
        let f = std::fs::File::create(out).map_err(|e| format!("--out {name}: cannot create: {e}"))?;
        return Ok((BufWriter::new(f), Tally::default()));
    }
    let r = crate::tools::sweep::read_resumed(out, scenario, opts).map_err(|e| format!("--resume: {e}"))?;
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(out)
        .map_err(|e| format!("--out {name}: cannot open: {e}"))?;
    f.set_len(r.keep_bytes).map_err(|e| format!("--out {name}: cannot cut its incomplete last line: {e}"))?;
    f.seek(std::io::SeekFrom::End(0)).map_err(|e| format!("--out {name}: {e}"))?;
    if r.dropped_partial {
        eprintln!("--resume: {name}: its last line was incomplete (the sweep stopped while writing it): it runs again");
    }
    Ok((BufWriter::new(f), r.done))
}

fn cmd_merge(files: Vec<PathBuf>, out: PathBuf) -> ExitCode {
    let inputs: Vec<&Path> = files.iter().map(PathBuf::as_path).collect();
    if let Err(e) = refuse_input("-o", &out, &inputs) {
        return bad_input(e);
    }
    // Written beside the output and renamed into place: a refused merge leaves no half file.
    let partial = out.with_file_name(format!(
        ".{}.partial-{}",
        out.file_name().map_or("merge".into(), |n| n.to_string_lossy()),
        std::process::id()
    ));
    let file = match std::fs::File::create(&partial) {
        Ok(f) => f,
        Err(e) => return bad_input(format!("-o {}: cannot create: {e}", out.display())),
    };
    let merged = crate::tools::sweep::merge_files(&files, &mut BufWriter::new(file)).and_then(|m| {
        std::fs::rename(&partial, &out).map_err(|e| format!("-o {}: cannot write: {e}", out.display()))?;
        Ok(m)
    });
    let (seeds, failing) = match merged {
        Ok(m) => m,
        Err(e) => {
            let _ = std::fs::remove_file(&partial);
            return bad_input(e);
        }
    };
    let failing: Vec<String> = failing.iter().map(u64::to_string).collect();
    outln!(
        "merged {seeds} seeds from {} files into {}; {} failing{}",
        files.len(),
        out.display(),
        failing.len(),
        if failing.is_empty() { String::new() } else { format!(": {}", failing.join(", ")) }
    );
    ExitCode::SUCCESS
}

fn cmd_replay(path: PathBuf) -> ExitCode {
    let recorded = match crate::tools::replay::Recorded::open(&path) {
        Ok(r) => r,
        Err(e) => return bad_input(e),
    };
    let h = recorded.header().clone();
    if h.tool_version != env!("CARGO_PKG_VERSION") {
        let written_by = elide_long_words(&h.tool_version);
        eprintln!("warning: the trace was written by zabsim {written_by}, this is {}", env!("CARGO_PKG_VERSION"));
    }
    match recorded.replay() {
        Err(e) => bad_input(e),
        Ok(crate::tools::replay::Verdict::Same { events, trace_hash }) => {
            let what = match h.moves.len() {
                0 => format!("seed {}", h.seed),
                n => format!("{n} explored moves"),
            };
            outln!(
                "replayed {} {what} variant {}: {events} events, trace-hash {trace_hash} matches",
                h.scenario,
                h.variant
            );
            ExitCode::SUCCESS
        }
        Ok(crate::tools::replay::Verdict::Differs { line, recorded, replayed, recorded_hash, replayed_hash, hint }) => {
            outln!("the replay differs from the trace at line {line}:");
            outln!("  recorded: {}", recorded.as_deref().unwrap_or("(nothing)"));
            outln!("  replayed: {}", replayed.as_deref().unwrap_or("(nothing)"));
            outln!("trace-hash recorded {}, replayed {replayed_hash}", recorded_hash.as_deref().unwrap_or("(none)"));
            if let Some(hint) = hint {
                outln!("hint: {hint}");
            }
            ExitCode::from(EXIT_FAILED)
        }
    }
}

fn cmd_diagram(trace: PathBuf, out: PathBuf, opts: crate::present::diagram::DiagramOptions) -> ExitCode {
    if let Err(e) = refuse_input("-o", &out, &[&trace]) {
        return bad_input(e);
    }
    let page = match crate::present::diagram::render(&trace, &opts) {
        Ok(p) => p,
        Err(e) => return bad_input(e),
    };
    if let Err(e) = std::fs::write(&out, &page) {
        return bad_input(format!("-o {}: cannot write: {e}", out.display()));
    }
    outln!("wrote {} ({} bytes): open it in a browser", out.display(), page.len());
    ExitCode::SUCCESS
}

fn cmd_report(sweep: PathBuf, vs: Option<PathBuf>, out: PathBuf) -> ExitCode {
    let main = match crate::present::report::load(&sweep) {
        Ok(s) => s,
        Err(e) => return bad_input(e),
    };
    let other = match vs.as_deref().map(crate::present::report::load).transpose() {
        Ok(o) => o,
        Err(e) => return bad_input(e),
    };
    let report = crate::present::report::build(&main, other.as_ref(), &out.display().to_string());
    let inputs: Vec<&Path> = std::iter::once(sweep.as_path()).chain(vs.as_deref()).collect();
    for (name, _) in &report.files {
        if let Err(e) = refuse_input("-o", &out.join(name), &inputs) {
            return bad_input(e);
        }
    }
    if let Err(e) = report.write(&out) {
        return bad_input(format!("-o {e}"));
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
    // Checked before shrinking, which takes a while, and again for the default name below.
    if let Some(Err(e)) = out.as_deref().map(|o| refuse_input("-o", o, &[&path])) {
        return bad_input(e);
    }
    let shrunk = match crate::tools::shrink::shrink(&scenario, seed, variant) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(EXIT_FAILED);
        }
    };
    let out = out.unwrap_or_else(|| PathBuf::from(format!("{}.toml", shrunk.scenario.name)));
    if let Err(e) = refuse_input("-o", &out, &[&path]) {
        return bad_input(e);
    }
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

/// The options of `fuzz` beyond the scenario.
struct FuzzFlags {
    campaign: u64,
    runs: u64,
    jobs: Option<u64>,
    variant: Option<Variant>,
    keep_going: bool,
    json: bool,
    out: Option<PathBuf>,
}

/// `zabsim fuzz`: a coverage-guided campaign; the first finding is written as a scenario
/// file that `zabsim run FILE --seed N` replays. Exit 1 when it found a violation.
fn cmd_fuzz(path: PathBuf, flags: FuzzFlags) -> ExitCode {
    use crate::tools::fuzz::{finding_scenario, fuzz, FuzzOptions};
    let scenario = match load(&path) {
        Ok(s) => s,
        Err(code) => return code,
    };
    if let Some(Err(e)) = flags.out.as_deref().map(|o| refuse_input("-o", o, &[&path])) {
        return bad_input(e);
    }
    let jobs =
        flags.jobs.map(|j| j as usize).unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
    let opts = FuzzOptions {
        campaign: flags.campaign,
        runs: flags.runs,
        jobs,
        variant: flags.variant,
        stop_on_failure: !flags.keep_going,
    };
    let bar = if !flags.json && std::io::stderr().is_terminal() {
        indicatif::ProgressBar::new(flags.runs)
    } else {
        indicatif::ProgressBar::hidden()
    };
    #[allow(clippy::disallowed_methods)] // Wall-clock time of the campaign itself, never of a run.
    let started = std::time::Instant::now();
    let summary = fuzz(&scenario, &opts, &mut |runs, states| {
        bar.set_position(runs);
        bar.set_message(format!("{states} states"));
    });
    let wall = started.elapsed().as_secs_f64();
    bar.finish_and_clear();
    let mut written = None;
    if let Some(f) = summary.findings.first() {
        let s = finding_scenario(&scenario, f, flags.campaign);
        let out = flags.out.clone().unwrap_or_else(|| PathBuf::from(format!("{}.toml", s.name)));
        if let Err(e) = refuse_input("-o", &out, &[&path]) {
            return bad_input(e);
        }
        if let Err(e) = std::fs::write(&out, s.to_toml()) {
            eprintln!("error: -o {}: {e}", out.display());
            return ExitCode::from(EXIT_BAD_INPUT);
        }
        written = Some((out, f.seed));
    }
    if flags.json {
        let mut v = serde_json::to_value(&summary).expect("summaries serialize");
        v["wall_ms"] = serde_json::json!((wall * 1000.0) as u64);
        v["jobs"] = serde_json::json!(jobs);
        v["written"] = serde_json::json!(written.as_ref().map(|(o, _)| o.display().to_string()));
        outln!("{v}");
    } else {
        outln!(
            "fuzz {} (variant {}) campaign {}: {} runs, {} events, {:.2} s wall with {} job(s)",
            summary.scenario,
            summary.variant,
            summary.campaign,
            summary.runs,
            summary.events,
            wall,
            jobs
        );
        outln!(
            "  coverage: {} abstract states, {} transitions, {} fault states; corpus {} inputs",
            summary.states,
            summary.transitions,
            summary.fault_states,
            summary.corpus
        );
        if summary.known > 0 {
            outln!("  {} runs broke only invariants the scenario declares known", summary.known);
        }
        match (summary.findings.first(), &written) {
            (Some(f), Some((out, seed))) => {
                let how = match (f.mutated, f.remixed) {
                    (true, false) => "a mutated fault script",
                    (true, true) => "a mutated fault script over a remixed fault mix",
                    (false, true) => "a fresh seed under a remixed fault mix",
                    (false, false) => "a fresh seed",
                };
                outln!("  found {} at run {} (seed {seed}, {how})", f.invariant, f.run);
                outln!("wrote {}", out.display());
                outln!("run it: zabsim run {} --seed {seed}", out.display());
            }
            _ => outln!("  no violation found"),
        }
    }
    if summary.findings.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(EXIT_FAILED)
    }
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

    #[test]
    fn an_output_is_an_input_under_any_of_its_names() {
        let dir = std::env::temp_dir().join(format!("zabsim-cli-same-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let input = dir.join("in.toml");
        std::fs::write(&input, "x").unwrap();
        let hard = dir.join("hard.toml");
        let _ = std::fs::remove_file(&hard);
        std::fs::hard_link(&input, &hard).unwrap();
        for same in [input.clone(), dir.join(".").join("in.toml"), hard] {
            let e = refuse_input("--trace", &same, &[&input]).unwrap_err();
            assert!(e.ends_with("refusing to overwrite it"), "{e}");
        }
        assert!(refuse_input("--trace", &dir.join("new.jsonl"), &[&input]).is_ok(), "a file yet to be written");
        assert!(refuse_input("--trace", &dir.join("other"), &[&dir.join("missing")]).is_ok());
    }
}
