//! The `zabsim` binary: exit codes, one-line errors on bad input, the summary's last line.

mod common;

use common::{root, stderr, stdout, zabsim};
use std::path::PathBuf;
use std::process::{Command, Output};

/// `zabsim` that must exit within `secs`: killed and failed otherwise (a livelock).
#[allow(clippy::disallowed_methods)] // Wall-clock time and threads of the test, never of a run.
fn zabsim_within(args: &[&str], secs: u64) -> Output {
    use std::io::Read;
    use std::process::Stdio;
    let mut child = Command::new(env!("CARGO_BIN_EXE_zabsim"))
        .args(args)
        .current_dir(root())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("zabsim starts");
    // Read both pipes while waiting, so that a chatty run never blocks on a full one.
    let drain = |mut r: Box<dyn Read + Send>| {
        std::thread::spawn(move || {
            let mut buf = Vec::new();
            let _ = r.read_to_end(&mut buf);
            buf
        })
    };
    let out = drain(Box::new(child.stdout.take().unwrap()));
    let err = drain(Box::new(child.stderr.take().unwrap()));
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(secs);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if std::time::Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("zabsim {args:?} still running after {secs} s");
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    };
    Output { status, stdout: out.join().unwrap(), stderr: err.join().unwrap() }
}

/// Writes a scenario file into a fresh temp dir and returns its path.
fn scenario_file(name: &str, text: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("zabsim-cli-{}-{name}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let p = dir.join(format!("{name}.toml"));
    std::fs::write(&p, text).unwrap();
    p
}

const OK: &str = "duration_ms = 0\nliveness_bound_ms = 5000\n[cluster]\nservers = 3\n";

#[test]
fn run_prints_a_summary_ending_in_the_trace_hash() {
    let o = zabsim(&["run", "scenarios/election-basic.toml", "--seed", "3"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let out = stdout(&o);
    assert!(out.contains("result: ok"));
    let last = out.trim_end().lines().last().unwrap();
    assert!(last.starts_with("trace-hash: ") && last.len() == "trace-hash: ".len() + 16, "{last}");
}

#[test]
fn run_exits_1_on_a_violation_and_prints_the_replay_command() {
    let o = zabsim(&["run", "scenarios/zk-1419.toml", "--seed", "1"]);
    assert_eq!(o.status.code(), Some(1));
    let out = stdout(&o);
    assert!(out.contains("VIOLATION ElectionLiveness"));
    assert!(out.contains("replay: zabsim run scenarios/zk-1419.toml --seed 1 --variant zk-1419"));
    assert!(out.trim_end().lines().last().unwrap().starts_with("trace-hash: "));
}

#[test]
fn variant_none_overrides_the_scenarios_variant() {
    let o = zabsim(&["run", "scenarios/zk-1419.toml", "--seed", "1", "--variant", "none"]);
    assert!(o.status.success(), "{}", stdout(&o));
}

#[test]
fn sweep_json_has_the_documented_keys() {
    let o = zabsim(&["sweep", "scenarios/leader-crash.toml", "--seeds", "0..20", "--jobs", "2", "--json"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_str(stdout(&o).trim()).unwrap();
    for key in ["seeds", "failures", "failing_seeds", "violations", "events", "wall_ms", "sim_ms"] {
        assert!(v.get(key).is_some(), "missing {key}: {v}");
    }
    assert_eq!(v["seeds"], 20);
    assert_eq!(v["failures"], 0);
}

#[test]
fn sweep_of_a_bug_variant_exits_0_when_caught_and_1_when_the_correct_protocol_fails() {
    let caught = zabsim(&["sweep", "scenarios/zk-1419.toml", "--seeds", "0..4", "--json"]);
    assert_eq!(caught.status.code(), Some(0), "{}", stdout(&caught));
    let v: serde_json::Value = serde_json::from_str(stdout(&caught).trim()).unwrap();
    assert_eq!(v["violations"]["ElectionLiveness"], 4);
}

#[test]
fn trace_writes_json_lines_with_a_header() {
    let dir = std::env::temp_dir().join(format!("zabsim-trace-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("t.jsonl");
    let o = zabsim(&["run", "scenarios/election-basic.toml", "--seed", "2", "--trace", path.to_str().unwrap()]);
    assert!(o.status.success());
    let text = std::fs::read_to_string(&path).unwrap();
    let first: serde_json::Value = serde_json::from_str(text.lines().next().unwrap()).unwrap();
    assert_eq!(first["kind"], "header");
    assert_eq!(first["seed"], 2);
    assert_eq!(first["variant"], "none");
    assert!(text.lines().all(|l| serde_json::from_str::<serde_json::Value>(l).is_ok()));
}

/// Bad input: exit 2, one line on stderr naming the field or flag, no panic.
fn bad(args: &[&str], must_mention: &str) {
    let o = zabsim(args);
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(2), "{args:?}: {err}");
    assert!(err.contains(must_mention), "{args:?}: expected `{must_mention}` in: {err}");
    assert!(!err.contains("panicked"), "{err}");
}

#[test]
fn bad_scenario_files_name_the_field() {
    let cases = [
        ("unknown", format!("{OK}[timing]\nticks = 3\n"), "timing.ticks: unknown field"),
        (
            "wrongtype",
            "duration_ms = \"soon\"\nliveness_bound_ms = 1\n[cluster]\nservers = 3\n".into(),
            "duration_ms: invalid type",
        ),
        (
            "noquorum",
            "duration_ms = 0\nliveness_bound_ms = 1\n[cluster]\nservers = 0\n".into(),
            "cluster.servers: 0 servers can never form a quorum",
        ),
        ("faulty", format!("{OK}[faults]\nkeep_quorum = true\nmax_faulty = 2\n"), "faults.max_faulty"),
        (
            "delay",
            format!("{OK}[network]\ndelay = {{ dist = \"uniform\", min_us = 9, max_us = 1 }}\n"),
            "network.delay: min_us (9) is above max_us (1)",
        ),
        ("missing", "liveness_bound_ms = 1\n[cluster]\nservers = 3\n".into(), "missing field `duration_ms`"),
        ("syntax", "duration_ms = = 3\n".into(), "(line 1)"),
        ("variant", format!("variant = \"zk-0\"\n{OK}"), "variant"),
        ("release", format!("zookeeper = \"3.7.0\"\n{OK}"), "zookeeper"),
        ("storage", format!("{OK}[storage]\ncommit_log_count = 10\n"), "storage.commit_log_count"),
        (
            "supervisor",
            format!("{OK}[supervisor]\nrestart_after_ms = 18446744073709551615\n"),
            "supervisor.restart_after_ms",
        ),
        (
            "recipe",
            format!(
                "{OK}[service_failover]\ninstances = 2\nclients = 1\nsession_timeout_ms = 4000\nrecipe = \"leader\"\n"
            ),
            "service_failover.recipe: unknown variant `leader`",
        ),
        (
            "recipewithout",
            format!(
                "{OK}[service_failover]\ninstances = 2\nclients = 1\nsession_timeout_ms = 4000\nnotice_bound_ms = 5\n"
            ),
            "service_failover.notice_bound_ms: only with a recipe",
        ),
    ];
    for (name, text, mention) in cases {
        let p = scenario_file(name, &text);
        let o = zabsim(&["run", p.to_str().unwrap(), "--seed", "1"]);
        let err = stderr(&o);
        assert_eq!(o.status.code(), Some(2), "{name}: {err}");
        assert!(err.contains(mention), "{name}: expected `{mention}` in: {err}");
        assert_eq!(err.trim_end().lines().count(), 1, "{name}: the error is one line: {err}");
    }
}

#[test]
fn a_missing_scenario_file_is_a_clear_error() {
    bad(&["run", "scenarios/no-such.toml", "--seed", "1"], "cannot read");
}

#[test]
fn bad_flags_are_refused() {
    bad(&["run", "scenarios/election-basic.toml", "--seed", "minus-one"], "--seed");
    bad(&["run", "scenarios/election-basic.toml"], "--seed");
    bad(&["run", "scenarios/election-basic.toml", "--seed", "1", "--variant", "zk-9"], "unknown variant `zk-9`");
    bad(&["run", "scenarios/election-basic.toml", "--seed", "1", "--zookeeper", "3.7.0"], "unknown ZooKeeper release");
    bad(&["sweep", "scenarios/election-basic.toml", "--seeds", "9..3"], "empty range");
    bad(&["sweep", "scenarios/election-basic.toml", "--seeds", "x..3"], "not a seed");
    bad(&["sweep", "scenarios/election-basic.toml", "--seeds", "0..3", "--jobs", "0"], "--jobs");
    bad(&["run", "scenarios/election-basic.toml", "--seed", "1", "--trace", "/no/such/dir/t.jsonl"], "--trace");
    bad(&["frobnicate"], "unrecognized subcommand");
}

#[test]
fn check_prints_the_scenario_with_defaults() {
    let o = zabsim(&["check", "scenarios/election-basic.toml"]);
    assert!(o.status.success());
    assert!(stdout(&o).contains("tick_ms = 2000"));
}

#[test]
fn shards_merge_into_exactly_a_single_sweeps_lines() {
    let dir = std::env::temp_dir().join(format!("zabsim-shards-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let p = |n: &str| dir.join(n).to_str().unwrap().to_string();
    let scen = "scenarios/partition-flapping.toml";
    let all = zabsim(&["sweep", scen, "--seeds", "0..30", "--out", &p("all.jsonl"), "--json"]);
    assert!(all.status.success(), "{}", stderr(&all));
    for k in 0..3 {
        let shard = format!("{k}/3");
        let o = zabsim(&["sweep", scen, "--seeds", "0..30", "--shard", &shard, "--out", &p(&format!("s{k}.jsonl"))]);
        assert!(o.status.success(), "{}", stderr(&o));
    }
    // The shard index can come from a batch engine's environment.
    let o = Command::new(env!("CARGO_BIN_EXE_zabsim"))
        .args(["sweep", scen, "--seeds", "0..30", "--shard", "auto/3", "--out", &p("env.jsonl")])
        .env("SLURM_ARRAY_TASK_ID", "2")
        .current_dir(root())
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(std::fs::read(p("env.jsonl")).unwrap(), std::fs::read(p("s2.jsonl")).unwrap());
    let m = zabsim(&["merge", &p("s2.jsonl"), &p("s0.jsonl"), &p("s1.jsonl"), "-o", &p("merged.jsonl")]);
    assert!(m.status.success(), "{}", stderr(&m));
    assert!(stdout(&m).contains("merged 30 seeds from 3 files"));
    let merged = std::fs::read_to_string(p("merged.jsonl")).unwrap();
    assert_eq!(merged, std::fs::read_to_string(p("all.jsonl")).unwrap(), "merge equals a single sweep");
    assert_eq!(merged.lines().count(), 30);
}

#[test]
fn bad_shards_and_merges_are_refused() {
    bad(&["sweep", "scenarios/election-basic.toml", "--seeds", "0..3", "--shard", "3/3"], "not below the count");
    bad(&["sweep", "scenarios/election-basic.toml", "--seeds", "0..3", "--shard", "x"], "K/N");
    bad(&["merge", "no-such.jsonl", "-o", "/tmp/zabsim-never.jsonl"], "cannot read");
}

#[test]
fn replay_confirms_a_trace_and_points_at_the_first_difference() {
    let dir = std::env::temp_dir().join(format!("zabsim-replay-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let trace = dir.join("t.jsonl");
    let t = trace.to_str().unwrap();
    // The release profile is recorded in the trace and replayed.
    let o = zabsim(&["run", "scenarios/leader-crash.toml", "--seed", "4", "--zookeeper", "3.8.0", "--trace", t]);
    assert!(o.status.success());
    assert!(std::fs::read_to_string(&trace).unwrap().lines().next().unwrap().contains("\"zookeeper\":\"3.8.0\""));
    let ok = zabsim(&["replay", t]);
    assert!(ok.status.success(), "{}{}", stdout(&ok), stderr(&ok));
    assert!(stdout(&ok).contains("matches"));
    // Tamper with one event: the replay shows where it differs and fails.
    let text = std::fs::read_to_string(&trace).unwrap();
    let mut lines: Vec<String> = text.lines().map(String::from).collect();
    lines[20] = lines[20].replacen("\"t_us\":", "\"t_us\":9", 1);
    let bad_trace = dir.join("bad.jsonl");
    std::fs::write(&bad_trace, lines.join("\n") + "\n").unwrap();
    let diff = zabsim(&["replay", bad_trace.to_str().unwrap()]);
    assert_eq!(diff.status.code(), Some(1));
    assert!(stdout(&diff).contains("differs from the trace at line 21"), "{}", stdout(&diff));
    // Not a trace at all.
    let junk = dir.join("junk.jsonl");
    std::fs::write(&junk, "{\"kind\":\"end\"}\n").unwrap();
    bad(&["replay", junk.to_str().unwrap()], "junk.jsonl");
    bad(&["replay", "no-such-trace.jsonl"], "cannot read");
}

#[test]
fn run_prints_a_window_of_events() {
    let o = zabsim(&["run", "scenarios/election-basic.toml", "--seed", "1", "--from-event", "10", "--to-event", "12"]);
    assert!(o.status.success());
    let out = stdout(&o);
    assert!(out.contains("events 10..=12:"));
    assert!(out.contains("#10 ") && out.contains("#12 ") && !out.contains("#13 "), "{out}");
    assert!(out.trim_end().lines().last().unwrap().starts_with("trace-hash: "));
}

/// The issue on robustness: values that once wrapped in release, panicked in debug
/// ("attempt to add with overflow", "event scheduled in the past"), spun at a zero period
/// or allocated 137 GB. Each is now refused on one line naming the field and its range.
#[test]
fn out_of_range_values_are_refused_with_the_field_and_its_range() {
    const M: &str = "duration_ms = 1000\nliveness_bound_ms = 5000\n[cluster]\nservers = 3\n";
    let service = "[service_failover]\ninstances = 1\nclients = 1\nsession_timeout_ms = 4000\n";
    let random = |keys: &str| {
        format!("{M}[faults.random]\nmin_interval_ms = 100\nmax_interval_ms = 200\ndown_min_ms = 1\ndown_max_ms = 2\ncrash = 1\n{keys}\n")
    };
    let script = |keys: &str| format!("{M}[[faults.script]]\nat_ms = 10\n{keys}\n");
    let client_faults = |keys: &str| {
        format!("{M}{service}[service_failover.faults]\nmin_interval_ms = 100\nmax_interval_ms = 200\ndown_min_ms = 1\ndown_max_ms = 2\ncrash_instance = 1\n{keys}\n")
    };
    let big = "18446744073709551"; // u64::MAX / 1000: times 1000 wraps
    let half = "9223372036854775808"; // 2^63: times 1000 is 0 modulo 2^64
    let cases: Vec<(&str, String, &str)> = vec![
        ("liveness", M.replace("5000", big), "liveness_bound_ms: 18446744073709551 is outside 1..=2^40"),
        ("tick", format!("{M}[timing]\ntick_ms = {big}\n"), "timing.tick_ms: 18446744073709551 is outside 2..=86400000"),
        ("finalize", format!("{M}[timing]\nfinalize_wait_ms = {big}\n"), "timing.finalize_wait_ms: "),
        ("detect", format!("{M}[network]\ndetect_ms = {big}\n"), "network.detect_ms: "),
        ("for_ms", script(&format!("action = \"crash\"\nserver = 1\nfor_ms = {big}")), "faults.script[0].for_ms: "),
        ("slow_extra", random(&format!("slow_extra_ms = {big}")), "faults.random.slow_extra_ms: "),
        ("client_down", client_faults("").replace("down_max_ms = 2", &format!("down_max_ms = {big}")), "service_failover.faults.down_max_ms: "),
        ("client_slow", client_faults(&format!("slow_client = 1\nslow_extra_ms = {big}")), "service_failover.faults.slow_extra_ms: "),
        ("random_interval", random("").replace("max_interval_ms = 200", &format!("max_interval_ms = {half}")), "faults.random.max_interval_ms: "),
        (
            "reconfig_interval",
            format!("{M}{service}[reconfig]\ninitial = [1, 2]\nstart_ms = 10\ninterval_ms = {half}\nsteps = [{{ add = [3] }}]\n"),
            "reconfig.interval_ms: ",
        ),
        (
            "reconfig_retry",
            format!("{M}{service}[reconfig]\ninitial = [1, 2]\nstart_ms = 10\nretry_ms = {half}\nsteps = [{{ add = [3] }}]\n"),
            "reconfig.retry_ms: ",
        ),
        ("beat", format!("{M}{service}beat_interval_ms = {half}\n"), "service_failover.beat_interval_ms: "),
        ("config_interval", format!("{M}{service}config_max_interval_ms = {half}\n"), "service_failover.config_max_interval_ms: "),
        ("duration", M.replace("1000", "18446744073709552"), "duration_ms: 18446744073709552 is outside 0..=2^40"),
        ("weights", random(&format!("partition = {half}\none_way = {half}")), "faults.random.partition: "),
        ("instances", format!("{M}{}", service.replace("instances = 1", "instances = 18446744073709551615")), "service_failover.instances: 18446744073709551615 is outside 1..=1000"),
        ("workload_clients", format!("{M}[workload]\nclients = {half}\nmin_interval_us = 1\nmax_interval_us = 2\n"), "workload.clients: "),
        ("accepted_epoch", format!("{M}[[cluster.initial]]\nserver = 1\naccepted_epoch = 4294967295\n"), "cluster.initial[0].accepted_epoch: 4294967295 is outside 0..=2^31"),
        (
            "counter",
            format!("{M}[[cluster.initial]]\nserver = 1\naccepted_epoch = 1\ncurrent_epoch = 1\nlast_zxid = {{ epoch = 1, counter = 4294967295 }}\n"),
            "cluster.initial[0].last_zxid.counter: 4294967295 is outside 0..=10000",
        ),
        ("session_clamp", format!("{M}[timing]\ntick_ms = 4294967295\n{service}"), "timing.tick_ms: 4294967295 is outside"),
        ("delay", format!("{M}[network]\ndelay = {{ dist = \"constant\", us = {half} }}\n"), "network.delay.us: "),
        ("script_key", script("action = \"crash\""), "faults.script[0].server: missing"),
    ];
    for (name, text, mention) in cases {
        let p = scenario_file(&format!("range-{name}"), &text);
        for args in [vec!["check", p.to_str().unwrap()], vec!["run", p.to_str().unwrap(), "--seed", "1"]] {
            let o = zabsim_within(&args, 60);
            let err = stderr(&o);
            assert_eq!(o.status.code(), Some(2), "{name}: {err}{}", stdout(&o));
            assert!(err.contains(mention), "{name}: expected `{mention}` in: {err}");
            assert_eq!(err.trim_end().lines().count(), 1, "{name}: the error is one line: {err}");
        }
    }
}

/// A zero-delay network once reconnected clients at t = 0 forever (120 MB/s, deaf to
/// `--until-ms`): the run now stops as stuck, with the time and the events that repeated.
#[test]
fn a_zero_delay_network_stops_as_stuck_instead_of_looping() {
    let text = "duration_ms = 1000\nliveness_bound_ms = 5000\n[cluster]\nservers = 3\n\
                [network]\ndelay = { dist = \"constant\", us = 0 }\n\
                [service_failover]\ninstances = 1\nclients = 1\nsession_timeout_ms = 4000\n";
    let p = scenario_file("zero-delay", text);
    let path = p.to_str().unwrap();
    for until in [None, Some("10000")] {
        let mut args = vec!["run", path, "--seed", "1"];
        args.extend(until.iter().flat_map(|u| ["--until-ms", u]));
        let o = zabsim_within(&args, 60);
        let out = stdout(&o);
        assert_eq!(o.status.code(), Some(1), "{out}{}", stderr(&o));
        assert!(out.contains("result: VIOLATION TimeProgress at 0 us"), "{out}");
        assert!(out.contains("virtual time stopped at 0 us") && out.contains("ClientSend"), "{out}");
    }
    // A sweep counts the seed as failing.
    let o = zabsim_within(&["sweep", path, "--seeds", "0..2", "--json"], 60);
    assert_eq!(o.status.code(), Some(1));
    let v: serde_json::Value = serde_json::from_str(stdout(&o).trim()).unwrap();
    assert_eq!(v["violations"]["TimeProgress"], 2);
}

#[test]
fn time_and_seed_flags_are_bounded() {
    let s = "scenarios/election-basic.toml";
    bad(&["run", s, "--seed", "1", "--until-ms", "18446744073709552"], "--until-ms");
    bad(&["sweep", s, "--seeds", "18446744073709551615"], "the last seed must be below 2^64-1");
    bad(&["sweep", s, "--seeds", "0..=18446744073709551615"], "the last seed must be below 2^64-1");
    let long = "9".repeat(100_000);
    let o = zabsim(&["sweep", s, "--seeds", &long]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).len() < 2000, "{} bytes", stderr(&o).len());
    let o = zabsim(&["run", s, "--seed", "1", "--until-ms", "1099511627776"]);
    assert!(o.status.success(), "{}", stderr(&o));
}

/// Every time field at its limit, some at once: runs (in debug, where a wrap panics).
#[test]
fn fields_at_their_limits_run_without_wrapping() {
    let t = 1u64 << 40;
    let us = t * 1000;
    let w = 1u64 << 32;
    let texts = [
        format!(
            "duration_ms = 0\nliveness_bound_ms = {t}\n[cluster]\nservers = 3\n\
             [[cluster.initial]]\nserver = 1\naccepted_epoch = {e}\ncurrent_epoch = {e}\nlast_zxid = {{ epoch = {e}, counter = 10000 }}\n\
             [timing]\ntick_ms = 86400000\ninit_limit = 12725\nsync_limit = 12725\nfinalize_wait_ms = {t}\n\
             min_notification_interval_ms = {t}\nmax_notification_interval_ms = {t}\n\
             [network]\ndetect_ms = {t}\n[disk]\nwriteback_ms = {t}\n[supervisor]\nrestart_after_ms = {t}\n\
             [service_failover]\ninstances = 1\nclients = 1\nsession_timeout_ms = 4294967295\n\
             config_min_interval_ms = {t}\nconfig_max_interval_ms = {t}\nbeat_interval_ms = {t}\n",
            e = 1u64 << 31
        ),
        format!(
            "duration_ms = {t}\nliveness_bound_ms = {t}\n[cluster]\nservers = 5\n\
             [network]\ndelay = {{ dist = \"long-tail\", min_us = 0, scale_us = {us}, max_us = {us} }}\n\
             [[faults.script]]\nat_ms = 0\naction = \"slow-link\"\nfrom = 1\nto = 2\nextra_ms = {t}\nfor_ms = {t}\n\
             [[faults.script]]\nat_ms = 0\naction = \"crash\"\nserver = 3\nfor_ms = {t}\n\
             [faults.random]\nmin_interval_ms = {t}\nmax_interval_ms = {t}\ndown_min_ms = {t}\ndown_max_ms = {t}\n\
             crash = {w}\ncrash_leader = {w}\npartition = {w}\none_way = {w}\nslow_link = {w}\nslow_extra_ms = {t}\n\
             isolate_leader = {w}\ncrash_unsynced = {w}\n\
             [workload]\nclients = 1048576\nmin_interval_us = {us}\nmax_interval_us = {us}\n"
        ),
        format!(
            "duration_ms = 3000\nliveness_bound_ms = {t}\n[cluster]\nservers = 3\n\
             [service_failover]\ninstances = 2\nclients = 2\nsession_timeout_ms = 4000\n\
             [service_failover.faults]\nmin_interval_ms = 1\nmax_interval_ms = 1\ndown_min_ms = {t}\ndown_max_ms = {t}\n\
             crash_instance = {w}\nisolate_client = {w}\npause_client = {w}\nslow_client = {w}\nslow_extra_ms = {t}\n\
             [reconfig]\ninitial = [1, 2]\nstart_ms = {t}\ninterval_ms = {t}\nretry_ms = {t}\nsteps = [{{ add = [3] }}]\n"
        ),
    ];
    for (i, text) in texts.iter().enumerate() {
        let p = scenario_file(&format!("limits-{i}"), text);
        let o = zabsim_within(&["run", p.to_str().unwrap(), "--seed", "1", "--until-ms", "5000"], 120);
        assert_eq!(o.status.code(), Some(0), "{i}: {}{}", stdout(&o), stderr(&o));
    }
}

/// `zabsim variants` names every variant, each description starting in one column.
#[test]
fn variants_lists_every_variant_in_aligned_columns() {
    let o = zabsim(&["variants"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let out = stdout(&o);
    let rows: Vec<&str> = out.lines().take(zab::Variant::ALL.len()).collect();
    let column = |row: &str| row.find(char::is_whitespace).map(|i| i + row[i..].len() - row[i..].trim_start().len());
    for (v, row) in zab::Variant::ALL.iter().zip(&rows) {
        assert!(row.starts_with(v.name()), "{row}");
        assert_eq!(column(row), column(rows[0]), "{row}");
    }
}
