//! The recorded corpus: one JSON file per case, holding the decisions a real ZooKeeper
//! ensemble made and, for each, exactly the inputs the model needs to make it too.
//!
//! Zxids are written as hex strings (`"0x100000003"`), as ZooKeeper's logs print them.

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

/// A zxid as recorded: `epoch << 32 | counter`, written in hex.
#[derive(Copy, Clone, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Hex(pub u64);

impl Hex {
    pub fn epoch(self) -> u64 {
        self.0 >> 32
    }
    pub fn counter(self) -> u64 {
        self.0 & 0xffff_ffff
    }
}

impl fmt::Display for Hex {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "0x{:x}", self.0)
    }
}

impl fmt::Debug for Hex {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "0x{:x}", self.0)
    }
}

impl Serialize for Hex {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_string())
    }
}

impl<'de> Deserialize<'de> for Hex {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Hex, D::Error> {
        let s = String::deserialize(d)?;
        parse_hex(&s)
            .map(Hex)
            .ok_or_else(|| serde::de::Error::custom(format!("`{s}` is not a hex zxid like 0x100000003")))
    }
}

/// `0x1f` or `1f` -> 31.
pub fn parse_hex(s: &str) -> Option<u64> {
    let digits = s.strip_prefix("0x").unwrap_or(s);
    if digits.is_empty() || digits.len() > 16 {
        return None;
    }
    u64::from_str_radix(digits, 16).ok()
}

/// One case's recording.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CaseRecord {
    /// The case's name, also the file's stem.
    pub case: String,
    /// What the case exercises.
    pub description: String,
    /// The ZooKeeper version the servers reported (`srvr`: "Zookeeper version: ...").
    pub zookeeper_version: String,
    /// The knobs the servers ran with (tickTime, snapCount, Java system properties).
    pub settings: BTreeMap<String, String>,
    /// What the harness did, in order.
    pub steps: Vec<String>,
    /// The decisions the real servers made, in the order they were recorded.
    pub decisions: Vec<Recorded>,
}

/// A decision of the real server, with its inputs.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum Recorded {
    Sync(RecordedSync),
    Election(RecordedElection),
    Epoch(RecordedEpoch),
    Client(RecordedClient),
    Reconfig(RecordedReconfig),
}

impl Recorded {
    /// A short label for tables: what was decided, by whom.
    pub fn label(&self) -> String {
        match self {
            Recorded::Sync(s) => format!("sync {}->{}", s.leader, s.learner),
            Recorded::Election(e) => format!("election at {}", e.server),
            Recorded::Epoch(e) => format!("epoch of leader {}", e.leader),
            Recorded::Client(c) => format!("client: {}", c.question),
            Recorded::Reconfig(r) => format!("reconfig {}", r.request),
        }
    }
}

/// The first packet of a sync: DIFF, TRUNC or SNAP, and its zxid.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SyncDecision {
    pub op: SyncOpKind,
    /// DIFF: the leader's last committed zxid; TRUNC: where to truncate; SNAP: the
    /// snapshot's zxid (the leader's lastProcessedZxid).
    pub zxid: Hex,
}

impl fmt::Display for SyncDecision {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?} {}", self.op, self.zxid)
    }
}

#[derive(Copy, Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum SyncOpKind {
    #[serde(rename = "DIFF")]
    Diff,
    #[serde(rename = "TRUNC")]
    Trunc,
    #[serde(rename = "SNAP")]
    Snap,
}

/// A txn log file in the leader's data dir (`version-2/log.<zxid>`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TxnLogFile {
    pub name: String,
    /// The zxid in the name: the first txn the file was opened for.
    pub start_zxid: Hex,
    /// The file's length in bytes (preallocated: padded with zeros).
    pub size: u64,
    /// Every txn the file holds, in file order.
    pub zxids: Vec<Hex>,
}

/// A snapshot file in the leader's data dir (`version-2/snapshot.<zxid>`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SnapshotFile {
    pub name: String,
    pub zxid: Hex,
    pub size: u64,
}

/// One `LearnerHandler.syncFollower`, with what it read.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RecordedSync {
    pub leader: u64,
    pub learner: u64,
    /// From the leader's "Synchronizing with Learner" line.
    pub peer_last_zxid: Hex,
    pub last_processed_zxid: Hex,
    pub min_committed_log: Hex,
    pub max_committed_log: Hex,
    /// `zookeeper.snapshotSizeFactor` (default 0.33), as a decimal string.
    pub snapshot_size_factor: String,
    /// `zookeeper.commitLogCount` (default 500).
    pub commit_log_count: u64,
    pub txn_logs: Vec<TxnLogFile>,
    pub snapshots: Vec<SnapshotFile>,
    /// How long after the sync line the listing was taken, and whether anything was
    /// written in between (then sizes may have moved).
    pub listing_delay_ms: u64,
    pub writes_since_sync: bool,
    /// What the learner got (its "Getting a diff" / "Getting a snapshot" / "Truncating
    /// log" line).
    pub real: SyncDecision,
    /// The leader's own lines about this sync, for reading.
    pub leader_lines: Vec<String>,
}

/// A notification as a receiver logged it ("Notification: my state:..").
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RecordedNotification {
    pub from: u64,
    pub state: String,
    pub leader: u64,
    pub zxid: Hex,
    pub round: u64,
    pub peer_epoch: u64,
}

/// A vote: (leader, zxid, peerEpoch).
#[derive(Copy, Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RecordedVote {
    pub leader: u64,
    pub zxid: Hex,
    pub peer_epoch: u64,
}

impl fmt::Display for RecordedVote {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "leader {} (zxid {}, epoch {})", self.leader, self.zxid, self.peer_epoch)
    }
}

/// One server's `lookForLeader`, from "New election" to "About to leave FLE instance".
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RecordedElection {
    pub server: u64,
    /// The voters of the configuration in force.
    pub voters: Vec<u64>,
    /// The server's round in this election (its own first notification's).
    pub round: u64,
    /// Its vote for itself.
    pub initial_vote: RecordedVote,
    /// Every notification it took while LOOKING, its own included, in order.
    pub notifications: Vec<RecordedNotification>,
    /// The vote it left with, and its state (LEADING / FOLLOWING).
    pub real_vote: RecordedVote,
    pub real_state: String,
}

/// Discovery: the epoch a leader proposed.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RecordedEpoch {
    pub leader: u64,
    /// acceptedEpoch of the leader and of each learner in its "Have quorum of supporters"
    /// list, as their data dirs held it before this election.
    pub accepted_epochs: BTreeMap<String, u64>,
    /// The epoch of the leader's NEWLEADER zxid.
    pub real_epoch: u64,
}

/// A question about what a client saw.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RecordedClient {
    pub question: ClientQuestion,
    /// The real answer, in words the model's answer is compared with.
    pub real: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum ClientQuestion {
    /// A (re)connect carrying lastZxidSeen to a server whose last processed zxid is
    /// `server_zxid`: accepted or refused (`ZooKeeperServer.processConnectRequest`).
    Connect { server: u64, last_zxid_seen: Hex, server_zxid: Hex, established: bool },
    /// A session holding ephemerals stops heartbeating: after the timeout the leader
    /// expires it, deleting its ephemerals and firing the watches set on them.
    Expiry { session_timeout_ms: u64, ephemerals: Vec<String>, watched: Vec<String> },
    /// A read after the client moved servers: the data it sees is never older than what
    /// it saw before.
    ReadAfterMove { seen_before: Hex, server_zxid: Hex, read_mzxid: Hex },
}

impl fmt::Display for ClientQuestion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ClientQuestion::Connect { server, last_zxid_seen, .. } => {
                write!(f, "connect to {server} with lastZxidSeen {last_zxid_seen}")
            }
            ClientQuestion::Expiry { .. } => write!(f, "session expiry"),
            ClientQuestion::ReadAfterMove { .. } => write!(f, "read after moving servers"),
        }
    }
}

/// A reconfig and the configuration it produced.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RecordedReconfig {
    /// "-add 4" / "-remove 3".
    pub request: String,
    pub voters_before: Vec<u64>,
    /// The reconfig txn's zxid (the reply's mzxid).
    pub txn_zxid: Hex,
    /// What `conf` answered afterwards on every live server: voters and version.
    pub real_voters: Vec<u64>,
    pub real_version: Hex,
}

/// Declared known differences: `(case, decision index) -> cause`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KnownDifferences {
    pub differences: Vec<KnownDifference>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KnownDifference {
    pub case: String,
    pub decision: usize,
    pub cause: String,
}

/// An error that names the file (and, through serde, the field).
#[derive(Debug)]
pub struct CorpusError {
    pub file: PathBuf,
    pub message: String,
}

impl fmt::Display for CorpusError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.file.display(), self.message)
    }
}

impl std::error::Error for CorpusError {}

/// The corpus directory of this crate.
pub fn default_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("corpus")
}

/// Parses one case file; the error names the file and the field serde stopped at.
pub fn parse_case(file: &Path, text: &str) -> Result<CaseRecord, CorpusError> {
    let record: CaseRecord =
        serde_json::from_str(text).map_err(|e| CorpusError { file: file.to_path_buf(), message: e.to_string() })?;
    let stem = file.file_stem().and_then(|s| s.to_str()).unwrap_or("");
    if record.case != stem {
        return Err(CorpusError {
            file: file.to_path_buf(),
            message: format!("field `case` is `{}` but the file is named `{stem}.json`", record.case),
        });
    }
    Ok(record)
}

/// Every case under `dir`, sorted by name.
pub fn load_dir(dir: &Path) -> Result<Vec<CaseRecord>, CorpusError> {
    let err = |message: String| CorpusError { file: dir.to_path_buf(), message };
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(|e| err(e.to_string()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "json") && p.file_name().is_some_and(|n| n != KNOWN_FILE))
        .collect();
    files.sort();
    files
        .iter()
        .map(|f| {
            let text =
                std::fs::read_to_string(f).map_err(|e| CorpusError { file: f.clone(), message: e.to_string() })?;
            parse_case(f, &text)
        })
        .collect()
}

/// The file of declared known differences, beside the cases.
pub const KNOWN_FILE: &str = "known-differences.json";

pub fn load_known(dir: &Path) -> Result<KnownDifferences, CorpusError> {
    let file = dir.join(KNOWN_FILE);
    match std::fs::read_to_string(&file) {
        Ok(text) => serde_json::from_str(&text).map_err(|e| CorpusError { file, message: e.to_string() }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(KnownDifferences::default()),
        Err(e) => Err(CorpusError { file, message: e.to_string() }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_zxids_round_trip_and_bad_ones_are_refused() {
        let z: Hex = serde_json::from_str("\"0x100000003\"").unwrap();
        assert_eq!(z, Hex(0x1_0000_0003));
        assert_eq!(serde_json::to_string(&z).unwrap(), "\"0x100000003\"");
        assert!(serde_json::from_str::<Hex>("\"0xZZ\"").is_err());
        assert!(serde_json::from_str::<Hex>("\"\"").is_err());
    }

    #[test]
    fn a_malformed_case_names_the_file_and_the_field() {
        let text = r#"{"case":"x","description":"d","zookeeper_version":"3.8.0","settings":{},"steps":[],
            "decisions":[{"kind":"sync","leader":1,"learner":2}]}"#;
        let e = parse_case(Path::new("corpus/x.json"), text).unwrap_err().to_string();
        assert!(e.starts_with("corpus/x.json: "), "{e}");
        assert!(e.contains("missing field `peer_last_zxid`"), "{e}");
    }

    #[test]
    fn a_case_whose_name_is_not_its_file_is_refused() {
        let text =
            r#"{"case":"y","description":"d","zookeeper_version":"3.8.0","settings":{},"steps":[],"decisions":[]}"#;
        let e = parse_case(Path::new("corpus/x.json"), text).unwrap_err().to_string();
        assert!(e.contains("field `case` is `y`"), "{e}");
    }
}
