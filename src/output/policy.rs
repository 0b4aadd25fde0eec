//! What `policy` prints: the least-privilege IAM policies and RBAC, as
//! commented text, JSON, or (RBAC only) YAML to pipe into kubectl.

use serde_json::{Value, json};

use super::Out;
use crate::cli::{PolicyFor, PolicyOutput};
use crate::error::Error;
use crate::permissions::{self, BoundaryDoc, PolicyError, RbacScope};

fn pretty(v: &Value) -> Result<String, Error> {
    Ok(serde_json::to_string_pretty(v)?)
}

/// Everything `policy` may write; `None` for what it was not asked for.
pub struct Documents<'a> {
    pub target: PolicyFor,
    pub output: PolicyOutput,
    pub klanker: Option<&'a Value>,
    pub cluster: Option<&'a Value>,
    /// A mode with cluster roles: their permissions boundary.
    pub boundary: Option<&'a BoundaryDoc>,
    /// The ARN that boundary must be created under, when the cluster
    /// account is known.
    pub boundary_arn: Option<&'a str>,
    pub rbac: Option<&'a RbacScope>,
}

pub fn documents(o: &mut Out, docs: &Documents) -> Result<(), Error> {
    match docs.output {
        PolicyOutput::Yaml => {
            if let Some(scope) = docs.rbac {
                write!(o.out, "{}", permissions::rbac_yaml(scope))?;
            }
            Ok(())
        }
        PolicyOutput::Json => json_documents(o, docs),
        PolicyOutput::Text => text_documents(o, docs),
    }
}

/// One document to pipe, or with `--for all` every one under its key.
fn json_documents(o: &mut Out, docs: &Documents) -> Result<(), Error> {
    let rbac_json = docs.rbac.map(permissions::rbac_list);
    let doc = match docs.target {
        PolicyFor::Klanker | PolicyFor::Audit => docs.klanker.cloned().unwrap_or(Value::Null),
        PolicyFor::Cluster => docs.cluster.ok_or(PolicyError::ClusterAccount)?.clone(),
        PolicyFor::ClusterBoundary => docs.boundary.map_or(Value::Null, |doc| doc.policy.clone()),
        PolicyFor::Rbac => rbac_json.unwrap_or_default(),
        PolicyFor::All => {
            let mut all =
                json!({"klanker": docs.klanker, "cluster": docs.cluster, "rbac": rbac_json});
            // Apart, so applying `rbac` never grants a token.
            if let Some(scope) = docs.rbac {
                all["rbac_optional_token"] = permissions::rbac_token_list(scope);
            }
            // Only a mode with cluster roles has a boundary: the others' keys stay as they were.
            if let Some(doc) = docs.boundary {
                all["cluster_boundary"] = doc.policy.clone();
            }
            all
        }
    };
    writeln!(o.out, "{}", pretty(&doc)?)
}

/// Each document headed by comments saying whose it is and how to use it.
fn text_documents(o: &mut Out, docs: &Documents) -> Result<(), Error> {
    let target = docs.target;
    if let Some(doc) = docs.klanker {
        writeln!(
            o.out,
            "# Klanker operator profile (--aws-profile): IAM policy\n{}\n",
            pretty(doc)?
        )?;
        writeln!(
            o.out,
            "# Roles named with --role-name outside km-cluster-* need that name added to the role statements.\n\
             # add --policy-arn may attach only km-operator-policy and the --allow-policy-arn ARNs.\n"
        )?;
    }
    if matches!(target, PolicyFor::All | PolicyFor::Cluster) {
        match docs.cluster {
            Some(doc) => writeln!(
                o.out,
                "# Cluster-account identity (the kubeconfig's AWS profile): IAM policy\n{}\n",
                pretty(doc)?
            )?,
            None if target == PolicyFor::Cluster => {
                return Err(PolicyError::ClusterAccount.into());
            }
            None => writeln!(
                o.out,
                "# Cluster-account identity: the context names no EKS cluster ARN; pass --cluster-account ID for its policy (a cluster that is not EKS needs none).\n"
            )?,
        }
    }
    if let Some(doc) = docs.boundary {
        boundary(o, doc, docs.boundary_arn)?;
    }
    match docs.rbac {
        Some(scope) => writeln!(
            o.out,
            "# Kubeconfig user: Kubernetes RBAC (kubectl klanker-trust policy --for rbac{} -o yaml | kubectl apply -f -)\n{}",
            scope
                .mode_rules
                .first()
                .map_or_else(String::new, |added| format!(
                    " --mode {}",
                    added.mode.as_str()
                )),
            permissions::rbac_yaml(scope)
        ),
        None if target == PolicyFor::All => writeln!(
            o.out,
            "# Kubeconfig user: pass --namespace NS (and --service-account NAME) or an onboarding's NAME for its Kubernetes RBAC."
        ),
        None => Ok(()),
    }
}

/// The cluster roles' boundary, with how to create it where the
/// cluster-account policy expects it.
fn boundary(o: &mut Out, doc: &BoundaryDoc, arn: Option<&str>) -> Result<(), Error> {
    let roles = doc.roles.pattern;
    let arn = arn.map_or_else(
        || format!("policy/{}", doc.roles.boundary_name),
        str::to_string,
    );
    // Without --mode, `--for cluster-boundary` prints the first cluster-role
    // mode's boundary: another mode's must be asked for by name.
    let mode_flag = match doc.needs_mode_flag {
        true => format!(" --mode {}", doc.mode.as_str()),
        false => String::new(),
    };
    writeln!(
        o.out,
        "# {} mode: permissions boundary of every {roles} role, created in the cluster account as {arn}\n\
         # (kubectl klanker-trust policy --for cluster-boundary{mode_flag} -o json > b.json; aws iam create-policy {} --policy-document file://b.json).\n\
         # The cluster-account policy lets {roles} roles be created, and given inline policies, only with it.\n{}\n",
        capitalised(doc.mode.as_str()),
        create_policy_args(&arn),
        pretty(&doc.policy)?
    )
}

/// `word` with its first letter upper-case, to head a comment line.
fn capitalised(word: &str) -> String {
    let mut chars = word.chars();
    chars.next().map_or_else(String::new, |first| {
        first.to_uppercase().chain(chars).collect()
    })
}

/// `policy --for audit`: the read-only policy, commented in text.
pub fn audit(o: &mut Out, doc: &Value, output: PolicyOutput) -> Result<(), Error> {
    if output == PolicyOutput::Text {
        writeln!(
            o.out,
            "# audit: read-only IAM policy for the identity of each --aws-profile it reads\n\
             # (GetRole only for roles whose description says this tool made them).\n{}",
            pretty(doc)?
        )
    } else {
        writeln!(o.out, "{}", pretty(doc)?)
    }
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
