//! `list`'s request: where to read, how to show it, and which onboarding is
//! the current context's (marked `*`).

use kube::config::Kubeconfig;

use super::Klanker;
use super::ResolveError as Error;
use crate::cli::{GlobalArgs, ListArgs, ListOutput};
use crate::kubeconfig;

pub struct ListRequest {
    pub klanker: Klanker,
    /// km-config.yaml only, no AWS call.
    pub local: bool,
    pub output: ListOutput,
    pub no_headers: bool,
    /// The registry name of the current context's cluster, if the kubeconfig tells.
    pub current: Option<String>,
}

/// `kubeconfig`: the loaded kubeconfig, None when there is none to read
/// (no kubeconfig is no error for `list`).
pub fn request(
    global: &GlobalArgs,
    args: &ListArgs,
    kubeconfig: Option<&Kubeconfig>,
) -> Result<ListRequest, Error> {
    Ok(ListRequest {
        klanker: Klanker::resolve(&args.aws)?,
        local: args.local,
        output: args.output,
        no_headers: args.no_headers,
        current: current(kubeconfig, global.context())?,
    })
}

/// The onboarding to mark current. A context named with `--context` must
/// exist, as for every other command (issue 26, item 13: `list` used to
/// exit 0 where `add` exits 2); the kubeconfig's own current context may
/// be missing or dangling, which only leaves nothing marked.
fn current(
    kubeconfig: Option<&Kubeconfig>,
    context: Option<&str>,
) -> Result<Option<String>, Error> {
    match (kubeconfig, context) {
        (Some(kc), Some(named)) => {
            let ctx = kubeconfig::select_context(kc, Some(named))?;
            Ok(ctx.eks.cluster_name.or(Some(ctx.context_name)))
        }
        (Some(kc), None) => Ok(current_name(kc, None)),
        (None, _) => Ok(None),
    }
}

/// The EKS cluster name of the context (`--context`, else the current one),
/// else the context's own name.
pub fn current_name(kc: &Kubeconfig, context: Option<&str>) -> Option<String> {
    let ctx = kubeconfig::select_context(kc, context).ok()?;
    ctx.eks.cluster_name.or(Some(ctx.context_name))
}

#[cfg(test)]
mod tests {
    use super::*;

    const KUBECONFIG: &str = r#"
apiVersion: v1
kind: Config
current-context: arn:aws:eks:us-east-1:222222222222:cluster/dev-use1-0
clusters:
- name: c
  cluster: {server: "https://ABC.gr7.us-east-1.eks.amazonaws.com"}
users:
- name: u
  user: {token: t}
contexts:
- name: arn:aws:eks:us-east-1:222222222222:cluster/dev-use1-0
  context: {cluster: c, user: u}
- name: kind-lab
  context: {cluster: c, user: u}
"#;

    #[test]
    fn the_current_name_is_the_eks_cluster_else_the_context() {
        let kc: Kubeconfig = serde_yaml::from_str(KUBECONFIG).unwrap();
        assert_eq!(current_name(&kc, None).as_deref(), Some("dev-use1-0"));
        assert_eq!(
            current_name(&kc, Some("kind-lab")).as_deref(),
            Some("kind-lab")
        );
        assert_eq!(current_name(&kc, Some("missing")), None);
    }

    #[test]
    fn a_context_named_with_the_flag_must_exist() {
        let kc: Kubeconfig = serde_yaml::from_str(KUBECONFIG).unwrap();
        assert!(matches!(
            current(Some(&kc), Some("nope")),
            Err(Error::Kubeconfig(kubeconfig::KubeconfigError::UnknownContext(c))) if c == "nope"
        ));
        assert_eq!(current(None, None).ok(), Some(None));
        assert_eq!(
            current(Some(&kc), None).ok().flatten().as_deref(),
            Some("dev-use1-0")
        );
    }
}
