//! The tools check what they read and never write over it: `report`, `diagram`, `merge`,
//! `replay` and `sweep --resume` refuse crafted or mismatched files with exit 2 and one line
//! naming the file and field (never a hang, a panic or a runaway allocation); `--trace`,
//! `--out` and `-o` refuse to overwrite an input. And `sweep --out` streams: an interrupted
//! sweep leaves its finished seeds, and `--resume` completes the file byte for byte.

mod common;

use common::{root, s, stderr, stdout, tmp, zabsim};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::Duration;

/// A minute, counted in polls (the tests keep off the wall clock too).
const POLL: Duration = Duration::from_millis(20);
const POLLS_MAX: u32 = 3000;

/// Runs zabsim in `dir`, killed if it takes longer than a minute (a tool that loops on a
/// crafted value must fail the test, not hang it).
fn zabsim_in(dir: &Path, args: &[&str]) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_zabsim"))
        .args(args)
        .current_dir(dir)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("zabsim runs");
    let mut polls = 0;
    while child.try_wait().expect("waits").is_none() {
        if polls == POLLS_MAX {
            let _ = child.kill();
            panic!("zabsim {args:?} did not finish within a minute");
        }
        polls += 1;
        std::thread::sleep(POLL);
    }
    child.wait_with_output().expect("output")
}

/// Exit 2 with one line on stderr holding every one of `must`, and no panic.
fn refused(o: &Output, must: &[&str]) {
    let err = stderr(o);
    assert_eq!(o.status.code(), Some(2), "expected exit 2: {err}{}", stdout(o));
    assert!(!err.contains("panicked"), "{err}");
    assert_eq!(err.trim_end().lines().count(), 1, "one line: {err}");
    for m in must {
        assert!(err.contains(m), "expected `{m}` in: {err}");
    }
}

/// A change to one JSON object.
type Edit<'a> = &'a dyn Fn(&mut serde_json::Map<String, serde_json::Value>);

/// Rewrites one JSON line with `edit`.
fn edit_line(line: &str, edit: impl FnOnce(&mut serde_json::Map<String, serde_json::Value>)) -> String {
    let mut v: serde_json::Value = serde_json::from_str(line).unwrap();
    edit(v.as_object_mut().unwrap());
    serde_json::to_string(&v).unwrap()
}

/// `lines` with line `k` (from 0) edited, as a file's text.
fn with_line(lines: &[String], k: usize, edit: impl FnOnce(&mut serde_json::Map<String, serde_json::Value>)) -> String {
    let mut l = lines.to_vec();
    l[k] = edit_line(&l[k], edit);
    l.join("\n") + "\n"
}

fn lines_of(p: &Path) -> Vec<String> {
    std::fs::read_to_string(p).unwrap().lines().map(String::from).collect()
}

fn sweep_out(scenario: &str, seeds: &str, extra: &[&str], out: &Path) {
    let mut args = vec!["sweep", scenario, "--seeds", seeds, "--out", s(out), "--jobs", "2"];
    args.extend_from_slice(extra);
    let o = zabsim(&args);
    assert_eq!(o.status.code(), Some(0), "{}{}", stdout(&o), stderr(&o));
}

const MAX: u64 = u64::MAX;

#[test]
fn report_refuses_durations_longer_than_the_run_and_unknown_fields() {
    let dir = tmp("report");
    let good = dir.join("good.jsonl");
    sweep_out("scenarios/service-failover.toml", "0..3", &[], &good);
    let lines = lines_of(&good);
    let out = dir.join("r");
    // Each of these once made the axis ticks loop until memory ran out.
    for field in ["recovery_us", "election_p50_us", "election_max_us", "unavailable_us", "failover_p50_us"] {
        let bad = dir.join(format!("{field}.jsonl"));
        std::fs::write(
            &bad,
            with_line(&lines, 1, |m| {
                m.insert(field.into(), MAX.into());
            }),
        )
        .unwrap();
        let o = zabsim(&["report", "--sweep", s(&bad), "-o", s(&out)]);
        refused(&o, &[s(&bad), "line 2", field, "longer than the run"]);
    }
    let bad = dir.join("windows.jsonl");
    std::fs::write(
        &bad,
        with_line(&lines, 0, |m| {
            m.insert("unavailable_windows_us".into(), vec![MAX].into());
        }),
    )
    .unwrap();
    refused(&zabsim(&["report", "--sweep", s(&bad), "-o", s(&out)]), &["line 1", "unavailable_windows_us"]);
    let bad = dir.join("extra.jsonl");
    std::fs::write(
        &bad,
        with_line(&lines, 2, |m| {
            m.insert("recovery_ms".into(), 1.into());
        }),
    )
    .unwrap();
    refused(
        &zabsim(&["report", "--sweep", s(&good), "--vs", s(&bad), "-o", s(&out)]),
        &["extra.jsonl", "line 3", "unknown field `recovery_ms`"],
    );
    let o = zabsim(&["report", "--sweep", s(&good), "-o", s(&out)]);
    assert!(o.status.success(), "{}", stderr(&o));
}

#[test]
fn diagram_refuses_a_node_that_is_no_server() {
    let dir = tmp("diagram");
    let trace = dir.join("t.jsonl");
    let o = zabsim(&["run", "scenarios/election-basic.toml", "--seed", "1", "--trace", s(&trace)]);
    assert!(o.status.success(), "{}", stderr(&o));
    let lines = lines_of(&trace);
    let k = lines.iter().position(|l| l.contains("\"kind\":\"input\"")).unwrap();
    let html = dir.join("d.html");
    // A lane per server up to the largest id: this one once asked for 34 GB.
    for (name, node) in [("huge", MAX), ("zero", 0), ("above", 65)] {
        let bad = dir.join(format!("{name}.jsonl"));
        std::fs::write(
            &bad,
            with_line(&lines, k, |m| {
                m.insert("node".into(), node.into());
            }),
        )
        .unwrap();
        let o = zabsim(&["diagram", s(&bad), "-o", s(&html)]);
        refused(&o, &[s(&bad), &format!("line {}", k + 1), "node", "not a server id"]);
    }
    let bad = dir.join("extra.jsonl");
    std::fs::write(
        &bad,
        with_line(&lines, k, |m| {
            m.insert("colour".into(), "red".into());
        }),
    )
    .unwrap();
    refused(&zabsim(&["diagram", s(&bad), "-o", s(&html)]), &["unknown field `colour`"]);
    assert!(!html.exists(), "nothing written for a refused trace");
}

/// Three shards of `election-basic` seeds 0..12, and a whole sweep of the same range.
fn shards(dir: &Path) -> (Vec<PathBuf>, PathBuf) {
    let scen = "scenarios/election-basic.toml";
    let files: Vec<PathBuf> = (0..3).map(|k| dir.join(format!("s{k}.jsonl"))).collect();
    for (k, f) in files.iter().enumerate() {
        sweep_out(scen, "0..12", &["--shard", &format!("{k}/3")], f);
    }
    let all = dir.join("all.jsonl");
    sweep_out(scen, "0..12", &[], &all);
    (files, all)
}

#[test]
fn merge_takes_each_shard_of_one_sweep_exactly_once() {
    let dir = tmp("merge");
    let (s3, all) = shards(&dir);
    let out = dir.join("merged.jsonl");
    let merge = |files: &[&Path]| {
        let mut args = vec!["merge"];
        args.extend(files.iter().map(|f| s(f)));
        args.extend(["-o", s(&out)]);
        zabsim(&args)
    };
    let o = merge(&[&s3[2], &s3[0], &s3[1]]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(std::fs::read(&out).unwrap(), std::fs::read(&all).unwrap(), "merge equals a single sweep");
    std::fs::remove_file(&out).unwrap();

    // A shard of a four-way split.
    let q = dir.join("q1.jsonl");
    sweep_out("scenarios/election-basic.toml", "0..12", &["--shard", "1/4"], &q);
    refused(&merge(&[&s3[0], &s3[1], &q]), &["q1.jsonl", "shard count 4", "has 3"]);
    refused(&merge(&[&s3[0], &s3[1]]), &["shard 2/3 is missing"]);
    refused(&merge(&[&s3[0], &s3[1], &s3[1], &s3[2]]), &["s1.jsonl", "both shard 1/3"]);
    // A shard of another seed range.
    let r = dir.join("r2.jsonl");
    sweep_out("scenarios/election-basic.toml", "0..13", &["--shard", "2/3"], &r);
    refused(&merge(&[&s3[0], &s3[1], &r]), &["r2.jsonl", "seeds 0..13"]);
    // A shard of the scenario after an edit: the same name, other content.
    let edited = dir.join("election-basic.toml");
    let text = std::fs::read_to_string(root().join("scenarios/election-basic.toml")).unwrap();
    std::fs::write(&edited, text.replace("duration_ms = ", "duration_ms = 1")).unwrap();
    let e = dir.join("e2.jsonl");
    sweep_out(s(&edited), "0..12", &["--shard", "2/3"], &e);
    refused(&merge(&[&s3[0], &s3[1], &e]), &["e2.jsonl", "scenario content hash", "edited"]);
    // An empty file, and a shard that stopped early.
    let empty = dir.join("empty.jsonl");
    std::fs::write(&empty, "").unwrap();
    refused(&merge(&[&empty]), &["empty.jsonl", "no outcomes"]);
    let short = dir.join("short.jsonl");
    std::fs::write(&short, lines_of(&s3[1])[..2].join("\n") + "\n").unwrap();
    refused(&merge(&[&s3[0], &short, &s3[2]]), &["short.jsonl", "ends before seed 7", "incomplete"]);
    // A line of another shard inside a file.
    let mixed = dir.join("mixed.jsonl");
    let mut m = lines_of(&s3[1]);
    m[1] = lines_of(&s3[2])[1].clone();
    std::fs::write(&mixed, m.join("\n") + "\n").unwrap();
    refused(&merge(&[&s3[0], &mixed, &s3[2]]), &["mixed.jsonl", "line 2", "seed 5"]);
    // Lines of an older zabsim do not say which sweep they are of.
    let old = dir.join("old.jsonl");
    let stripped: Vec<String> = lines_of(&all)
        .iter()
        .map(|l| {
            edit_line(l, |m| {
                ["scenario_hash", "zookeeper", "seeds"].iter().for_each(|k| {
                    m.remove(*k);
                })
            })
        })
        .collect();
    std::fs::write(&old, stripped.join("\n") + "\n").unwrap();
    refused(&merge(&[&old]), &["old.jsonl", "line 1", "older zabsim"]);
    assert!(!out.exists(), "a refused merge writes nothing");
    assert!(
        std::fs::read_dir(&dir).unwrap().all(|e| !e.unwrap().file_name().to_string_lossy().contains("partial")),
        "and leaves no partial file"
    );
}

#[test]
fn replay_refuses_unknown_fields_anywhere() {
    let dir = tmp("replay-fields");
    let trace = dir.join("t.jsonl");
    let o = zabsim(&["run", "scenarios/leader-crash.toml", "--seed", "2", "--trace", s(&trace)]);
    assert!(o.status.success(), "{}", stderr(&o));
    let lines = lines_of(&trace);
    let k = lines.iter().position(|l| l.contains("\"input\":\"message\"")).unwrap();
    let cases: [(&str, usize, Edit, &str); 3] = [
        (
            "header",
            0,
            &|m| {
                m.insert("until".into(), 5.into());
            },
            "unknown field `until`",
        ),
        (
            "input",
            k,
            &|m| {
                m.insert("late".into(), true.into());
            },
            "unknown field `late`",
        ),
        (
            "nested",
            k,
            &|m| {
                m["input"].as_object_mut().unwrap().insert("hops".into(), 2.into());
            },
            "unknown field `input.hops`",
        ),
    ];
    for (name, line, edit, must) in cases {
        let bad = dir.join(format!("{name}.jsonl"));
        std::fs::write(&bad, with_line(&lines, line, edit)).unwrap();
        refused(&zabsim(&["replay", s(&bad)]), &[s(&bad), &format!("line {}", line + 1), must]);
    }
    // A crafted megabyte is named, not echoed.
    for (field, must) in [("variant", "variant"), ("seed", "invalid type: string"), ("scenario_hash", "scenario_hash")]
    {
        let bad = dir.join(format!("long-{}.jsonl", must.len()));
        std::fs::write(
            &bad,
            with_line(&lines, 0, |m| {
                m.insert(field.into(), "x".repeat(1 << 20).into());
            }),
        )
        .unwrap();
        let o = zabsim(&["replay", s(&bad)]);
        refused(&o, &[must]);
        assert!(stderr(&o).len() < 1000, "{field}: {} bytes of error", stderr(&o).len());
    }
}

#[test]
fn replay_stops_where_the_run_was_stopped_and_finds_the_scenario_beside_the_trace() {
    let dir = tmp("replay-until");
    let trace = dir.join("u.jsonl");
    let o = zabsim(&["run", "scenarios/leader-crash.toml", "--seed", "3", "--until-ms", "3000", "--trace", s(&trace)]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(lines_of(&trace)[0].contains("\"until_us\":3000000"), "the header records the stop time");
    let o = zabsim(&["replay", s(&trace)]);
    assert!(o.status.success(), "{}{}", stdout(&o), stderr(&o));
    assert!(stdout(&o).contains("matches"));
    // A run to the end records no stop time (its header is as it was).
    let full = dir.join("full.jsonl");
    assert!(zabsim(&["run", "scenarios/leader-crash.toml", "--seed", "3", "--trace", s(&full)]).status.success());
    assert!(!lines_of(&full)[0].contains("until_us"));
    // A trace with its scenario, written and replayed from elsewhere: the scenario's path
    // in the header is relative to where `run` started, which is the trace's directory.
    let here = tmp("replay-beside");
    std::fs::create_dir_all(here.join("sc")).unwrap();
    std::fs::copy(root().join("scenarios/election-basic.toml"), here.join("sc/eb.toml")).unwrap();
    let o = zabsim_in(&here, &["run", "sc/eb.toml", "--seed", "4", "--trace", "t.jsonl"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let o = zabsim(&["replay", s(&here.join("t.jsonl"))]);
    assert!(o.status.success(), "{}{}", stdout(&o), stderr(&o));
    // Edited since: refused, naming the file found.
    std::fs::write(here.join("sc/eb.toml"), "duration_ms = 1\nliveness_bound_ms = 5000\n[cluster]\nservers = 3\n")
        .unwrap();
    refused(&zabsim(&["replay", s(&here.join("t.jsonl"))]), &["sc/eb.toml", "changed since the trace was written"]);
    std::fs::remove_file(here.join("sc/eb.toml")).unwrap();
    refused(&zabsim(&["replay", s(&here.join("t.jsonl"))]), &["sc/eb.toml", "not found"]);
}

#[test]
fn outputs_never_overwrite_inputs() {
    let dir = tmp("overwrite");
    let scen = dir.join("eb.toml");
    std::fs::copy(root().join("scenarios/election-basic.toml"), &scen).unwrap();
    let before = std::fs::read(&scen).unwrap();
    // The same file under another name is still the input.
    let link = dir.join("link.toml");
    std::fs::hard_link(&scen, &link).unwrap();
    let dotted = format!("{}/./eb.toml", dir.display());
    refused(&zabsim(&["run", s(&scen), "--seed", "1", "--trace", &dotted]), &["--trace", "refusing to overwrite"]);
    refused(&zabsim(&["sweep", s(&scen), "--seeds", "0..2", "--out", s(&link)]), &["--out", "is the input"]);
    refused(&zabsim(&["shrink", s(&scen), "--seed", "1", "-o", s(&scen)]), &["-o", "is the input"]);
    assert_eq!(std::fs::read(&scen).unwrap(), before, "the scenario is untouched");

    let a = dir.join("a.jsonl");
    sweep_out(s(&scen), "0..3", &[], &a);
    let a_before = std::fs::read(&a).unwrap();
    refused(&zabsim(&["merge", s(&a), "-o", s(&a)]), &["-o", "is the input"]);
    // A report written into the directory holding its input, under the input's name.
    let index = dir.join("index.md");
    std::fs::copy(&a, &index).unwrap();
    refused(&zabsim(&["report", "--sweep", s(&index), "-o", s(&dir)]), &["index.md", "is the input"]);
    assert_eq!(std::fs::read(&a).unwrap(), a_before);
    assert_eq!(std::fs::read(&index).unwrap(), a_before);

    let trace = dir.join("t.jsonl");
    assert!(zabsim(&["run", s(&scen), "--seed", "1", "--trace", s(&trace)]).status.success());
    let t_before = std::fs::read(&trace).unwrap();
    refused(&zabsim(&["diagram", s(&trace), "-o", s(&trace)]), &["-o", "is the input"]);
    assert_eq!(std::fs::read(&trace).unwrap(), t_before);
}

#[test]
fn an_interrupted_sweep_leaves_its_finished_seeds_in_order() {
    let dir = tmp("interrupted");
    let out = dir.join("big.jsonl");
    // Far more seeds than the test waits for: the lines must come while the sweep runs.
    let mut child = Command::new(env!("CARGO_BIN_EXE_zabsim"))
        .args(["sweep", "scenarios/election-basic.toml", "--seeds", "0..1000000", "--jobs", "2", "--out", s(&out)])
        .current_dir(root())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let enough = || std::fs::read_to_string(&out).map_or(0, |t| t.lines().count()) >= 20;
    for _ in 0..POLLS_MAX {
        if enough() {
            break;
        }
        std::thread::sleep(POLL);
    }
    child.kill().unwrap();
    child.wait().unwrap();
    let text = std::fs::read_to_string(&out).unwrap_or_default();
    let complete: Vec<&str> = text.split_inclusive('\n').filter(|l| l.ends_with('\n')).collect();
    assert!(complete.len() >= 20, "only {} lines after a minute: --out is not written as seeds finish", complete.len());
    for (k, line) in complete.iter().enumerate() {
        let v: serde_json::Value = serde_json::from_str(line).unwrap();
        assert_eq!(v["seed"], k as u64, "line {} is seed {k}: lines go out in seed order", k + 1);
    }
}

#[test]
fn resume_completes_an_interrupted_sweep_byte_for_byte_and_checks_it_is_the_same_sweep() {
    let dir = tmp("resume");
    let scen = "scenarios/leader-crash.toml";
    let full = dir.join("full.jsonl");
    sweep_out(scen, "0..40", &[], &full);
    let whole = std::fs::read(&full).unwrap();
    // Stopped in the middle of a line.
    let out = dir.join("out.jsonl");
    let cut = whole.len() / 3;
    assert_ne!(whole[cut - 1], b'\n');
    std::fs::write(&out, &whole[..cut]).unwrap();
    let o = zabsim(&["sweep", scen, "--seeds", "0..40", "--jobs", "2", "--out", s(&out), "--resume"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(std::fs::read(&out).unwrap(), whole, "the resumed file is the uninterrupted sweep's");
    let done = whole[..cut].iter().filter(|b| **b == b'\n').count();
    assert!(stdout(&o).contains(&format!("40 seeds from 0 ({done} read back from --out)")), "{}", stdout(&o));
    assert!(stderr(&o).contains("incomplete"), "{}", stderr(&o));
    // Nothing left to run: the file stays as it is.
    let o = zabsim(&["sweep", scen, "--seeds", "0..40", "--out", s(&out), "--resume", "--json"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(std::fs::read(&out).unwrap(), whole);

    // Another sweep's file is refused, and left as it is.
    std::fs::write(&out, &whole[..cut]).unwrap();
    let resume = |extra: &[&str]| {
        let mut args = vec!["sweep", scen, "--out", s(&out), "--resume"];
        args.extend_from_slice(extra);
        zabsim(&args)
    };
    refused(&resume(&["--seeds", "0..41"]), &["out.jsonl", "line 1", "seeds 0..40", "0..41"]);
    refused(&resume(&["--seeds", "0..40", "--shard", "0/2"]), &["shard count"]);
    refused(&resume(&["--seeds", "0..40", "--variant", "zk-2845"]), &["variant"]);
    refused(&resume(&["--seeds", "0..40", "--zookeeper", "3.8.0"]), &["ZooKeeper release"]);
    refused(&resume(&["--seeds", "0..40", "--no-check"]), &["no_check"]);
    let lines = lines_of(&full);
    std::fs::write(&out, format!("{}\n{}\n", lines[1], lines[0])).unwrap();
    refused(&resume(&["--seeds", "0..40"]), &["line 1", "seed 1, but seed 0 comes next"]);
    assert_eq!(std::fs::read_to_string(&out).unwrap(), format!("{}\n{}\n", lines[1], lines[0]));
}

#[test]
fn a_stop_time_too_large_for_the_clock_is_refused() {
    refused(
        &zabsim(&["run", "scenarios/election-basic.toml", "--seed", "1", "--until-ms", "18446744073709551615"]),
        &["--until-ms"],
    );
}
