//! `verify`'s request.

use super::Klanker;
use super::ResolveError as Error;
use crate::cli::{ReportOutput, VerifyArgs};
use crate::kubeconfig::ContextInfo;
use crate::trust::{ValidationError, validate};

#[derive(Debug, Clone)]
pub struct VerifyRequest {
    pub name: String,
    pub klanker: Klanker,
    pub cluster_profile: Option<String>,
    pub output: ReportOutput,
}

/// `current`: the context `--context` (or the kubeconfig) selects, whose
/// EKS cluster name is the default NAME, as `add` derives it.
/// `name`: the one of `args`' names this request is for.
pub fn resolve(
    args: &VerifyArgs,
    name: Option<&str>,
    current: Option<&ContextInfo>,
) -> Result<VerifyRequest, Error> {
    Ok(VerifyRequest {
        name: name_or_context(name, current)?,
        klanker: Klanker::resolve(&args.aws)?,
        cluster_profile: args.cluster_profile.clone(),
        output: args.output,
    })
}

/// NAME, else the EKS cluster name of the context (the name `add` gave the
/// onboarding); checked as a registry name.
pub fn name_or_context(name: Option<&str>, current: Option<&ContextInfo>) -> Result<String, Error> {
    let name = match (name, current) {
        (Some(name), _) => name.to_string(),
        (None, Some(ctx)) => match &ctx.eks.cluster_name {
            Some(cluster) => cluster.clone(),
            None => {
                return Err(ValidationError::new(
                    "NAME",
                    "",
                    format!(
                        "it is required: context `{}` is not an EKS cluster, so no onboarding name follows from it",
                        ctx.context_name
                    ),
                    "Pass NAME, as `kubectl klanker-trust list` shows it.",
                )
                .into());
            }
        },
        (None, None) => {
            return Err(ValidationError::new(
                "NAME",
                "",
                "it is required when the kubeconfig has no context",
                "Pass NAME, as `kubectl klanker-trust list` shows it.",
            )
            .into());
        }
    };
    validate::registry_name(&name).map_err(|mut e| {
        e.input = "NAME".into();
        e
    })?;
    Ok(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ctx(cluster: Option<&str>) -> ContextInfo {
        let mut ctx = ContextInfo {
            context_name: "ctx".into(),
            ..ContextInfo::default()
        };
        ctx.eks.cluster_name = cluster.map(str::to_string);
        ctx
    }

    #[test]
    fn the_name_defaults_to_the_contexts_eks_cluster() {
        assert_eq!(
            name_or_context(None, Some(&ctx(Some("dev-use1-0")))).unwrap(),
            "dev-use1-0"
        );
        assert_eq!(
            name_or_context(Some("other"), Some(&ctx(Some("dev-use1-0")))).unwrap(),
            "other"
        );
        let err = name_or_context(None, Some(&ctx(None)))
            .unwrap_err()
            .to_string();
        assert!(err.contains("context `ctx` is not an EKS cluster"), "{err}");
        assert!(err.contains("Pass NAME"), "{err}");
        assert!(name_or_context(Some("bad name"), None).is_err());
    }
}
