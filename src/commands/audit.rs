//! `audit`: read every account named by `--aws-profile` (and, with
//! `--context`, that cluster's ServiceAccounts), find the weak
//! workload-identity trusts, print them with their fixes. Writes nothing.

use crate::audit::{self, AuditError, Limits, Scan};
use crate::cli::{AuditArgs, GlobalArgs};
use crate::error::Error;
use crate::{observe, output, store};

pub async fn run(global: &GlobalArgs, args: &AuditArgs) -> Result<(), Error> {
    let store = store::open(global.config.as_deref())?;
    let config = store.load()?.clusters().unwrap_or_default();
    let access = super::aws_access(global);
    let mut profiles: Vec<&str> = Vec::new();
    for p in &args.aws_profiles {
        if !profiles.contains(&p.as_str()) {
            profiles.push(p);
        }
    }
    let accounts = futures::future::try_join_all(
        profiles
            .iter()
            .map(|p| observe::audit::account(global, p, &args.region, &access)),
    );
    let cluster = async {
        match global.context.as_deref() {
            Some(context) => observe::audit::cluster(global, context).await.map(Some),
            None => Ok(None),
        }
    };
    let (mut accounts, cluster) = tokio::try_join!(accounts, cluster)?;
    // Two profiles of one account: audited once.
    let mut seen = std::collections::BTreeSet::new();
    accounts.retain(|a| seen.insert(a.account.clone()));
    let scan = Scan {
        accounts,
        cluster,
        config,
        limits: Limits {
            provider_quota: args.provider_quota,
            trust_quota: args.max_trust_policy_size,
        },
    };
    if let Some(role) = &args.fix_doc {
        return output::audit::document(&audit::fix_document(&scan, role)?);
    }
    let report = audit::analyze(&scan);
    output::audit::report(&report, args.output)?;
    match args.fail_on {
        Some(severity) if report.at_or_above(severity) > 0 => Err(AuditError::FailOn {
            severity,
            count: report.at_or_above(severity),
        }
        .into()),
        _ => Ok(()),
    }
}
