//! The apply stage: whether to apply, and one executor for every command's
//! plan. The executor runs steps through the small [`Apply`] trait, so its
//! ordering, preflight, failure and Ctrl-C bookkeeping are unit-tested with
//! a fake; [`Live`] is the real one (IAM, the cluster, km-config.yaml).

use std::sync::Mutex;

use crate::lock;

pub mod interrupt;
mod live;
pub use interrupt::{CtrlC, Interrupt};
pub use live::Live;

use crate::error::Error;
use crate::plan::{Action, Op, Plan, Step, StepId, Target};

/// What the executor says as it goes; the output layer draws it (a bar on
/// a terminal). Each method does nothing unless implemented.
pub trait Progress: Clone + Send + Sync + 'static {
    /// A step begins.
    fn start(&self, _summary: &str) {}
    /// A fresh re-check turned the step into a no-op, and why.
    fn note(&self, _why: &str) {}
    /// The step is done.
    fn done(&self) {}
    /// Nothing more will be drawn.
    fn finish(&self) {}
}

/// No progress shown (tests, and callers that draw none).
impl Progress for () {}

/// What carries out one step.
// The executor never spawns these futures, so they need no `Send` bound.
#[allow(async_fn_in_trait)]
pub trait Apply {
    /// Sends `op`; with `dry_run`, as a server-side dry run (cluster steps
    /// only). `Ok(Some(why))` when a fresh re-check made it a no-op.
    /// `target` says which account an IAM op acts in.
    async fn apply(&self, target: Target, op: &Op, dry_run: bool) -> Result<Option<String>, Error>;
}

/// What a successful run leaves to report.
#[derive(Debug, Default)]
pub struct Outcome {
    /// Steps a fresh re-check turned into no-ops, and why.
    pub skipped: Vec<(StepId, String)>,
}

impl Outcome {
    /// The steps a fresh re-check kept, by summary, and why.
    pub fn skipped_steps(&self, plan: &Plan) -> Vec<(String, String)> {
        self.skipped
            .iter()
            .filter_map(|(id, why)| Some((plan.step(*id)?.summary.clone(), why.clone())))
            .collect()
    }

    /// Why the step was not done, if a fresh re-check stopped it.
    pub fn skipped_because(&self, id: StepId) -> Option<&str> {
        self.skipped
            .iter()
            .find(|(s, _)| *s == id)
            .map(|(_, why)| why.as_str())
    }
}

/// Runs the changing steps. Ctrl-C cancels at once, also a step that is
/// waiting for an answer or backing off before a retry: that step is
/// reported as interrupted (it may have taken effect), and a re-run
/// converges. A second Ctrl-C exits without a word more (the process's
/// one watcher, `interrupt::watch`). `preflighted`:
/// cluster ops the server already accepted as dry runs (`preflight_ahead`).
pub async fn execute(
    plan: &Plan,
    applier: &impl Apply,
    rerun: &'static str,
    (progress, interrupt): (&impl Progress, &Interrupt),
    preflighted: &[Op],
) -> Result<Outcome, Error> {
    // While the steps run, a Ctrl-C stops them instead of ending the process.
    let _claim = interrupt.claim();
    let result = run(plan, applier, rerun, interrupt, progress, preflighted).await;
    progress.finish();
    result
}

/// The executor proper. First every cluster write as a server-side dry
/// run: the API server authorizes (RBAC) and admits it exactly as it would
/// the real one, so a missing permission stops the command before anything
/// is written anywhere. Then the IAM chain (provider, role, policies) and the
/// cluster chain (namespace, ServiceAccount), which depend on nothing of
/// each other, side by side, each in order; the local file comes last.
async fn run(
    plan: &Plan,
    applier: &impl Apply,
    rerun: &'static str,
    interrupt: &Interrupt,
    progress: &impl Progress,
    preflighted: &[Op],
) -> Result<Outcome, Error> {
    let steps: Vec<(StepId, &Step)> = plan.numbered_changes().collect();
    let changes: Vec<&Step> = steps.iter().map(|(_, s)| *s).collect();
    tokio::select! {
        biased;
        checked = preflight(&changes, preflighted, applier) => {
            checked?;
        }
        () = interrupt.wait() => return Err(Error::Interrupted {
            done: Vec::new(),
            in_flight: Vec::new(),
            not_started: steps.iter().map(|(_, s)| s.summary.clone()).collect(),
            rerun,
        }),
    }
    let record = Record::default();
    let result = run_phases(&steps, applier, &record, (interrupt, progress)).await;
    let Record {
        done,
        skipped,
        in_flight,
    } = record;
    let done = lock(&done).clone();
    let skipped = lock(&skipped).clone();
    let in_flight = lock(&in_flight).clone();
    // Reported in plan order, whichever chain finished first.
    let summaries = |keep: &dyn Fn(StepId) -> bool| -> Vec<String> {
        steps
            .iter()
            .filter(|(id, _)| keep(*id))
            .map(|(_, s)| s.summary.clone())
            .collect()
    };
    match result {
        Ok(()) => Ok(Outcome { skipped }),
        Err(Stop::Interrupted) => Err(Error::Interrupted {
            done: summaries(&|id| done.contains(&id)),
            in_flight: summaries(&|id| in_flight.contains(&id)),
            not_started: summaries(&|id| !done.contains(&id) && !in_flight.contains(&id)),
            rerun,
        }),
        Err(Stop::Failed(failed, cause)) => Err(Error::Partial {
            done: summaries(&|id| done.contains(&id)),
            not_started: summaries(&|id| !done.contains(&id) && id != failed),
            failed: plan
                .step(failed)
                .map(|s| s.summary.clone())
                .unwrap_or_default(),
            cause: Box::new(cause),
            rerun,
        }),
    }
}

/// What `--dry-run=server` had the API server accept, and which cluster
/// steps could not be sent (summaries, in plan order).
#[derive(Debug, Default, PartialEq, Eq)]
pub struct ServerDryRun {
    pub accepted: Vec<String>,
    /// ServiceAccounts and ConfigMaps in a namespace the plan creates: a dry run creates
    /// no namespace, so the server would only say it is missing.
    pub not_sent: Vec<String>,
}

/// `--dry-run=server`: the preflight alone, nothing written.
pub async fn server_dry_run(plan: &Plan, applier: &impl Apply) -> Result<ServerDryRun, Error> {
    let changes: Vec<&Step> = plan.changes().collect();
    preflight(&changes, &[], applier).await
}

/// The cluster steps' dry runs ahead of the plan (`add` sends them beside
/// its IAM reads): the ops the server accepted, which the executor's
/// preflight then skips. A refusal is no error here: the executor's own
/// preflight meets it again and stops the command before any write.
pub async fn preflight_ahead(steps: &[Step], applier: &impl Apply) -> Vec<Op> {
    let changes: Vec<&Step> = steps.iter().filter(|s| s.op.is_some()).collect();
    match preflight(&changes, &[], applier).await {
        Ok(report) => changes
            .iter()
            .filter(|s| report.accepted.contains(&s.summary))
            .filter_map(|s| s.op.clone())
            .collect(),
        Err(_) => Vec::new(),
    }
}

/// Every cluster step as a dry run, except a ServiceAccount in a namespace
/// this plan creates (a dry run creates no namespace) and an op the server
/// accepted already (`already`).
async fn preflight(
    steps: &[&Step],
    already: &[Op],
    applier: &impl Apply,
) -> Result<ServerDryRun, Error> {
    let created: Vec<&str> = steps
        .iter()
        .filter_map(|s| match &s.op {
            Some(Op::CreateNamespace { name }) => Some(name.as_str()),
            _ => None,
        })
        .collect();
    let mut report = ServerDryRun::default();
    for step in steps.iter().filter(|s| s.target == Target::Cluster) {
        let in_new_namespace = matches!(
            &step.op,
            Some(Op::ApplyServiceAccount { namespace, .. } | Op::ApplyConfigMap { namespace, .. })
                if created.contains(&namespace.as_str())
        );
        match (&step.op, in_new_namespace) {
            (Some(op), false) if already.contains(op) => {
                report.accepted.push(step.summary.clone());
            }
            (Some(op), false) => {
                applier.apply(step.target, op, true).await?;
                report.accepted.push(step.summary.clone());
            }
            (Some(_), true) => report.not_sent.push(step.summary.clone()),
            (None, _) => {}
        }
    }
    Ok(report)
}

/// The chains in the order their steps depend on each other: EKS
/// associations name both roles, so they go before the roles are removed
/// and are made once the roles exist. A cluster role and the klanker role
/// name each other only by ARN (a condition and a resource), so neither
/// account waits for the other, nor the cluster for either; the local file
/// comes last.
async fn run_phases(
    steps: &[(StepId, &Step)],
    applier: &impl Apply,
    record: &Record,
    (interrupt, progress): (&Interrupt, &impl Progress),
) -> Result<(), Stop> {
    let chain = |target: Target, keep: fn(&Step) -> bool| -> Vec<(StepId, &Step)> {
        steps
            .iter()
            .copied()
            .filter(|(_, s)| s.target == target && keep(s))
            .collect()
    };
    let all = |_: &Step| true;
    let run_chain = |chain| run_chain(chain, applier, record, interrupt, progress);
    run_chain(chain(Target::Eks, |s| s.action == Action::Delete)).await?;
    let (iam, cluster_iam, cluster) = tokio::join!(
        run_chain(chain(Target::Iam, all)),
        run_chain(chain(Target::ClusterIam, all)),
        run_chain(chain(Target::Cluster, all))
    );
    iam.and(cluster_iam).and(cluster)?;
    run_chain(chain(Target::Eks, |s| s.action != Action::Delete)).await?;
    run_chain(chain(Target::Local, all)).await
}

/// What the chains have done so far (they run side by side).
#[derive(Default)]
struct Record {
    done: Mutex<Vec<StepId>>,
    skipped: Mutex<Vec<(StepId, String)>>,
    /// Steps Ctrl-C cancelled while they waited: they may have taken effect.
    in_flight: Mutex<Vec<StepId>>,
}

/// One chain of steps, in order, stopping at a failure or a Ctrl-C.
async fn run_chain(
    chain: Vec<(StepId, &Step)>,
    applier: &impl Apply,
    record: &Record,
    interrupt: &Interrupt,
    progress: &impl Progress,
) -> Result<(), Stop> {
    for (id, step) in chain {
        if interrupt.is_set() {
            return Err(Stop::Interrupted);
        }
        progress.start(&step.summary);
        if let Some(op) = &step.op {
            let note = tokio::select! {
                // An answer that is already there wins over a Ctrl-C.
                biased;
                applied = applier.apply(step.target, op, false) => applied.map_err(|e| Stop::Failed(id, e))?,
                () = interrupt.wait() => {
                    lock(&record.in_flight).push(id);
                    return Err(Stop::Interrupted);
                }
            };
            if let Some(note) = note {
                progress.note(&note);
                lock(&record.skipped).push((id, note));
            }
        }
        lock(&record.done).push(id);
        progress.done();
    }
    Ok(())
}

/// Why a chain stopped.
enum Stop {
    Interrupted,
    Failed(StepId, Error),
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::plan::{Action, Step};
    use crate::store::ClusterEntry;

    /// Records every call; fails the op whose summary-free key matches.
    #[derive(Default)]
    struct Fake {
        calls: Mutex<Vec<(String, bool)>>,
        fail_on: Option<&'static str>,
        skip_on: Option<&'static str>,
        /// Ctrl-C after this many real calls.
        interrupt_after: Option<(usize, Interrupt)>,
        /// The op that never answers (a hung call, a backoff).
        hang_on: Option<&'static str>,
    }

    fn key(op: &Op) -> String {
        match op {
            Op::CreateRole { name, .. } => format!("role {name}"),
            Op::AttachPolicy { arn, .. } => format!("attach {arn}"),
            Op::CreateNamespace { name } => format!("namespace {name}"),
            Op::ApplyServiceAccount { namespace, .. } => format!("sa {namespace}"),
            Op::WriteConfigEntry { .. } => "entry".into(),
            _ => "other".into(),
        }
    }

    impl Apply for Fake {
        async fn apply(
            &self,
            _target: Target,
            op: &Op,
            dry_run: bool,
        ) -> Result<Option<String>, Error> {
            let key = key(op);
            lock(&self.calls).push((key.clone(), dry_run));
            if let Some((after, flag)) = &self.interrupt_after
                && lock(&self.calls).iter().filter(|(_, d)| !d).count() >= *after
            {
                flag.stop();
            }
            if self.hang_on == Some(key.as_str()) {
                std::future::pending::<()>().await;
            }
            if self.fail_on == Some(key.as_str()) {
                return Err(Error::Aborted);
            }
            Ok((self.skip_on == Some(key.as_str())).then(|| "kept".to_string()))
        }
    }

    fn step(target: Target, summary: &str, op: Op) -> Step {
        Step::new(target, Action::Create, summary, Some(op))
    }

    fn plan(namespace_created: bool) -> Plan {
        let mut steps = vec![
            Step::new(Target::Iam, Action::Unchanged, "provider", None),
            step(
                Target::Iam,
                "role",
                Op::CreateRole {
                    name: "r".into(),
                    trust_policy: serde_json::json!({}),
                    max_session: 3600,
                    description: String::new(),
                    tags: BTreeMap::new(),
                    permissions_boundary: None,
                },
            ),
            step(
                Target::Iam,
                "policy",
                Op::AttachPolicy {
                    role: "r".into(),
                    arn: "p".into(),
                },
            ),
        ];
        if namespace_created {
            steps.push(step(
                Target::Cluster,
                "namespace",
                Op::CreateNamespace { name: "ns".into() },
            ));
        }
        steps.push(step(
            Target::Cluster,
            "service account",
            Op::ApplyServiceAccount {
                namespace: "ns".into(),
                name: "km".into(),
                annotations: BTreeMap::new(),
                labels: BTreeMap::new(),
                force: false,
                create: true,
            },
        ));
        steps.push(step(
            Target::Local,
            "entry",
            Op::WriteConfigEntry {
                entry: ClusterEntry {
                    name: "n".into(),
                    oidc_provider_arn: String::new(),
                    namespace: "ns".into(),
                    service_account: "km".into(),
                    role_arn: String::new(),
                    ..ClusterEntry::default()
                },
            },
        ));
        Plan {
            steps,
            warnings: Vec::new(),
        }
    }

    /// No Ctrl-C until `stop` is called on the first.
    fn never() -> (Interrupt, Interrupt) {
        let interrupt = Interrupt::new();
        (interrupt.clone(), interrupt)
    }

    async fn run_fake(plan: &Plan, fake: &Fake, interrupt: &Interrupt) -> Result<Outcome, Error> {
        run(plan, fake, "rerun", interrupt, &(), &[]).await
    }

    fn real_calls(fake: &Fake) -> Vec<String> {
        lock(&fake.calls)
            .iter()
            .filter(|(_, dry)| !dry)
            .map(|(k, _)| k.clone())
            .collect()
    }

    #[tokio::test]
    async fn every_cluster_write_is_dry_run_first_and_the_local_file_comes_last() {
        let fake = Fake::default();
        run_fake(&plan(false), &fake, &never().1).await.unwrap();
        let calls = lock(&fake.calls).clone();
        assert_eq!(calls[0], ("sa ns".to_string(), true));
        assert_eq!(calls.iter().filter(|(_, dry)| *dry).count(), 1);
        assert_eq!(real_calls(&fake).last().map(String::as_str), Some("entry"));
        assert_eq!(real_calls(&fake).len(), 4);
    }

    #[tokio::test]
    async fn a_service_account_in_a_namespace_the_plan_creates_is_not_dry_run() {
        let fake = Fake::default();
        run_fake(&plan(true), &fake, &never().1).await.unwrap();
        let dry: Vec<String> = lock(&fake.calls)
            .iter()
            .filter(|(_, dry)| *dry)
            .map(|(k, _)| k.clone())
            .collect();
        assert_eq!(dry, ["namespace ns"]);
    }

    #[tokio::test]
    async fn a_server_dry_run_sends_only_dry_runs_and_says_what_it_could_not_send() {
        let fake = Fake::default();
        let report = server_dry_run(&plan(true), &fake).await.unwrap();
        assert!(real_calls(&fake).is_empty(), "{:?}", lock(&fake.calls));
        assert_eq!(report.accepted, ["namespace"]);
        assert_eq!(report.not_sent, ["service account"]);
        let fake = Fake::default();
        let report = server_dry_run(&plan(false), &fake).await.unwrap();
        assert_eq!(report.accepted, ["service account"]);
        assert!(report.not_sent.is_empty());
    }

    #[tokio::test]
    async fn a_refused_dry_run_writes_nothing() {
        let fake = Fake {
            fail_on: Some("sa ns"),
            ..Fake::default()
        };
        let err = run_fake(&plan(false), &fake, &never().1).await.unwrap_err();
        assert!(matches!(err, Error::Aborted), "{err}");
        assert!(real_calls(&fake).is_empty());
    }

    #[tokio::test]
    async fn a_failed_step_is_reported_with_what_was_done_and_not_started() {
        let fake = Fake {
            fail_on: Some("attach p"),
            ..Fake::default()
        };
        let err = run_fake(&plan(true), &fake, &never().1).await.unwrap_err();
        let Error::Partial {
            done,
            failed,
            not_started,
            ..
        } = err
        else {
            panic!("not a partial failure: {err}");
        };
        assert_eq!(failed, "policy");
        // The cluster chain runs beside the IAM chain, so it finished.
        assert_eq!(done, ["role", "namespace", "service account"]);
        assert_eq!(not_started, ["entry"]);
        assert!(!real_calls(&fake).contains(&"entry".to_string()));
    }

    #[tokio::test]
    async fn two_steps_with_the_same_summary_are_told_apart() {
        let mut plan = plan(false);
        for s in &mut plan.steps {
            s.summary = "same".into();
        }
        let fake = Fake {
            fail_on: Some("attach p"),
            ..Fake::default()
        };
        let Err(Error::Partial {
            done, not_started, ..
        }) = run_fake(&plan, &fake, &never().1).await
        else {
            panic!("expected a partial failure");
        };
        // role and service account done; entry not started; the failed one in neither.
        assert_eq!(done.len(), 2);
        assert_eq!(not_started.len(), 1);
    }

    #[tokio::test]
    async fn an_interrupt_stops_between_steps_and_lists_the_rest() {
        let (tx, interrupt) = never();
        let fake = Fake {
            interrupt_after: Some((1, tx)),
            ..Fake::default()
        };
        let err = run_fake(&plan(false), &fake, &interrupt).await.unwrap_err();
        let Error::Interrupted {
            done, not_started, ..
        } = err
        else {
            panic!("not an interrupt: {err}");
        };
        assert_eq!(done.len(), 1, "{done:?}");
        assert!(not_started.contains(&"entry".to_string()));
        assert_eq!(done.len() + not_started.len(), 4);
    }

    #[tokio::test]
    async fn ctrl_c_cancels_a_step_that_waits_and_reports_it_as_interrupted() {
        let (tx, interrupt) = never();
        let fake = Fake {
            hang_on: Some("attach p"),
            ..Fake::default()
        };
        let plan = plan(false);
        let (result, ()) = tokio::join!(run_fake(&plan, &fake, &interrupt), async {
            // Once the hung step has been sent.
            while !real_calls(&fake).contains(&"attach p".to_string()) {
                tokio::task::yield_now().await;
            }
            tx.stop();
        });
        let Err(Error::Interrupted {
            done,
            in_flight,
            not_started,
            ..
        }) = result
        else {
            panic!("not an interrupt");
        };
        assert_eq!(in_flight, ["policy"]);
        assert!(done.contains(&"role".to_string()), "{done:?}");
        assert!(!done.contains(&"policy".to_string()), "{done:?}");
        assert_eq!(not_started, ["entry"]);
    }

    #[tokio::test]
    async fn a_step_a_re_check_turned_into_a_no_op_is_reported() {
        let fake = Fake {
            skip_on: Some("role r"),
            ..Fake::default()
        };
        let plan = plan(false);
        let outcome = run_fake(&plan, &fake, &never().1).await.unwrap();
        let (role, _) = plan.numbered_changes().next().unwrap();
        assert_eq!(outcome.skipped_because(role), Some("kept"));
        assert_eq!(outcome.skipped.len(), 1);
    }
}
