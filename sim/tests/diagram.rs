//! `zabsim diagram`: the page is one self-contained, deterministic HTML file with a lane per
//! server, and it loads and draws in a real browser (headless Chromium) without a script
//! error.
//!
//! The browser part needs Chromium. Without it the static checks still run and the test
//! says loudly that the browser part was not exercised; with `ZABSIM_REQUIRE_BROWSER=1`
//! (set by `.ci/run`, which installs Chromium) a missing browser fails the test.

mod common;

use common::{stderr, tmp, zabsim};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

/// The trace of zk-2845 seed 0 (three servers, a partition, a GlobalPrimaryOrder violation
/// at 2.525 s) and its diagram.
fn page(dir: &Path, extra: &[&str]) -> (PathBuf, String) {
    let trace = dir.join("t.jsonl");
    if !trace.exists() {
        let o = zabsim(&["run", "scenarios/zk-2845.toml", "--seed", "0", "--trace", trace.to_str().unwrap()]);
        assert_eq!(o.status.code(), Some(1), "the run breaks GlobalPrimaryOrder: {}", stderr(&o));
    }
    let html = dir.join(format!("page{}.html", extra.len()));
    let mut args = vec!["diagram", trace.to_str().unwrap(), "-o", html.to_str().unwrap()];
    args.extend_from_slice(extra);
    let o = zabsim(&args);
    assert!(o.status.success(), "{}", stderr(&o));
    let text = std::fs::read_to_string(&html).unwrap();
    (html, text)
}

/// The JSON the page's script draws from.
fn data(page: &str) -> serde_json::Value {
    let marker = "<script type=\"application/json\" id=\"data\">";
    let start = page.find(marker).expect("a data block") + marker.len();
    let end = start + page[start..].find("</script>").unwrap();
    serde_json::from_str(&page[start..end]).expect("the data block is JSON")
}

/// Nothing to fetch: no external scripts, styles, images, frames or imports; the only
/// `http` in the page is the SVG namespace the script creates elements in.
fn assert_self_contained(page: &str) {
    let lower = page.to_lowercase();
    for banned in ["<link", "<script src", "<img", "<iframe", "@import", "url(http", "src=\"http", "href=\"http"] {
        assert!(!lower.contains(banned), "the page loads something: `{banned}`");
    }
    let http = lower.matches("http").count();
    let namespace = lower.matches("\"http://www.w3.org/2000/svg\"").count();
    assert_eq!(http, namespace, "only the SVG namespace may name an http address");
}

#[test]
fn the_page_is_self_contained_deterministic_and_has_a_lane_per_server() {
    let dir = tmp("static");
    let (_, a) = page(&dir, &[]);
    let (_, b) = page(&dir, &[]);
    assert!(a == b, "the same trace gives the same bytes");
    assert_self_contained(&a);
    assert!(a.contains("<body data-js-errors=\"0\">"));
    let d = data(&a);
    assert_eq!(d["nodes"], serde_json::json!([1, 2, 3]));
    for n in 1..=3 {
        assert!(a.contains(&format!("class=\"node-filter\" value=\"{n}\" checked")), "a filter for server {n}");
    }
    assert!(d["msgs"].as_array().unwrap().len() > 1000, "the run's messages are in the page");
    assert!(d["segs"].as_array().unwrap().iter().any(|s| s[3] == "leader"), "roles over time");
    assert!(d["marks"].as_array().unwrap().iter().any(|m| m[1] == "cut"), "the partition is marked");
    assert_eq!(d["violation"]["invariant"], "GlobalPrimaryOrder");
    assert!(a.contains("VIOLATION GlobalPrimaryOrder at 2.525 s"));
    // PINGs start hidden.
    let ping = d["kinds"].as_array().unwrap().iter().position(|k| k == "PING").expect("PINGs in the run");
    assert!(a.contains(&format!("class=\"kind-filter\" value=\"{ping}\"> ")), "PING unticked");
}

#[test]
fn large_traces_are_thinned_to_a_window_and_a_cap_and_the_page_says_so() {
    let dir = tmp("thin");
    let (_, p) = page(&dir, &["--from-us", "1000000", "--to-us", "2000000", "--max-messages", "100"]);
    let d = data(&p);
    assert_eq!((d["t0"].as_u64(), d["t1"].as_u64()), (Some(1_000_000), Some(2_000_000)));
    let msgs = d["msgs"].as_array().unwrap();
    assert_eq!(msgs.len(), 100);
    assert!(msgs.iter().all(|m| m[1].as_u64().unwrap() >= 1_000_000 && m[0].as_u64().unwrap() <= 2_000_000));
    assert!(p.contains("Window: simulated time 1.000 s to 2.000 s"), "the window is said");
    assert!(p.contains("Thinned:") && p.contains("the first 100 are in this page"), "the cap is said");
    assert!(d["violation"]["invariant"] == "GlobalPrimaryOrder", "the violation stays in the header");
}

#[test]
fn bad_traces_name_the_file_and_line_and_exit_2() {
    let dir = tmp("bad");
    let bad = |name: &str, text: &str, must: &str| {
        let p = dir.join(name);
        std::fs::write(&p, text).unwrap();
        let o = zabsim(&["diagram", p.to_str().unwrap(), "-o", dir.join("x.html").to_str().unwrap()]);
        let err = stderr(&o);
        assert_eq!(o.status.code(), Some(2), "{name}: {err}");
        assert!(err.contains(name) && err.contains(must), "{name}: expected `{must}` in {err}");
        assert!(!err.contains("panicked"), "{err}");
    };
    bad("empty.jsonl", "", "not a trace");
    bad(
        "noheader.jsonl",
        "{\"kind\":\"end\",\"t_us\":0,\"events\":0,\"trace_hash\":\"0\"}\n",
        "line 1: the first line",
    );
    let (_, _) = page(&dir, &[]);
    let good = std::fs::read_to_string(dir.join("t.jsonl")).unwrap();
    let mut lines: Vec<&str> = good.lines().take(5).collect();
    lines.push("{\"kind\":\"input\",\"t_us\":\"soon\"}");
    bad("broken.jsonl", &lines.join("\n"), "line 6: not a trace record");
    let missing = zabsim(&["diagram", "no-such-trace.jsonl", "-o", "/tmp/zabsim-never.html"]);
    assert_eq!(missing.status.code(), Some(2));
    assert!(stderr(&missing).contains("no-such-trace.jsonl: cannot read"));
    let trace = dir.join("t.jsonl");
    let o = zabsim(&["diagram", trace.to_str().unwrap(), "-o", "/tmp/x.html", "--from-us", "5", "--to-us", "5"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("--from-us 5 is not before --to-us 5"));
}

/// Chromium's flags for a closed network (without the background-networking ones it
/// hangs trying to reach Google) and a throwaway profile.
fn chromium_args(profile: &Path) -> Vec<String> {
    [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
    ]
    .iter()
    .map(|s| s.to_string())
    .chain([format!("--user-data-dir={}", profile.display())])
    .collect()
}

/// `ZABSIM_CHROMIUM`, else the first of the usual names found on PATH.
fn find_chromium() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("ZABSIM_CHROMIUM") {
        return Some(PathBuf::from(p));
    }
    let path = std::env::var_os("PATH")?;
    for name in ["chromium", "chromium-browser", "google-chrome", "google-chrome-stable"] {
        for dir in std::env::split_paths(&path) {
            let p = dir.join(name);
            if p.is_file() {
                return Some(p);
            }
        }
    }
    None
}

/// Runs Chromium on a page with a time limit; its stdout.
fn chromium(bin: &Path, dir: &Path, tag: &str, extra: &[String], url: &str) -> String {
    let profile = dir.join(format!("profile-{tag}"));
    let _ = std::fs::remove_dir_all(&profile);
    // Into a file, not a pipe: a dumped page is bigger than a pipe's buffer.
    let out = dir.join(format!("stdout-{tag}.html"));
    let mut child = Command::new(bin)
        .args(chromium_args(&profile))
        .args(extra)
        .arg(url)
        .stdout(Stdio::from(std::fs::File::create(&out).unwrap()))
        .stderr(Stdio::null())
        .spawn()
        .expect("chromium starts");
    let limit = Duration::from_secs(120);
    let mut waited = Duration::ZERO;
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            assert!(status.success(), "chromium {tag} exited with {status}");
            break;
        }
        if waited >= limit {
            let _ = child.kill();
            panic!("chromium {tag} did not finish within {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(100));
        waited += Duration::from_millis(100);
    }
    std::fs::read_to_string(&out).unwrap()
}

fn body_attr<'a>(dom: &'a str, attr: &str) -> Option<&'a str> {
    let body = &dom[dom.find("<body")?..];
    let body = &body[..body.find('>')?];
    let start = body.find(&format!("{attr}=\""))? + attr.len() + 2;
    Some(&body[start..start + body[start..].find('"')?])
}

#[test]
fn the_page_loads_and_draws_in_headless_chromium_without_script_errors() {
    let dir = tmp("browser");
    let (html, _) = page(&dir, &[]);
    let Some(bin) = find_chromium() else {
        let msg = "BROWSER PART NOT EXERCISED: no Chromium found (set ZABSIM_CHROMIUM or install `chromium`); \
                   only the static checks of the diagram ran";
        if std::env::var("ZABSIM_REQUIRE_BROWSER").as_deref() == Ok("1") {
            panic!("{msg}, and ZABSIM_REQUIRE_BROWSER=1 requires it");
        }
        // Straight to the terminal: the test harness captures `eprintln!` of passing tests.
        let _ = writeln!(std::io::stderr(), "\nwarning: {msg}\n");
        return;
    };
    let url = format!("file://{}", html.canonicalize().unwrap().display());

    // The whole run: lanes, arrows, roles, the violation, and no script error.
    let dom = chromium(&bin, &dir, "dom", &["--dump-dom".to_string()], &url);
    assert_eq!(
        body_attr(&dom, "data-js-errors"),
        Some("0"),
        "script errors: {:?}",
        body_attr(&dom, "data-js-error-last")
    );
    let drawn: usize = body_attr(&dom, "data-rendered").expect("the script finished drawing").parse().unwrap();
    assert!(drawn > 1000, "{drawn} arrows drawn");
    assert_eq!(dom.matches("class=\"lane\"").count(), 3, "a lane per server");
    assert_eq!(dom.matches("class=\"msg\"").count(), drawn);
    assert!(dom.contains("class=\"role-band\"") && dom.contains("id=\"violation-line\""));
    assert_eq!(dom.matches("class=\"violation-node\"").count(), 1, "server 1, the one the violation names, circled");

    // A window from the link, with ACKs hidden: fewer arrows, no ACK among them.
    let zoomed = format!("{url}#t=2488,2514&hide=PING,ACK");
    let dom = chromium(&bin, &dir, "zoom", &["--dump-dom".to_string()], &zoomed);
    assert_eq!(body_attr(&dom, "data-js-errors"), Some("0"));
    let few: usize = body_attr(&dom, "data-rendered").unwrap().parse().unwrap();
    assert!(few > 0 && few < 50, "{few} arrows in 26 ms");
    assert!(!dom.contains("data-kind=\"ACK\""), "ACKs hidden");

    // A screenshot: a real picture of the right size, far from a blank page (~6 KB).
    let png = dir.join("shot.png");
    let _ = std::fs::remove_file(&png);
    let shot = [format!("--screenshot={}", png.display()), "--window-size=1400,900".to_string()];
    chromium(&bin, &dir, "shot", &shot, &url);
    let bytes = std::fs::read(&png).expect("chromium wrote the screenshot");
    assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n");
    let dim = |at: usize| u32::from_be_bytes(bytes[at..at + 4].try_into().unwrap());
    assert_eq!((dim(16), dim(20)), (1400, 900));
    assert!(bytes.len() > 30_000, "a {}-byte screenshot looks blank", bytes.len());
}
