//! What `policy` prints: the least-privilege IAM policies and RBAC, as
//! commented text, JSON, or (RBAC only) YAML to pipe into kubectl.

use serde_json::{Value, json};

use crate::cli::{PolicyFor, PolicyOutput};
use crate::error::Error;
use crate::permissions::{self, PolicyError, RbacScope};

fn pretty(v: &Value) -> Result<String, Error> {
    Ok(serde_json::to_string_pretty(v)?)
}

/// Everything `policy` may print; `None` for what it was not asked for.
pub struct Documents<'a> {
    pub target: PolicyFor,
    pub output: PolicyOutput,
    pub klanker: Option<&'a Value>,
    pub cluster: Option<&'a Value>,
    /// Chained mode: the km-irsa-* roles' permissions boundary.
    pub boundary: Option<&'a Value>,
    /// Chained mode: the ARN that boundary must be created under, when the
    /// cluster account is known.
    pub boundary_arn: Option<&'a str>,
    pub rbac: Option<&'a RbacScope>,
}

pub fn print(docs: &Documents) -> Result<(), Error> {
    let Documents {
        target,
        output,
        klanker,
        cluster,
        boundary,
        boundary_arn,
        rbac,
    } = *docs;
    match output {
        PolicyOutput::Yaml => {
            if let Some(scope) = rbac {
                print!("{}", permissions::rbac_yaml(scope));
            }
        }
        PolicyOutput::Json => {
            let rbac_json = rbac.map(permissions::rbac_list);
            match target {
                PolicyFor::Klanker | PolicyFor::Audit => {
                    println!("{}", pretty(klanker.unwrap_or(&Value::Null))?)
                }
                PolicyFor::Cluster => {
                    println!("{}", pretty(cluster.ok_or(PolicyError::ClusterAccount)?)?)
                }
                PolicyFor::ClusterBoundary => {
                    println!("{}", pretty(boundary.unwrap_or(&Value::Null))?)
                }
                PolicyFor::Rbac => println!("{}", pretty(&rbac_json.unwrap_or_default())?),
                PolicyFor::All => {
                    let mut all =
                        json!({"klanker": klanker, "cluster": cluster, "rbac": rbac_json});
                    // Apart, so applying `rbac` never grants a token.
                    if let Some(scope) = rbac {
                        all["rbac_optional_token"] = permissions::rbac_token_list(scope);
                    }
                    // Only chained mode has a boundary: mirror mode's keys stay as they were.
                    if let Some(doc) = boundary {
                        all["cluster_boundary"] = doc.clone();
                    }
                    println!("{}", pretty(&all)?)
                }
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
            if let Some(doc) = boundary {
                let arn = boundary_arn.map_or_else(
                    || format!("policy/{}", permissions::CLUSTER_BOUNDARY_POLICY),
                    str::to_string,
                );
                println!(
                    "# Chained mode: permissions boundary of every km-irsa-* role, created in the cluster account as {arn}\n\
                     # (kubectl klanker-trust policy --for cluster-boundary -o json > b.json; aws iam create-policy {} --policy-document file://b.json).\n\
                     # The cluster-account policy lets km-irsa-* roles be created, and given inline policies, only with it.\n{}\n",
                    create_policy_args(&arn),
                    pretty(doc)?
                );
            }
            match rbac {
                Some(scope) => println!(
                    "# Kubeconfig user: Kubernetes RBAC (kubectl klanker-trust policy --for rbac{} -o yaml | kubectl apply -f -)\n{}",
                    if scope.config_maps.is_empty() {
                        ""
                    } else {
                        " --mode chained"
                    },
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

/// `policy --for audit`: the read-only policy, commented in text.
pub fn audit(doc: &Value, output: PolicyOutput) -> Result<(), Error> {
    if output == PolicyOutput::Text {
        println!(
            "# audit: read-only IAM policy for the identity of each --aws-profile it reads\n\
             # (GetRole only for roles whose description says this tool made them).\n{}",
            pretty(doc)?
        );
    } else {
        println!("{}", pretty(doc)?);
    }
    Ok(())
}

/// `--policy-name NAME` (and `--path /P/` when the ARN has one) for
/// `aws iam create-policy`, from a policy ARN or `policy/NAME`.
fn create_policy_args(arn: &str) -> String {
    let resource = arn.rsplit_once(":policy/").map_or_else(
        || arn.trim_start_matches("policy/"),
        |(_, resource)| resource,
    );
    match resource.rsplit_once('/') {
        Some((path, name)) => format!("--policy-name {name} --path /{path}/"),
        None => format!("--policy-name {resource}"),
    }
}

#[cfg(test)]
mod tests {
    use super::create_policy_args;

    #[test]
    fn create_policy_args_keep_the_path() {
        assert_eq!(
            create_policy_args("arn:aws:iam::222222222222:policy/km-irsa-boundary"),
            "--policy-name km-irsa-boundary"
        );
        assert_eq!(
            create_policy_args("arn:aws:iam::222222222222:policy/team/irsa/ceiling"),
            "--policy-name ceiling --path /team/irsa/"
        );
        assert_eq!(
            create_policy_args("policy/km-irsa-boundary"),
            "--policy-name km-irsa-boundary"
        );
    }
}
