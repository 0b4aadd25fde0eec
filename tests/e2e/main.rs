//! End-to-end tests: the built plugin run as `kubectl klanker-trust` against
//! moto (IAM/STS/EKS) and the Kubernetes API emulator. One test binary, so
//! the dependency set is linked once.

#[path = "../support/mod.rs"]
mod support;

mod add;
mod completion;
mod concurrency;
mod describe;
mod faults;
mod habits;
mod interactive;
mod krew;
mod list_rm;
mod ownership;
mod policy;
mod rbac;
mod safety_errors;
mod security;
mod verify;
