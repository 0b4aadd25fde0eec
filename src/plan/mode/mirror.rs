//! Mirror mode, the planner for `add`: the cluster's issuer is mirrored as
//! an OIDC provider in the klanker account, and a role there trusts it.
//! Request + snapshot → the desired state of the klanker account, the
//! cluster and km-config.yaml, the ordered steps, the warnings, and the
//! facts `verify`'s local checks need after applying.

pub mod recognise;
pub mod resolve;
pub mod verify;

use super::Mode;
use crate::plan::add::{self, AddPlan, KlankerSide};
use crate::plan::snapshot::{AddSnapshot, AfterApply};
use crate::plan::{PlanError, Step};
use crate::resolve::add::{AddRequest, ModeFlags};
use crate::trust::{self, Identity, Issuer};
use crate::verify::Facts;

/// The klanker account holds a provider mirroring the cluster's issuer.
pub struct Mirror;

impl ModeFlags for Mirror {
    fn resolve_flags(
        &self,
        args: &crate::cli::AddArgs,
        _name: &str,
    ) -> Result<crate::resolve::add::ModeRequest, crate::resolve::ResolveError> {
        resolve::resolve(args)
    }
}

impl Mode for Mirror {
    fn plan_add(&self, req: &AddRequest, snap: &AddSnapshot) -> Result<AddPlan, PlanError> {
        plan(req, snap)
    }

    /// The klanker account's provider goes with the reconciler's
    /// `drop_old_providers` when the new mode trusts none there.
    fn plan_leave(&self, _: &AddRequest, _: &AddSnapshot) -> Result<Vec<Step>, PlanError> {
        Ok(Vec::new())
    }

    /// The provider mirroring the cluster's issuer is the klanker account's.
    fn provider_account(&self) -> Option<crate::plan::Target> {
        Some(crate::plan::Target::Iam)
    }

    /// The provider mirroring the cluster's issuer.
    fn klanker_provider(
        &self,
        found: Option<&crate::plan::ObservedProvider>,
        issuer: &Issuer,
        klanker: &Identity,
    ) -> Option<String> {
        Some(add::provider_arn(found, issuer, klanker))
    }

    /// The klanker role, whose ARN the klanker identity and its name give.
    fn annotated_role(&self, req: &AddRequest, klanker: &Identity) -> Option<String> {
        Some(trust::role_arn(
            &klanker.partition,
            &klanker.account,
            &req.role_name,
        ))
    }

    fn facts_after_apply(
        &self,
        req: &AddRequest,
        add: &AddPlan,
        subject: &(String, String),
        after: AfterApply,
    ) -> Option<Facts> {
        Some(verify::facts_after_apply(req, add, subject, after))
    }
}

/// Mirror mode's whole decision: the klanker account holds the provider
/// and the role trusts it.
fn plan(req: &AddRequest, snap: &AddSnapshot) -> Result<AddPlan, PlanError> {
    let identity = &snap.identity;
    let issuer = &snap.issuer.issuer;
    let provider_arn = add::provider_arn(snap.observed.provider.as_ref(), issuer, identity);
    let role_arn = trust::role_arn(&identity.partition, &identity.account, &req.role_name);
    let trust_policy = trust::policy::trust_policy_for(&provider_arn, issuer, &req.scopes);
    let limit = snap.trust_limit(req.max_trust_policy_size);
    add::check_trust_size(&trust_policy, req.scopes.len(), &limit)?;
    let side = KlankerSide {
        trust_policy,
        description: trust::role_description_for(
            &req.name,
            &req.scopes,
            // Created now, or created earlier by this tool.
            snap.observed
                .provider
                .as_ref()
                .is_none_or(|p| crate::trust::is_owned(&p.tags)),
        ),
        annotated_role: Some(role_arn),
        tags: std::collections::BTreeMap::new(),
        entry_provider_arn: match &snap.issuer.cluster_account {
            // The cluster's own provider; when its account is unknown, the
            // klanker account's, by its real ARN.
            Some(cluster) => issuer.provider_arn(&identity.partition, cluster),
            None => provider_arn.clone(),
        },
        provider_arn,
        config_map: None,
        cluster_role_arn: None,
    };
    let near = add::near_quota(&side.trust_policy, limit.value);
    let mut add = add::plan_klanker(req, snap, side)?;
    add.warnings.extend(near);
    Ok(add)
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::*;
    use crate::plan::add::{check_trust_size, policy_arns, previous_subjects};
    use crate::plan::testing::{self, ISSUER_ACCOUNT, KLANKER_ACCOUNT};
    use crate::plan::{Observed, ObservedProvider, ObservedRole};
    use crate::trust::{
        MANAGED_BY_LABEL, MANAGED_BY_TAG, MANAGED_BY_VALUE, NAME_TAG, ROLE_ARN_ANNOTATION,
        STS_AUDIENCE, TOKEN_EXPIRATION_ANNOTATION,
    };
    use serde_json::json;

    fn request(flags: &[&str]) -> AddRequest {
        testing::issuer_url_request(flags)
    }

    fn identity() -> crate::trust::Identity {
        testing::identity(KLANKER_ACCOUNT)
    }

    fn snapshot(observed: Observed) -> AddSnapshot {
        testing::snapshot(&request(&[]), ISSUER_ACCOUNT, observed, None)
    }

    fn snapshot_for(req: &AddRequest) -> AddSnapshot {
        let observed = testing::with_more_service_accounts(req, Observed::default());
        testing::snapshot(req, ISSUER_ACCOUNT, observed, None)
    }

    /// Through the trait, as `add` plans.
    fn plan(req: &AddRequest, snap: &AddSnapshot) -> Result<AddPlan, PlanError> {
        Mirror.plan_add(req, snap)
    }

    #[test]
    fn the_operator_policy_is_the_default_and_flags_replace_it() {
        assert_eq!(
            policy_arns(&request(&[]), &identity()),
            BTreeSet::from(["arn:aws:iam::333333333333:policy/km-operator-policy".to_string()])
        );
        let arn = "arn:aws:iam::333333333333:policy/other";
        assert_eq!(
            policy_arns(&request(&["--policy-arn", arn]), &identity()),
            BTreeSet::from([arn.to_string()])
        );
    }

    #[test]
    fn a_fresh_add_creates_everything_with_the_tools_tags_and_annotations() {
        let req = request(&[]);
        let add = plan(&req, &snapshot(Observed::default())).unwrap();
        let role_arn = "arn:aws:iam::333333333333:role/km-cluster-dev";
        assert_eq!(add.desired.role_arn, role_arn);
        assert_eq!(add.desired.role_tags[NAME_TAG], "dev");
        assert_eq!(add.desired.role_tags[MANAGED_BY_TAG], MANAGED_BY_VALUE);
        assert_eq!(
            add.desired.role_tags[trust::SERVER_TAG],
            "https://127.0.0.1:6443"
        );
        assert_eq!(add.annotations[ROLE_ARN_ANNOTATION], role_arn);
        assert_eq!(add.annotations[TOKEN_EXPIRATION_ANNOTATION], "3600");
        assert_eq!(add.labels[MANAGED_BY_LABEL], MANAGED_BY_VALUE);
        assert!(
            add.desired
                .description
                .ends_with(trust::PROVIDER_OWNED_SUFFIX)
        );
        // The entry names the cluster account's provider, not the klanker one.
        let entry = add.desired.config_entry.as_ref().unwrap();
        assert!(
            entry
                .oidc_provider_arn
                .starts_with("arn:aws:iam::111111111111:oidc-provider/")
        );
        assert_eq!(add.reuses_provider, None);
        assert!(add.warnings.is_empty(), "{:?}", add.warnings);
    }

    #[test]
    fn a_foreign_provider_is_recorded_in_the_description() {
        let observed = Observed {
            provider: Some(ObservedProvider {
                arn: "arn:aws:iam::333333333333:oidc-provider/oidc.eks.us-east-1.amazonaws.com/id/ABC/".into(),
                client_ids: vec![STS_AUDIENCE.into()],
                tags: std::collections::BTreeMap::new(),
            }),
            ..Observed::default()
        };
        let add = plan(&request(&[]), &snapshot(observed)).unwrap();
        assert!(
            add.desired
                .description
                .ends_with(trust::PROVIDER_FOREIGN_SUFFIX)
        );
        // Named by its real ARN, trailing slash and all.
        assert!(add.desired.provider_arn.ends_with("/ABC/"));
        assert!(add.reuses_provider.is_some());
    }

    #[test]
    fn the_klanker_profile_in_the_clusters_account_stops_the_plan() {
        let mut snap = snapshot(Observed::default());
        snap.identity.account = "111111111111".into();
        assert!(matches!(
            plan(&request(&[]), &snap),
            Err(PlanError::Guard(
                crate::trust::guard::GuardError::KlankerIsClusterAccount { .. }
            ))
        ));
    }

    #[test]
    fn wildcards_are_warned_about_and_apply_no_service_account() {
        let req = request(&["--service-account", "ci-*", "--allow-wide-trust"]);
        let add = plan(&req, &snapshot(Observed::default())).unwrap();
        assert!(add.desired.cluster.is_none());
        assert!(
            add.warnings
                .iter()
                .any(|w| w.contains("EVERY matching ServiceAccount in namespace ai-pods"))
        );
        let req = request(&["--namespace", "*"]);
        let add = plan(&req, &snapshot(Observed::default())).unwrap();
        assert!(add.warnings.iter().any(|w| w.contains("in ANY namespace")));
        assert!(
            add.warnings
                .iter()
                .any(|w| w.contains("context's namespace `ai-pods`"))
        );
        // The ServiceAccount lives in the context's namespace.
        assert_eq!(add.desired.cluster.unwrap().namespace, "ai-pods");
    }

    #[test]
    fn only_a_named_service_account_the_trust_moves_from_is_previous() {
        let role = |sub: &str| ObservedRole {
            arn: String::new(),
            trust_policy: json!({"Statement": [{"Effect": "Allow",
                "Principal": {"Federated": "arn:aws:iam::333333333333:oidc-provider/x"},
                "Condition": {"StringEquals": {"x:sub": sub}}}]}),
            max_session: 3600,
            description: String::new(),
            tags: std::collections::BTreeMap::new(),
            permissions_boundary: None,
        };
        let req = request(&[]);
        let moved = role("system:serviceaccount:old:km");
        assert_eq!(
            previous_subjects(&req, Some(&moved)),
            [("old".to_string(), "km".to_string())]
        );
        let same = role("system:serviceaccount:ai-pods:km");
        assert!(previous_subjects(&req, Some(&same)).is_empty());
        assert!(previous_subjects(&req, None).is_empty());
    }

    #[test]
    fn verification_uses_the_provider_just_ensured_and_the_named_constants() {
        let req = request(&[]);
        let add = plan(&req, &snapshot(Observed::default())).unwrap();
        let facts = verify::facts_after_apply(
            &req,
            &add,
            &("ai-pods".into(), "km".into()),
            AfterApply {
                token: Err("no token".into()),
                other_provider: None,
            },
        );
        assert_eq!(facts.requested_session, crate::verify::REQUESTED_SESSION);
        assert_eq!(
            facts.operator_policy,
            "arn:aws:iam::333333333333:policy/km-operator-policy"
        );
        assert_eq!(facts.token.unwrap_err(), "no token".into());
        assert!(facts.provider.is_none());
    }

    /// Within 10% of the quota, `add` says so as `audit` would report it;
    /// below, nothing.
    #[test]
    fn a_trust_near_the_quota_is_said_before_it_is_written() {
        let doc = json!({"a": "bc"});
        assert!(crate::plan::add::near_quota(&doc, 12).is_none());
        let said = crate::plan::add::near_quota(&doc, 11).expect("10 of 11 is near");
        assert!(
            said.contains("10 of 11") && said.contains("trust-near-quota"),
            "{said}"
        );
        let req = request(&["--max-trust-policy-size", "400"]);
        let add = plan(&req, &snapshot_for(&req)).unwrap();
        assert!(
            add.warnings.iter().any(|w| w.contains("trust-near-quota")),
            "{:?}",
            add.warnings
        );
    }

    #[test]
    fn the_size_check_is_at_the_limit_and_says_the_size_and_the_fix() {
        let doc = json!({"a": "bc"});
        let size = trust::policy::policy_size(&doc);
        assert_eq!(size, 10);
        let limit = |value| crate::plan::quota::trust_limit(Some(value), None);
        assert!(check_trust_size(&doc, 3, &limit(size)).is_ok());
        let err = check_trust_size(&doc, 3, &limit(size - 1)).unwrap_err();
        assert_eq!(
            err,
            PlanError::TrustPolicyTooLarge {
                subjects: 3,
                size: 10,
                limit: limit(9)
            }
        );
        let text = err.to_string();
        for part in [
            "10 characters",
            "limit 9 (--max-trust-policy-size)",
            "fewer ServiceAccounts",
            "--allow-wide-trust",
            "L-C07B4B0D",
            "--max-trust-policy-size",
        ] {
            assert!(text.contains(part), "{part}: {text}");
        }
    }

    /// `n` ServiceAccounts `sa-0`.. in ai-pods, with `--max-trust-policy-size`.
    fn many(n: usize, limit: usize) -> AddRequest {
        let names: Vec<String> = (0..n).map(|i| format!("sa-{i}")).collect();
        let mut flags: Vec<&str> = Vec::new();
        for name in &names {
            flags.extend(["--service-account", name.as_str()]);
        }
        let limit = limit.to_string();
        flags.extend(["--max-trust-policy-size", limit.as_str()]);
        request(&flags)
    }

    #[test]
    fn a_trust_over_the_quota_stops_the_plan_and_one_at_it_passes() {
        let snap = snapshot_for(&many(50, 8192));
        let fits = plan(&many(50, 8192), &snap).unwrap();
        let size = trust::policy::policy_size(&fits.desired.trust_policy);
        assert!(size > 2048, "{size}");
        assert!(plan(&many(50, size), &snap).is_ok());
        assert!(matches!(
            plan(&many(50, size - 1), &snap),
            Err(PlanError::TrustPolicyTooLarge { subjects: 50, .. })
        ));
        // The default quota refuses it too.
        assert!(matches!(
            plan(&many(50, 2048), &snap),
            Err(PlanError::TrustPolicyTooLarge { .. })
        ));
    }

    #[test]
    fn several_service_accounts_are_each_applied_and_listed_in_the_entry() {
        let req = request(&[
            "--service-account",
            "a",
            "--service-account",
            "b",
            "--service-account",
            "ci:c",
        ]);
        let add = plan(&req, &snapshot_for(&req)).unwrap();
        let cluster = add.desired.cluster.as_ref().unwrap();
        assert_eq!(
            (cluster.namespace.as_str(), cluster.service_account.as_str()),
            ("ai-pods", "a")
        );
        let more: Vec<(&str, &str)> = add
            .desired
            .more_clusters
            .iter()
            .map(|c| (c.namespace.as_str(), c.service_account.as_str()))
            .collect();
        assert_eq!(more, [("ai-pods", "b"), ("ci", "c")]);
        let entry = add.desired.config_entry.as_ref().unwrap();
        assert_eq!(
            (entry.namespace.as_str(), entry.service_account.as_str()),
            ("ai-pods", "a")
        );
        assert_eq!(entry.service_accounts, ["ai-pods:a", "ai-pods:b", "ci:c"]);
        assert!(
            add.desired.description.contains("(ai-pods/a +2 more)"),
            "{}",
            add.desired.description
        );
        // One ServiceAccount: no list, the description as before.
        let one = plan(&request(&[]), &snapshot(Observed::default())).unwrap();
        assert!(
            one.desired
                .config_entry
                .unwrap()
                .service_accounts
                .is_empty()
        );
        assert!(one.desired.more_clusters.is_empty());
        assert!(one.desired.description.contains("(ai-pods/km);"));
    }

    #[test]
    fn a_service_account_dropped_from_the_list_is_previous() {
        let role = ObservedRole {
            arn: String::new(),
            trust_policy: json!({"Statement": [{"Effect": "Allow",
            "Principal": {"Federated": "arn:aws:iam::333333333333:oidc-provider/x"},
            "Condition": {"StringEquals": {"x:sub": [
                "system:serviceaccount:ai-pods:a",
                "system:serviceaccount:ai-pods:b",
                "system:serviceaccount:ci:c"
            ]}}}]}),
            max_session: 3600,
            description: String::new(),
            tags: std::collections::BTreeMap::new(),
            permissions_boundary: None,
        };
        let req = request(&["--service-account", "a", "--service-account", "ci:c"]);
        assert_eq!(
            previous_subjects(&req, Some(&role)),
            [("ai-pods".to_string(), "b".to_string())]
        );
    }
}
