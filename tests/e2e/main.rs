//! End-to-end tests: the built plugin run as `kubectl klanker-trust` against
//! moto (IAM/STS/EKS) and the Kubernetes API emulator. One test binary, so
//! the dependency set is linked once.

// First, so its assertion macros (support/assert.rs) are in scope below.
#[macro_use]
#[path = "../support/mod.rs"]
mod support;

mod add;
mod audit;
mod audit_sts;
mod binding;
mod bounds;
mod chained;
mod completion;
mod concurrency;
mod credentials;
mod demo;
mod describe;
mod faults;
mod fleet;
mod fleet_input;
mod fleet_interrupt;
mod fleet_terminal;
mod fleet_world;
mod habits;
mod help;
mod hostile;
mod interactive;
mod krew;
mod list_rm;
mod man;
mod messages;
mod ownership;
mod pod_identity;
mod pod_identity_peer;
mod pod_identity_verify;
mod policy;
mod prompt;
mod proxy;
mod quotas;
mod rbac;
mod safety_errors;
mod security;
mod several;
mod verify;
