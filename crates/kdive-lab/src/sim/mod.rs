//! The lab's data plane, as pure code: the image catalog, simulated container processes,
//! and kubelet's probes and container state machine. Time and randomness are parameters.

pub mod catalog;
pub mod kubelet;
pub mod log_text;
pub mod logs;
pub mod probes;
pub mod process;

#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_catalog;
#[cfg(test)]
mod tests_logs;
