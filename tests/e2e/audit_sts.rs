//! `audit`'s two provider-level "admits nobody" claims (issue 25), judged
//! by STS semantics rather than by the code that made them:
//!
//! - `provider-missing`: the trust names an OIDC provider the role's
//!   account does not hold;
//! - `provider-no-sts-client-id`: the provider's client IDs lack
//!   `sts.amazonaws.com`.
//!
//! For each, the situation is built at the AWS peer, the audit must report
//! it, and then a real token of the ServiceAccount the trust names (issued
//! by the world's API server for `sts.amazonaws.com`) is presented to the
//! peer's AssumeRoleWithWebIdentity by AWS's own SDK: the peer's STS
//! provider checks (tests/support/sts_web_identity.py) must refuse it with
//! InvalidIdentityToken. principalmapper (tests/support/trust_check.py)
//! admits the same token's claims on the trust's conditions, so the
//! refusal is provider-level; and once the situation is fixed (the
//! provider registered / the client ID added) the same token is admitted,
//! so the refusal was due to exactly what the finding says.

use aws_config::{BehaviorVersion, Region};
use aws_sdk_sts::error::ProvideErrorMetadata;
use base64::Engine;
use serde_json::{Value, json};

use crate::support::World;
use crate::support::aws_peer::{CLUSTER_ACCOUNT, KLANKER_ACCOUNT};

const NAMESPACE: &str = "ai-pods";
const SERVICE_ACCOUNT: &str = "km";
const STS_AUDIENCE: &str = "sts.amazonaws.com";
const SESSION: &str = "audit-sts-probe";

fn role_arn(name: &str) -> String {
    format!("arn:aws:iam::{KLANKER_ACCOUNT}:role/{name}")
}

/// The ARN IAM gives the world's issuer's provider in `account`.
fn provider_arn(world: &World, account: &str) -> String {
    format!(
        "arn:aws:iam::{account}:oidc-provider/{}",
        world.issuer_host_path()
    )
}

/// A trust whose conditions admit exactly ai-pods/km's tokens for STS,
/// through the world's issuer's provider in the klanker account.
fn trust(world: &World) -> Value {
    let host = world.issuer_host_path();
    json!({"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow",
        "Principal": {"Federated": provider_arn(world, KLANKER_ACCOUNT)},
        "Action": "sts:AssumeRoleWithWebIdentity",
        "Condition": {"StringEquals": {
            format!("{host}:sub"): format!("system:serviceaccount:{NAMESPACE}:{SERVICE_ACCOUNT}"),
            format!("{host}:aud"): STS_AUDIENCE,
        }},
    }]})
}

fn create_role(world: &World, name: &str, trust: &Value) {
    world.block_on(async {
        world
            .klanker
            .iam
            .create_role()
            .role_name(name)
            .assume_role_policy_document(trust.to_string())
            .send()
            .await
            .expect("create role")
    });
}

fn delete_provider(world: &World, arn: &str) {
    world.block_on(async {
        world
            .klanker
            .iam
            .delete_open_id_connect_provider()
            .open_id_connect_provider_arn(arn)
            .send()
            .await
            .expect("delete provider")
    });
}

/// `audit -o json` of both accounts (the cluster's too, so a provider of
/// the issuer there is seen and must not count for the klanker role).
fn audit(world: &World) -> Value {
    let out = world.run(&[
        "audit",
        "-o",
        "json",
        "--aws-profile",
        "klanker-application",
        "--aws-profile",
        "cluster-admin",
    ]);
    out.assert_ok();
    serde_json::from_str(&out.stdout).unwrap_or_else(|e| panic!("{e}: {}", out.stdout))
}

/// The findings of `id` on `arn`.
fn findings<'a>(report: &'a Value, id: &str, arn: &str) -> Vec<&'a Value> {
    report["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .filter(|f| f["id"] == id && f["arn"] == arn)
        .collect()
}

/// A token of ai-pods/km for STS, from the world's API server
/// (TokenRequest, as the kubelet asks for a pod's projected token).
fn token(world: &World) -> String {
    token_for(world, STS_AUDIENCE)
}

/// A token of ai-pods/km for `audience` (IRSA's `eks.amazonaws.com/audience`).
fn token_for(world: &World, audience: &str) -> String {
    world
        .kube
        .put_service_account(NAMESPACE, json!({"metadata": {"name": SERVICE_ACCOUNT}}));
    world
        .kube
        .admin(
            &[
                "create",
                "token",
                SERVICE_ACCOUNT,
                "-n",
                NAMESPACE,
                "--audience",
                audience,
            ],
            None,
        )
        .trim()
        .to_string()
}

/// The token's claims, decoded (the tests read them; nothing verifies them here).
fn claims(token: &str) -> Value {
    let payload = token.split('.').nth(1).expect("a JWT");
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload.trim_end_matches('='))
        .expect("base64url payload");
    serde_json::from_slice(&bytes).expect("claims JSON")
}

/// The claims the trust's conditions read, checked to be the ones the
/// trust was written for.
fn sub_and_aud(world: &World, token: &str) -> (String, String) {
    let claims = claims(token);
    assert_eq!(claims["iss"], world.issuer.as_str(), "{claims}");
    let sub = claims["sub"].as_str().expect("sub").to_string();
    assert_eq!(
        sub,
        format!("system:serviceaccount:{NAMESPACE}:{SERVICE_ACCOUNT}")
    );
    let aud: Vec<String> = match &claims["aud"] {
        Value::String(s) => vec![s.clone()],
        other => other
            .as_array()
            .expect("aud")
            .iter()
            .map(|a| a.as_str().expect("aud string").to_string())
            .collect(),
    };
    assert_eq!(aud, [STS_AUDIENCE], "{claims}");
    (sub, aud[0].clone())
}

/// principalmapper admits the token's claims on the trust's conditions
/// through `provider`, and refuses another namespace's ServiceAccount: the
/// conditions are not what keeps the token out.
fn assert_conditions_admit(world: &World, role: &str, trust: &Value, token: &str) {
    let host = world.issuer_host_path();
    let (sub, aud) = sub_and_aud(world, token);
    let provider = provider_arn(world, KLANKER_ACCOUNT);
    let case = |name: &str, sub: &str| {
        json!({"name": name, "action": "sts:AssumeRoleWithWebIdentity",
            "principal": {"federated": provider},
            "conditions": {format!("{host}:sub"): sub, format!("{host}:aud"): aud}})
    };
    let verdicts = world.evaluate(
        "trust_check.py",
        trust,
        &json!({"resource": role, "cases": [
            case("token", &sub),
            case("intruder", "system:serviceaccount:evil:intruder"),
        ]}),
    );
    assert_eq!(
        verdicts,
        [("token".to_string(), true), ("intruder".to_string(), false)]
    );
}

/// AssumeRoleWithWebIdentity at the peer, by AWS's SDK with no credentials
/// at all (the call is unsigned, as a pod's): the assumed role's ARN, or the
/// error's code and message.
fn assume(world: &World, role: &str, token: &str) -> Result<String, (String, String)> {
    let config = aws_sdk_sts::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .endpoint_url(world.moto.url())
        .http_client(kubectl_klanker_trust::aws::http_client())
        .build();
    let sts = aws_sdk_sts::Client::from_conf(config);
    world.block_on(async {
        sts.assume_role_with_web_identity()
            .role_arn(role)
            .role_session_name(SESSION)
            .web_identity_token(token)
            .send()
            .await
            .map(|out| {
                assert!(
                    out.credentials()
                        .is_some_and(|c| !c.access_key_id().is_empty()),
                    "an admitted token gets credentials"
                );
                out.assumed_role_user()
                    .map(|u| u.arn().to_string())
                    .unwrap_or_default()
            })
            .map_err(|e| {
                (
                    e.code().unwrap_or_default().to_string(),
                    e.message().unwrap_or_default().to_string(),
                )
            })
    })
}

/// The peer saw each AssumeRoleWithWebIdentity for `role` and kept no token.
fn assert_calls_kept_no_token(world: &World, role: &str, count: usize) {
    let calls: Vec<_> = world
        .moto
        .calls()
        .into_iter()
        .filter(|c| c.action == "AssumeRoleWithWebIdentity")
        .collect();
    assert_eq!(calls.len(), count, "{calls:?}");
    for c in &calls {
        assert_eq!(
            c.params.get("RoleArn").map(String::as_str),
            Some(role),
            "{c:?}"
        );
        assert!(c.account.is_none(), "unsigned: {c:?}");
        assert!(!c.params.contains_key("WebIdentityToken"), "{c:?}");
        assert!(c.params.values().all(|v| !v.contains("eyJ")), "{c:?}");
    }
}

/// Once fixed as the finding says, the same token is admitted (STS's
/// answer names the role), the peer kept no token, and the finding
/// (`id`, on `arn`) is gone.
fn assert_fixed(world: &World, (name, role): (&str, &str), token: &str, (id, arn): (&str, &str)) {
    let assumed = assume(world, role, token).expect("the same token, admitted");
    assert_eq!(
        assumed,
        format!("arn:aws:sts::{KLANKER_ACCOUNT}:assumed-role/{name}/{SESSION}")
    );
    assert_calls_kept_no_token(world, role, 2);
    assert!(
        findings(&audit(world), id, arn).is_empty(),
        "the fix clears the finding"
    );
}

#[test]
fn provider_missing_is_refused_by_sts_for_want_of_the_provider_and_admitted_once_it_exists() {
    let world = World::new();
    let name = "audit-sts-provider-missing";
    let role = role_arn(name);
    let trust = trust(&world);
    create_role(&world, name, &trust);
    // The issuer is registered, but in the cluster's account: STS looks
    // for the provider in the role's account only.
    let elsewhere = world.block_on(
        world
            .cluster
            .create_provider(&world.issuer, &[STS_AUDIENCE]),
    );
    assert_eq!(elsewhere, provider_arn(&world, CLUSTER_ACCOUNT));

    let report = audit(&world);
    let found = findings(&report, "provider-missing", &role);
    assert_eq!(found.len(), 1, "{report:#}");
    assert_eq!(found[0]["broken"], true, "{report:#}");
    assert_contains!(
        found[0]["who"].as_str().unwrap_or_default(),
        provider_arn(&world, KLANKER_ACCOUNT)
    );

    let token = token(&world);
    assert_conditions_admit(&world, &role, &trust, &token);
    world.clear_calls();
    let (code, message) = assume(&world, &role, &token).expect_err("no provider: refused");
    assert_eq!(code, "InvalidIdentityToken", "{message}");
    assert_eq!(
        message,
        format!(
            "No OpenIDConnect provider found in your account for {}",
            world.issuer
        )
    );

    // Fixed as the finding says: the issuer registered in the role's account.
    let registered = world.block_on(
        world
            .klanker
            .create_provider(&world.issuer, &[STS_AUDIENCE]),
    );
    assert_eq!(registered, provider_arn(&world, KLANKER_ACCOUNT));
    assert_fixed(&world, (name, &role), &token, ("provider-missing", &role));
}

#[test]
fn provider_no_sts_client_id_is_refused_by_sts_for_the_audience_and_admitted_once_added() {
    let world = World::new();
    let name = "audit-sts-no-client-id";
    let role = role_arn(name);
    let trust = trust(&world);
    let other_ids = ["vault.example.com"];
    let provider = world.block_on(world.klanker.create_provider(&world.issuer, &other_ids));
    assert_eq!(provider, provider_arn(&world, KLANKER_ACCOUNT));
    create_role(&world, name, &trust);

    let report = audit(&world);
    let found = findings(&report, "provider-no-sts-client-id", &provider);
    assert_eq!(found.len(), 1, "{report:#}");
    assert_eq!(found[0]["broken"], true, "{report:#}");
    assert_contains!(
        found[0]["who"].as_str().unwrap_or_default(),
        "vault.example.com"
    );
    assert!(
        findings(&report, "provider-missing", &role).is_empty(),
        "the provider exists: {report:#}"
    );

    let token = token(&world);
    assert_conditions_admit(&world, &role, &trust, &token);
    world.clear_calls();
    let (code, message) = assume(&world, &role, &token).expect_err("wrong audience: refused");
    assert_eq!(code, "InvalidIdentityToken", "{message}");
    assert_eq!(message, "Incorrect token audience");

    // Fixed as the finding says: sts.amazonaws.com among the client IDs.
    // The audit's fix is AddClientIDToOpenIDConnectProvider, which moto does
    // not implement; the provider re-registered with the added ID is the
    // same state (same URL, same ARN, the old IDs kept).
    delete_provider(&world, &provider);
    let again = world.block_on(
        world
            .klanker
            .create_provider(&world.issuer, &[other_ids[0], STS_AUDIENCE]),
    );
    assert_eq!(again, provider);
    let finding = ("provider-no-sts-client-id", provider.as_str());
    assert_fixed(&world, (name, &role), &token, finding);
}

#[test]
fn a_provider_for_a_custom_audience_admits_its_tokens_and_is_not_reported_broken() {
    let world = World::new();
    let custom = "vault.example.com";
    world.block_on(world.klanker.create_provider(&world.issuer, &[custom]));
    let host = world.issuer_host_path();
    let mut trust = trust(&world);
    trust["Statement"][0]["Condition"]["StringEquals"][format!("{host}:aud")] = json!(custom);
    let name = "custom-audience";
    create_role(&world, name, &trust);
    let role = role_arn(name);
    // STS admits a token minted for the provider's own audience...
    let token = token_for(&world, custom);
    let assumed = assume(&world, &role, &token).expect("a token for the listed audience");
    assert!(
        assumed.ends_with(&format!("assumed-role/{name}/{SESSION}")),
        "{assumed}"
    );
    // ...so the provider's want of sts.amazonaws.com breaks nothing here.
    let provider = provider_arn(&world, KLANKER_ACCOUNT);
    assert!(
        findings(&audit(&world), "provider-no-sts-client-id", &provider).is_empty(),
        "not broken for a role that takes its own audience"
    );
    // A token for STS is refused: the finding would be right for such a role.
    let refused = assume(&world, &role, &token_for(&world, STS_AUDIENCE));
    assert!(refused.is_err(), "{refused:?}");
}
