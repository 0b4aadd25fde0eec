//! `rm NAME`: find what the onboarding created (from IAM, km-config.yaml and
//! the cluster), plan its removal, confirm, remove. Never touches what the
//! tool did not create; what it cannot do now (the cluster is unreachable)
//! stays recorded, and the run exits 3.

use crate::apply::{self, Live};
use crate::aws::iam;
use crate::cli::{ReportOutput, RmArgs};
use crate::env::Env;
use crate::error::Error;
use crate::k8s::Cluster;
use crate::output::{self, rm::RmOutcome};
use crate::plan::removal;
use crate::{observe, resolve};

const RERUN: &str = "kubectl klanker-trust rm";

pub async fn run(env: &Env, args: &RmArgs) -> Result<(), Error> {
    let global = &env.global;
    let store = &env.store;
    let request = resolve::rm::request(global, args, store.load()?)?;
    let (klanker, hint) = crate::observe::klanker_clients(env, &request.klanker).await?;
    let access = &env.access;
    let seen = observe::rm::observe(&request, &klanker, access, hint, store).await?;
    let observed = &seen.observed;

    // Onboarded nowhere (kubectl delete's NotFound): an error, unless
    // --ignore-not-found. Anything left of a half-removed onboarding is
    // still found, planned and removed below.
    if removal::onboarded_nowhere(observed) && !request.ignore_not_found {
        return Err(crate::observe::not_onboarded(
            "rm",
            request.name,
            vec![
                format!(
                    "the IAM roles and OIDC providers of klanker account {}",
                    seen.account
                ),
                format!("{}", store.path().display()),
                output::rm::cluster_looked_at(&observed.cluster, seen.context.as_deref()),
            ],
            &seen.roles,
            &request.config,
        ));
    }
    let removal = removal::plan_removal(observed)?;
    let mut notes = removal.notes.clone();
    notes.extend(seen.located_notes.iter().cloned());
    if request.output == ReportOutput::Text {
        output::rm::plan(
            &access.identities_line(),
            request.name,
            &seen.account,
            &removal,
            &notes,
        );
    }

    let cluster = seen
        .kube_client
        .as_ref()
        .map(|client| Cluster::new(client, request.verbose));
    let live = Live {
        iam: &klanker.iam,
        cluster_iam: seen.cluster_account.as_ref().map(|c| &c.iam),
        cluster: cluster.as_ref(),
        store,
    };
    // `--dry-run=server`: the API server dry-runs the cluster's removals.
    if request.apply.server_dry_run() && !removal.plan.is_noop() {
        let server = apply::server_dry_run(&removal.plan, &live).await?;
        output::rm::server_dry_run(request.output, &server);
    }
    let confirm = output::prompt::Confirm::TypeName(request.name);
    let applied = output::prompt::decide(request.apply, &removal.plan, confirm).await?;
    let mut outcome = apply::Outcome::default();
    if applied {
        // A fresh read after the prompt, before the first write of either
        // chain (the cluster chain runs beside the IAM one): the role must
        // still be NAME's. Each IAM removal step re-checks again.
        if let Some(role) = &observed.role {
            iam::check_role_of(&klanker.iam, &role.role_name, request.name).await?;
        }
        if let (Some(role), Some(clients)) = (&observed.cluster_role, &seen.cluster_account) {
            iam::check_role_of(&clients.iam, &role.role_name, request.name).await?;
        }
        let progress = output::Progress::new(removal.plan.changes().count(), request.verbose);
        outcome = apply::execute(&removal.plan, &live, RERUN, &progress).await?;
    }
    output::rm::result(
        request.output,
        &RmOutcome {
            name: request.name,
            role_arn: &observed.role_arn,
            removal: &removal,
            notes: &notes,
            applied,
            skipped: outcome.skipped_steps(&removal.plan),
        },
    )?;

    // The cluster part is left: say so with exit 3, once this run has done
    // what it could (a dry run that still has changes to show is only a plan).
    match (&removal.unfinished, seen.unread) {
        (Some(unfinished), Some(cause)) if applied || removal.plan.is_noop() => {
            Err(Error::RemovalPending {
                name: request.name.to_string(),
                cause,
                kept: unfinished.entry_kept.then(|| store.path().to_path_buf()),
            })
        }
        _ => Ok(()),
    }
}
