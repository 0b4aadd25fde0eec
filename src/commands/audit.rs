//! `audit`: read every account named by `--aws-profile` (and, with
//! `--context`, that cluster's ServiceAccounts), find the weak
//! workload-identity trusts and their fixes. Writes nothing; prints nothing:
//! returns the findings, or the one fixed document `--fix-doc` asks for.

use serde_json::Value;

use crate::audit::{self, Limits, Report, Scan};
use crate::cli::AuditArgs;
use crate::env::Env;
use crate::error::Error;
use crate::observe;

/// What `audit` found.
pub enum AuditReport {
    Findings(Report),
    /// `--fix-doc ROLE`: the tightened trust document alone.
    FixDocument(Value),
}

pub async fn run(env: &Env, args: &AuditArgs) -> Result<AuditReport, Error> {
    let global = &env.global;
    let config = env.store.load()?.clusters().unwrap_or_default();
    let mut profiles: Vec<&str> = Vec::new();
    for p in &args.aws_profiles {
        if !profiles.contains(&p.as_str()) {
            profiles.push(p);
        }
    }
    let flags = (args.provider_quota, args.max_trust_policy_size);
    let accounts = futures::future::try_join_all(
        profiles
            .iter()
            .map(|p| observe::audit::account(global, p, &args.region, &env.access, flags)),
    );
    let cluster = async {
        match global.context() {
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
        // Each account holds its own quotas (`AccountScan::limits`).
        limits: Limits::default(),
    };
    match &args.fix_doc {
        Some(role) => Ok(AuditReport::FixDocument(audit::fix_document(&scan, role)?)),
        None => Ok(AuditReport::Findings(audit::analyze(&scan))),
    }
}
