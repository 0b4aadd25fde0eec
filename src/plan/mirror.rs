//! Mirror mode, the planner for `add`: the cluster's issuer is mirrored as
//! an OIDC provider in the klanker account, and a role there trusts it.
//! Request + snapshot → the desired state of the klanker account, the
//! cluster and km-config.yaml, the ordered steps, the warnings, and the
//! facts `verify`'s local checks need after applying.

use std::collections::{BTreeMap, BTreeSet};

use super::{
    Desired, DesiredCluster, DesiredConfigMap, ObservedProvider, ObservedRole, Plan, PlanError,
    Target,
};
use crate::inventory;
use crate::plan::snapshot::{AddSnapshot, AfterApply};
use crate::resolve::add::AddRequest;
use crate::store::ClusterEntry;
use crate::trust::Identity;
use crate::trust::{
    self, Issuer, MANAGED_BY_LABEL, MANAGED_BY_TAG, MANAGED_BY_VALUE, NAME_TAG,
    ROLE_ARN_ANNOTATION, STS_AUDIENCE, TOKEN_EXPIRATION_ANNOTATION, validate,
};
use crate::verify::{Facts, ProviderFacts, RoleFacts};

/// The plan of one `add`, with what rendering and verification need.
#[derive(Debug, Clone)]
pub struct AddPlan {
    pub desired: Desired,
    pub plan: Plan,
    /// The plan's warnings, then those of the request itself (wide trusts).
    pub warnings: Vec<String>,
    pub account: String,
    pub partition: String,
    /// Whether an existing provider is reused (said when `auto` decided).
    pub reuses_provider: Option<String>,
    /// The ServiceAccount's annotations and labels, applied or (with
    /// `-o manifest`) printed.
    pub annotations: BTreeMap<String, String>,
    pub labels: BTreeMap<String, String>,
    /// Chained mode: role A, its account, and the ConfigMap pods read.
    pub cluster_role_arn: Option<String>,
    pub cluster_account: Option<String>,
    pub config_map: Option<DesiredConfigMap>,
}

impl AddPlan {
    /// The policy the after-apply checks look for on the klanker role: the
    /// operator policy when it is attached, else the first of those asked for.
    pub fn checked_policy(&self) -> String {
        let operator = trust::operator_policy_arn(&self.partition, &self.account);
        let policies = &self.desired.policies;
        Some(&operator)
            .filter(|p| policies.contains(*p))
            .or_else(|| policies.iter().next())
            .cloned()
            .unwrap_or_default()
    }
}

/// What the klanker side's plan differs in between the modes.
pub struct KlankerSide {
    pub trust_policy: serde_json::Value,
    pub description: String,
    /// The role the ServiceAccount is annotated with (role A when chained).
    pub annotated_role: String,
    /// The provider the trust rests on (the cluster account's when chained).
    pub provider_arn: String,
    pub config_map: Option<DesiredConfigMap>,
    pub cluster_role_arn: Option<String>,
    /// km-config.yaml's `oidc_provider_arn`.
    pub entry_provider_arn: String,
}

/// The policies the role gets: `--policy-arn`s, else the operator policy.
pub fn policy_arns(req: &AddRequest, identity: &Identity) -> BTreeSet<String> {
    if req.policy_arns.is_empty() {
        BTreeSet::from([trust::operator_policy_arn(
            &identity.partition,
            &identity.account,
        )])
    } else {
        req.policy_arns.iter().cloned().collect()
    }
}

/// The provider the role trusts. A reused provider is named by its own
/// ARN: IAM may have registered it with another spelling of the issuer
/// (a trailing slash).
pub fn provider_arn(
    provider: Option<&ObservedProvider>,
    issuer: &Issuer,
    identity: &Identity,
) -> String {
    provider
        .map(|p| p.arn.clone())
        .unwrap_or_else(|| issuer.provider_arn(&identity.partition, &identity.account))
}

/// Providers of the account the role trusts besides `desired` (for
/// `--replace-issuer`).
pub fn other_trusted_providers(
    role: Option<&ObservedRole>,
    desired: &str,
    provider_arns: &[String],
) -> Vec<String> {
    role.map(|r| inventory::federated_principals(&r.trust_policy))
        .unwrap_or_default()
        .into_iter()
        .filter(|arn| arn != desired && provider_arns.contains(arn))
        .collect()
}

/// The ServiceAccounts the role trusted until now and no longer will: the
/// trust moves, or one is dropped from the list (wildcards name no
/// ServiceAccount to release).
pub fn previous_subjects(req: &AddRequest, role: Option<&ObservedRole>) -> Vec<(String, String)> {
    let wanted = req.service_accounts();
    role.map(|r| inventory::trusted_subjects(&r.trust_policy))
        .unwrap_or_default()
        .into_iter()
        .filter(|(ns, sa)| {
            !ns.contains(['*', '?'])
                && !sa.contains(['*', '?'])
                && !wanted.iter().any(|(wns, wsa)| wns == ns && wsa == sa)
        })
        .collect()
}

/// The trust policy fits IAM's quota (`limit`, characters without
/// whitespace): checked here, before any write, as moto accepts any size.
pub fn check_trust_size(
    doc: &serde_json::Value,
    subjects: usize,
    limit: usize,
) -> Result<(), PlanError> {
    let size = trust::policy::policy_size(doc);
    if size > limit {
        return Err(PlanError::TrustPolicyTooLarge {
            subjects,
            size,
            limit,
        });
    }
    Ok(())
}

/// Mirror mode's whole decision: the klanker account holds the provider
/// and the role trusts it. A name that was chained loses role A too.
pub fn plan(req: &AddRequest, snap: &AddSnapshot) -> Result<AddPlan, PlanError> {
    let identity = &snap.identity;
    let issuer = &snap.issuer.issuer;
    let provider_arn = provider_arn(snap.observed.provider.as_ref(), issuer, identity);
    let role_arn = trust::role_arn(&identity.partition, &identity.account, &req.role_name);
    let trust_policy = trust::policy::trust_policy_for(&provider_arn, issuer, &req.scopes);
    check_trust_size(&trust_policy, req.scopes.len(), req.max_trust_policy_size)?;
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
        annotated_role: role_arn,
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
    let mut add = plan_klanker(req, snap, side)?;
    if let Some(cluster) = &snap.cluster_account {
        let mut steps = super::chained::leave(req, cluster)?;
        steps.append(&mut add.plan.steps);
        add.plan.steps = steps;
    }
    Ok(add)
}

/// The klanker account, the cluster and km-config.yaml, in either mode:
/// the account is the right one, then the desired state, then the steps.
pub fn plan_klanker(
    req: &AddRequest,
    snap: &AddSnapshot,
    side: KlankerSide,
) -> Result<AddPlan, PlanError> {
    let identity = &snap.identity;
    let issuer = &snap.issuer.issuer;
    req.klanker.check_account(
        &identity.account,
        snap.config.klanker_account().as_deref(),
        snap.issuer
            .cluster_account
            .as_deref()
            .or(req.context.eks.account.as_deref()),
    )?;
    let observed = &snap.observed;
    let chained = side.cluster_role_arn.is_some();
    let role_arn = trust::role_arn(&identity.partition, &identity.account, &req.role_name);
    let mut role_tags = role_tags(req, snap.issuer.cluster_arn.as_deref());
    if let Some(cm) = &side.config_map {
        role_tags.insert(trust::CONFIG_MAP_TAG.into(), cm.name.clone());
    }
    if let Some(existing) = &observed.role {
        validate::merged_tag_count(existing.tags.keys(), role_tags.keys(), &req.role_name)?;
    }
    let sa_annotations = BTreeMap::from([
        (ROLE_ARN_ANNOTATION.to_string(), side.annotated_role.clone()),
        (
            TOKEN_EXPIRATION_ANNOTATION.to_string(),
            req.session_duration.to_string(),
        ),
    ]);
    let sa_labels = BTreeMap::from([(MANAGED_BY_LABEL.to_string(), MANAGED_BY_VALUE.to_string())]);
    // The other mode's role: a ServiceAccount annotated with it is ours to re-point.
    let own_role_arns: Vec<String> = [Some(role_arn.clone()), snap.cluster_role_arn()]
        .into_iter()
        .flatten()
        .filter(|arn| arn != &side.annotated_role)
        .collect();
    let config_entry = ClusterEntry {
        name: req.name.clone(),
        oidc_provider_arn: side.entry_provider_arn.clone(),
        namespace: req.scope.namespace_label().to_string(),
        service_account: req.service_account.clone(),
        role_arn: role_arn.clone(),
        // Only for several: a single entry stays as the `km` tool knows it.
        service_accounts: match req.scopes.len() {
            1 => Vec::new(),
            _ => req
                .scopes
                .iter()
                .map(|s| format!("{}:{}", s.namespace_label(), s.service_account))
                .collect(),
        },
        mode: req.mode,
        cluster_role_arn: side.cluster_role_arn.clone(),
    };
    // Chained mode's ConfigMap: one in each namespace holding a ServiceAccount.
    let mut placed = BTreeSet::new();
    let mut cluster = |(namespace, service_account): (String, String)| DesiredCluster {
        config_map: side
            .config_map
            .clone()
            .filter(|_| placed.insert(namespace.clone())),
        namespace,
        create_namespace: req.create_namespace,
        service_account,
        annotations: sa_annotations.clone(),
        labels: sa_labels.clone(),
        own_role_arns: own_role_arns.clone(),
    };
    let mut clusters = match req.applies_service_account() {
        true => req
            .service_accounts()
            .into_iter()
            .map(&mut cluster)
            .collect(),
        false => Vec::new(),
    }
    .into_iter();
    let desired = Desired {
        name: req.name.clone(),
        iam: Target::Iam,
        ensure_provider: !chained,
        inline_policies: BTreeMap::new(),
        trust_policy: side.trust_policy,
        issuer: issuer.clone(),
        provider_arn: side.provider_arn,
        provider_tags: BTreeMap::from([(MANAGED_BY_TAG.to_string(), MANAGED_BY_VALUE.to_string())]),
        register: req.register,
        role_name: req.role_name.clone(),
        role_arn: role_arn.clone(),
        max_session: req.session_duration,
        description: side.description,
        role_tags,
        permissions_boundary: req.permissions_boundary.clone(),
        policies: snap.policies.clone(),
        cluster: clusters.next(),
        more_clusters: clusters.collect(),
        config_entry: Some(config_entry),
        replace_issuer: req.replace_issuer,
        drop_old_providers: chained,
        override_service_accounts: req.override_service_accounts,
    };
    let plan = super::plan(&desired, observed)?;
    let mut warnings = plan.warnings.clone();
    warnings.extend(wide_trust_warnings(req, &side.annotated_role));
    Ok(AddPlan {
        reuses_provider: observed
            .provider
            .as_ref()
            .filter(|_| !chained)
            .map(|p| p.arn.clone()),
        desired,
        plan,
        warnings,
        account: identity.account.clone(),
        partition: identity.partition.clone(),
        annotations: sa_annotations,
        labels: sa_labels,
        cluster_role_arn: None,
        cluster_account: None,
        config_map: side.config_map,
    })
}

/// The tool's tags on the role: ownership, the onboarding's name, and which
/// cluster it is (so `rm` and `verify` act on that cluster alone).
pub fn role_tags(req: &AddRequest, described_cluster: Option<&str>) -> BTreeMap<String, String> {
    let mut tags = req.tags.clone();
    tags.insert(MANAGED_BY_TAG.into(), MANAGED_BY_VALUE.into());
    tags.insert(NAME_TAG.into(), req.name.clone());
    let cluster = described_cluster
        .map(str::to_string)
        .or_else(|| req.context.cluster_arn.clone());
    let server = req.context.server.clone();
    for (key, value) in [
        (trust::CLUSTER_TAG, cluster.or_else(|| server.clone())),
        (trust::SERVER_TAG, server),
    ] {
        if let Some(value) = value.filter(|v| validate::tag_value_fits(v)) {
            tags.insert(key.into(), value);
        }
    }
    tags
}

/// What a wildcard trust lets in, said before anything is applied.
fn wide_trust_warnings(req: &AddRequest, role_arn: &str) -> Vec<String> {
    let mut warnings = Vec::new();
    for scope in req.scopes.iter().filter(|s| s.namespace.is_none()) {
        warnings.push(format!(
            "--namespace '*': a ServiceAccount named `{}` in ANY namespace of this cluster can assume {role_arn}.",
            scope.service_account
        ));
    }
    if req
        .scopes
        .iter()
        .any(|s| s.namespace.is_none() && !s.service_account_is_wildcard())
    {
        warnings.push(format!(
            "--namespace '*' names no namespace to hold the ServiceAccount, so it is applied in the context's namespace `{}`. To put it in another one, switch the context first: kubectl config set-context --current --namespace=NS.",
            req.sa_namespace
        ));
    }
    for scope in req
        .scopes
        .iter()
        .filter(|s| s.service_account_is_wildcard())
    {
        warnings.push(format!(
            "--service-account '{}': EVERY matching ServiceAccount in {} can assume {role_arn}; no ServiceAccount is applied, annotate the ones you mean yourself.",
            scope.service_account,
            scope
                .namespace
                .as_deref()
                .map(|n| format!("namespace {n}"))
                .unwrap_or_else(|| "any namespace".into()),
        ));
    }
    warnings
}

/// The facts of `verify`'s local checks after applying: what was just
/// written, and the token the cluster issued.
/// `subject`: the ServiceAccount `(namespace, name)` the token is for.
pub fn verification_facts(
    req: &AddRequest,
    add: &AddPlan,
    (namespace, service_account): &(String, String),
    after: AfterApply,
) -> Facts {
    let desired = &add.desired;
    let claims = after
        .token
        .and_then(|t| trust::token::claims(&t).map_err(|e| e.to_string()));
    let token_issuer = claims
        .as_ref()
        .ok()
        .and_then(|c| Issuer::parse(&c.iss, "token iss").ok());
    // The provider is the one just ensured, unless the token names another issuer.
    let provider = match &token_issuer {
        Some(i) if i == &desired.issuer => Some(ProviderFacts {
            arn: desired.provider_arn.clone(),
            client_ids: vec![STS_AUDIENCE.to_string()],
        }),
        Some(_) => after.other_provider,
        None => None,
    };
    let provider_arn_for_token = provider
        .as_ref()
        .map(|p| p.arn.clone())
        .or_else(|| token_issuer.map(|i| i.provider_arn(&add.partition, &add.account)));
    Facts {
        name: req.name.clone(),
        role_name: desired.role_name.clone(),
        role_arn: desired.role_arn.clone(),
        role: Some(RoleFacts {
            arn: desired.role_arn.clone(),
            trust_policy: desired.trust_policy.clone(),
            max_session: desired.max_session,
            attached_policies: desired.policies.clone(),
        }),
        namespace: namespace.clone(),
        service_account: service_account.clone(),
        annotations: Some(add.annotations.clone()),
        token: claims,
        provider,
        provider_arn_for_token,
        operator_policy: add.checked_policy(),
        requested_session: crate::verify::REQUESTED_SESSION,
        chain: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::{Cli, Command};
    use crate::kubeconfig::ContextInfo;
    use crate::plan::Observed;
    use crate::plan::snapshot::Resolved;
    use clap::Parser;
    use serde_json::json;

    const ISSUER: &str = "https://oidc.eks.us-east-1.amazonaws.com/id/ABC";

    fn request(flags: &[&str]) -> AddRequest {
        let mut argv = vec![
            "kubectl-klanker_trust",
            "add",
            "--name",
            "dev",
            "--issuer-url",
            ISSUER,
        ];
        argv.extend_from_slice(flags);
        let cli = Cli::try_parse_from(argv).unwrap();
        let Command::Add(args) = cli.command else {
            panic!("not add");
        };
        let ctx = ContextInfo {
            context_name: "ctx".into(),
            namespace: Some("ai-pods".into()),
            server: Some("https://127.0.0.1:6443".into()),
            ..ContextInfo::default()
        };
        crate::resolve::add::resolve(&args, &ctx).unwrap()
    }

    fn identity() -> Identity {
        Identity {
            partition: "aws".into(),
            account: "333333333333".into(),
        }
    }

    /// Every namespace of `req`'s ServiceAccounts exists; none of them yet.
    fn snapshot_for(req: &AddRequest) -> AddSnapshot {
        let more = req.service_accounts().into_iter().skip(1);
        snapshot(Observed {
            more_service_accounts: more
                .map(|(namespace, name)| crate::plan::ObservedCluster {
                    namespace,
                    name,
                    namespace_exists: true,
                    service_account: None,
                })
                .collect(),
            ..Observed::default()
        })
    }

    fn snapshot(mut observed: Observed) -> AddSnapshot {
        observed.namespace_exists = true;
        AddSnapshot {
            issuer: Resolved {
                issuer: Issuer::parse(ISSUER, "t").unwrap(),
                cluster_account: Some("111111111111".into()),
                cluster_arn: None,
                discovered: false,
            },
            identity: identity(),
            cluster_account: None,
            policies: policy_arns(&request(&[]), &identity()),
            observed,
            config: crate::store::Document::default(),
        }
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
                tags: BTreeMap::new(),
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
            tags: BTreeMap::new(),
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
        let facts = verification_facts(
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
        assert_eq!(facts.token.unwrap_err(), "no token");
        assert!(facts.provider.is_none());
    }

    #[test]
    fn the_size_check_is_at_the_limit_and_says_the_size_and_the_fix() {
        let doc = json!({"a": "bc"});
        let size = trust::policy::policy_size(&doc);
        assert_eq!(size, 10);
        assert!(check_trust_size(&doc, 3, size).is_ok());
        let err = check_trust_size(&doc, 3, size - 1).unwrap_err();
        assert_eq!(
            err,
            PlanError::TrustPolicyTooLarge {
                subjects: 3,
                size: 10,
                limit: 9
            }
        );
        let text = err.to_string();
        for part in [
            "10 characters",
            "limit of 9",
            "fewer ServiceAccounts",
            "--allow-wide-trust",
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
            tags: BTreeMap::new(),
            permissions_boundary: None,
        };
        let req = request(&["--service-account", "a", "--service-account", "ci:c"]);
        assert_eq!(
            previous_subjects(&req, Some(&role)),
            [("ai-pods".to_string(), "b".to_string())]
        );
    }
}
