//! Unit tests of the checker fed hand-built histories (being written).
