//! Conformance of the `zab` model against a real ZooKeeper ensemble.
//!
//! - [`live`] runs a real ensemble (Debian's ZooKeeper 3.8.0 package) on 127.0.0.1, drives
//!   the cases and extracts each server's decisions from its logs, four-letter words and
//!   data dir. It needs Java; only `zk-conformance record` and `.ci/run` use it.
//! - [`corpus`] is what a run records: small JSON files under `conformance/corpus/`.
//! - [`model`] gives each recorded decision's inputs to the model; [`compare`] lines the
//!   two up. The default `cargo test` compares the committed corpus, without Java.
//!
//! The determinism rules of `src/` and `sim/` do not bind [`live`] (it runs processes and
//! waits on the wall clock); the corpus comparison is deterministic.

pub mod compare;
pub mod corpus;
pub mod live;
pub mod model;
pub mod txnlog;

#[cfg(test)]
mod corpus_tests;
