//! How one run is set up beyond its scenario: the seed, overrides, and where its trace goes.

use std::io::Write;
use zab::release::Release;
use zab::Variant;

/// How one run is set up beyond its scenario.
pub struct RunOptions {
    pub seed: u64,
    /// Overrides the scenario's variant.
    pub variant: Option<Variant>,
    /// Overrides the scenario's ZooKeeper release (`--zookeeper`).
    pub release: Option<Release>,
    /// Check invariants (off only to measure the checker's cost).
    pub check: bool,
    /// Stop at this simulated time.
    pub until_us: Option<u64>,
    /// Where to write the JSON-lines trace.
    pub trace: Option<Box<dyn Write + Send + Sync>>,
    /// The scenario file, recorded in the trace header.
    pub scenario_path: String,
    /// Keep the last events for the violation report (`run` prints them; a sweep, which
    /// keeps only each seed's outcome, does not, and saves copying every input).
    pub recent_events: bool,
    /// The moves an explorer took, recorded in the trace header (`run_moves`).
    pub moves: Vec<String>,
}

impl RunOptions {
    pub fn new(seed: u64) -> RunOptions {
        RunOptions {
            seed,
            variant: None,
            release: None,
            check: true,
            until_us: None,
            trace: None,
            scenario_path: String::new(),
            recent_events: true,
            moves: Vec::new(),
        }
    }
}
