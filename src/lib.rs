//! kubectl-klanker-trust: onboard a Kubernetes cluster's ServiceAccount to
//! assume a role in the central klanker AWS account through IRSA.
//!
//! Every command is five stages: `resolve` (pure: flags -> a typed
//! request), `observe` (I/O: a snapshot of what exists), `plan` (pure:
//! steps, warnings, ownership), `apply` (the executor), `output` (render).
//! The adapters they use: `kubeconfig`, `aws`, `k8s`, `store`; the pure
//! logic beside `plan`: `trust`, `inventory`, `verify`, `permissions`.

pub mod apply;
pub mod audit;
pub mod aws;
pub mod cli;
pub mod commands;
pub mod complete;
pub mod env;
pub mod error;
pub mod inventory;
pub mod k8s;
pub mod kubeconfig;
pub mod logging;
pub mod no_proxy;
pub mod observe;
pub mod output;
pub mod permissions;
pub mod plan;
pub mod resolve;
pub mod store;
pub mod text;
pub mod trust;
pub mod verify;

/// A mutex's data even when a panicking thread poisoned it: every holder
/// leaves the data whole (records pushed, values replaced), so it is still good.
pub(crate) fn lock<T>(mutex: &std::sync::Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}
