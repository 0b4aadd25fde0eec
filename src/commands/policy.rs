//! `policy`: print what the two identities must be allowed to do. No network.

use serde_json::json;

use crate::cli::{GlobalArgs, PolicyArgs, PolicyFor, PolicyOutput};
use crate::error::Error;
use crate::kubeconfig;
use crate::permissions;
use crate::trust::ValidationError;

fn account(value: &str, input: &str) -> Result<String, Error> {
    if value == "*" || (value.len() == 12 && value.chars().all(|c| c.is_ascii_digit())) {
        Ok(value.to_string())
    } else {
        Err(ValidationError::new(
            input,
            value,
            "an AWS account ID is 12 digits",
            "Pass the account ID, or leave it out for `*`.",
        )
        .into())
    }
}

pub fn run(global: &GlobalArgs, args: &PolicyArgs) -> Result<(), Error> {
    let klanker_account = account(&args.klanker_account, "--klanker-account")?;
    // Narrow the cluster statement with what the kubeconfig tells, offline.
    let hints = kubeconfig::load(global.kubeconfig.as_deref())
        .ok()
        .and_then(|kc| kubeconfig::select_context(&kc, global.context.as_deref()).ok())
        .map(|ctx| ctx.eks)
        .unwrap_or_default();
    let cluster_account = account(
        &args
            .cluster_account
            .clone()
            .or(hints.account)
            .unwrap_or_else(|| "*".into()),
        "--cluster-account",
    )?;
    let region = args
        .cluster_region
        .clone()
        .or(hints.region)
        .unwrap_or_else(|| "*".into());
    let name = args
        .cluster_name
        .clone()
        .or(hints.cluster_name)
        .unwrap_or_else(|| "*".into());
    let klanker = permissions::klanker_policy(&klanker_account, "aws");
    let cluster = permissions::cluster_policy(&cluster_account, &region, &name, "aws");
    let pretty = |v: &serde_json::Value| serde_json::to_string_pretty(v).unwrap_or_default();

    match (args.output, args.target) {
        (PolicyOutput::Json, PolicyFor::Klanker) => println!("{}", pretty(&klanker)),
        (PolicyOutput::Json, PolicyFor::Cluster) => println!("{}", pretty(&cluster)),
        (PolicyOutput::Json, PolicyFor::All) => println!(
            "{}",
            pretty(&json!({"klanker": klanker, "cluster": cluster}))
        ),
        (PolicyOutput::Text, target) => {
            if target != PolicyFor::Cluster {
                println!(
                    "# Klanker operator profile (--aws-profile): IAM policy\n{}\n",
                    pretty(&klanker)
                );
                println!(
                    "# Roles named with --role-name outside km-cluster-* need that name added to the first statement.\n"
                );
            }
            if target != PolicyFor::Klanker {
                println!(
                    "# Cluster-account identity (the kubeconfig's AWS profile): IAM policy\n{}\n",
                    pretty(&cluster)
                );
                println!(
                    "# Kubeconfig user: Kubernetes RBAC\n{}",
                    permissions::cluster_role_yaml()
                );
            }
        }
    }
    Ok(())
}
