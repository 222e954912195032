//! Shared test support: the lab helpers both crates use (one file, in the lab crate's
//! tests) and the explorer's fixtures.
#![allow(dead_code, unused_imports)]

#[path = "../../../crates/kdive-lab/tests/it/support.rs"]
mod lab;
pub mod tui;

pub use lab::*;
