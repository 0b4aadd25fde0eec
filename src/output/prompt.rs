//! The confirmation before applying: whether to apply at all, and the
//! question on the terminal. A separate step the caller decides on, never
//! inside the executor.

use super::Out;
use crate::cli::{ApplyArgs, DryRun};
use crate::error::Error;

/// How a terminal confirms: y/N for `add`, the onboarding's name for `rm`
/// (as terraform asks before destroying).
#[derive(Debug, Clone, Copy)]
pub enum Confirm<'a> {
    YesNo,
    TypeName(&'a str),
    /// Several onboardings: their number is typed (or yes).
    TypeCount(&'a [String]),
}

/// Apply or not (`noop`: the plan changes nothing, so nothing is asked):
/// an explicit --dry-run (client or server) wins;
/// --dry-run=none or --yes applies; otherwise ask on a terminal, and only
/// plan without one. `machine_output` (`-o json|yaml`): no plan was shown,
/// so nothing is asked either; the run plans only and says how to apply
/// (on `o`'s stderr).
pub async fn decide(
    args: &ApplyArgs,
    noop: bool,
    confirm: Confirm<'_>,
    machine_output: bool,
    o: &mut Out<'_>,
    interrupt: &crate::apply::Interrupt,
) -> Result<bool, Error> {
    if noop {
        return Ok(false);
    }
    match (args.dry_run, args.yes) {
        (Some(DryRun::Client | DryRun::Server), _) => Ok(false),
        (Some(DryRun::None), _) | (None, true) => Ok(true),
        (None, false) if machine_output => {
            super::no_prompt_for_machine_output(o)?;
            Ok(false)
        }
        (None, false) if super::interactive() => {
            if ask(confirm, o, interrupt).await? {
                Ok(true)
            } else {
                Err(Error::Aborted)
            }
        }
        (None, false) => {
            super::planning_only(o)?;
            Ok(false)
        }
    }
}

/// What the prompt's thread asks, owned.
enum Asked {
    YesNo,
    Name(String),
    Count(Vec<String>),
}

/// The prompt blocks on the terminal, so it runs on a thread of its own
/// while Ctrl-C is watched here: an interrupted prompt changed nothing.
/// The question itself is drawn on the terminal (stderr) by `dialoguer`.
async fn ask(
    confirm: Confirm<'_>,
    o: &mut Out<'_>,
    interrupt: &crate::apply::Interrupt,
) -> Result<bool, Error> {
    let asked = match confirm {
        Confirm::YesNo => Asked::YesNo,
        Confirm::TypeName(name) => Asked::Name(name.to_string()),
        Confirm::TypeCount(names) => Asked::Count(names.to_vec()),
    };
    // Claimed before the question is shown: a press then ends the prompt
    // with its own message rather than the process without one.
    let _claim = interrupt.claim_prompt();
    let prompt = tokio::task::spawn_blocking(move || match asked {
        Asked::YesNo => super::confirm("Apply these changes?"),
        Asked::Name(name) => super::confirm_by_name(&name),
        Asked::Count(names) => super::confirm_by_count(&names),
    });
    let mut interrupted = || {
        // The terminal's read can see the press before the watcher does
        // (console reads ^C itself and raises SIGINT): marked as stopping
        // here, so that the watcher, once it sees that press after the
        // claim below is gone, lets this message out instead of leaving
        // at once without it. Seen in CI: exit 130 and no message.
        interrupt.stop();
        super::after_interrupted_prompt(o)?;
        Err(Error::InterruptedAtPrompt)
    };
    tokio::select! {
        biased;
        () = interrupt.wait() => interrupted(),
        answer = prompt => match answer.map_err(|_| Error::InterruptedAtPrompt)? {
            // The signal can also end the terminal read itself (EINTR).
            Err(Error::Prompt(dialoguer::Error::IO(e)))
                if e.kind() == std::io::ErrorKind::Interrupted => interrupted(),
            answer => answer,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::{Action, Op, Plan, Step, Target};

    #[tokio::test]
    async fn only_dry_run_none_or_yes_applies() {
        let mut step = Step::new(Target::Cluster, Action::Create, "namespace", None);
        step.op = Some(Op::CreateNamespace { name: "ns".into() });
        let plan = Plan {
            steps: vec![step],
            warnings: Vec::new(),
        };
        assert!(!plan.is_noop());
        let decides = |dry_run, yes| {
            let args = ApplyArgs { dry_run, yes };
            let plan = &plan;
            async move {
                let (mut out, mut err) = (Vec::new(), Vec::new());
                let mut o = Out::plain(&mut out, &mut err);
                let interrupt = crate::apply::Interrupt::new();
                decide(
                    &args,
                    plan.is_noop(),
                    Confirm::YesNo,
                    false,
                    &mut o,
                    &interrupt,
                )
                .await
                .unwrap()
            }
        };
        assert!(!decides(Some(DryRun::Client), true).await);
        assert!(!decides(Some(DryRun::Server), true).await);
        assert!(decides(Some(DryRun::None), false).await);
        assert!(decides(None, true).await);
    }
}
