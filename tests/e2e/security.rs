//! Secrets never printed; wide trust only on request.

use crate::support::{ACCESS_KEY, AddArgs, CLUSTER, KUBE_TOKEN, ROLE, SECRET_KEY, World};

/// Every command with --verbose: none of the known secrets, no assumed-role
/// keys (ASIA...), no session token, no JWT.
#[test]
fn no_command_prints_credentials_or_tokens_even_verbose() {
    let world = World::new();
    let runs: Vec<Vec<&str>> = vec![
        AddArgs::new()
            .verbose()
            .name(CLUSTER)
            .namespace("ai-pods")
            .yes()
            .into(),
        AddArgs::new()
            .verbose()
            .name(CLUSTER)
            .namespace("ai-pods")
            .yes()
            .output("json")
            .into(),
        vec!["list", "--verbose", "-o", "wide"],
        vec!["verify", "--verbose", CLUSTER],
        vec!["verify", "--verbose", CLUSTER, "-o", "json"],
        vec!["describe", "--verbose", CLUSTER],
        vec!["describe", "--verbose", CLUSTER, "-o", "json"],
        vec!["describe", "--verbose", CLUSTER, "-o", "yaml"],
        vec!["policy", "--verbose"],
        vec!["rm", "--verbose", CLUSTER, "--yes"],
        AddArgs::new()
            .verbose()
            .flag("--aws-profile", "missing-profile")
            .yes()
            .into(),
    ];
    let mut verified = false;
    for args in runs {
        let out = world.run(&args);
        let all = out.all();
        for secret in [ACCESS_KEY, SECRET_KEY, KUBE_TOKEN] {
            assert_lacks!(all, secret, "{args:?}");
        }
        assert_lacks!(all, "eyJ", "{args:?} printed a JWT");
        assert_lacks!(all, "FQoGZXIvYXdz", "{args:?} printed a session token");
        let asia = all.match_indices("ASIA").any(|(i, _)| {
            all[i..]
                .chars()
                .take(20)
                .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit())
                && all.len() >= i + 20
        });
        assert!(!asia, "{args:?} printed an assumed-role access key:\n{all}");
        verified |= args[0] == "verify" && out.code == 0;
    }
    assert!(verified, "verify ran the STS exchange at least once");
}

#[test]
fn wildcard_namespace_and_service_account_need_allow_wide_trust() {
    let world = World::new();
    let out = world.run(
        &AddArgs::new()
            .name(CLUSTER)
            .namespace("*")
            .service_account("*")
            .yes(),
    );
    out.assert_code(2);
    assert_contains!(out.stderr, "--allow-wide-trust");
    assert_eq!(world.writes(), Vec::<String>::new());

    let out = world.run(
        &AddArgs::new()
            .name(CLUSTER)
            .namespace("*")
            .service_account("*")
            .arg("--allow-wide-trust")
            .yes(),
    );
    out.assert_ok();
    assert_contains!(out.stdout, "WARNING: --namespace '*'");
    assert_contains!(out.stdout, "WARNING: --service-account '*'");
    let role = world.block_on(world.klanker.role(ROLE)).unwrap();
    let host = world.issuer_host_path();
    assert_eq!(
        role.trust_policy["Statement"][0]["Condition"]["StringLike"][format!("{host}:sub")],
        "system:serviceaccount:*:*"
    );
    assert_eq!(
        role.trust_policy["Statement"][0]["Condition"]["StringEquals"][format!("{host}:aud")],
        "sts.amazonaws.com"
    );
    // No ServiceAccount can be named by a wildcard: none was applied.
    assert!(
        world
            .kube
            .write_requests()
            .iter()
            .all(|r| !r.path.contains("serviceaccounts"))
    );
}
