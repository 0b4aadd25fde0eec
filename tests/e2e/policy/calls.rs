//! Every AWS call real scenarios make, judged against the policy `policy`
//! prints for the identity that made it. moto records each call with the
//! account and assumed role that signed it; the resource and the condition
//! keys IAM would evaluate come from the call's parameters and from the
//! state the log itself replays (tags and boundaries of roles and providers
//! as they were when the call arrived). The evaluator is not this code.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Value, json};

use super::{Case, assert_judgement, case, judge_as};
use crate::support::aws_peer::{CLUSTER_ACCOUNT, KLANKER_ACCOUNT};
use crate::support::moto::Call;
use crate::support::{AddArgs, CLUSTER, World};

const KLANKER_OPERATOR: &str = "arn:aws:iam::333333333333:role/klanker-operator";
const CLUSTER_OPERATOR: &str = "arn:aws:iam::222222222222:role/cluster-admin";
const ROLE_A: &str = "km-irsa-dev-use1-0";

/// Tags and boundaries of the IAM resources, as the log leaves them so far.
#[derive(Default)]
struct Replay {
    tags: BTreeMap<String, BTreeMap<String, String>>,
    boundaries: BTreeMap<String, String>,
}

/// `Tags.member.N.Key`/`.Value` pairs of an IAM request, or the `tags.KEY`
/// the recorder makes of an EKS request's tags.
fn request_tags(params: &BTreeMap<String, String>) -> BTreeMap<String, String> {
    let iam = params.iter().filter_map(|(k, key)| {
        let n = k.strip_prefix("Tags.member.")?.strip_suffix(".Key")?;
        let value = params.get(&format!("Tags.member.{n}.Value"))?;
        Some((key.clone(), value.clone()))
    });
    let eks = params
        .iter()
        .filter_map(|(k, value)| Some((k.strip_prefix("tags.")?.to_string(), value.clone())));
    iam.chain(eks).collect()
}

/// The ARN and action EKS authorizes a recorded EKS call on, as the
/// service authorization reference names them. None: one this test does
/// not know (yet).
fn eks_resource(
    account: &str,
    action: &str,
    params: &BTreeMap<String, String>,
) -> Option<(String, String)> {
    let arn = |resource: String| format!("arn:aws:eks:us-east-1:{account}:{resource}");
    // DescribeCluster is moto's own: recorded as its request line.
    if let Some(name) = action.strip_prefix("GET /clusters/") {
        return Some(("eks:DescribeCluster".into(), arn(format!("cluster/{name}"))));
    }
    let cluster = params.get("name");
    let resource = match action {
        "ListPodIdentityAssociations" | "CreatePodIdentityAssociation" => {
            arn(format!("cluster/{}", cluster?))
        }
        "DescribePodIdentityAssociation"
        | "UpdatePodIdentityAssociation"
        | "DeletePodIdentityAssociation" => arn(format!(
            "podidentityassociation/{}/{}",
            cluster?,
            params.get("associationId")?
        )),
        "TagResource" => params.get("resourceArn")?.clone(),
        // An add-on's ARN ends in an ID EKS chooses; any stands for it.
        "DescribeAddon" => arn(format!(
            "addon/{}/{}/58c5a0c5-1b2f-4a67-9f0e-1a2b3c4d5e6f",
            cluster?,
            params.get("addonName")?
        )),
        _ => return None,
    };
    Some((format!("eks:{action}"), resource))
}

/// The service EKS Pod Identity hands an association's role to.
const POD_IDENTITY_SERVICE: &str = "pods.eks.amazonaws.com";

/// The ARN IAM authorizes an IAM call on, as real IAM names it.
/// None: a call IAM checks in a way this test does not know (yet).
fn iam_resource(account: &str, action: &str, params: &BTreeMap<String, String>) -> Option<String> {
    let arn = |resource: String| format!("arn:aws:iam::{account}:{resource}");
    if let Some(profile) = params.get("InstanceProfileName") {
        return Some(arn(format!("instance-profile/{profile}")));
    }
    if let Some(role) = params.get("RoleName") {
        return Some(arn(format!("role/{role}")));
    }
    if let Some(provider) = params.get("OpenIDConnectProviderArn") {
        return Some(provider.clone());
    }
    if let Some(url) = params.get("Url") {
        let provider = url.trim_start_matches("https://");
        return Some(arn(format!("oidc-provider/{provider}")));
    }
    match action {
        "GetPolicy" => params.get("PolicyArn").cloned(),
        "ListRoles" | "ListOpenIDConnectProviders" | "GetAccountSummary" => Some("*".into()),
        _ => None,
    }
}

/// Condition keys with a boundary (iam:PermissionsBoundary) per the IAM
/// service authorization reference.
const BOUNDED: &[&str] = &[
    "AttachRolePolicy",
    "CreateRole",
    "DeleteRolePermissionsBoundary",
    "DeleteRolePolicy",
    "DetachRolePolicy",
    "PutRolePermissionsBoundary",
    "PutRolePolicy",
];

/// What one recorded call asks IAM: its own action, and any it implies.
type Judged = Vec<(String, String, Value)>;

impl Replay {
    /// The call as IAM would judge it, then its effect on the state.
    /// None: a call whose resource this test cannot name (the seeding's).
    fn judge(&mut self, call: &Call) -> Option<Judged> {
        let account = call.account.clone().unwrap_or_default();
        let params = &call.params;
        let action = call.action.as_str();
        let (full, resource) = match call.service.as_str() {
            "sts" => (format!("sts:{action}"), "*".to_string()),
            // Service Quotas authorizes GetServiceQuota on no resource.
            "servicequotas" => (format!("servicequotas:{action}"), "*".to_string()),
            "eks" => eks_resource(&account, action, params)?,
            "iam" => (
                format!("iam:{action}"),
                iam_resource(&account, action, params)?,
            ),
            _ => return None,
        };
        let mut conditions = serde_json::Map::new();
        let requested = request_tags(params);
        if action.starts_with("Create") || action.starts_with("Tag") {
            for (k, v) in &requested {
                conditions.insert(format!("aws:RequestTag/{k}"), json!(v));
            }
        }
        if !action.starts_with("Create") {
            for (k, v) in self.tags.get(&resource).into_iter().flatten() {
                conditions.insert(format!("aws:ResourceTag/{k}"), json!(v));
            }
        }
        if let Some(arn) = params
            .get("PolicyArn")
            .filter(|_| action.contains("RolePolicy"))
        {
            conditions.insert("iam:PolicyARN".into(), json!(arn));
        }
        let boundary = params
            .get("PermissionsBoundary")
            .or(self.boundaries.get(&resource));
        if let Some(boundary) = boundary.filter(|_| BOUNDED.contains(&action)) {
            conditions.insert("iam:PermissionsBoundary".into(), json!(boundary));
        }
        self.apply(action, &resource, params, requested);
        let mut judged = vec![(full, resource, Value::Object(conditions))];
        // Create and Update hand EKS the association role: IAM authorizes
        // that as iam:PassRole by the caller, on the role, to the service.
        if let Some(role) = params
            .get("roleArn")
            .filter(|_| call.service == "eks" && action.ends_with("PodIdentityAssociation"))
        {
            let to = json!({"iam:PassedToService": POD_IDENTITY_SERVICE});
            judged.push(("iam:PassRole".into(), role.clone(), to));
        }
        Some(judged)
    }

    /// An association's tags when it was first seen: its ID is EKS's
    /// answer to the Create, which the log does not hold.
    fn seed_associations(&mut self, seen: &BTreeMap<String, BTreeMap<String, String>>) {
        for (arn, tags) in seen {
            self.tags.insert(arn.clone(), tags.clone());
        }
    }

    fn apply(
        &mut self,
        action: &str,
        resource: &str,
        params: &BTreeMap<String, String>,
        requested: BTreeMap<String, String>,
    ) {
        match action {
            "CreateRole" | "CreateOpenIDConnectProvider" => {
                self.tags.insert(resource.to_string(), requested);
                if let Some(b) = params.get("PermissionsBoundary") {
                    self.boundaries.insert(resource.to_string(), b.clone());
                }
            }
            "TagRole" | "TagOpenIDConnectProvider" | "TagResource" => {
                self.tags
                    .entry(resource.to_string())
                    .or_default()
                    .extend(requested);
            }
            "PutRolePermissionsBoundary" => {
                let b = params
                    .get("PermissionsBoundary")
                    .cloned()
                    .unwrap_or_default();
                self.boundaries.insert(resource.to_string(), b);
            }
            "DeleteRolePermissionsBoundary" => {
                self.boundaries.remove(resource);
            }
            "DeleteRole" | "DeleteOpenIDConnectProvider" | "DeletePodIdentityAssociation" => {
                self.tags.remove(resource);
                self.boundaries.remove(resource);
            }
            _ => {}
        }
    }
}

/// Every distinct call each operator identity made, as IAM would judge it;
/// `associations`: each association's tags when first seen.
fn calls_by_operator(world: &World, associations: &Associations) -> BTreeMap<String, Vec<Case>> {
    let mut replay = Replay::default();
    replay.seed_associations(&associations.0);
    let mut seen: BTreeSet<(String, String, String, String)> = BTreeSet::new();
    let mut by: BTreeMap<String, Vec<Case>> = BTreeMap::new();
    for call in world.moto.calls() {
        // Unsigned calls (AssumeRoleWithWebIdentity) and the base keys'
        // AssumeRole into the operator roles are no operator's calls.
        let Some(principal) = call.principal.clone() else {
            continue;
        };
        let judged = replay.judge(&call);
        if principal != KLANKER_OPERATOR && principal != CLUSTER_OPERATOR {
            continue;
        }
        let Some(judged) = judged else {
            panic!("{call:?} is called: say on which resource IAM checks it");
        };
        let expected = match principal.as_str() {
            KLANKER_OPERATOR => KLANKER_ACCOUNT,
            _ => CLUSTER_ACCOUNT,
        };
        assert_eq!(call.account.as_deref(), Some(expected), "{call:?}");
        for (action, resource, conditions) in judged {
            let key = (
                principal.clone(),
                action.clone(),
                resource.clone(),
                conditions.to_string(),
            );
            if seen.insert(key) {
                by.entry(principal.clone())
                    .or_default()
                    .push(case("recorded", &action, &resource, conditions, true));
            }
        }
    }
    by
}

/// The cluster's Pod Identity associations by ARN, each with its tags when
/// first seen (noted between commands, read as the cluster's admin).
#[derive(Default)]
struct Associations(BTreeMap<String, BTreeMap<String, String>>);

impl Associations {
    fn note(&mut self, world: &World) {
        for a in crate::pod_identity::associations(world) {
            let (arn, tags) = (a.arn, a.tags);
            self.0.entry(arn).or_insert(tags);
        }
    }
}

fn printed(world: &World, args: &[&str]) -> String {
    let out = world.run(args);
    out.assert_ok();
    out.stdout
}

/// Judges every recorded call of each operator against its printed policy;
/// `cluster_mode`: the mode whose cluster-account policy the scenario needs.
#[track_caller]
fn assert_every_call_granted(world: &World, cluster_mode: &str) {
    assert_every_call_granted_with(world, cluster_mode, &Associations::default());
}

#[track_caller]
fn assert_every_call_granted_with(world: &World, cluster_mode: &str, associations: &Associations) {
    let by = calls_by_operator(world, associations);
    let klanker = by
        .get(KLANKER_OPERATOR)
        .expect("the klanker operator called");
    assert!(by.contains_key(CLUSTER_OPERATOR), "no cluster call: {by:?}");
    let policies = [
        (
            KLANKER_OPERATOR,
            printed(world, &["policy", "--for", "klanker", "-o", "json"]),
        ),
        (
            CLUSTER_OPERATOR,
            printed(
                world,
                &[
                    "policy",
                    "--for",
                    "cluster",
                    "--mode",
                    cluster_mode,
                    "-o",
                    "json",
                ],
            ),
        ),
    ];
    assert!(klanker.len() >= 5, "too few calls recorded: {klanker:?}");
    for (principal, policy) in policies {
        let cases = &by[principal];
        let judgement = judge_as(world, &policy, cases, json!({"principal": principal}));
        assert_judgement(&judgement, cases, &policy);
    }
}

impl std::fmt::Debug for Case {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} on {}", self.action, self.resource)
    }
}

fn mirror() -> AddArgs<'static> {
    AddArgs::cluster()
        .service_account("km")
        .arg("--dry-run=false")
}

fn chained() -> AddArgs<'static> {
    mirror().flag("--mode", "chained")
}

/// Someone attached a managed policy to role A and put it in an instance
/// profile: removing role A must detach and remove both first.
fn tamper_with_role_a(world: &World, suffix: &str) {
    let iam = &world.cluster.iam;
    world.block_on(async {
        let arn = world
            .cluster
            .create_policy(&format!("by-hand-{suffix}"))
            .await;
        iam.attach_role_policy()
            .role_name(ROLE_A)
            .policy_arn(arn)
            .send()
            .await
            .expect("attach by hand");
        let profile = format!("by-hand-{suffix}");
        iam.create_instance_profile()
            .instance_profile_name(&profile)
            .send()
            .await
            .expect("instance profile");
        iam.add_role_to_instance_profile()
            .instance_profile_name(&profile)
            .role_name(ROLE_A)
            .send()
            .await
            .expect("role in instance profile");
    });
}

#[test]
fn every_call_of_mirror_add_verify_and_rm_is_granted_by_the_printed_policies() {
    let world = World::new();
    world.run(&mirror()).assert_ok();
    world.run(&["verify", CLUSTER]).assert_ok();
    world.run(&["list"]).assert_ok();
    world.run(&["rm", CLUSTER, "--yes"]).assert_ok();
    assert_every_call_granted(&world, "mirror");
}

#[test]
fn every_call_of_chained_add_rm_and_both_mode_switches_is_granted_by_the_printed_policies() {
    let world = World::new();
    world.block_on(world.cluster.create_policy("km-irsa-boundary"));
    world.run(&mirror()).assert_ok();
    // Mirror -> chained, then back with role A tampered with.
    world.run(&chained()).assert_ok();
    tamper_with_role_a(&world, "1");
    world.run(&mirror()).assert_ok();
    world.run(&chained()).assert_ok();
    world.run(&["verify", CLUSTER]).assert_ok();
    tamper_with_role_a(&world, "2");
    let rm = world.run(&["rm", CLUSTER, "--yes"]);
    rm.assert_ok();
    assert!(
        world.block_on(world.cluster.role(ROLE_A)).is_none(),
        "{}",
        rm.all()
    );
    assert_every_call_granted(&world, "chained");
}

fn pod_identity() -> AddArgs<'static> {
    mirror().flag("--mode", "pod-identity")
}

#[test]
fn every_read_of_a_pod_identity_plan_is_granted_by_the_printed_policies() {
    let world = World::new();
    world.block_on(world.cluster.create_policy("km-irsa-boundary"));
    world.block_on(crate::pod_identity::install_agent(&world.cluster));
    let mut associations = Associations::default();
    world.run(&mirror()).assert_ok();
    // Another owner's association, which the plan reads and would take over.
    crate::pod_identity::foreign_association(&world, "km-other");
    associations.note(&world);
    let plan = AddArgs::cluster()
        .service_account("km")
        .service_account("km-other")
        .flag("--mode", "pod-identity")
        .arg("--override-existing-serviceaccounts")
        .dry_run();
    let out = world.run(&plan);
    out.assert_ok();
    assert_contains!(out.stdout, "Pod Identity association");
    let made: BTreeSet<String> = calls_by_operator(&world, &associations)
        .remove(CLUSTER_OPERATOR)
        .unwrap_or_default()
        .into_iter()
        .map(|c| c.action)
        .collect();
    for call in [
        "eks:ListPodIdentityAssociations",
        "eks:DescribePodIdentityAssociation",
        "eks:DescribeAddon",
        "iam:GetPolicy",
    ] {
        assert!(made.contains(call), "{call} was not made: {made:?}");
    }
    assert_every_call_granted_with(&world, "pod-identity", &associations);
}

#[test]
fn every_call_of_pod_identity_add_takeover_rm_and_mode_switches_is_granted_by_the_printed_policies()
{
    let world = World::new();
    world.block_on(world.cluster.create_policy("km-irsa-boundary"));
    world.block_on(crate::pod_identity::install_agent(&world.cluster));
    let mut associations = Associations::default();
    world.run(&mirror()).assert_ok();
    // Mirror -> pod identity, a re-run, back to mirror (its association
    // and role removed), and pod identity again.
    world.run(&pod_identity()).assert_ok();
    associations.note(&world);
    world.run(&pod_identity()).assert_ok();
    world.run(&mirror()).assert_ok();
    world.run(&pod_identity()).assert_ok();
    associations.note(&world);
    // Another owner's association for a second ServiceAccount, taken over.
    crate::pod_identity::foreign_association(&world, "km-other");
    associations.note(&world);
    let takeover = pod_identity()
        .service_account("km-other")
        .arg("--override-existing-serviceaccounts");
    world.run(&takeover).assert_ok();
    associations.note(&world);
    let rm = world.run(&["rm", CLUSTER, "--yes"]);
    rm.assert_ok();
    assert!(
        world
            .block_on(world.cluster.role("km-podid-dev-use1-0"))
            .is_none(),
        "{}",
        rm.all()
    );
    // The scenario made every kind of Pod Identity call, PassRole implied.
    let made: BTreeSet<String> = calls_by_operator(&world, &associations)
        .remove(CLUSTER_OPERATOR)
        .unwrap_or_default()
        .into_iter()
        .map(|c| c.action)
        .collect();
    for call in [
        "eks:ListPodIdentityAssociations",
        "eks:DescribePodIdentityAssociation",
        "eks:CreatePodIdentityAssociation",
        "eks:UpdatePodIdentityAssociation",
        "eks:TagResource",
        "eks:DeletePodIdentityAssociation",
        "eks:DescribeAddon",
        "iam:PassRole",
        "iam:CreateRole",
        "iam:PutRolePolicy",
        "iam:DeleteRole",
    ] {
        assert!(made.contains(call), "{call} was not made: {made:?}");
    }
    assert_every_call_granted_with(&world, "pod-identity", &associations);
}
