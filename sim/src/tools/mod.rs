//! What users run over many runs or one recorded run: sweeps, shrinking, the test
//! strategies, replay, coverage-guided fault search, and exhaustive exploration.

pub mod explore;
pub mod fuzz;
mod keyed;
pub mod replay;
pub mod shrink;
pub mod strategies;
pub mod sweep;
