//! Unit tests of Zab (being written).
