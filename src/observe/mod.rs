//! I/O: each command's request -> a typed snapshot of what exists in the
//! klanker account, the cluster and km-config.yaml. Independent reads run
//! concurrently.

pub mod list;
pub mod rm;
