//! What users run over many runs or one recorded run: sweeps, shrinking, the test
//! strategies, and replay.

pub mod fuzz;
pub mod replay;
pub mod shrink;
pub mod strategies;
pub mod sweep;
