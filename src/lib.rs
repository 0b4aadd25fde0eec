//! kubectl-klanker-trust: onboard a Kubernetes cluster's ServiceAccount to
//! assume a role in the central klanker AWS account through IRSA.
//!
//! Layout: `cli` (flags) -> `commands` (orchestration) over `kubeconfig`
//! (which cluster), `aws` (IAM/STS/EKS), `k8s` (ServiceAccount), `trust`
//! and `plan` (pure logic), `store` (km-config.yaml), `output` and `error`.

pub mod aws;
pub mod cli;
pub mod commands;
pub mod complete;
pub mod error;
pub mod inventory;
pub mod k8s;
pub mod kubeconfig;
pub mod observe;
pub mod output;
pub mod permissions;
pub mod plan;
pub mod resolve;
pub mod store;
pub mod trust;
pub mod verify;
