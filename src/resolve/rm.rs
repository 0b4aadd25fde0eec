//! `rm NAME`'s request: the flags checked and defaulted, and what
//! km-config.yaml records for NAME (its entry, and the mark an earlier `rm`
//! left on it when it could not finish).

use std::path::Path;
use std::time::Duration;

use super::Klanker;
use super::ResolveError as Error;
use crate::cli::{ApplyArgs, GlobalArgs, ReportOutput, RmArgs};
use crate::store::{ClusterEntry, Document, Pending};
use crate::trust::validate;

/// Everything `rm` acts on, decided before any I/O.
pub struct RmRequest<'a> {
    pub name: &'a str,
    pub klanker: Klanker,
    pub apply: &'a ApplyArgs,
    pub keep_service_account: bool,
    /// `--cluster-profile`: the onboarding's cluster role is removed with it.
    pub cluster_profile: Option<&'a str>,
    pub ignore_not_found: bool,
    pub output: ReportOutput,
    /// `--kubeconfig`, else `$KUBECONFIG` / `~/.kube/config` (kube-rs' rules).
    pub kubeconfig: Option<&'a Path>,
    /// `--context`: must point at the onboarding's recorded cluster.
    pub context: Option<&'a str>,
    pub timeout: Duration,
    pub verbose: bool,
    /// The km-config.yaml document (the names it lists go into a NotFound).
    pub config: Document,
    pub entry: Option<ClusterEntry>,
    pub pending: Option<Pending>,
}

/// `name`: the one of `args`' names this request is for.
pub fn request<'a>(
    global: &'a GlobalArgs,
    args: &'a RmArgs,
    name: &'a str,
    config: Document,
) -> Result<RmRequest<'a>, Error> {
    validate::registry_name(name).map_err(|mut e| {
        e.input = "NAME".into();
        e
    })?;
    Ok(RmRequest {
        name,
        klanker: Klanker::resolve(&args.aws)?,
        apply: &args.apply,
        keep_service_account: args.keep_service_account,
        cluster_profile: args.cluster_profile.as_deref(),
        ignore_not_found: args.ignore_not_found,
        output: args.output,
        kubeconfig: global.kubeconfig.as_deref(),
        context: global.context(),
        timeout: global.timeout(),
        verbose: global.verbose,
        entry: config.get(name),
        pending: config.pending(name),
        config,
    })
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;
    use crate::cli::{Cli, Command};

    fn rm(argv: &[&str]) -> Cli {
        let mut all = vec!["kubectl-klanker_trust", "rm"];
        all.extend(argv);
        Cli::try_parse_from(all).unwrap()
    }

    fn args(cli: &Cli) -> &RmArgs {
        match &cli.command {
            Command::Rm(args) => args,
            _ => unreachable!("parsed as rm"),
        }
    }

    const DOC: &str = "clusters:\n- name: dev\n  oidc_provider_arn: arn:aws:iam::222222222222:oidc-provider/o.example.com/id/A\n  namespace: ai-pods\n  service_account: km\n  role_arn: arn:aws:iam::333333333333:role/km-cluster-dev\n  pending:\n    part: cluster\n";

    #[test]
    fn the_name_is_checked_as_name_and_the_entry_and_its_mark_are_found() {
        let cli = rm(&["bad name"]);
        let err = request(&cli.global, args(&cli), "bad name", Document::default())
            .err()
            .unwrap();
        assert!(
            matches!(err, Error::Invalid(crate::trust::ValidationError { ref input, .. }) if input == "NAME")
        );

        let cli = rm(&["dev", "--request-timeout", "7", "--context", "c"]);
        let doc = Document::parse(DOC).unwrap();
        let request = request(&cli.global, args(&cli), "dev", doc).unwrap();
        assert_eq!(request.name, "dev");
        assert_eq!(request.timeout, Duration::from_secs(7));
        assert_eq!(request.context, Some("c"));
        assert_eq!(request.output, ReportOutput::Text);
        assert_eq!(
            request.entry.map(|e| e.namespace).as_deref(),
            Some("ai-pods")
        );
        assert!(request.pending.is_some());
    }

    #[test]
    fn another_name_has_no_entry() {
        let cli = rm(&["prd", "--keep-service-account", "-o", "json"]);
        let request = request(
            &cli.global,
            args(&cli),
            "prd",
            Document::parse(DOC).unwrap(),
        )
        .unwrap();
        assert!(request.entry.is_none() && request.pending.is_none());
        assert!(request.keep_service_account);
        assert_eq!(request.output, ReportOutput::Json);
    }
}
