//! What `policy` prints: the least-privilege IAM policies and RBAC, as
//! commented text, JSON, or (RBAC only) YAML to pipe into kubectl.

use serde_json::{Value, json};

use crate::cli::{PolicyFor, PolicyOutput};
use crate::commands::policy::PolicyError;
use crate::error::Error;
use crate::permissions::{self, RbacScope};

fn pretty(v: &Value) -> Result<String, Error> {
    Ok(serde_json::to_string_pretty(v)?)
}

pub fn print(
    target: PolicyFor,
    output: PolicyOutput,
    klanker: Option<&Value>,
    cluster: Option<&Value>,
    rbac: Option<&RbacScope>,
) -> Result<(), Error> {
    match output {
        PolicyOutput::Yaml => {
            if let Some(scope) = rbac {
                print!("{}", permissions::rbac_yaml(scope));
            }
        }
        PolicyOutput::Json => {
            let rbac_json = rbac.map(permissions::rbac_list);
            match target {
                PolicyFor::Klanker => println!("{}", pretty(klanker.unwrap_or(&Value::Null))?),
                PolicyFor::Cluster => {
                    println!("{}", pretty(cluster.ok_or(PolicyError::ClusterAccount)?)?)
                }
                PolicyFor::Rbac => println!("{}", pretty(&rbac_json.unwrap_or_default())?),
                PolicyFor::All => println!(
                    "{}",
                    pretty(&json!({"klanker": klanker, "cluster": cluster, "rbac": rbac_json}))?
                ),
            }
        }
        PolicyOutput::Text => {
            if let Some(doc) = klanker {
                println!(
                    "# Klanker operator profile (--aws-profile): IAM policy\n{}\n",
                    pretty(doc)?
                );
                println!(
                    "# Roles named with --role-name outside km-cluster-* need that name added to the role statements.\n\
                     # add --policy-arn may attach only km-operator-policy and the --allow-policy-arn ARNs.\n"
                );
            }
            if matches!(target, PolicyFor::All | PolicyFor::Cluster) {
                match cluster {
                    Some(doc) => println!(
                        "# Cluster-account identity (the kubeconfig's AWS profile): IAM policy\n{}\n",
                        pretty(doc)?
                    ),
                    None if target == PolicyFor::Cluster => {
                        return Err(PolicyError::ClusterAccount.into());
                    }
                    None => println!(
                        "# Cluster-account identity: the context names no EKS cluster ARN; pass --cluster-account ID for its policy (a cluster that is not EKS needs none).\n"
                    ),
                }
            }
            match rbac {
                Some(scope) => println!(
                    "# Kubeconfig user: Kubernetes RBAC (kubectl klanker-trust policy --for rbac -o yaml | kubectl apply -f -)\n{}",
                    permissions::rbac_yaml(scope)
                ),
                None if target == PolicyFor::All => println!(
                    "# Kubeconfig user: pass --namespace NS (and --service-account NAME) or an onboarding's NAME for its Kubernetes RBAC."
                ),
                None => {}
            }
        }
    }
    Ok(())
}
