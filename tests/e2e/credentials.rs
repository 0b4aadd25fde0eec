//! Credentials as admins have them: an MFA step in the middle of the
//! klanker and cluster profiles' chains (asked once, in a real terminal, or
//! given with --mfa-code / KLANKER_TRUST_MFA_CODE), the AWS CLI's session
//! cache shared both ways with the real `aws`, and the SSO and
//! credential_process failures, never showing a secret.

use std::os::unix::fs::PermissionsExt;

use crate::interactive::{Tmux, shell_command};
use crate::support::awscli::{self, aws, cache_dir, cache_entries, shell_line, write_config};
use crate::support::moto::Call;
use crate::support::sso_portal::SsoPortal;
use crate::support::{ACCESS_KEY, AddArgs, SECRET_KEY, World};

const SERIAL: &str = "arn:aws:iam::123456789012:mfa/admin";
const HUB_ROLE: &str = "arn:aws:iam::123456789012:role/admin-hub";
const OPERATOR_ROLE: &str = "arn:aws:iam::333333333333:role/klanker-operator";
const OPERATOR_IDENTITY: &str = "arn:aws:sts::333333333333:assumed-role/klanker-operator/ops";
const MFA_PROMPT: &str = "MFA code for";

/// Both accounts' profiles assume their role from `mfa-hub`, a role that
/// needs MFA: the MFA step sits in the middle of both chains.
const MFA_CONFIG: &str = "[profile base]\nregion = us-east-1\n\n\
[profile mfa-hub]\nrole_arn = arn:aws:iam::123456789012:role/admin-hub\nsource_profile = base\nmfa_serial = arn:aws:iam::123456789012:mfa/admin\nduration_seconds = 1800\nregion = us-east-1\n\n\
[profile klanker-application]\nrole_arn = arn:aws:iam::333333333333:role/klanker-operator\nsource_profile = mfa-hub\nrole_session_name = ops\nexternal_id = ext-42\nregion = us-east-1\n\n\
[profile cluster-admin]\nrole_arn = arn:aws:iam::222222222222:role/cluster-admin\nsource_profile = mfa-hub\nregion = us-east-1\n";

fn mfa_world() -> World {
    let world = World::new();
    write_config(&world, MFA_CONFIG);
    world
}

fn assume_role_calls(world: &World) -> Vec<Call> {
    world
        .moto
        .calls()
        .into_iter()
        .filter(|c| c.action == "AssumeRole")
        .collect()
}

fn calls_for(calls: &[Call], role_arn: &str) -> Vec<Call> {
    calls
        .iter()
        .filter(|c| c.params.get("RoleArn").map(String::as_str) == Some(role_arn))
        .cloned()
        .collect()
}

/// The secrets of every session in the world's CLI cache.
fn cached_secrets(world: &World) -> Vec<String> {
    cache_entries(&cache_dir(world))
        .into_iter()
        .flat_map(|(_, json)| {
            ["SecretAccessKey", "SessionToken"].map(|k| {
                json["Credentials"][k]
                    .as_str()
                    .unwrap_or_default()
                    .to_string()
            })
        })
        .filter(|s| !s.is_empty())
        .collect()
}

#[track_caller]
fn assert_secret_free(text: &str, secrets: &[&str]) {
    for secret in secrets {
        assert!(!text.contains(secret), "secret {secret:?} printed:\n{text}");
    }
}

/// The code is typed at a dialoguer prompt in a real pty, once for both
/// accounts and the verify `add` runs; moto receives it with the serial,
/// and the hub's duration, the operator's session name and external ID.
#[test]
fn one_mfa_prompt_in_a_terminal_serves_both_accounts_and_the_verify() {
    let world = mfa_world();
    let command = shell_command(&world, &AddArgs::cluster().yes());
    let tmux = Tmux::start(world.dir.path(), &command);
    let screen = tmux.wait_for("the MFA prompt", |tmux, screen| {
        assert!(
            tmux.exit_code().is_none(),
            "the plugin exited before asking:\n{screen}"
        );
        screen.contains(MFA_PROMPT)
    });
    assert!(screen.contains(SERIAL), "{screen}");
    assert!(
        assume_role_calls(&world)
            .iter()
            .all(|c| !c.params.contains_key("SerialNumber")),
        "an MFA call before the code was typed"
    );
    tmux.send_keys(&["271828", "Enter"]);
    let (code, screen) = tmux.wait_for_exit();
    assert_eq!(code, 0, "{screen}");
    assert!(screen.contains("Verifying the trust chain"), "{screen}");
    assert_eq!(
        screen.matches(MFA_PROMPT).count(),
        1,
        "asked twice:\n{screen}"
    );
    // Typed hidden: the code is not on the screen.
    assert!(!screen.contains("271828"), "{screen}");

    let calls = assume_role_calls(&world);
    let hub = calls_for(&calls, HUB_ROLE);
    assert_eq!(hub.len(), 1, "the MFA role is assumed once: {calls:?}");
    assert_eq!(
        hub[0].params.get("SerialNumber").map(String::as_str),
        Some(SERIAL)
    );
    assert_eq!(
        hub[0].params.get("TokenCode").map(String::as_str),
        Some("271828")
    );
    assert_eq!(
        hub[0].params.get("DurationSeconds").map(String::as_str),
        Some("1800")
    );
    let operator = calls_for(&calls, OPERATOR_ROLE);
    assert_eq!(operator.len(), 1, "{calls:?}");
    assert_eq!(
        operator[0]
            .params
            .get("RoleSessionName")
            .map(String::as_str),
        Some("ops")
    );
    assert_eq!(
        operator[0].params.get("ExternalId").map(String::as_str),
        Some("ext-42")
    );
    assert_eq!(operator[0].params.get("SerialNumber"), None);
    assert_eq!(
        calls_for(&calls, "arn:aws:iam::222222222222:role/cluster-admin").len(),
        1,
        "{calls:?}"
    );

    // The sessions are in the AWS CLI's cache, owner-only, and not on the screen.
    let entries = cache_entries(&cache_dir(&world));
    assert_eq!(
        entries.len(),
        3,
        "hub, operator, cluster-admin: {entries:?}"
    );
    for (path, json) in &entries {
        let mode = std::fs::metadata(path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600, "{}", path.display());
        assert!(json["Credentials"]["SessionToken"].is_string(), "{json}");
    }
    let secrets = cached_secrets(&world);
    assert_secret_free(
        &screen,
        &[
            &secrets.iter().map(String::as_str).collect::<Vec<_>>()[..],
            &[SECRET_KEY],
        ]
        .concat(),
    );
}

/// No terminal and no code: one error naming --mfa-code, before any call,
/// with no secret of the chain in it.
#[test]
fn without_a_terminal_or_a_code_it_stops_before_any_call() {
    let world = mfa_world();
    let out = world.run(&AddArgs::cluster().dry_run());
    assert_ne!(out.code, 0, "{out:?}");
    assert!(out.stderr.contains("--mfa-code"), "{}", out.stderr);
    assert!(
        out.stderr.contains("KLANKER_TRUST_MFA_CODE"),
        "{}",
        out.stderr
    );
    assert!(out.stderr.contains("`mfa-hub`"), "{}", out.stderr);
    assert!(out.stderr.contains(SERIAL), "{}", out.stderr);
    assert_eq!(world.moto.calls().len(), 0, "{:?}", world.moto.calls());
    assert_secret_free(&out.all(), &[SECRET_KEY, ACCESS_KEY]);
    assert!(!out.all().contains("Debug"), "{}", out.all());

    // Only the cluster side needs MFA: still stopped before the klanker side's first call.
    write_config(
        &world,
        &MFA_CONFIG.replace(
            "source_profile = mfa-hub\nrole_session_name",
            "source_profile = base\nrole_session_name",
        ),
    );
    world.moto.clear_calls();
    let out = world.run(&AddArgs::cluster().dry_run());
    assert_ne!(out.code, 0, "{out:?}");
    assert!(out.stderr.contains("--mfa-code"), "{}", out.stderr);
    assert_eq!(world.moto.calls().len(), 0, "{:?}", world.moto.calls());
}

/// Scripts give the code with the flag or the variable; it is sent, never
/// shown, and a code that is not 6 digits is refused before any call
/// without being echoed.
#[test]
fn the_code_comes_from_the_flag_or_the_variable_and_is_never_shown() {
    let world = mfa_world();
    let mut args = vec!["--mfa-code", "314159"];
    args.extend(AddArgs::cluster().dry_run());
    let out = world.run(&args);
    out.assert_ok();
    let hub = calls_for(&assume_role_calls(&world), HUB_ROLE);
    assert_eq!(hub.len(), 1);
    assert_eq!(
        hub[0].params.get("TokenCode").map(String::as_str),
        Some("314159")
    );
    assert_secret_free(&out.all(), &["314159", SECRET_KEY]);

    // A fresh HOME: no cached session, so the variable's code is needed.
    std::fs::remove_dir_all(cache_dir(&world)).unwrap();
    world.moto.clear_calls();
    let mut cmd = world.kubectl();
    cmd.env("KLANKER_TRUST_MFA_CODE", "161803")
        .args(AddArgs::cluster().dry_run());
    let out = world.run_cmd(&mut cmd);
    out.assert_ok();
    let hub = calls_for(&assume_role_calls(&world), HUB_ROLE);
    assert_eq!(
        hub[0].params.get("TokenCode").map(String::as_str),
        Some("161803")
    );
    assert_secret_free(&out.all(), &["161803"]);
    // --help shows the variable, never its value.
    let mut cmd = world.kubectl();
    cmd.env("KLANKER_TRUST_MFA_CODE", "161803")
        .args(["add", "--help"]);
    let help = world.run_cmd(&mut cmd);
    assert!(
        help.stdout.contains("KLANKER_TRUST_MFA_CODE"),
        "{}",
        help.stdout
    );
    assert_secret_free(&help.all(), &["161803"]);

    std::fs::remove_dir_all(cache_dir(&world)).unwrap();
    world.moto.clear_calls();
    let mut args = vec!["--mfa-code", "98x765"];
    args.extend(AddArgs::cluster().dry_run());
    let out = world.run(&args);
    assert_ne!(out.code, 0);
    assert!(out.stderr.contains("6 digits"), "{}", out.stderr);
    assert_secret_free(&out.all(), &["98x765"]);
    assert!(
        calls_for(&assume_role_calls(&world), HUB_ROLE).is_empty(),
        "a malformed code was sent"
    );
}

/// --verbose and the plan say which identity each account acted as: the
/// assumed-role ARNs, not the keys.
#[test]
fn verbose_and_the_plan_name_the_assumed_role_of_each_account() {
    let world = mfa_world();
    let mut args = vec!["-v", "--mfa-code", "141421"];
    args.extend(AddArgs::cluster().dry_run());
    let out = world.run(&args);
    out.assert_ok();
    assert!(
        out.stderr.contains(&format!(
            "[aws klanker account] identity {OPERATOR_IDENTITY}"
        )),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr.contains(
            "[aws cluster account] identity arn:aws:sts::222222222222:assumed-role/cluster-admin/"
        ),
        "{}",
        out.stderr
    );
    let first = out.stdout.lines().next().unwrap_or_default();
    assert!(
        first.starts_with(&format!("Acting as {OPERATOR_IDENTITY} in the klanker account; arn:aws:sts::222222222222:assumed-role/cluster-admin/")),
        "{}",
        out.stdout
    );
    let secrets = cached_secrets(&world);
    assert!(!secrets.is_empty());
    assert_secret_free(
        &out.all(),
        &[
            &secrets.iter().map(String::as_str).collect::<Vec<_>>()[..],
            &[SECRET_KEY, "141421"],
        ]
        .concat(),
    );
}

/// The plugin's session serves `aws` without a prompt; a session `aws`
/// cached (its code typed at its own prompt) serves the plugin, which then
/// needs no code at all.
#[test]
fn sessions_are_shared_with_the_aws_cli_both_ways() {
    let world = mfa_world();
    let mut args = vec!["--mfa-code", "577215"];
    args.extend(AddArgs::cluster().dry_run());
    world.run(&args).assert_ok();
    world.moto.clear_calls();

    let out = world.run_cmd(&mut aws(
        &world,
        &[
            "sts",
            "get-caller-identity",
            "--profile",
            "klanker-application",
            "--output",
            "json",
        ],
    ));
    assert_eq!(out.code, 0, "{out:?}");
    let who: serde_json::Value = serde_json::from_str(&out.stdout).expect("caller identity JSON");
    assert_eq!(who["Arn"], OPERATOR_IDENTITY, "{}", out.stdout);
    assert_eq!(assume_role_calls(&world).len(), 0, "the CLI assumed again");

    // Now the other way: only the CLI's sessions in the cache.
    std::fs::remove_dir_all(cache_dir(&world)).unwrap();
    world.moto.clear_calls();
    let cli = aws(
        &world,
        &[
            "sts",
            "get-caller-identity",
            "--profile",
            "klanker-application",
            "--output",
            "json",
        ],
    );
    let dir = world.path("cli-pty");
    std::fs::create_dir_all(&dir).unwrap();
    let tmux = Tmux::start(&dir, &shell_line(&cli));
    tmux.wait_for("the AWS CLI's MFA prompt", |tmux, screen| {
        assert!(
            tmux.exit_code().is_none(),
            "aws exited before asking:\n{screen}"
        );
        screen.contains("Enter MFA code")
    });
    tmux.send_keys(&["662607", "Enter"]);
    let (code, screen) = tmux.wait_for_exit();
    assert_eq!(code, 0, "{screen}");
    assert!(screen.contains(OPERATOR_IDENTITY), "{screen}");
    let by_cli = calls_for(&assume_role_calls(&world), HUB_ROLE);
    assert_eq!(
        by_cli[0].params.get("TokenCode").map(String::as_str),
        Some("662607")
    );
    assert_eq!(
        cache_entries(&cache_dir(&world)).len(),
        2,
        "hub and operator"
    );

    world.moto.clear_calls();
    // No terminal and no code: the CLI's sessions are all it has.
    let out = world.run(&AddArgs::cluster().dry_run());
    out.assert_ok();
    let calls = assume_role_calls(&world);
    assert!(
        calls.iter().all(|c| !c.params.contains_key("SerialNumber")),
        "the MFA role was assumed again: {calls:?}"
    );
    assert!(calls_for(&calls, OPERATOR_ROLE).is_empty(), "{calls:?}");
    assert!(out.stdout.contains(OPERATOR_IDENTITY), "{}", out.stdout);
}

/// An expired session in the cache is ignored (and the code is asked for).
#[test]
fn expired_cached_sessions_are_ignored() {
    let world = mfa_world();
    let mut args = vec!["--mfa-code", "235711"];
    args.extend(AddArgs::cluster().dry_run());
    world.run(&args).assert_ok();
    for (path, mut json) in cache_entries(&cache_dir(&world)) {
        json["Credentials"]["Expiration"] = "2020-01-01T00:00:00UTC".into();
        std::fs::write(&path, json.to_string()).unwrap();
    }
    world.moto.clear_calls();
    let out = world.run(&AddArgs::cluster().dry_run());
    assert_ne!(out.code, 0, "{out:?}");
    assert!(out.stderr.contains("--mfa-code"), "{}", out.stderr);
    assert_eq!(world.moto.calls().len(), 0);
}

/// A cached session others could have written is not believed: a file
/// others can write, or a cache directory others can write (left as it is,
/// and nothing written into it), is ignored with a warning naming it.
#[test]
fn cached_sessions_others_can_write_are_ignored_with_a_warning() {
    let world = mfa_world();
    let mut args = vec!["--mfa-code", "141421"];
    args.extend(AddArgs::cluster().dry_run());
    world.run(&args).assert_ok();
    let entries = cache_entries(&cache_dir(&world));
    assert_eq!(entries.len(), 3, "hub, operator and cluster admin");
    for (path, _) in &entries {
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o666)).unwrap();
    }
    world.moto.clear_calls();
    let out = world.run(&AddArgs::cluster().dry_run());
    assert_ne!(out.code, 0, "{out:?}");
    assert_contains!(out.stderr, "--mfa-code");
    assert_contains!(out.stderr, "warning: ignoring the AWS CLI cached session");
    assert_contains!(out.stderr, "can be written by other users");
    assert_eq!(world.moto.calls().len(), 0);
    assert_secret_free(
        &out.all(),
        &cached_secrets(&world)
            .iter()
            .map(String::as_str)
            .collect::<Vec<_>>(),
    );

    // The directory itself open to everyone: nothing read, nothing written.
    for (path, _) in &entries {
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)).unwrap();
    }
    let dir = cache_dir(&world);
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o777)).unwrap();
    let out = world.run(&args);
    out.assert_ok();
    assert_contains!(
        out.stderr,
        format!(
            "warning: ignoring the AWS CLI session cache {}",
            dir.display()
        )
    );
    assert_eq!(
        out.stderr.matches("warning: ignoring").count(),
        1,
        "{}",
        out.stderr
    );
    // Every role was assumed again, and no new session was left there.
    assert_eq!(
        assume_role_calls(&world).len(),
        3,
        "{:?}",
        world.moto.calls()
    );
    assert_eq!(cache_entries(&dir), entries);
    let mode = std::fs::metadata(&dir).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o777);
}

const SSO_SECRETS: [&str; 3] = [
    "sso-access-token-DO-NOT-PRINT",
    "sso-refresh-token-DO-NOT-PRINT",
    "sso-client-secret-DO-NOT-PRINT",
];

fn write_sso_token(world: &World, identifier: &str) {
    put_sso_token(
        world,
        identifier,
        &format!(
            r#"{{"accessToken":"{}","expiresAt":"2020-01-01T00:00:00Z","refreshToken":"{}","clientId":"client","clientSecret":"{}","registrationExpiresAt":"2020-02-01T00:00:00Z","region":"us-east-1","startUrl":"https://corp.awsapps.com/start"}}"#,
            SSO_SECRETS[0], SSO_SECRETS[1], SSO_SECRETS[2]
        ),
    );
}

/// Both SSO forms sign in with the token `aws sso login` cached: the
/// sso-session form for the klanker side's source profile, the legacy form
/// for the cluster side's; each token reaches the SSO portal, none is shown.
#[test]
fn sso_profiles_in_both_forms_sign_in_with_the_cached_token() {
    let world = World::new();
    let portal = SsoPortal::start(ACCESS_KEY, SECRET_KEY);
    write_config(
        &world,
        &format!(
            "[profile klanker-application]\nrole_arn = {OPERATOR_ROLE}\nsource_profile = sso-new\nrole_session_name = ops\nregion = us-east-1\n\n\
             [profile sso-new]\nsso_session = corp\nsso_account_id = 123456789012\nsso_role_name = Operator\nregion = us-east-1\n\n\
             [sso-session corp]\nsso_start_url = https://corp.awsapps.com/start\nsso_region = us-east-1\n\n\
             [profile cluster-admin]\nrole_arn = arn:aws:iam::222222222222:role/cluster-admin\nsource_profile = sso-legacy\nregion = us-east-1\n\n\
             [profile sso-legacy]\nsso_start_url = https://legacy.awsapps.com/start\nsso_region = us-east-1\nsso_account_id = 123456789012\nsso_role_name = Admin\nregion = us-east-1\n"
        ),
    );
    let tokens = [
        "sso-corp-token-DO-NOT-PRINT",
        "sso-legacy-token-DO-NOT-PRINT",
    ];
    for (identifier, token) in [
        ("corp", tokens[0]),
        ("https://legacy.awsapps.com/start", tokens[1]),
    ] {
        put_sso_token(
            &world,
            identifier,
            &format!(
                r#"{{"accessToken":"{token}","expiresAt":"2099-01-01T00:00:00Z","region":"us-east-1","startUrl":"https://x.awsapps.com/start"}}"#
            ),
        );
    }
    let mut cmd = world.kubectl();
    cmd.env("AWS_ENDPOINT_URL_SSO", portal.url())
        .args(AddArgs::cluster().dry_run());
    let out = world.run_cmd(&mut cmd);
    out.assert_ok();
    let requests = portal.requests();
    let sent = |token: &str, role: &str| {
        requests.iter().any(|r| {
            r.bearer.as_deref() == Some(token) && r.line.contains(&format!("role_name={role}"))
        })
    };
    assert!(sent(tokens[0], "Operator"), "{requests:?}");
    assert!(sent(tokens[1], "Admin"), "{requests:?}");
    assert_eq!(
        calls_for(&assume_role_calls(&world), OPERATOR_ROLE).len(),
        1
    );
    assert!(out.stdout.contains(OPERATOR_IDENTITY), "{}", out.stdout);
    assert_secret_free(
        &out.all(),
        &[tokens[0], tokens[1], SECRET_KEY, "portal-session-token"],
    );
}

fn put_sso_token(world: &World, identifier: &str, json: &str) {
    use sha1::Digest;
    let dir = world.dir.path().join(".aws/sso/cache");
    std::fs::create_dir_all(&dir).unwrap();
    // Private, as `aws sso login` leaves it: others' files are not trusted.
    for private in [world.dir.path().join(".aws/sso"), dir.clone()] {
        std::fs::set_permissions(&private, std::fs::Permissions::from_mode(0o700)).unwrap();
    }
    let name = hex::encode(sha1::Sha1::digest(identifier.as_bytes()));
    let path = dir.join(format!("{name}.json"));
    std::fs::write(&path, json).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
}

/// The sso-session form with an expired token, and the legacy form with
/// none, under a role: one paragraph naming the profile and the login.
#[test]
fn a_missing_or_expired_sso_session_says_which_profile_and_how_to_log_in() {
    let world = World::new();
    write_config(
        &world,
        "[profile klanker-application]\nsso_session = corp\nsso_account_id = 333333333333\nsso_role_name = Operator\nregion = us-east-1\n\n\
         [sso-session corp]\nsso_start_url = https://corp.awsapps.com/start\nsso_region = us-east-1\n\n\
         [profile cluster-admin]\nrole_arn = arn:aws:iam::222222222222:role/cluster-admin\nsource_profile = base\nregion = us-east-1\n\n\
         [profile base]\nregion = us-east-1\n",
    );
    write_sso_token(&world, "corp");
    let out = world.run(&AddArgs::cluster().dry_run());
    assert_ne!(out.code, 0, "{out:?}");
    let said = out.stderr.trim();
    assert!(said.contains("AWS profile `klanker-application`"), "{said}");
    assert!(said.contains("has expired"), "{said}");
    assert!(
        said.contains("aws sso login --profile klanker-application"),
        "{said}"
    );
    // One paragraph, then only the edge's usual "nothing was changed" line.
    let paragraph: Vec<&str> = said
        .lines()
        .filter(|l| !l.starts_with("Nothing was changed"))
        .collect();
    assert_eq!(paragraph.len(), 1, "one paragraph: {said}");
    assert!(paragraph[0].starts_with("error: AWS profile"), "{said}");
    assert_secret_free(&out.all(), &SSO_SECRETS);
    assert_eq!(world.moto.calls().len(), 0);

    // The klanker side fine (static keys); the cluster side's legacy SSO has no token.
    std::fs::write(
        world.path("aws-credentials"),
        format!("[klanker-application]\naws_access_key_id = {ACCESS_KEY}\naws_secret_access_key = {SECRET_KEY}\n"),
    )
    .unwrap();
    write_config(
        &world,
        "[profile klanker-application]\nregion = us-east-1\n\n\
         [profile cluster-admin]\nrole_arn = arn:aws:iam::222222222222:role/cluster-admin\nsource_profile = legacy-sso\nregion = us-east-1\n\n\
         [profile legacy-sso]\nsso_start_url = https://legacy.awsapps.com/start\nsso_region = us-east-1\nsso_account_id = 222222222222\nsso_role_name = Admin\nregion = us-east-1\n",
    );
    world.moto.clear_calls();
    let out = world.run(&AddArgs::cluster().dry_run());
    assert_ne!(out.code, 0, "{out:?}");
    let said = out.stderr.trim();
    assert!(said.contains("AWS profile `cluster-admin`"), "{said}");
    assert!(said.contains("source profile `legacy-sso`"), "{said}");
    assert!(said.contains("is missing"), "{said}");
    assert!(
        said.contains("aws sso login --profile legacy-sso"),
        "{said}"
    );
    assert_secret_free(&out.all(), &[SECRET_KEY]);
    assert_eq!(world.moto.calls().len(), 0, "{:?}", world.moto.calls());
}

/// A failing credential_process: the profile, the exit status and the first
/// line of its stderr; never its stdout or the rest of stderr. A working
/// one serves as a chain's source.
#[test]
fn credential_process_failures_show_status_and_first_stderr_line_only() {
    let world = World::new();
    let script = world.path("creds.sh");
    std::fs::write(
        &script,
        "#!/bin/sh\necho '{\"Version\":1,\"AccessKeyId\":\"AKIAPROCESSSTDOUT\",\"SecretAccessKey\":\"process-stdout-secret-DO-NOT-PRINT\"}'\necho 'vault: the vault is sealed' >&2\necho 'second-line-secret-DO-NOT-PRINT' >&2\nexit 3\n",
    )
    .unwrap();
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    write_config(
        &world,
        &format!(
            "[profile klanker-application]\ncredential_process = {}\nregion = us-east-1\n\n\
             [profile cluster-admin]\nrole_arn = arn:aws:iam::222222222222:role/cluster-admin\nsource_profile = base\nregion = us-east-1\n\n\
             [profile base]\nregion = us-east-1\n",
            script.display()
        ),
    );
    let out = world.run(&AddArgs::cluster().dry_run());
    assert_ne!(out.code, 0, "{out:?}");
    assert!(
        out.stderr.contains("AWS profile `klanker-application`"),
        "{}",
        out.stderr
    );
    assert!(out.stderr.contains("exit status 3"), "{}", out.stderr);
    assert!(
        out.stderr.contains("vault: the vault is sealed"),
        "{}",
        out.stderr
    );
    assert_secret_free(
        &out.all(),
        &[
            "AKIAPROCESSSTDOUT",
            "process-stdout-secret-DO-NOT-PRINT",
            "second-line-secret-DO-NOT-PRINT",
        ],
    );
    assert_eq!(world.moto.calls().len(), 0);

    // A process that works, as the source of the operator role.
    let good = world.path("good.sh");
    std::fs::write(
        &good,
        format!("#!/bin/sh\necho '{{\"Version\":1,\"AccessKeyId\":\"{ACCESS_KEY}\",\"SecretAccessKey\":\"{SECRET_KEY}\"}}'\n"),
    )
    .unwrap();
    std::fs::set_permissions(&good, std::fs::Permissions::from_mode(0o755)).unwrap();
    write_config(
        &world,
        &format!(
            "[profile proc]\ncredential_process = {}\n\n\
             [profile klanker-application]\nrole_arn = {OPERATOR_ROLE}\nsource_profile = proc\nregion = us-east-1\n\n\
             [profile cluster-admin]\nrole_arn = arn:aws:iam::222222222222:role/cluster-admin\nsource_profile = base\nregion = us-east-1\n\n\
             [profile base]\nregion = us-east-1\n",
            good.display()
        ),
    );
    let out = world.run(&AddArgs::cluster().dry_run());
    out.assert_ok();
    assert_eq!(
        calls_for(&assume_role_calls(&world), OPERATOR_ROLE).len(),
        1
    );
    assert_secret_free(&out.all(), &[SECRET_KEY]);
}

/// Whether process `pid` is gone (or a zombie nobody waits for any more).
fn process_gone(pid: &str) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Err(_) => true,
        // The state follows the command's closing parenthesis.
        Ok(stat) => stat
            .rsplit_once(") ")
            .is_some_and(|(_, rest)| rest.starts_with('Z')),
    }
}

/// A credential_process that hangs (and started a child that hangs too) is
/// stopped after --request-timeout with everything it started, in `list`
/// and in `add`; the message names the profile, never what it printed.
#[test]
fn a_hung_credential_process_is_stopped_with_its_children_after_the_timeout() {
    let world = World::new();
    let pid_file = world.path("child.pid");
    let script = world.path("hung.sh");
    std::fs::write(
        &script,
        format!(
            "#!/bin/sh\necho '{{\"Version\":1,\"AccessKeyId\":\"AKIAHUNGPROCESS\",'\n\
             echo 'hung-stderr-DO-NOT-PRINT' >&2\n\
             sleep 120 &\necho $! > {}\nwait\n",
            pid_file.display()
        ),
    )
    .unwrap();
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    write_config(
        &world,
        &format!(
            "[profile klanker-application]\ncredential_process = {}\nregion = us-east-1\n\n\
             [profile cluster-admin]\nrole_arn = arn:aws:iam::222222222222:role/cluster-admin\nsource_profile = base\nregion = us-east-1\n\n\
             [profile base]\naws_access_key_id = {ACCESS_KEY}\naws_secret_access_key = {SECRET_KEY}\nregion = us-east-1\n",
            script.display()
        ),
    );
    let list: &[&str] = &["list", "--request-timeout", "2"];
    let add = AddArgs::cluster().yes().flag("--request-timeout", "2");
    for args in [list, &add[..]] {
        let _ = std::fs::remove_file(&pid_file);
        let started = std::time::Instant::now();
        let out = world.run(args);
        let took = started.elapsed();
        assert!(
            took < std::time::Duration::from_secs(20),
            "{args:?} took {took:?}"
        );
        out.assert_code(1);
        assert_contains!(
            out.stderr,
            "the credential_process of AWS profile `klanker-application` did not finish within 2 s"
        );
        assert_secret_free(&out.all(), &["AKIAHUNGPROCESS", "hung-stderr-DO-NOT-PRINT"]);
        // The child it started was stopped too (the pid file is written
        // before the process waits, so it is there once the run failed).
        let pid = std::fs::read_to_string(&pid_file).expect("child pid");
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        while !process_gone(pid.trim()) {
            assert!(
                std::time::Instant::now() < deadline,
                "{args:?}: the credential_process's child {pid} still runs"
            );
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
    }
    assert_eq!(world.writes(), Vec::<String>::new());
}

/// The awscli of the test venv is the pinned one (tests/requirements.txt).
#[test]
fn the_aws_cli_is_the_pinned_one() {
    let out = std::process::Command::new(awscli::aws_bin())
        .arg("--version")
        .output()
        .expect("aws --version");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let pinned = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/requirements.txt"),
    )
    .unwrap();
    let version = pinned
        .lines()
        .find_map(|l| l.strip_prefix("awscli=="))
        .expect("awscli pinned");
    assert!(text.starts_with(&format!("aws-cli/{version} ")), "{text}");
}

/// Issue 22, item 6: the account the klanker side acts in is what STS
/// says, never what the profile's role_arn names. A session cached under
/// the klanker role's key (the user's own file, so it is read) that holds
/// the base account's keys stops add before any write, naming both.
#[test]
fn a_cached_session_of_another_account_stops_add_before_any_write() {
    let world = World::new();
    world.run(&AddArgs::cluster().dry_run()).assert_ok();
    let entries = cache_entries(&cache_dir(&world));
    let (path, mut entry) = entries
        .into_iter()
        .find(|(_, json)| {
            json["AssumedRoleUser"]["Arn"]
                .as_str()
                .is_some_and(|arn| arn.contains("klanker-operator"))
        })
        .expect("the klanker role's cached session");
    entry["Credentials"]["AccessKeyId"] = ACCESS_KEY.into();
    entry["Credentials"]["SecretAccessKey"] = SECRET_KEY.into();
    std::fs::write(&path, entry.to_string()).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
    world.clear_calls();

    let out = world.run(&AddArgs::cluster().yes());
    out.assert_code(1);
    assert_contains!(
        out.stderr,
        "the klanker profile's configuration names account 333333333333, but STS says its credentials act as"
    );
    assert_contains!(out.stderr, "in account 123456789012");
    assert_eq!(world.writes(), Vec::<String>::new(), "{}", out.all());
    assert_secret_free(&out.all(), &[SECRET_KEY]);
}
