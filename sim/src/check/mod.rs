//! Checking a run: the protocol invariants over servers' histories and configurations, and
//! the data tree's as clients see it, and what the users of a recipe assume.

pub mod checker;
pub mod data_checker;
pub mod invariant;
pub mod recipe_checker;

#[cfg(test)]
mod checker_tests;
