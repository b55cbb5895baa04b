//! `zabsim replay`: re-run the run a trace records and compare the new run's trace with the
//! recorded one, line by line, as the new run writes it. Neither trace is held: a trace of
//! any length replays in the memory of the run itself.
//!
//! A recorded line is taken as written when it is byte for byte the new run's line; only a
//! line that differs is parsed, strictly (an unknown field anywhere is bad input, exit 2,
//! not a difference), and compared as a record.

use crate::format::hash_hex;
use crate::run::cluster::{run, RunOptions};
use crate::scenario::Scenario;
use crate::trace::{parse_strict, JsonLines, TraceHeader, TraceRecord};
use std::io::{BufReader, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use zab::release::Release;
use zab::Variant;

/// How long a line of a difference is shown (a trace line can be long).
const SHOWN_CHARS_MAX: usize = 2000;

/// A trace, opened and its header checked, ready to replay.
pub struct Recorded {
    path: PathBuf,
    header: TraceHeader,
    /// The header's line number and text.
    header_line: (u64, String),
    /// The lines after the header.
    lines: JsonLines<BufReader<std::fs::File>>,
}

/// What a replay found.
pub enum Verdict {
    /// Every line the same, the trace hash included.
    Same { events: u64, trace_hash: String },
    /// The first line where the runs part.
    Differs {
        /// The recorded trace's line number.
        line: u64,
        recorded: Option<String>,
        replayed: Option<String>,
        recorded_hash: Option<String>,
        replayed_hash: String,
        /// Why, when it can be told.
        hint: Option<String>,
    },
}

impl Recorded {
    /// Opens a trace and reads its header. Errors are bad input and name the file.
    pub fn open(path: &Path) -> Result<Recorded, String> {
        let name = path.display().to_string();
        let file = std::fs::File::open(path).map_err(|e| format!("{name}: cannot read: {e}"))?;
        let mut lines = JsonLines::new(BufReader::new(file));
        let first = lines
            .next_line()
            .map_err(|e| format!("{name}: {e}"))?
            .ok_or_else(|| format!("{name}: empty: not a trace (write one with `zabsim run ... --trace FILE`)"))?;
        let at = |e: String| format!("{name}: line {}: {e}", first.number);
        let TraceRecord::Header(header) =
            parse_strict::<TraceRecord>(first.text).map_err(|e| at(format!("not a trace record: {e}")))?
        else {
            return Err(at("the first line is not a trace header".into()));
        };
        let header_line = (first.number, first.text.to_string());
        Ok(Recorded { path: path.to_path_buf(), header: *header, header_line, lines })
    }

    pub fn header(&self) -> &TraceHeader {
        &self.header
    }

    /// Re-runs the recorded run and compares. `Err` is bad input (a scenario that cannot be
    /// found or changed, a malformed line); a difference is a [`Verdict`].
    pub fn replay(self) -> Result<Verdict, String> {
        let name = self.path.display().to_string();
        let h = self.header.clone();
        let header_at = self.header_line.0;
        let at = |e: String| format!("{name}: line {header_at}: {e}");
        check_header(&h).map_err(at)?;
        let scenario = resolve_scenario(&self.path, &h)?;
        // A name is short: a long one is not echoed.
        let named = |field: &str, v: &str, e: String| match v.len() {
            0..=64 => at(format!("{field}: {e}")),
            n => at(format!("{field}: {n} bytes long: not a name")),
        };
        let variant = h.variant.parse::<Variant>().map_err(|e| named("variant", &h.variant, e))?;
        let release = h.zookeeper.parse::<Release>().map_err(|e| named("zookeeper", &h.zookeeper, e))?;
        let compare = Arc::new(Mutex::new(Compare {
            recorded: self.lines,
            header: Some((h.clone(), self.header_line)),
            partial: Vec::new(),
            last_line: 1,
            found: None,
        }));
        let mut opts = RunOptions::new(h.seed);
        opts.variant = Some(variant);
        opts.release = Some(release);
        opts.until_us = h.until_us;
        opts.scenario_path = h.scenario_path.clone();
        opts.trace = Some(Box::new(BufWriter::with_capacity(1 << 16, Sink(compare.clone()))));
        let report = if h.moves.is_empty() {
            run(&scenario, opts)
        } else {
            let moves = parse_moves(&h.moves).map_err(at)?;
            opts.moves = h.moves.clone();
            crate::run::cluster::run_moves(&scenario, opts, &moves).map_err(|e| format!("{name}: {e}"))?
        };
        let replayed_hash = hash_hex(report.trace_hash);
        let mut c = compare.lock().expect("the run is over");
        if let Some(e) = &report.trace_error {
            return Err(format!("{name}: comparing: {e}"));
        }
        if c.found.is_none() {
            // The new run is over: the recorded trace must be too.
            match c.recorded.next_line() {
                Err(e) => return Err(format!("{name}: {e}")),
                Ok(None) => return Ok(Verdict::Same { events: report.events, trace_hash: replayed_hash }),
                Ok(Some(l)) => {
                    c.found =
                        Some(Found::Differs { line: l.number, recorded: Some(l.text.to_string()), replayed: None })
                }
            }
        }
        match c.found.take().expect("found above") {
            Found::Bad(e) => Err(format!("{name}: {e}")),
            Found::Differs { line, recorded, replayed } => {
                let recorded_hash = c.recorded_end_hash(recorded.as_deref());
                let recorded_end = recorded.as_deref().is_some_and(|r| r.starts_with("{\"kind\":\"end\""));
                let hint = (recorded_end && replayed.is_some() && h.until_us.is_none()).then(|| {
                    "the recorded run stopped before this one: a trace written with --until-ms by a zabsim \
                     that did not record the stop time (`until_us` in the header) replays to the end"
                        .to_string()
                });
                Ok(Verdict::Differs {
                    line,
                    recorded: recorded.map(|l| crate::format::brief(&l, SHOWN_CHARS_MAX)),
                    replayed: replayed.map(|l| crate::format::brief(&l, SHOWN_CHARS_MAX)),
                    recorded_hash,
                    replayed_hash,
                    hint,
                })
            }
        }
    }
}

/// An explorer's moves as the header lists them.
fn parse_moves(moves: &[String]) -> Result<Vec<crate::run::cluster::Move>, String> {
    moves.iter().enumerate().map(|(i, m)| m.parse().map_err(|e| format!("moves[{i}]: {e}"))).collect()
}

/// What a header must hold before `replay` looks for its scenario and quotes its fields.
fn check_header(h: &TraceHeader) -> Result<(), String> {
    if h.scenario_hash.len() != 16 || !h.scenario_hash.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err("scenario_hash: not a hash as zabsim writes it (16 hex digits)".into());
    }
    if h.scenario_path.len() > 4096 {
        return Err(format!("scenario_path: {} bytes long: not a path", h.scenario_path.len()));
    }
    Ok(())
}

/// Finds the trace's scenario file: a relative path is looked up from the trace's directory
/// first (a trace kept beside its scenario replays from anywhere), then from the current
/// directory (where `run` was started). The first file whose content hash is the trace's
/// is taken; a file found with another hash is an edited scenario.
pub fn resolve_scenario(trace: &Path, h: &TraceHeader) -> Result<Scenario, String> {
    let name = trace.display().to_string();
    if h.scenario_path.is_empty() {
        return Err(format!("{name}: scenario_path: empty: the trace names no scenario file"));
    }
    let recorded = Path::new(&h.scenario_path);
    let mut candidates = Vec::new();
    if recorded.is_relative() {
        if let Some(dir) = trace.parent().filter(|d| !d.as_os_str().is_empty()) {
            candidates.push(dir.join(recorded));
        }
    }
    candidates.push(recorded.to_path_buf());
    let mut refusal = None;
    for c in candidates.iter().filter(|c| c.is_file()) {
        match Scenario::load(c) {
            Ok(s) => {
                let hash = hash_hex(s.content_hash());
                if hash == h.scenario_hash {
                    return Ok(s);
                }
                refusal.get_or_insert(format!(
                    "{name}: its scenario {} changed since the trace was written (content hash {hash}, the trace has {})",
                    c.display(),
                    h.scenario_hash
                ));
            }
            Err(e) => {
                refusal.get_or_insert(format!("{name}: its scenario: {e}"));
            }
        }
    }
    Err(refusal.unwrap_or_else(|| {
        let looked: Vec<String> = candidates.iter().map(|c| c.display().to_string()).collect();
        format!("{name}: its scenario {} is not found (looked for {})", h.scenario_path, looked.join(" and "))
    }))
}

/// The first thing that sets the runs apart.
enum Found {
    /// A recorded line that is not a trace record: bad input.
    Bad(String),
    Differs {
        line: u64,
        recorded: Option<String>,
        replayed: Option<String>,
    },
}

/// The comparison, fed the new run's trace as it is written.
struct Compare {
    recorded: JsonLines<BufReader<std::fs::File>>,
    /// The recorded header (read and checked before the run) with its line number and text,
    /// until the new run's header is compared with it.
    header: Option<(TraceHeader, (u64, String))>,
    /// The new run's line being written.
    partial: Vec<u8>,
    /// The recorded trace's last line number read.
    last_line: u64,
    found: Option<Found>,
}

impl Compare {
    /// Compares the new run's next line with the recorded trace's next one.
    fn line(&mut self, new: &str) {
        if self.found.is_some() {
            return;
        }
        if let Some((header, (number, text))) = self.header.take() {
            // The new run's header names this zabsim's version, which `replay` warned about
            // if it is not the trace's.
            let same = match serde_json::from_str(new).expect("the run writes records") {
                TraceRecord::Header(mut again) => {
                    again.tool_version.clone_from(&header.tool_version);
                    *again == header
                }
                _ => false,
            };
            if !same {
                self.found =
                    Some(Found::Differs { line: number, recorded: Some(text), replayed: Some(new.to_string()) });
            }
            return;
        }
        let rec = match self.recorded.next_line() {
            Err(e) => {
                self.found = Some(Found::Bad(e));
                return;
            }
            Ok(None) => {
                let line = self.last_line + 1;
                self.found = Some(Found::Differs { line, recorded: None, replayed: Some(new.to_string()) });
                return;
            }
            Ok(Some(l)) => l,
        };
        self.last_line = rec.number;
        if rec.text == new {
            return;
        }
        let number = rec.number;
        let recorded = match parse_strict::<TraceRecord>(rec.text) {
            Ok(r) => r,
            Err(e) => {
                self.found = Some(Found::Bad(format!("line {number}: not a trace record: {e}")));
                return;
            }
        };
        let replayed: TraceRecord = serde_json::from_str(new).expect("the run writes records");
        if recorded != replayed {
            let recorded = Some(rec.text.to_string());
            self.found = Some(Found::Differs { line: number, recorded, replayed: Some(new.to_string()) });
        }
    }

    /// The trace hash of the recorded run: its last line, if that is an end line.
    fn recorded_end_hash(&mut self, at_difference: Option<&str>) -> Option<String> {
        let mut last = at_difference.map(str::to_string);
        while let Ok(Some(l)) = self.recorded.next_line() {
            if l.text.starts_with("{\"kind\":\"end\"") {
                last = Some(l.text.to_string());
            }
        }
        match serde_json::from_str::<TraceRecord>(&last?) {
            Ok(TraceRecord::End { trace_hash, .. }) => Some(trace_hash),
            _ => None,
        }
    }
}

/// The new run's trace sink.
struct Sink(Arc<Mutex<Compare>>);

impl Write for Sink {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        let mut c = self.0.lock().expect("one writer");
        let mut rest = bytes;
        while let Some(i) = rest.iter().position(|b| *b == b'\n') {
            let mut line = std::mem::take(&mut c.partial);
            line.extend_from_slice(&rest[..i]);
            let text = String::from_utf8(line).expect("the run writes UTF-8");
            c.line(&text);
            let mut buf = text.into_bytes();
            buf.clear();
            c.partial = buf;
            rest = &rest[i + 1..];
        }
        c.partial.extend_from_slice(rest);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}
