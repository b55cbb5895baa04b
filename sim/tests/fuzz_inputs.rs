//! Hostile inputs: mutated scenario files, traces and sweep outcome files given to the
//! `zabsim` binary. Whatever the mutation, every command ends within a bound with exit 0, 1
//! or 2: never a panic, never a hang, and an error stays one short line.
//!
//! The mutants come from proptest's fixed suite seed, so `cargo test` runs the same ones
//! every time (`PROPTEST_RNG_SEED=N` draws others). `ZABSIM_FUZZ_CASES=N` runs N mutants of
//! each kind instead of the suite's share (the README gives the figures of a long run).

// The wall clock bounds the binary's runs from outside; nothing simulated reads it.
#![allow(clippy::disallowed_methods)]

mod common;

use common::root;
use proptest::prelude::*;
use proptest::test_runner::TestCaseError;
use serde_json::Value as Json;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};
use toml::Value as Toml;

/// A command that has not ended after this long counts as hung: far above what any mutant
/// needs (simulated time is bounded by `--until-ms`), far below CI's patience.
const WALL_LIMIT: Duration = Duration::from_secs(120);

/// The simulated time every mutated scenario runs for, at most.
const UNTIL_MS: &str = "2000";

/// The address space each command may use (KiB).
const MEMORY_LIMIT_KB: u64 = 4 << 20;

/// An error message longer than this echoes what it should only name.
const ERROR_MAX_BYTES: usize = 2048;

fn cases(suite_share: u32) -> u32 {
    std::env::var("ZABSIM_FUZZ_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(suite_share)
}

fn scratch(kind: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("zabsim-fuzz-{}-{kind}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Runs `zabsim args` in `dir`, killing it at [`WALL_LIMIT`]; returns the exit code and
/// stderr, or why the run is a failure of the tool (a panic, a hang, a signal).
fn zabsim(dir: &Path, args: &[&str]) -> Result<(i32, String), String> {
    let err_path = dir.join(format!("stderr-{}", args[0]));
    let err_file = std::fs::File::create(&err_path).unwrap();
    // Capped address space: a mutant that makes the tool allocate without bound fails
    // here (an allocation error) instead of taking the machine's memory.
    let mut child = Command::new("sh")
        .arg("-c")
        .arg(format!("ulimit -v {MEMORY_LIMIT_KB} && exec \"$0\" \"$@\""))
        .arg(env!("CARGO_BIN_EXE_zabsim"))
        .args(args)
        .current_dir(dir)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(err_file)
        .spawn()
        .expect("zabsim starts");
    let start = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if start.elapsed() > WALL_LIMIT {
            let _ = child.kill();
            let _ = child.wait();
            return Err(format!("zabsim {} hung (killed after {WALL_LIMIT:?})", args.join(" ")));
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    let stderr = String::from_utf8_lossy(&std::fs::read(&err_path).unwrap()).into_owned();
    let Some(code) = status.code() else {
        return Err(format!("zabsim {} died of a signal ({status}); stderr: {}", args.join(" "), head(&stderr)));
    };
    if stderr.contains("panicked at") || code == 101 {
        return Err(format!("zabsim {} panicked: {}", args.join(" "), head(&stderr)));
    }
    if !(0..=2).contains(&code) {
        return Err(format!("zabsim {} exited {code}: {}", args.join(" "), head(&stderr)));
    }
    if code == 2 && (stderr.len() > ERROR_MAX_BYTES || stderr.trim().is_empty()) {
        return Err(format!(
            "zabsim {} refused its input with a {}-byte message: {}",
            args.join(" "),
            stderr.len(),
            head(&stderr)
        ));
    }
    Ok((code, stderr))
}

fn head(s: &str) -> String {
    s.chars().take(600).collect()
}

fn check(r: Result<(i32, String), String>) -> Result<i32, TestCaseError> {
    r.map(|(code, _)| code).map_err(TestCaseError::fail)
}

// ---------------------------------------------------------------------------------------
// Mutations

/// One edit of an input, its choices drawn as plain numbers and resolved against the input
/// it is applied to (so one strategy serves every file).
#[derive(Clone, Debug)]
enum Edit {
    /// Replace the `pick`-th leaf with value number `value` of [`extremes`].
    Replace { pick: usize, value: usize },
    /// Delete the `pick`-th leaf or table.
    Delete { pick: usize },
    /// Add a field no one knows to the `pick`-th table.
    Unknown { pick: usize },
    /// Cut the text at a fraction (per mille) of its length.
    Truncate { at: u16 },
    /// Repeat line `pick` (mod the line count).
    DuplicateLine { pick: usize },
    /// Swap two lines.
    SwapLines { a: usize, b: usize },
    /// Insert a raw byte string at a fraction of the text.
    Insert { at: u16, bytes: Vec<u8> },
}

fn edit() -> impl Strategy<Value = Edit> {
    prop_oneof![
        10 => (any::<usize>(), any::<usize>()).prop_map(|(pick, value)| Edit::Replace { pick, value }),
        2 => any::<usize>().prop_map(|pick| Edit::Delete { pick }),
        1 => any::<usize>().prop_map(|pick| Edit::Unknown { pick }),
        1 => (0u16..1000).prop_map(|at| Edit::Truncate { at }),
        1 => any::<usize>().prop_map(|pick| Edit::DuplicateLine { pick }),
        1 => (any::<usize>(), any::<usize>()).prop_map(|(a, b)| Edit::SwapLines { a, b }),
        1 => (0u16..1000, prop::collection::vec(any::<u8>(), 1..12)).prop_map(|(at, bytes)| Edit::Insert { at, bytes }),
    ]
}

/// Integers at the edges of every integer type and of the simulator's units.
fn int_extremes() -> Vec<Json> {
    let mut v: Vec<Json> = [0i64, 1, 2, 3, -1, 255, 65_535, i32::MAX as i64, u32::MAX as i64, 1 << 32, 1 << 40]
        .into_iter()
        .chain([1 << 41, 1 << 53, 1 << 62, i64::MAX, i64::MIN, 18_446_744_073_709_552, 4_294_967_296_000])
        .map(Json::from)
        .collect();
    v.extend([Json::from(u64::MAX), Json::from(1u64 << 63)]);
    v
}

/// Strings a field of a scenario, trace or outcome file might hold, and some it should not.
fn string_extremes() -> Vec<Json> {
    ["", "none", "constant", "uniform", "long-tail", "at-once", "never", "3.8.0", "zk-2845", "x"]
        .into_iter()
        .map(Json::from)
        .chain([Json::from("x".repeat(100_000))])
        .collect()
}

/// Values a field should not get: the edges of every integer type, wrong types, a value too
/// long to echo.
fn extremes() -> Vec<Json> {
    let mut v = int_extremes();
    v.extend([
        Json::from(1e300),
        Json::from(-0.5),
        Json::from(true),
        Json::from("x"),
        Json::from("x".repeat(100_000)),
        Json::Array(vec![]),
        Json::Array(vec![Json::from(1), Json::from("a")]),
        serde_json::json!({}),
        Json::Null,
    ]);
    v
}

/// Every leaf (and table) of a JSON value, as paths, in document order.
fn paths(v: &Json, prefix: &mut Vec<PathStep>, out: &mut Vec<Vec<PathStep>>) {
    match v {
        Json::Object(m) => {
            for (k, child) in m {
                prefix.push(PathStep::Key(k.clone()));
                out.push(prefix.clone());
                paths(child, prefix, out);
                prefix.pop();
            }
        }
        Json::Array(a) => {
            for (i, child) in a.iter().enumerate() {
                prefix.push(PathStep::Index(i));
                out.push(prefix.clone());
                paths(child, prefix, out);
                prefix.pop();
            }
        }
        _ => {}
    }
}

#[derive(Clone, Debug)]
enum PathStep {
    Key(String),
    Index(usize),
}

fn at_mut<'a>(v: &'a mut Json, path: &[PathStep]) -> Option<&'a mut Json> {
    let mut cur = v;
    for step in path {
        cur = match (step, cur) {
            (PathStep::Key(k), Json::Object(m)) => m.get_mut(k)?,
            (PathStep::Index(i), Json::Array(a)) => a.get_mut(*i)?,
            _ => return None,
        };
    }
    Some(cur)
}

/// Applies a structural edit to a document; `None` for the text-level edits.
fn edit_value(doc: &mut Json, e: &Edit) -> Option<()> {
    let mut all = Vec::new();
    paths(doc, &mut Vec::new(), &mut all);
    match e {
        Edit::Replace { pick, value } => {
            let path = all.get(pick % all.len().max(1))?.clone();
            let target = at_mut(doc, &path)?;
            // Mostly a value of the field's own kind, so that many mutants pass parsing and
            // reach validation and the run; now and then anything at all.
            let pool = match &*target {
                Json::Number(_) if value % 4 != 0 => int_extremes(),
                Json::String(_) if value % 4 != 0 => string_extremes(),
                Json::Bool(b) if value % 4 != 0 => vec![Json::from(!b)],
                _ => extremes(),
            };
            *target = pool[(value / 4) % pool.len()].clone();
        }
        Edit::Delete { pick } => {
            let path = all.get(pick % all.len().max(1))?.clone();
            let (last, parent) = path.split_last()?;
            match (at_mut(doc, parent)?, last) {
                (Json::Object(m), PathStep::Key(k)) => {
                    m.remove(k);
                }
                (Json::Array(a), PathStep::Index(i)) => {
                    a.remove(*i);
                }
                _ => {}
            }
        }
        Edit::Unknown { pick } => {
            let tables: Vec<_> = std::iter::once(Vec::new())
                .chain(all.into_iter().filter(|p| at_mut(doc, p).is_some_and(|v| v.is_object())))
                .collect();
            let path = tables[pick % tables.len()].clone();
            if let Json::Object(m) = at_mut(doc, &path)? {
                m.insert("no_such_field".into(), Json::from(1));
            }
        }
        _ => return None,
    }
    Some(())
}

/// Applies a text-level edit; structural ones are left to [`edit_value`].
fn edit_text(text: &mut Vec<u8>, e: &Edit) {
    let frac = |at: u16, len: usize| len * usize::from(at) / 1000;
    match e {
        Edit::Truncate { at } => text.truncate(frac(*at, text.len())),
        Edit::Insert { at, bytes } => {
            let i = frac(*at, text.len());
            text.splice(i..i, bytes.iter().copied());
        }
        Edit::DuplicateLine { pick } | Edit::SwapLines { a: pick, .. } => {
            let mut lines: Vec<Vec<u8>> = text.split(|b| *b == b'\n').map(<[u8]>::to_vec).collect();
            let n = lines.len();
            match e {
                Edit::DuplicateLine { .. } => {
                    let l = lines[pick % n].clone();
                    lines.insert(pick % n, l);
                }
                Edit::SwapLines { b, .. } => lines.swap(pick % n, b % n),
                _ => unreachable!(),
            }
            *text = lines.join(&b'\n');
        }
        _ => {}
    }
}

// ---------------------------------------------------------------------------------------
// Scenario files

/// The shipped scenarios the mutants start from, each with every default filled in (the
/// output of `zabsim check`), so that defaulted fields are mutated too.
fn scenario_bases() -> &'static Vec<(String, Json)> {
    static BASES: OnceLock<Vec<(String, Json)>> = OnceLock::new();
    BASES.get_or_init(|| {
        let names = [
            "election-basic",
            "leader-crash",
            "partition-flapping",
            "service-failover",
            "migrate-3-to-3",
            "disk-crash",
            "swarm",
            "steady-writes",
        ];
        names
            .iter()
            .map(|n| {
                let o = Command::new(env!("CARGO_BIN_EXE_zabsim"))
                    .args(["check", &format!("scenarios/{n}.toml")])
                    .current_dir(root())
                    .output()
                    .unwrap();
                assert!(o.status.success(), "check {n}: {}", String::from_utf8_lossy(&o.stderr));
                let text = String::from_utf8(o.stdout).unwrap();
                let toml: Toml = toml::from_str(&text).unwrap_or_else(|e| panic!("check {n} prints TOML: {e}"));
                (n.to_string(), serde_json::to_value(toml).unwrap())
            })
            .collect()
    })
}

/// Writes a JSON document as TOML; a value TOML cannot hold (a null, a number above i64)
/// is written by hand, as a user's file would hold it.
fn to_toml_text(doc: &Json) -> Vec<u8> {
    let mut doc = doc.clone();
    let mut raw = Vec::new();
    let mut all = Vec::new();
    paths(&doc, &mut Vec::new(), &mut all);
    for p in all {
        if let Some(v) = at_mut(&mut doc, &p) {
            let unrepresentable = v.is_null() || v.as_u64().is_some_and(|n| n > i64::MAX as u64);
            if unrepresentable && matches!(p.last(), Some(PathStep::Key(_))) && p.len() == 1 {
                raw.push(format!("{} = {}", key_of(&p), if v.is_null() { "nan".into() } else { v.to_string() }));
                *v = Json::from(0);
            } else if v.is_null() {
                *v = Json::from("null");
            } else if unrepresentable {
                *v = Json::from(i64::MAX);
            }
        }
    }
    let toml: Toml = serde_json::from_value(doc).unwrap_or(Toml::Table(Default::default()));
    let mut text = raw.join("\n");
    text.push('\n');
    // Top-level raw keys come before any table; a duplicate key is itself a fine mutant.
    text.push_str(&toml::to_string(&toml).unwrap_or_default());
    text.into_bytes()
}

fn key_of(p: &[PathStep]) -> String {
    match p.last() {
        Some(PathStep::Key(k)) => k.clone(),
        _ => String::new(),
    }
}

fn scenario_mutant(base: usize, edits: &[Edit]) -> Vec<u8> {
    let bases = scenario_bases();
    let mut doc = bases[base % bases.len()].1.clone();
    for e in edits {
        edit_value(&mut doc, e);
    }
    let mut text = to_toml_text(&doc);
    for e in edits {
        edit_text(&mut text, e);
    }
    text
}

proptest! {
    #![proptest_config(zabsim::tools::strategies::suite_config(cases(24)))]

    /// `check` and a short `run` of a mutated shipped scenario end with 0, 1 or 2.
    #[test]
    fn mutated_scenarios_are_refused_or_run(base in any::<usize>(), edits in prop::collection::vec(edit(), 1..4), seed in 0u64..1000) {
        let dir = scratch("scenario");
        let file = dir.join("mutant.toml");
        std::fs::write(&file, scenario_mutant(base, &edits)).unwrap();
        let path = file.to_str().unwrap();
        let checked = check(zabsim(&dir, &["check", path]))?;
        prop_assert!(checked == 0 || checked == 2, "check exits {checked}");
        let ran = check(zabsim(&dir, &["run", path, "--seed", &seed.to_string(), "--until-ms", UNTIL_MS]))?;
        prop_assert_eq!(ran == 2, checked == 2, "check and run disagree on whether the file is valid");
    }
}

// ---------------------------------------------------------------------------------------
// Traces

/// A small real trace (leader-crash, seed 3) with the scenario it names beside it.
fn base_trace() -> &'static Vec<u8> {
    static TRACE: OnceLock<Vec<u8>> = OnceLock::new();
    TRACE.get_or_init(|| {
        let dir = scratch("trace-base");
        let trace = dir.join("base.jsonl");
        let o = Command::new(env!("CARGO_BIN_EXE_zabsim"))
            .arg("run")
            .arg(root().join("scenarios/leader-crash.toml").canonicalize().unwrap())
            .args(["--seed", "3", "--until-ms", "3000", "--trace"])
            .arg(&trace)
            .current_dir(root())
            .output()
            .unwrap();
        assert!(o.status.code().is_some_and(|c| c <= 1), "{}", String::from_utf8_lossy(&o.stderr));
        std::fs::read(trace).unwrap()
    })
}

/// Applies edits to a JSON-lines file: structural edits to one line each (chosen by
/// `line`), text edits to the whole file.
fn jsonl_mutant(base: &[u8], line: usize, edits: &[Edit]) -> Vec<u8> {
    let mut lines: Vec<Vec<u8>> = base.split(|b| *b == b'\n').filter(|l| !l.is_empty()).map(<[u8]>::to_vec).collect();
    for (j, e) in edits.iter().enumerate() {
        let k = (line + j * 7919) % lines.len();
        if let Ok(mut v) = serde_json::from_slice::<Json>(&lines[k]) {
            if edit_value(&mut v, e).is_some() {
                lines[k] = serde_json::to_vec(&v).unwrap();
            }
        }
    }
    let mut text = lines.join(&b'\n');
    text.push(b'\n');
    for e in edits {
        edit_text(&mut text, e);
    }
    text
}

proptest! {
    #![proptest_config(zabsim::tools::strategies::suite_config(cases(16)))]

    /// `replay` and `diagram` of a mutated trace end with 0, 1 or 2.
    #[test]
    fn mutated_traces_are_refused_or_read(line in any::<usize>(), edits in prop::collection::vec(edit(), 1..4)) {
        let dir = scratch("trace");
        let file = dir.join("mutant.jsonl");
        std::fs::write(&file, jsonl_mutant(base_trace(), line, &edits)).unwrap();
        let path = file.to_str().unwrap();
        check(zabsim(&dir, &["replay", path]))?;
        let html = dir.join("mutant.html");
        check(zabsim(&dir, &["diagram", path, "-o", html.to_str().unwrap()]))?;
    }
}

// ---------------------------------------------------------------------------------------
// Sweep outcome files

/// A real sweep's `--out` file (leader-crash, seeds 0..40) and its two shards.
fn base_outcomes() -> &'static (Vec<u8>, Vec<u8>, Vec<u8>) {
    static OUT: OnceLock<(Vec<u8>, Vec<u8>, Vec<u8>)> = OnceLock::new();
    OUT.get_or_init(|| {
        let dir = scratch("outcomes-base");
        let sweep = |extra: &[&str], name: &str| {
            let out = dir.join(name);
            let o = Command::new(env!("CARGO_BIN_EXE_zabsim"))
                .args(["sweep", "scenarios/leader-crash.toml", "--seeds", "0..40", "--jobs", "1", "--out"])
                .arg(&out)
                .args(extra)
                .current_dir(root())
                .output()
                .unwrap();
            assert!(o.status.code().is_some_and(|c| c <= 1), "{}", String::from_utf8_lossy(&o.stderr));
            std::fs::read(out).unwrap()
        };
        (sweep(&[], "all.jsonl"), sweep(&["--shard", "0/2"], "s0.jsonl"), sweep(&["--shard", "1/2"], "s1.jsonl"))
    })
}

proptest! {
    #![proptest_config(zabsim::tools::strategies::suite_config(cases(16)))]

    /// `report` of a mutated outcome file, and `merge` of mutated shards, end with 0, 1 or 2.
    #[test]
    fn mutated_outcomes_are_refused_or_read(line in any::<usize>(), edits in prop::collection::vec(edit(), 1..4), which in 0usize..3) {
        let (all, s0, s1) = base_outcomes();
        let dir = scratch("outcomes");
        let file = dir.join("mutant.jsonl");
        std::fs::write(&file, jsonl_mutant([all, s0, s1][which], line, &edits)).unwrap();
        let other = dir.join("other.jsonl");
        std::fs::write(&other, if which == 2 { s0 } else { s1 }).unwrap();
        let path = file.to_str().unwrap();
        let report = dir.join("report");
        check(zabsim(&dir, &["report", "--sweep", path, "-o", report.to_str().unwrap()]))?;
        let merged = dir.join("merged.jsonl");
        check(zabsim(&dir, &["merge", path, other.to_str().unwrap(), "-o", merged.to_str().unwrap()]))?;
    }
}
