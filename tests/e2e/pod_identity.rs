//! `add --mode pod-identity` end to end: the association role in the
//! cluster's account, the target role in the klanker account, the EKS Pod
//! Identity association with its external ID pinned in the target trust,
//! and the plain ServiceAccount; against moto's two accounts (with the Pod
//! Identity peer, tests/support/eks_pod_identity.py) and the real API server.

use serde_json::json;

use crate::support::aws_peer::{Account, CLUSTER_ACCOUNT};
use crate::support::{AddArgs, CLUSTER, CONTEXT, ROLE, ROLE_ARN, ROLE_ARN_ANNOTATION, World};

pub const ASSOCIATION_ROLE: &str = "km-podid-dev-use1-0";
pub const ASSOCIATION_ROLE_ARN: &str = "arn:aws:iam::222222222222:role/km-podid-dev-use1-0";
const BOUNDARY: &str = "arn:aws:iam::222222222222:policy/km-irsa-boundary";

/// `add --mode pod-identity` for ai-pods/km, applied, with `extra` flags.
pub fn pod_identity<'a>(extra: &[&'a str]) -> AddArgs<'a> {
    AddArgs::cluster()
        .service_account("km")
        .flag("--mode", "pod-identity")
        .arg("--dry-run=false")
        .args(extra)
}

/// The two-account world with the association role's boundary in the
/// cluster's account (as `policy --for cluster-boundary` prints it) and the
/// Pod Identity agent add-on installed in the cluster.
pub fn pod_identity_world() -> World {
    let world = World::new();
    world.block_on(world.cluster.create_policy("km-irsa-boundary"));
    world.block_on(install_agent(&world.cluster));
    world.clear_calls();
    world
}

/// `aws eks create-addon --addon-name eks-pod-identity-agent`, as the plan says.
pub async fn install_agent(account: &Account) {
    account
        .eks
        .create_addon()
        .cluster_name(CLUSTER)
        .addon_name("eks-pod-identity-agent")
        .send()
        .await
        .expect("create the agent add-on");
}

/// An association as the EKS peer describes it.
#[derive(Debug)]
pub struct Association {
    pub id: String,
    pub arn: String,
    pub namespace: String,
    pub service_account: String,
    pub role_arn: String,
    pub target_role_arn: Option<String>,
    pub session_tags_disabled: bool,
    pub external_id: Option<String>,
    pub tags: std::collections::BTreeMap<String, String>,
}

/// Every association of the test cluster, described, as the cluster's admin reads them.
pub fn associations(world: &World) -> Vec<Association> {
    let eks = &world.cluster.eks;
    world.block_on(async {
        let list = eks
            .list_pod_identity_associations()
            .cluster_name(CLUSTER)
            .send()
            .await
            .expect("list associations");
        let mut out = Vec::new();
        for summary in list.associations() {
            let got = eks
                .describe_pod_identity_association()
                .cluster_name(CLUSTER)
                .association_id(summary.association_id().unwrap_or_default())
                .send()
                .await
                .expect("describe association");
            let a = got.association().expect("association");
            out.push(Association {
                id: a.association_id().unwrap_or_default().into(),
                arn: a.association_arn().unwrap_or_default().into(),
                namespace: a.namespace().unwrap_or_default().into(),
                service_account: a.service_account().unwrap_or_default().into(),
                role_arn: a.role_arn().unwrap_or_default().into(),
                target_role_arn: a.target_role_arn().map(str::to_string),
                session_tags_disabled: a.disable_session_tags().unwrap_or(false),
                external_id: a.external_id().map(str::to_string),
                tags: a
                    .tags()
                    .map(|t| t.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
                    .unwrap_or_default(),
            });
        }
        out
    })
}

/// The target trust `add` writes for one ServiceAccount, session tags on.
fn target_statement(
    namespace: &str,
    service_account: &str,
    external_id: &str,
) -> serde_json::Value {
    json!({
        "Effect": "Allow",
        "Principal": {"AWS": format!("arn:aws:iam::{CLUSTER_ACCOUNT}:root")},
        "Action": ["sts:AssumeRole", "sts:TagSession"],
        "Condition": {
            "ArnEquals": {"aws:PrincipalArn": ASSOCIATION_ROLE_ARN},
            "StringEquals": {
                "aws:RequestTag/eks-cluster-arn": CONTEXT,
                "aws:RequestTag/kubernetes-namespace": namespace,
                "aws:RequestTag/kubernetes-service-account": service_account,
                "sts:ExternalId": external_id,
            },
        },
    })
}

/// The exact state pod-identity mode leaves in both accounts, EKS and the cluster.
fn assert_pod_identity_state(world: &World) {
    // EKS: one association, ours, naming both roles, session tags on.
    let found = associations(world);
    assert_eq!(found.len(), 1, "{found:?}");
    let association = &found[0];
    assert_eq!(
        (
            association.namespace.as_str(),
            association.service_account.as_str()
        ),
        ("ai-pods", "km")
    );
    assert_eq!(association.role_arn, ASSOCIATION_ROLE_ARN);
    assert_eq!(association.target_role_arn.as_deref(), Some(ROLE_ARN));
    assert!(!association.session_tags_disabled);
    assert_eq!(association.tags["klanker-trust/name"], CLUSTER);
    assert_eq!(
        association.tags["klanker-trust/managed-by"],
        "kubectl-klanker-trust"
    );
    let external_id = association.external_id.clone().expect("external ID");
    // Cluster account: the association role, trusting EKS for this cluster only.
    let role = world
        .block_on(world.cluster.role(ASSOCIATION_ROLE))
        .expect("association role");
    assert_eq!(
        role.trust_policy,
        json!({
            "Version": "2012-10-17",
            "Statement": [{
                "Effect": "Allow",
                "Principal": {"Service": "pods.eks.amazonaws.com"},
                "Action": ["sts:AssumeRole", "sts:TagSession"],
                "Condition": {
                    "StringEquals": {"aws:SourceAccount": CLUSTER_ACCOUNT},
                    "ArnEquals": {"aws:SourceArn": CONTEXT},
                },
            }]
        })
    );
    assert_eq!(role.permissions_boundary.as_deref(), Some(BOUNDARY));
    assert!(role.attached.is_empty(), "{:?}", role.attached);
    assert_eq!(role.tags["klanker-trust/name"], CLUSTER);
    assert_eq!(
        world.block_on(
            world
                .cluster
                .inline_policy(ASSOCIATION_ROLE, "klanker-trust-assume-target")
        ),
        Some(json!({
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Action": ["sts:AssumeRole", "sts:TagSession"], "Resource": ROLE_ARN}]
        }))
    );
    assert!(world.block_on(world.cluster.providers()).is_empty());
    // Klanker account: no provider; the target role pinned to the external ID.
    assert!(world.block_on(world.klanker.providers()).is_empty());
    let target = world
        .block_on(world.klanker.role(ROLE))
        .expect("target role");
    assert_eq!(
        target.trust_policy,
        json!({"Version": "2012-10-17", "Statement": [target_statement("ai-pods", "km", &external_id)]})
    );
    assert_eq!(target.tags["klanker-trust/name"], CLUSTER);
    // The cluster: a plain ServiceAccount, no role annotation.
    let sa = world
        .kube
        .service_account("ai-pods", "km")
        .expect("ServiceAccount");
    assert!(
        sa["metadata"]["annotations"]
            .get(ROLE_ARN_ANNOTATION)
            .is_none(),
        "{sa}"
    );
    let km = world.km_config_yaml();
    let entry = &km["clusters"][0];
    assert_eq!(entry["mode"], "pod-identity");
    assert_eq!(entry["cluster_role_arn"], ASSOCIATION_ROLE_ARN);
}

#[test]
fn a_fresh_add_makes_both_roles_and_the_association_and_pins_its_external_id() {
    let world = pod_identity_world();
    let out = world.run(&pod_identity(&[]));
    out.assert_ok();
    assert_pod_identity_state(&world);
    let all = out.all();
    assert!(all.contains("restarted"), "{all}");
    assert!(all.contains("59 minutes"), "{all}");
    assert!(all.contains("OK   target-trust"), "{all}");
    assert!(!all.contains("FAIL"), "{all}");
    // A second run writes nothing.
    world.clear_calls();
    let again = world.run(&pod_identity(&[]));
    again.assert_ok();
    assert_eq!(world.writes(), Vec::<String>::new(), "{}", again.all());
    assert_pod_identity_state(&world);
}

#[test]
fn a_missing_agent_add_on_is_said_in_the_plan_with_its_install_command() {
    let world = World::new();
    world.block_on(world.cluster.create_policy("km-irsa-boundary"));
    let out = world.run(&pod_identity(&[]));
    let all = out.all();
    // The onboarding is made, and the broken link named with its fix (exit 4, as any broken link after `add`).
    out.assert_code(4);
    assert!(
        all.contains(
            "aws eks create-addon --cluster-name dev-use1-0 --addon-name eks-pod-identity-agent"
        ),
        "{all}"
    );
    assert!(all.contains("FAIL agent"), "{all}");
    world.block_on(install_agent(&world.cluster));
    world.clear_calls();
    let again = world.run(&pod_identity(&[]));
    again.assert_ok();
    assert_eq!(world.writes(), Vec::<String>::new(), "{}", again.all());
    assert_pod_identity_state(&world);
}

/// An association another tool made for ai-pods/`service_account`, with a
/// role of its own and its own tag; its ID.
pub fn foreign_association(world: &World, service_account: &str) -> String {
    world.block_on(world.cluster.create_foreign_role("app-role"));
    world.block_on(async {
        world
            .cluster
            .eks
            .create_pod_identity_association()
            .cluster_name(CLUSTER)
            .namespace("ai-pods")
            .service_account(service_account)
            .role_arn(format!("arn:aws:iam::{CLUSTER_ACCOUNT}:role/app-role"))
            .tags("owner", "eksctl")
            .send()
            .await
            .expect("create the foreign association")
            .association
            .and_then(|a| a.association_id)
            .expect("association ID")
    })
}

#[test]
fn a_foreign_association_is_refused_before_any_write_and_taken_over_only_when_asked() {
    let world = pod_identity_world();
    let id = foreign_association(&world, "km");
    world.clear_calls();
    let out = world.run(&pod_identity(&[]));
    // As a ServiceAccount annotated with another role is refused.
    out.assert_code(1);
    let all = out.all();
    assert!(all.contains(&id), "{all}");
    assert!(all.contains("--override-existing-serviceaccounts"), "{all}");
    assert_eq!(world.writes(), Vec::<String>::new(), "{all}");
    let found = associations(&world);
    assert_eq!(found.len(), 1);
    assert!(found[0].role_arn.ends_with("role/app-role"), "{found:?}");
    // Asked for: re-pointed in place (the same association) and marked ours.
    let taken = world.run(&pod_identity(&["--override-existing-serviceaccounts"]));
    taken.assert_ok();
    assert!(taken.all().contains("taken over"), "{}", taken.all());
    assert_eq!(associations(&world)[0].id, id);
    assert_pod_identity_state(&world);
}

/// Nothing of the onboarding is left anywhere.
fn assert_pod_identity_clean(world: &World) {
    assert!(associations(world).is_empty());
    assert!(world.block_on(world.klanker.role(ROLE)).is_none());
    assert!(
        world
            .block_on(world.cluster.role(ASSOCIATION_ROLE))
            .is_none()
    );
    assert!(world.block_on(world.klanker.providers()).is_empty());
    assert!(world.block_on(world.cluster.providers()).is_empty());
    assert!(world.kube.service_account("ai-pods", "km").is_none());
    assert!(
        world.km_config_yaml()["clusters"]
            .as_sequence()
            .is_none_or(|s| s.is_empty())
    );
}

#[test]
fn list_names_the_mode_and_the_association_and_rm_removes_all_of_it() {
    let world = pod_identity_world();
    world.run(&pod_identity(&[])).assert_ok();
    let id = associations(&world)[0].id.clone();
    let wide = world.run(&["list", "-o", "wide"]);
    wide.assert_ok();
    assert!(wide.stdout.contains("pod-identity"), "{}", wide.stdout);
    assert!(wide.stdout.contains(&id), "{}", wide.stdout);
    let json = world.run(&["list", "-o", "json"]);
    let doc: serde_json::Value = serde_json::from_str(&json.stdout).expect("list JSON");
    let listed = doc.to_string();
    assert!(listed.contains("\"pod-identity\""), "{listed}");
    assert!(listed.contains(&id), "{listed}");
    // The association goes first, then both roles and the ServiceAccount.
    let rm = world.run(&["rm", CLUSTER, "--yes"]);
    rm.assert_ok();
    assert!(
        rm.all().contains(&format!("Pod Identity association {id}")),
        "{}",
        rm.all()
    );
    assert_pod_identity_clean(&world);
    // Nothing is left to do.
    world.clear_calls();
    world.run(&["rm", CLUSTER, "--yes"]);
    assert_eq!(world.writes(), Vec::<String>::new());
}

#[test]
fn without_session_tags_the_trust_rests_on_the_association_role_and_the_external_id() {
    let world = pod_identity_world();
    let out = world.run(&pod_identity(&["--disable-session-tags"]));
    out.assert_ok();
    assert!(out.stdout.contains("OK   target-trust"), "{}", out.all());
    let found = associations(&world);
    assert!(found[0].session_tags_disabled, "{found:?}");
    let external_id = found[0].external_id.clone().expect("external ID");
    let target = world
        .block_on(world.klanker.role(ROLE))
        .expect("target role");
    assert_eq!(
        target.trust_policy["Statement"],
        json!([{
            "Effect": "Allow",
            "Principal": {"AWS": format!("arn:aws:iam::{CLUSTER_ACCOUNT}:root")},
            "Action": ["sts:AssumeRole"],
            "Condition": {
                "ArnEquals": {"aws:PrincipalArn": ASSOCIATION_ROLE_ARN},
                "StringEquals": {"sts:ExternalId": external_id},
            },
        }])
    );
    world.clear_calls();
    world
        .run(&pod_identity(&["--disable-session-tags"]))
        .assert_ok();
    assert_eq!(world.writes(), Vec::<String>::new());
    // Tags back on: the association and the trust change, nothing else.
    world.run(&pod_identity(&[])).assert_ok();
    assert_pod_identity_state(&world);
}

#[test]
fn a_context_that_is_not_eks_is_refused_before_any_write() {
    let world = pod_identity_world();
    let out = world.run(
        &AddArgs::cluster()
            .service_account("km")
            .flag("--mode", "pod-identity")
            .flag("--issuer-url", &world.issuer)
            .flag("--cluster-profile", "cluster-admin")
            .arg("--dry-run=false"),
    );
    out.assert_code(2);
    let all = out.all();
    assert!(all.contains("needs an EKS cluster"), "{all}");
    assert!(all.contains("--mode mirror"), "{all}");
    assert_eq!(world.writes(), Vec::<String>::new(), "{all}");
}

#[test]
fn a_persistent_fault_on_each_write_step_converges_on_rerun() {
    let world = pod_identity_world();
    let add = pod_identity(&[]);
    let rm = ["rm", CLUSTER, "--yes"];
    for action in [
        "CreateRole",
        "PutRolePolicy",
        "AttachRolePolicy",
        "CreatePodIdentityAssociation",
        "UpdateAssumeRolePolicy",
    ] {
        world
            .moto
            .inject(json!([{"action": action, "fault": "internal", "count": 100}]));
        let out = world.run(&add);
        out.assert_code(3);
        assert!(
            out.stderr
                .contains("Re-running `kubectl klanker-trust add`"),
            "{action}: {}",
            out.all()
        );
        world.moto.clear_faults();
        world.run(&add).assert_ok();
        assert_pod_identity_state(&world);
        world.clear_calls();
        world.run(&add).assert_ok();
        assert_eq!(world.writes(), Vec::<String>::new(), "{action}");
        world.run(&rm).assert_ok();
        assert_pod_identity_clean(&world);
    }
}

/// `add` of the same name in another mode, applied.
fn other_mode(mode: &'static str) -> AddArgs<'static> {
    AddArgs::cluster()
        .service_account("km")
        .flag("--mode", mode)
        .arg("--dry-run=false")
}

#[test]
fn switching_from_and_to_mirror_removes_what_the_old_mode_owned_and_nothing_else() {
    let world = pod_identity_world();
    world.run(&other_mode("mirror")).assert_ok();
    assert_eq!(world.block_on(world.klanker.providers()).len(), 1);
    // mirror -> pod identity: the klanker provider (ours, unused) and the annotation go.
    let out = world.run(&pod_identity(&[]));
    out.assert_ok();
    assert_pod_identity_state(&world);
    // pod identity -> mirror: the association and the association role go.
    let back = world.run(&other_mode("mirror"));
    back.assert_ok();
    assert!(associations(&world).is_empty());
    assert!(
        world
            .block_on(world.cluster.role(ASSOCIATION_ROLE))
            .is_none()
    );
    assert_eq!(world.block_on(world.klanker.providers()).len(), 1);
    let sa = world
        .kube
        .service_account("ai-pods", "km")
        .expect("ServiceAccount");
    assert_eq!(sa["metadata"]["annotations"][ROLE_ARN_ANNOTATION], ROLE_ARN);
    world.clear_calls();
    world.run(&other_mode("mirror")).assert_ok();
    assert_eq!(world.writes(), Vec::<String>::new());
}

#[test]
fn switching_from_and_to_chained_removes_what_the_old_mode_owned_and_nothing_else() {
    let world = pod_identity_world();
    world.run(&other_mode("chained")).assert_ok();
    assert!(
        world
            .block_on(world.cluster.role("km-irsa-dev-use1-0"))
            .is_some()
    );
    // chained -> pod identity: role A, the cluster's provider and the ConfigMap go.
    world.run(&pod_identity(&[])).assert_ok();
    assert_pod_identity_state(&world);
    assert!(
        world
            .block_on(world.cluster.role("km-irsa-dev-use1-0"))
            .is_none()
    );
    assert!(world.kube.config_map("ai-pods", "km-aws-config").is_none());
    world.clear_calls();
    world.run(&pod_identity(&[])).assert_ok();
    assert_eq!(world.writes(), Vec::<String>::new());
    // pod identity -> chained: the association and the association role go.
    world.run(&other_mode("chained")).assert_ok();
    assert!(associations(&world).is_empty());
    assert!(
        world
            .block_on(world.cluster.role(ASSOCIATION_ROLE))
            .is_none()
    );
    assert!(
        world
            .block_on(world.cluster.role("km-irsa-dev-use1-0"))
            .is_some()
    );
    assert!(world.kube.config_map("ai-pods", "km-aws-config").is_some());
}

#[test]
fn describe_shows_both_roles_the_association_and_the_agent_and_drift_on_each() {
    let world = pod_identity_world();
    world.run(&pod_identity(&[])).assert_ok();
    let id = associations(&world)[0].id.clone();
    let out = world.run(&["describe", CLUSTER]);
    out.assert_ok();
    for part in [
        "Mode:              pod-identity",
        "agent add-on ACTIVE",
        &format!("Association role: {ASSOCIATION_ROLE_ARN}"),
        "Inline policy klanker-trust-assume-target",
        &format!(
            "Association {id} for ai-pods/km: role {ASSOCIATION_ROLE_ARN}, target {ROLE_ARN}, session tags on"
        ),
        "EKS Pod Identity needs no provider",
        "Drift:             none",
    ] {
        assert!(out.stdout.contains(part), "{part}:\n{}", out.stdout);
    }
    // The association deleted by hand: said, with the drift.
    world.block_on(async {
        world
            .cluster
            .eks
            .delete_pod_identity_association()
            .cluster_name(CLUSTER)
            .association_id(&id)
            .send()
            .await
            .expect("delete the association")
    });
    let out = world.run(&["describe", CLUSTER, "-o", "json"]);
    out.assert_ok();
    let doc: serde_json::Value = serde_json::from_str(&out.stdout).expect("describe JSON");
    assert_eq!(
        doc["pod_identity"]["associations"][0]["namespace"],
        "ai-pods"
    );
    assert!(
        doc["pod_identity"]["associations"][0].get("id").is_none(),
        "{doc}"
    );
    let drift = doc["drift"].to_string();
    assert!(
        drift.contains("no Pod Identity association for ai-pods/km"),
        "{drift}"
    );
}
