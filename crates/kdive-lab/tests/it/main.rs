//! The lab's integration tests, one binary: the lab over HTTPS, driven by kube-rs and the
//! real kubectl. Tests that need the rest of kdive live in the root crate's `tests/it`.

mod support;

mod bad_requests;
mod controllers;
mod data_dir;
mod demo;
mod fairness;
mod fuzz_objects;
mod gc;
mod kube_rs;
mod kubectl;
mod kubelet;
mod logs;
#[cfg(target_os = "linux")]
mod memory;
mod metadata;
mod prometheus;
mod storage;
mod traffic;
mod validation;
