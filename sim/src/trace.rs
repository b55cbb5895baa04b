//! The trace: every delivered input, fault and observation of a run, as JSON lines, and
//! the trace hash that identifies a run bit for bit.

use crate::checker::Violation;
use serde::{Deserialize, Serialize};
use std::collections::VecDeque;
use std::hash::{Hash, Hasher};
use std::io::Write;
use zab::node::{Input, Observation};
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
        code: zab::node::ExitCode,
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

/// The header line: what is needed to reproduce the run.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
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
}

fn default_release() -> String {
    zab::release::Release::default().name().to_string()
}

/// One line of a trace.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
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

/// Formats a trace hash the way every command prints it.
pub fn hash_hex(h: u64) -> String {
    format!("{h:016x}")
}

/// Where trace records go: nowhere (sweeps), or a JSON-lines writer. A short ring of the
/// latest inputs is always kept, for violation reports.
pub struct Tracer {
    sink: Option<Box<dyn Write + Send>>,
    recent: VecDeque<TraceRecord>,
    recent_max: usize,
    error: Option<String>,
}

impl Tracer {
    /// How many of the latest records a violation report shows.
    pub const RECENT_MAX: usize = 24;

    pub fn new(sink: Option<Box<dyn Write + Send>>) -> Tracer {
        Tracer { sink, recent: VecDeque::with_capacity(Self::RECENT_MAX), recent_max: Self::RECENT_MAX, error: None }
    }

    pub fn is_writing(&self) -> bool {
        self.sink.is_some()
    }

    /// Records one line; the ring keeps the latest ones.
    pub fn record(&mut self, rec: TraceRecord) {
        if let Some(w) = self.sink.as_mut() {
            let line = serde_json::to_string(&rec).expect("trace records always serialize");
            if let Err(e) = writeln!(w, "{line}") {
                self.error.get_or_insert_with(|| e.to_string());
            }
        }
        if matches!(rec, TraceRecord::Header(_) | TraceRecord::End { .. }) {
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

/// A trace sink kept in memory (for `replay`, event windows and tests); clones share it.
#[derive(Clone, Default)]
pub struct SharedBuffer(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

impl SharedBuffer {
    /// What was written so far.
    pub fn contents(&self) -> Vec<u8> {
        self.0.lock().expect("no writer panicked").clone()
    }
}

impl Write for SharedBuffer {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        self.0.lock().expect("no writer panicked").extend_from_slice(b);
        Ok(b.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Parses JSON lines (a trace, a sweep's `--out`); blank lines are skipped and an error
/// names the line.
pub fn parse_json_lines<T: serde::de::DeserializeOwned>(text: &str) -> Result<Vec<T>, String> {
    text.lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(i, l)| serde_json::from_str(l).map_err(|e| format!("line {}: {e}", i + 1)))
        .collect()
}

/// Parses a JSON-lines trace; the error names the line.
pub fn parse_trace(text: &str) -> Result<Vec<TraceRecord>, String> {
    parse_json_lines(text)
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
        assert_eq!(hash_hex(h.finish()), hash_hex(pinned()));
    }

    fn pinned() -> u64 {
        let mut h = StableHasher::new();
        h.write_u64(1);
        h.write_u64(2);
        h.write(b"abc");
        h.write_u8(0xff);
        h.finish()
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
