//! Presentation: run summaries, sweep reports, and sequence diagrams with their SVG.

pub mod diagram;
pub mod report;
pub mod summary;
pub mod svg;
