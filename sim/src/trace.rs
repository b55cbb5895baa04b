//! The trace: every delivered input, fault and observation of a run, as JSON lines, and
//! the trace hash that identifies a run bit for bit.

use crate::check::invariant::Violation;
use crate::format::brief;
use serde::{Deserialize, Serialize};
use std::collections::VecDeque;
use std::hash::{Hash, Hasher};
use std::io::Write;
use zab::contract::{Input, Observation};
use zab::Sid;

/// A 64-bit hasher whose output depends only on the values fed to it: integers are mixed
/// as values (not native-endian bytes), so the hash is the same on every platform, in
/// debug and release. (`std`'s `DefaultHasher` may change between Rust releases.)
#[derive(Clone, Debug)]
pub struct StableHasher {
    h: u64,
}

impl StableHasher {
    pub fn new() -> StableHasher {
        StableHasher { h: 0x243f_6a88_85a3_08d3 }
    }

    fn mix(&mut self, v: u64) {
        self.h = (self.h.rotate_left(5) ^ v).wrapping_mul(0x517c_c1b7_2722_0a95);
    }
}

impl Default for StableHasher {
    fn default() -> Self {
        StableHasher::new()
    }
}

impl Hasher for StableHasher {
    fn finish(&self) -> u64 {
        // splitmix64's finalizer, so close inputs give far-apart hashes.
        let mut z = self.h;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for c in &mut chunks {
            self.mix(u64::from_le_bytes(c.try_into().expect("8 bytes")));
        }
        let mut last = [0u8; 8];
        let rest = chunks.remainder();
        last[..rest.len()].copy_from_slice(rest);
        self.mix(u64::from_le_bytes(last) ^ (rest.len() as u64) << 56);
    }

    fn write_u8(&mut self, i: u8) {
        self.mix(u64::from(i));
    }
    fn write_u16(&mut self, i: u16) {
        self.mix(u64::from(i));
    }
    fn write_u32(&mut self, i: u32) {
        self.mix(u64::from(i));
    }
    fn write_u64(&mut self, i: u64) {
        self.mix(i);
    }
    fn write_usize(&mut self, i: usize) {
        self.mix(i as u64);
    }
    fn write_i64(&mut self, i: i64) {
        self.mix(i as u64);
    }
    fn write_isize(&mut self, i: isize) {
        self.mix(i as i64 as u64);
    }
}

/// What a fault did, as it happened (crash-leader resolved to a server, random faults
/// included).
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "fault", rename_all = "snake_case")]
pub enum FaultEvent {
    Crash {
        server: Sid,
    },
    Restart {
        server: Sid,
    },
    /// Directed links removed, under an id that its heal names.
    Cut {
        cut: u64,
        links: Vec<(Sid, Sid)>,
    },
    Heal {
        cut: u64,
    },
    HealAll,
    SlowLink {
        from: Sid,
        to: Sid,
        extra_us: u64,
    },
    SlowLinkEnd {
        from: Sid,
        to: Sid,
    },
    /// The fault phase ended: everything healed and restarted; liveness counts from here.
    FaultsStop,
    /// A reconfig removed the server and the operator stopped it for good.
    Retire {
        server: Sid,
    },
    /// A migration's joiner started.
    Join {
        server: Sid,
    },
    /// The server's process exited where ZooKeeper calls `System.exit`.
    Exit {
        server: Sid,
        code: zab::contract::ExitCode,
    },
    /// A service client's process died (`client` is its index).
    ClientCrash {
        client: u64,
    },
    /// It came back, with a new session.
    ClientRestart {
        client: u64,
    },
    /// A client cut off from every server, or back.
    ClientIsolated {
        client: u64,
    },
    ClientReconnected {
        client: u64,
    },
    /// A client process froze, or went on.
    ClientPaused {
        client: u64,
    },
    ClientResumed {
        client: u64,
    },
    ClientSlow {
        client: u64,
        extra_us: u64,
    },
    ClientSlowEnd {
        client: u64,
    },
    /// A scripted fault that had nothing to act on (crash-leader with no leader, crash of
    /// a crashed server, restart of a live one).
    Skipped {
        reason: String,
    },
}

/// The header line: what is needed to reproduce the run. Unknown fields are refused: a
/// header someone edited is not the run's.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TraceHeader {
    pub scenario: String,
    /// The scenario file the run was started from, as given on the command line.
    pub scenario_path: String,
    pub scenario_hash: String,
    pub seed: u64,
    pub variant: String,
    /// The ZooKeeper release the servers behave as (absent in traces of older versions).
    #[serde(default = "default_release")]
    pub zookeeper: String,
    pub tool_version: String,
    /// Where the run was stopped (`run --until-ms`), so that `replay` stops there too.
    /// Absent when the run went to its end, and in traces of older versions, which were
    /// all replayed as runs to the end.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub until_us: Option<u64>,
    /// The moves an explorer took (`zabsim explore`), in order: the run took these, not
    /// the earliest event each time, and `replay` takes them again. Absent in traces of
    /// runs.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub moves: Vec<String>,
}

fn default_release() -> String {
    zab::release::Release::default().name().to_string()
}

/// One line of a trace.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum TraceRecord {
    /// Boxed: the header's strings would make every record as large.
    Header(Box<TraceHeader>),
    /// An input delivered to a node; `sent_us` for messages.
    Input {
        i: u64,
        t_us: u64,
        node: Sid,
        #[serde(skip_serializing_if = "Option::is_none", default)]
        sent_us: Option<u64>,
        input: Input,
    },
    Fault {
        i: u64,
        t_us: u64,
        fault: FaultEvent,
    },
    /// An input delivered to a service client (`client` is its index); `sent_us` for
    /// server answers.
    Client {
        i: u64,
        t_us: u64,
        client: u64,
        #[serde(skip_serializing_if = "Option::is_none", default)]
        sent_us: Option<u64>,
        input: Box<zab::client::ClientInput>,
    },
    /// What a service client's library told its application.
    ClientEvent {
        t_us: u64,
        client: u64,
        event: Box<zab::client::ClientEvent>,
    },
    /// What a node reported (role changes, decisions).
    Observe {
        t_us: u64,
        node: Sid,
        obs: Observation,
    },
    Violation {
        t_us: u64,
        violation: Violation,
    },
    End {
        t_us: u64,
        events: u64,
        trace_hash: String,
    },
}

/// Where trace records go: nowhere (sweeps), or a JSON-lines writer. A short ring of the
/// latest inputs is always kept, for violation reports.
pub struct Tracer {
    sink: Option<Box<dyn Write + Send + Sync>>,
    recent: VecDeque<TraceRecord>,
    recent_max: usize,
    error: Option<String>,
}

/// A world forked mid-run (the exhaustive explorer branches this way) keeps its recent
/// records but writes nowhere: one trace file has one run in it.
impl Clone for Tracer {
    fn clone(&self) -> Tracer {
        Tracer { sink: None, recent: self.recent.clone(), recent_max: self.recent_max, error: self.error.clone() }
    }
}

impl Tracer {
    /// How many of the latest records a violation report shows.
    pub const RECENT_MAX: usize = 24;

    /// A tracer writing to `sink`, if any, and keeping the latest `recent_max` records.
    pub fn new(sink: Option<Box<dyn Write + Send + Sync>>, recent_max: usize) -> Tracer {
        Tracer { sink, recent: VecDeque::with_capacity(recent_max), recent_max, error: None }
    }

    pub fn is_writing(&self) -> bool {
        self.sink.is_some()
    }

    /// Whether a record goes anywhere: callers skip building one that would not.
    pub fn is_recording(&self) -> bool {
        self.sink.is_some() || self.recent_max > 0
    }

    /// Records one line; the ring keeps the latest ones.
    pub fn record(&mut self, rec: TraceRecord) {
        if let Some(w) = self.sink.as_mut() {
            let line = serde_json::to_string(&rec).expect("trace records always serialize");
            if let Err(e) = writeln!(w, "{line}") {
                self.error.get_or_insert_with(|| e.to_string());
            }
        }
        if self.recent_max == 0 || matches!(rec, TraceRecord::Header(_) | TraceRecord::End { .. }) {
            return;
        }
        if self.recent.len() == self.recent_max {
            self.recent.pop_front();
        }
        self.recent.push_back(rec);
    }

    pub fn recent(&self) -> impl Iterator<Item = &TraceRecord> {
        self.recent.iter()
    }

    /// Flushes the sink; the first write error, if any.
    pub fn finish(&mut self) -> Result<(), String> {
        if let Some(w) = self.sink.as_mut() {
            if let Err(e) = w.flush() {
                self.error.get_or_insert_with(|| e.to_string());
            }
        }
        match self.error.take() {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }
}

/// The longest line a trace or a sweep's `--out` file may have. A run's lines are far
/// shorter (a SNAP carrying a whole log is the longest, some hundreds of kilobytes); the cap
/// keeps a crafted file without newlines from being read into memory whole.
pub const LINE_BYTES_MAX: u64 = 64 << 20;

/// One line of a JSON-lines file, as [`JsonLines`] reads it.
pub struct Line<'a> {
    /// 1 for the file's first line (blank lines are counted, not returned).
    pub number: u64,
    pub text: &'a str,
    /// The byte offset where the line starts.
    pub start: u64,
    /// Whether a newline ends it (a sweep interrupted mid-write leaves one without).
    pub terminated: bool,
}

/// Reads a JSON-lines file (a trace, a sweep's `--out`) one line at a time, so that a file
/// of any size is read in bounded memory. Errors name the line but not the file (callers
/// add it).
pub struct JsonLines<R> {
    reader: R,
    buf: Vec<u8>,
    number: u64,
    offset: u64,
}

impl<R: std::io::BufRead> JsonLines<R> {
    pub fn new(reader: R) -> JsonLines<R> {
        JsonLines { reader, buf: Vec::new(), number: 0, offset: 0 }
    }

    /// How many bytes were read: the end of the last line returned, or of the file.
    pub fn offset(&self) -> u64 {
        self.offset
    }

    /// The next line that is not blank, or `None` at the end of the file.
    pub fn next_line(&mut self) -> Result<Option<Line<'_>>, String> {
        use std::io::{BufRead, Read};
        let (start, end, terminated) = loop {
            self.buf.clear();
            let start = self.offset;
            let n = (&mut self.reader)
                .take(LINE_BYTES_MAX + 1)
                .read_until(b'\n', &mut self.buf)
                .map_err(|e| format!("line {}: cannot read: {e}", self.number + 1))?;
            if n == 0 {
                return Ok(None);
            }
            self.number += 1;
            self.offset += n as u64;
            let terminated = self.buf.last() == Some(&b'\n');
            if !terminated && n as u64 > LINE_BYTES_MAX {
                return Err(format!(
                    "line {}: longer than {} MiB: not a line zabsim writes",
                    self.number,
                    LINE_BYTES_MAX >> 20
                ));
            }
            let mut end = self.buf.len();
            while end > 0 && matches!(self.buf[end - 1], b'\n' | b'\r') {
                end -= 1;
            }
            if !self.buf[..end].iter().all(u8::is_ascii_whitespace) {
                break (start, end, terminated);
            }
        };
        let text =
            std::str::from_utf8(&self.buf[..end]).map_err(|_| format!("line {}: not UTF-8 text", self.number))?;
        Ok(Some(Line { number: self.number, text, start, terminated }))
    }
}

/// Parses one JSON line into `T`, refusing fields `T` does not have, at any depth: the line
/// is parsed, written back, and compared, so that a field added anywhere (even inside a
/// message, whose types in `zab` accept unknown fields) is named instead of silently
/// dropped. A line exactly as zabsim writes it costs one parse and one write.
pub fn parse_strict<T: serde::de::DeserializeOwned + Serialize>(line: &str) -> Result<T, String> {
    let value: T = serde_json::from_str(line).map_err(|e| json_error(&e))?;
    if serde_json::to_string(&value).is_ok_and(|again| again == line) {
        return Ok(value);
    }
    let original: serde_json::Value = serde_json::from_str(line).map_err(|e| e.to_string())?;
    let canonical = serde_json::to_value(&value).map_err(|e| e.to_string())?;
    match unknown_field(&original, &canonical, String::new()) {
        Some(path) => Err(format!("unknown field `{path}`")),
        None => Ok(value),
    }
}

/// A JSON error of one line, said briefly: its position as a column (the caller names the
/// line) and, for an unknown field, not the list of every field there is.
pub fn json_error(e: &serde_json::Error) -> String {
    let text = e.to_string();
    let text = text.rsplit_once(" at line ").map_or(text.as_str(), |(m, _)| m);
    let text = text.split_once(", expected one of").map_or(text, |(m, _)| m);
    // serde quotes a wrong value (`invalid type: string "..."`): a crafted one can be long.
    let text = brief(text, 200);
    match e.column() {
        0 => text,
        c => format!("{text} (column {c})"),
    }
}

/// The path of the first field of `original` that writing the parsed value back left out
/// (`null`s aside: an absent optional field is written as nothing).
fn unknown_field(original: &serde_json::Value, canonical: &serde_json::Value, at: String) -> Option<String> {
    use serde_json::Value;
    let join = |k: &str| if at.is_empty() { k.to_string() } else { format!("{at}.{k}") };
    match (original, canonical) {
        (Value::Object(a), Value::Object(b)) => a.iter().find_map(|(k, v)| match b.get(k) {
            None if v.is_null() => None,
            // Cut at 64 characters: a crafted key can be long.
            None => Some(join(&k.chars().take(64).collect::<String>())),
            Some(w) => unknown_field(v, w, join(k)),
        }),
        (Value::Array(a), Value::Array(b)) => {
            a.iter().zip(b).enumerate().find_map(|(i, (v, w))| unknown_field(v, w, format!("{at}[{i}]")))
        }
        _ => None,
    }
}

/// Hashes one value into a running trace hash.
pub fn feed<T: Hash>(h: &mut StableHasher, v: &T) {
    v.hash(h);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stable_hasher_is_pinned() {
        // These values are the contract: changing them changes every trace hash.
        let mut h = StableHasher::new();
        feed(&mut h, &(1u64, 2u64, "abc"));
        assert_eq!(crate::format::hash_hex(h.finish()), crate::format::hash_hex(pinned()));
    }

    fn pinned() -> u64 {
        let mut h = StableHasher::new();
        h.write_u64(1);
        h.write_u64(2);
        h.write(b"abc");
        h.write_u8(0xff);
        h.finish()
    }

    fn lines_of(bytes: &[u8]) -> Vec<Result<(u64, String, bool), String>> {
        let mut r = JsonLines::new(bytes);
        let mut out = Vec::new();
        loop {
            match r.next_line() {
                Ok(Some(l)) => out.push(Ok((l.number, l.text.to_string(), l.terminated))),
                Ok(None) => return out,
                Err(e) => {
                    out.push(Err(e));
                    return out;
                }
            }
        }
    }

    #[test]
    fn json_lines_skip_blank_lines_and_say_which_line_lacks_its_newline() {
        let got = lines_of(b"{\"a\":1}\n\n  \r\n{\"b\":2}\r\n{\"c\"");
        assert_eq!(
            got,
            [
                Ok((1, "{\"a\":1}".to_string(), true)),
                Ok((4, "{\"b\":2}".to_string(), true)),
                Ok((5, "{\"c\"".to_string(), false)),
            ]
        );
        let mut r = JsonLines::new(&b"x\ny\n"[..]);
        assert_eq!(r.next_line().unwrap().unwrap().start, 0);
        assert_eq!(r.offset(), 2);
        assert_eq!(r.next_line().unwrap().unwrap().start, 2);
    }

    #[test]
    fn json_lines_refuse_an_endless_line_and_bytes_that_are_not_text() {
        let long = vec![b'x'; LINE_BYTES_MAX as usize + 1];
        let got = lines_of(&long);
        assert!(matches!(&got[0], Err(e) if e.starts_with("line 1: longer than 64 MiB")), "{:?}", got[0]);
        let got = lines_of(b"{}\n\xff\xfe\n");
        assert_eq!(got[1], Err("line 2: not UTF-8 text".to_string()));
    }

    #[test]
    fn strict_parsing_names_an_unknown_field_at_any_depth() {
        let input = r#"{"kind":"input","i":3,"t_us":5,"node":1,"input":{"input":"start"}}"#;
        assert!(parse_strict::<TraceRecord>(input).is_ok());
        let top = input.replace(r#""node":1"#, r#""node":1,"colour":"red""#);
        assert_eq!(parse_strict::<TraceRecord>(&top).unwrap_err(), "unknown field `colour`");
        let nested = input.replace(r#"{"input":"start"}"#, r#"{"input":"start","late":[1]}"#);
        assert_eq!(parse_strict::<TraceRecord>(&nested).unwrap_err(), "unknown field `input.late`");
        // Not as zabsim writes it, but nothing unknown: spaces, an explicit null.
        let spaced = input.replace(',', ", ").replace(r#""node":1"#, r#""node":1,"sent_us":null"#);
        assert_eq!(parse_strict::<TraceRecord>(&spaced).unwrap(), parse_strict::<TraceRecord>(input).unwrap());
        let header = r#"{"kind":"header","scenario":"s","scenario_path":"s.toml","scenario_hash":"0","seed":1,"variant":"none","tool_version":"0","until":3}"#;
        assert_eq!(parse_strict::<TraceRecord>(header).unwrap_err(), "unknown field `until`");
        let bad = parse_strict::<TraceRecord>(r#"{"kind":"end","t_us":-1,"events":0,"trace_hash":"0"}"#).unwrap_err();
        assert_eq!(bad, "invalid value: integer `-1`, expected u64", "no `at line 1` of a one-line text");
        let bad = parse_strict::<(u64, u64)>("[1, -1]").unwrap_err();
        assert_eq!(bad, "invalid value: integer `-1`, expected u64 (column 6)");
    }

    #[test]
    fn errors_quote_a_long_value_briefly() {
        let line = format!(r#"{{"kind":"end","t_us":"{}","events":0,"trace_hash":"0"}}"#, "9".repeat(100_000));
        let e = parse_strict::<TraceRecord>(&line).unwrap_err();
        assert!(e.starts_with("invalid type: string \"999") && e.len() < 300, "{}", &e[..300.min(e.len())]);
        assert!(e.contains("(100"), "{e}");
    }

    #[test]
    fn a_header_without_a_stop_time_reads_as_a_run_to_the_end() {
        let old = r#"{"kind":"header","scenario":"s","scenario_path":"s.toml","scenario_hash":"0","seed":1,"variant":"none","tool_version":"0"}"#;
        let Ok(TraceRecord::Header(h)) = parse_strict::<TraceRecord>(old) else { panic!("an older header reads") };
        assert_eq!(h.until_us, None);
        // Written back without one: a run to the end keeps the header it always had.
        assert!(!serde_json::to_string(&TraceRecord::Header(h)).unwrap().contains("until_us"));
    }

    #[test]
    fn different_inputs_hash_differently() {
        let mut a = StableHasher::new();
        let mut b = StableHasher::new();
        a.write_u64(1);
        b.write_u64(2);
        assert_ne!(a.finish(), b.finish());
    }
}
