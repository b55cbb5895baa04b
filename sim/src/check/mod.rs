//! Checking a run: the protocol invariants over servers' histories and configurations, and
//! the data tree's as clients see it.

pub mod checker;
pub mod data_checker;
pub mod invariant;

#[cfg(test)]
mod checker_tests;
