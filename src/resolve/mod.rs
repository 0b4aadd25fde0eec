//! Pure: flags + kubeconfig + km-config.yaml -> a typed request per
//! command, every default filled in. Nothing reads the command's arguments
//! after this stage.

pub mod list;
pub mod rm;
