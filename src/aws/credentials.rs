//! Credentials as admins have them: assume-role chains with `mfa_serial`
//! anywhere in them (the Rust SDK ignores it: awslabs/aws-sdk-rust#527), the
//! AWS CLI's assume-role cache (`~/.aws/cli/cache`, shared both ways), SSO
//! and `credential_process` failures said in one paragraph.
//!
//! The profile chain is walked here, on aws-config's own parsing of the
//! config files; each `role_arn` step is assumed with STS here; the
//! credentials at the bottom of the chain (static keys, SSO, a process) come
//! from the profile itself, SSO through the SDK's own provider. One
//! [`Session`] per run holds what was resolved and the MFA codes typed, so a
//! run asks at most once per MFA device.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use aws_config::SdkConfig;
use aws_config::profile::{Profile, ProfileSet};
use aws_credential_types::Credentials;
use aws_credential_types::provider::{self, ProvideCredentials};
use aws_smithy_types::date_time::{DateTime, Format};
use serde::{Deserialize, Serialize};

use crate::cli::MfaCode;

use super::error::CredentialsError;
use super::{AwsError, Side};
use crate::lock;

/// How long before its expiry a cached session is no longer used: the AWS
/// CLI's own window (botocore's `DEFAULT_EXPIRY_WINDOW_SECONDS`), so both
/// tools agree on when a session is spent.
const EXPIRY_WINDOW: Duration = Duration::from_secs(15 * 60);

/// The same for sessions this run assumed itself: they are used until a
/// minute before they end (a 15-minute session would otherwise never be).
const RUN_WINDOW: Duration = Duration::from_secs(60);

/// One `role_arn` step of a profile chain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoleStep {
    pub profile: String,
    pub role_arn: String,
    /// Only when the profile names one: the CLI leaves a generated name out of the cache key.
    pub session_name: Option<String>,
    pub external_id: Option<String>,
    pub mfa_serial: Option<String>,
    pub duration_seconds: Option<i32>,
}

/// Where the credentials at the bottom of a chain come from. Its Debug
/// form names the kind and profile only, never a key.
#[derive(Clone, PartialEq, Eq)]
pub enum Leaf {
    Static {
        profile: String,
        access_key_id: String,
        secret_access_key: String,
        session_token: Option<String>,
    },
    Process {
        profile: String,
        command: String,
    },
    /// SSO: the token cache identifier is the `sso-session` name (`session`
    /// form) or the start URL (legacy form).
    Sso {
        profile: String,
        identifier: String,
        session_form: bool,
    },
    /// Anything else (web identity, credential_source): the SDK's own provider for this profile.
    Sdk {
        profile: String,
    },
}

impl std::fmt::Debug for Leaf {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let kind = match self {
            Leaf::Static { .. } => "Static",
            Leaf::Process { .. } => "Process",
            Leaf::Sso { .. } => "Sso",
            Leaf::Sdk { .. } => "Sdk",
        };
        write!(f, "{kind}({})", self.profile())
    }
}

impl Leaf {
    fn profile(&self) -> &str {
        match self {
            Leaf::Static { profile, .. }
            | Leaf::Process { profile, .. }
            | Leaf::Sso { profile, .. }
            | Leaf::Sdk { profile } => profile,
        }
    }
}

/// A profile's chain: the leaf, then the roles assumed from it, bottom first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Chain {
    pub leaf: Leaf,
    pub steps: Vec<RoleStep>,
}

fn has_static_keys(p: &Profile) -> bool {
    p.get("aws_access_key_id").is_some() && p.get("aws_secret_access_key").is_some()
}

fn static_leaf(p: &Profile) -> Leaf {
    Leaf::Static {
        profile: p.name().to_string(),
        access_key_id: p.get("aws_access_key_id").unwrap_or_default().to_string(),
        secret_access_key: p
            .get("aws_secret_access_key")
            .unwrap_or_default()
            .to_string(),
        session_token: p.get("aws_session_token").map(str::to_string),
    }
}

fn non_empty<'a>(p: &'a Profile, key: &str) -> Option<&'a str> {
    p.get(key).map(str::trim).filter(|v| !v.is_empty())
}

fn role_step(p: &Profile, role_arn: &str) -> Result<RoleStep, CredentialsError> {
    let bad = |setting, problem: &str| CredentialsError::BadSetting {
        profile: p.name().to_string(),
        setting,
        problem: problem.to_string(),
    };
    let duration_seconds = match non_empty(p, "duration_seconds") {
        None => None,
        // STS takes 900 s up to the role's maximum (at most 12 hours).
        Some(text) => match text.parse::<i32>() {
            Ok(n) if (900..=43_200).contains(&n) => Some(n),
            _ => {
                return Err(bad(
                    "duration_seconds",
                    "must be a whole number of seconds from 900 to 43200",
                ));
            }
        },
    };
    let session_name = non_empty(p, "role_session_name").map(str::to_string);
    if let Some(name) = &session_name {
        let ok = (2..=64).contains(&name.len())
            && name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "+=,.@_-".contains(c));
        if !ok {
            return Err(bad(
                "role_session_name",
                "must be 2-64 characters of letters, digits and +=,.@_-",
            ));
        }
    }
    Ok(RoleStep {
        profile: p.name().to_string(),
        role_arn: role_arn.to_string(),
        session_name,
        external_id: non_empty(p, "external_id").map(str::to_string),
        mfa_serial: non_empty(p, "mfa_serial").map(str::to_string),
        duration_seconds,
    })
}

/// Walks `profile`'s source_profile chain as the AWS CLI does: the top
/// profile's `role_arn` wins over its own keys (which then serve as its
/// source when it names itself); below the top, static keys win.
pub fn plan_chain(set: &ProfileSet, profile: &str) -> Result<Chain, CredentialsError> {
    let mut steps = Vec::new();
    let mut visited: Vec<String> = Vec::new();
    let mut name = profile.to_string();
    let leaf = loop {
        let Some(p) = set.get_profile(&name) else {
            return Err(CredentialsError::MissingSourceProfile {
                profile: visited
                    .last()
                    .cloned()
                    .unwrap_or_else(|| profile.to_string()),
                source_profile: name,
            });
        };
        let top = visited.is_empty();
        visited.push(name.clone());
        let role_arn = non_empty(p, "role_arn");
        if role_arn.is_some() && non_empty(p, "web_identity_token_file").is_some() {
            // A web identity role: the SDK assumes it with the token file.
            break Leaf::Sdk {
                profile: name.clone(),
            };
        }
        match role_arn {
            Some(arn) if top || !has_static_keys(p) => {
                steps.push(role_step(p, arn)?);
                if let Some(source) = non_empty(p, "source_profile") {
                    if source == name && has_static_keys(p) {
                        break static_leaf(p);
                    }
                    if visited.iter().any(|v| v == source) {
                        return Err(CredentialsError::Loop {
                            profile: profile.to_string(),
                            chain: format!("{} -> {source}", visited.join(" -> ")),
                        });
                    }
                    name = source.to_string();
                    continue;
                }
                if non_empty(p, "credential_source").is_some() {
                    // The SDK assumes this step itself from the named source.
                    steps.pop();
                    break Leaf::Sdk {
                        profile: name.clone(),
                    };
                }
                return Err(CredentialsError::NoSource {
                    profile: name.clone(),
                });
            }
            _ => {}
        }
        break source_leaf(p, &name);
    };
    steps.reverse();
    Ok(Chain { leaf, steps })
}

/// Where a profile that assumes no role gets its credentials: static keys,
/// a credential process, SSO, or whatever else the SDK knows.
fn source_leaf(p: &Profile, name: &str) -> Leaf {
    if has_static_keys(p) {
        return static_leaf(p);
    }
    if let Some(command) = non_empty(p, "credential_process") {
        return Leaf::Process {
            profile: name.to_string(),
            command: command.to_string(),
        };
    }
    if let Some(session) = non_empty(p, "sso_session") {
        return Leaf::Sso {
            profile: name.to_string(),
            identifier: session.to_string(),
            session_form: true,
        };
    }
    if let Some(url) = non_empty(p, "sso_start_url") {
        return Leaf::Sso {
            profile: name.to_string(),
            identifier: url.to_string(),
            session_form: false,
        };
    }
    Leaf::Sdk {
        profile: name.to_string(),
    }
}

/// serde_json with Python's `json.dumps` separators (`", "`, `": "`) and
/// `ensure_ascii`, so the cache key hashes the very bytes botocore hashes.
struct PythonJson;

/// Python's `json.dumps` separates items with ", ".
fn comma_unless_first<W: ?Sized + std::io::Write>(
    writer: &mut W,
    first: bool,
) -> std::io::Result<()> {
    if first {
        Ok(())
    } else {
        writer.write_all(b", ")
    }
}

impl serde_json::ser::Formatter for PythonJson {
    fn begin_object_key<W: ?Sized + std::io::Write>(
        &mut self,
        writer: &mut W,
        first: bool,
    ) -> std::io::Result<()> {
        comma_unless_first(writer, first)
    }

    fn begin_object_value<W: ?Sized + std::io::Write>(
        &mut self,
        writer: &mut W,
    ) -> std::io::Result<()> {
        writer.write_all(b": ")
    }

    fn begin_array_value<W: ?Sized + std::io::Write>(
        &mut self,
        writer: &mut W,
        first: bool,
    ) -> std::io::Result<()> {
        comma_unless_first(writer, first)
    }

    fn write_string_fragment<W: ?Sized + std::io::Write>(
        &mut self,
        writer: &mut W,
        fragment: &str,
    ) -> std::io::Result<()> {
        for c in fragment.chars() {
            if c.is_ascii() {
                writer.write_all(&[c as u8])?;
            } else {
                let mut units = [0u16; 2];
                for unit in c.encode_utf16(&mut units) {
                    write!(writer, "\\u{unit:04x}")?;
                }
            }
        }
        Ok(())
    }
}

/// The AWS CLI's cache key of an assume-role step: the sha1 of the JSON of
/// its AssumeRole arguments, keys sorted (botocore's
/// `BaseAssumeRoleCredentialFetcher._create_cache_key`; a generated session
/// name is left out). Hex only, so already file-name safe.
pub fn cache_key(step: &RoleStep) -> String {
    use sha1::Digest;
    let mut args: BTreeMap<&str, serde_json::Value> = BTreeMap::new();
    args.insert("RoleArn", step.role_arn.clone().into());
    if let Some(v) = &step.session_name {
        args.insert("RoleSessionName", v.clone().into());
    }
    if let Some(v) = &step.external_id {
        args.insert("ExternalId", v.clone().into());
    }
    if let Some(v) = &step.mfa_serial {
        args.insert("SerialNumber", v.clone().into());
    }
    if let Some(v) = step.duration_seconds {
        args.insert("DurationSeconds", v.into());
    }
    let mut json = Vec::new();
    let mut ser = serde_json::Serializer::with_formatter(&mut json, PythonJson);
    // A map of strings and numbers always serializes.
    if args.serialize(&mut ser).is_err() {
        json.clear();
    }
    hex::encode(sha1::Sha1::digest(&json))
}

/// One cache file, as the AWS CLI writes it (the AssumeRole response).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct CacheEntry {
    credentials: CachedCredentials,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    assumed_role_user: Option<AssumedRoleUser>,
}

#[derive(Clone, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct CachedCredentials {
    access_key_id: String,
    secret_access_key: String,
    session_token: String,
    expiration: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    account_id: Option<String>,
}

impl std::fmt::Debug for CachedCredentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("CachedCredentials(<redacted>)")
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct AssumedRoleUser {
    #[serde(default)]
    assumed_role_id: String,
    arn: String,
}

/// The expiry in the forms the cache holds: RFC 3339 (`Z` or `+00:00`) and
/// the CLI's own `2026-12-01T13:00:00UTC`.
fn parse_expiration(text: &str) -> Option<SystemTime> {
    let text = text.trim();
    let normalized = if let Some(stem) = text.strip_suffix("UTC") {
        format!("{stem}Z")
    } else if let Some(stem) = text.strip_suffix("+00:00") {
        format!("{stem}Z")
    } else {
        text.to_string()
    };
    DateTime::from_str(&normalized, Format::DateTime)
        .ok()
        .and_then(|d| SystemTime::try_from(d).ok())
}

/// The CLI's format for an expiry (`strftime('%Y-%m-%dT%H:%M:%S%Z')` of a UTC time).
fn format_expiration(at: SystemTime) -> String {
    let secs = DateTime::from(at).secs();
    DateTime::from_secs(secs)
        .fmt(Format::DateTime)
        .map(|t| t.replace('Z', "UTC"))
        .unwrap_or_default()
}

/// A session good for longer than `window` from `now`.
fn fresh(expires: SystemTime, now: SystemTime, window: Duration) -> bool {
    expires.duration_since(now).is_ok_and(|left| left > window)
}

/// Credentials from one step, and the identity they are.
#[derive(Clone)]
pub struct Resolved {
    pub credentials: Credentials,
    /// The assumed-role ARN, when the chain ends in a role.
    pub identity: Option<String>,
}

impl std::fmt::Debug for Resolved {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Resolved({:?})", self.identity)
    }
}

impl Resolved {
    fn from_entry(entry: &CacheEntry) -> Option<Resolved> {
        let expires = parse_expiration(&entry.credentials.expiration)?;
        Some(Resolved {
            credentials: Credentials::new(
                entry.credentials.access_key_id.clone(),
                entry.credentials.secret_access_key.clone(),
                Some(entry.credentials.session_token.clone()),
                Some(expires),
                "klanker-trust-assume-role",
            ),
            identity: entry.assumed_role_user.as_ref().map(|u| u.arn.clone()),
        })
    }

    fn is_fresh(&self, now: SystemTime, window: Duration) -> bool {
        self.credentials
            .expiry()
            .is_none_or(|e| fresh(e, now, window))
    }
}

/// The AWS CLI's assume-role cache directory, `~/.aws/cli/cache`.
pub fn cli_cache_dir(home: &Path) -> PathBuf {
    home.join(".aws").join("cli").join("cache")
}

/// Why a cache file or directory cannot be trusted, if it cannot: as ssh
/// judges its key files, it must be this user's (a directory may also be
/// root's) and no one else may write it. Anyone who can write a session
/// file can make this tool act as whoever they choose.
fn distrust(meta: &std::fs::Metadata) -> Option<&'static str> {
    use std::os::unix::fs::MetadataExt;
    let me = rustix::process::geteuid().as_raw();
    let owner_ok = meta.uid() == me || (meta.is_dir() && meta.uid() == 0);
    if !owner_ok {
        Some("is not owned by you")
    } else if meta.mode() & 0o022 != 0 {
        Some("can be written by other users")
    } else {
        None
    }
}

/// A cache path that was ignored, and why (for the warning).
#[derive(Debug, Clone, PartialEq, Eq)]
struct Untrusted {
    path: PathBuf,
    why: &'static str,
}

/// Warns, once per path and run, that a cache path is ignored. Only the
/// path is said, never what the file holds.
fn warn_untrusted(what: &str, untrusted: &Untrusted) {
    static WARNED: Mutex<Vec<PathBuf>> = Mutex::new(Vec::new());
    let mut warned = lock(&WARNED);
    if warned.contains(&untrusted.path) {
        return;
    }
    warned.push(untrusted.path.clone());
    tracing::warn!(
        "warning: ignoring {what} {}: it {}. Make it yours and private (chmod go-w), or remove it.",
        untrusted.path.display(),
        untrusted.why
    );
}

/// The first of `dir` and its parents up to (not including) `home` that
/// exists and cannot be trusted.
fn untrusted_dir(home: &Path, dir: &Path) -> Option<Untrusted> {
    dir.ancestors()
        .take_while(|d| *d != home && d.starts_with(home))
        .find_map(|d| {
            let meta = std::fs::metadata(d).ok()?;
            distrust(&meta).map(|why| Untrusted {
                path: d.to_path_buf(),
                why,
            })
        })
}

/// One session from the cache directory `dir` (already judged). The file
/// is judged on the handle it is read through, so it cannot be swapped in
/// between.
fn read_cache(dir: &Path, key: &str, now: SystemTime) -> Result<Option<Resolved>, Untrusted> {
    use std::io::Read;
    let path = dir.join(format!("{key}.json"));
    let Ok(mut file) = std::fs::File::open(&path) else {
        return Ok(None);
    };
    if let Some(why) = file.metadata().ok().as_ref().and_then(distrust) {
        return Err(Untrusted { path, why });
    }
    let mut text = String::new();
    if file.read_to_string(&mut text).is_err() {
        return Ok(None);
    }
    let Ok(entry) = serde_json::from_str::<CacheEntry>(&text) else {
        return Ok(None);
    };
    Ok(Resolved::from_entry(&entry).filter(|r| r.is_fresh(now, EXPIRY_WINDOW)))
}

/// Writes one entry as the CLI does (temp file and rename), owner-only
/// (0600), into a directory made owner-only (0700) if it is new. An
/// existing directory others can write is not written into.
fn write_cache(dir: &Path, key: &str, entry: &CacheEntry) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::DirBuilderExt;
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)?;
    if let Some(why) = distrust(&std::fs::metadata(dir)?) {
        return Err(std::io::Error::other(format!(
            "the directory {why}, so no session is written there"
        )));
    }
    let text = serde_json::to_string(entry).map_err(std::io::Error::other)?;
    // tempfile creates the file 0600 and in the same directory, so the
    // rename is atomic and the secret is never readable by others.
    let mut file = tempfile::Builder::new().suffix(".tmp").tempfile_in(dir)?;
    file.write_all(text.as_bytes())?;
    file.as_file().sync_all()?;
    file.persist(dir.join(format!("{key}.json")))
        .map_err(|e| e.error)?;
    Ok(())
}

/// SSO token cache state, read before any call.
#[derive(Debug, PartialEq, Eq)]
enum SsoState {
    Usable,
    Missing,
    Expired,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct SsoToken {
    expires_at: Option<String>,
    refresh_token: Option<String>,
    client_id: Option<String>,
    client_secret: Option<String>,
    registration_expires_at: Option<String>,
}

fn sso_state(home: &Path, identifier: &str, session_form: bool, now: SystemTime) -> SsoState {
    use sha1::Digest;
    let dir = home.join(".aws/sso/cache");
    let path = dir.join(format!(
        "{}.json",
        hex::encode(sha1::Sha1::digest(identifier.as_bytes()))
    ));
    if let Some(untrusted) = untrusted_dir(home, &dir) {
        warn_untrusted("the AWS SSO token cache", &untrusted);
        return SsoState::Missing;
    }
    let Ok(mut file) = std::fs::File::open(&path) else {
        return SsoState::Missing;
    };
    if let Some(why) = file.metadata().ok().as_ref().and_then(distrust) {
        warn_untrusted("the AWS SSO token", &Untrusted { path, why });
        return SsoState::Missing;
    }
    let mut text = String::new();
    if std::io::Read::read_to_string(&mut file, &mut text).is_err() {
        return SsoState::Missing;
    }
    let Ok(token) = serde_json::from_str::<SsoToken>(&text) else {
        return SsoState::Missing;
    };
    let alive = |at: &Option<String>| {
        at.as_deref()
            .and_then(parse_expiration)
            .is_some_and(|e| e > now)
    };
    if alive(&token.expires_at) {
        return SsoState::Usable;
    }
    // The sso-session form refreshes an expired token while its client
    // registration lasts; the legacy form cannot.
    let refreshable = session_form
        && token.refresh_token.is_some()
        && token.client_id.is_some()
        && token.client_secret.is_some()
        && alive(&token.registration_expires_at);
    if refreshable {
        SsoState::Usable
    } else {
        SsoState::Expired
    }
}

/// Output of `credential_process` (the CLI's format, Version 1).
#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct ProcessOutput {
    version: Option<i64>,
    access_key_id: Option<String>,
    secret_access_key: Option<String>,
    session_token: Option<String>,
    expiration: Option<String>,
}

/// Kills a credential_process and everything it started (its own process
/// group) when dropped armed: on a timeout, and when the run is cancelled
/// (Ctrl-C) while it waits. The group's leader is not yet reaped then, so
/// its id cannot have been reused.
struct ProcessGroup(Option<rustix::process::Pid>);

impl ProcessGroup {
    fn disarm(&mut self) {
        self.0 = None;
    }
}

impl Drop for ProcessGroup {
    fn drop(&mut self) {
        if let Some(pid) = self.0.take() {
            // Already gone is fine: nothing is left to stop.
            let _ = rustix::process::kill_process_group(pid, rustix::process::Signal::KILL);
        }
    }
}

/// Runs `command` with `sh -c`, as the AWS CLI does, bounded by `timeout`
/// (--request-timeout). Its output is a secret: it is parsed, never shown.
async fn run_process(
    profile: &str,
    command: &str,
    timeout: Duration,
) -> Result<Credentials, CredentialsError> {
    let child = tokio::process::Command::new("sh")
        .arg("-c")
        .arg(command)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        // Its own process group, so what it starts is stopped with it.
        .process_group(0)
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| CredentialsError::ProcessStart {
            profile: profile.to_string(),
            message: e.to_string(),
        })?;
    let pid = child
        .id()
        .and_then(|id| i32::try_from(id).ok())
        .and_then(rustix::process::Pid::from_raw);
    let mut group = ProcessGroup(pid);
    let output = match tokio::time::timeout(timeout, child.wait_with_output()).await {
        Err(_elapsed) => {
            return Err(CredentialsError::ProcessTimedOut {
                profile: profile.to_string(),
                seconds: timeout.as_secs(),
            });
        }
        Ok(waited) => waited.map_err(|e| CredentialsError::ProcessStart {
            profile: profile.to_string(),
            message: e.to_string(),
        })?,
    };
    // It ended by itself: what it left running is its own business.
    group.disarm();
    if !output.status.success() {
        use std::os::unix::process::ExitStatusExt;
        let status = match (output.status.code(), output.status.signal()) {
            (Some(code), _) => format!("exit status {code}"),
            (None, Some(signal)) => format!("killed by signal {signal}"),
            (None, None) => "no exit status".to_string(),
        };
        let first = String::from_utf8_lossy(&output.stderr)
            .lines()
            .map(str::trim)
            .find(|l| !l.is_empty())
            .map(|l| l.chars().take(300).collect::<String>());
        return Err(CredentialsError::ProcessFailed {
            profile: profile.to_string(),
            status,
            stderr: first.map(|l| format!(": {l}")).unwrap_or_default(),
        });
    }
    let bad = |problem| CredentialsError::ProcessOutput {
        profile: profile.to_string(),
        problem,
    };
    let parsed: ProcessOutput =
        serde_json::from_slice(&output.stdout).map_err(|_| bad("not JSON"))?;
    if parsed.version != Some(1) {
        return Err(bad("Version is not 1"));
    }
    let (Some(key), Some(secret)) = (parsed.access_key_id, parsed.secret_access_key) else {
        return Err(bad("AccessKeyId or SecretAccessKey missing"));
    };
    let expiry = match parsed.expiration.as_deref() {
        None => None,
        Some(text) => Some(parse_expiration(text).ok_or(bad("Expiration is not a date"))?),
    };
    Ok(Credentials::new(
        key,
        secret,
        parsed.session_token,
        expiry,
        "klanker-trust-credential-process",
    ))
}

/// Loads the AWS config and credentials files through aws-config's own
/// parser (`$AWS_CONFIG_FILE`, `$AWS_SHARED_CREDENTIALS_FILE`, `~/.aws/*`).
/// aws-config takes the process environment and file system as
/// `aws_types::os_shim_internal` values: its only public loading function
/// has that signature, so they are built here and in `parse_config_text`,
/// nowhere else.
pub async fn load_profiles() -> Result<ProfileSet, AwsError> {
    use aws_runtime::env_config::file::EnvConfigFiles;
    use aws_types::os_shim_internal::{Env, Fs};
    aws_config::profile::load(&Fs::real(), &Env::real(), &EnvConfigFiles::default(), None)
        .await
        .map_err(|e| AwsError::ProfileFile {
            message: super::error::display_chain(&e),
        })
}

/// Parses an AWS config file's text with aws-config's own parser, as a
/// pod's SDK reads the file the tool's ConfigMap holds; nothing of this
/// machine's environment or files takes part.
pub async fn parse_config_text(text: &str) -> Result<ProfileSet, AwsError> {
    use aws_runtime::env_config::file::{EnvConfigFileKind, EnvConfigFiles};
    use aws_types::os_shim_internal::{Env, Fs};
    let files = EnvConfigFiles::builder()
        .with_contents(EnvConfigFileKind::Config, text)
        .build();
    aws_config::profile::load(&Fs::from_slice(&[]), &Env::from_slice(&[]), &files, None)
        .await
        .map_err(|e| AwsError::ProfileFile {
            message: super::error::display_chain(&e),
        })
}

/// What one run shares between its accounts: the MFA codes typed (one
/// prompt per device), the sessions assumed, and which identity each
/// account acts as.
pub struct Session {
    mfa_code: Option<MfaCode>,
    interactive: bool,
    home: Option<PathBuf>,
    codes: Mutex<HashMap<String, String>>,
    /// Sessions assumed in this run, by cache key (also when the cache file cannot be written).
    assumed: Mutex<HashMap<String, Resolved>>,
    /// What each profile resolved to in this run.
    profiles: Mutex<HashMap<String, Resolved>>,
    /// One MFA prompt at a time: a second chain through the same device
    /// waits, then reuses the code typed for the first.
    prompting: tokio::sync::Mutex<()>,
    /// One resolution of a profile, and one call of an assume step, at a
    /// time (the second finds the first's result); different profiles
    /// resolve side by side.
    resolving: Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>,
    /// The bottom of each chain (keys, a credential process, SSO), by the
    /// profile that holds it: had once per run.
    leaves: Mutex<HashMap<String, Resolved>>,
    identities: Mutex<Vec<(Side, String)>>,
    /// How long a credential_process may run (--request-timeout).
    process_timeout: Duration,
}

/// --request-timeout's default, for sessions made without one.
const DEFAULT_PROCESS_TIMEOUT: Duration = Duration::from_secs(30);

impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Session")
    }
}

/// Where a code came from, for messages.
const FROM_FLAG: &str = "--mfa-code or KLANKER_TRUST_MFA_CODE";
const FROM_PROMPT: &str = "typed at the prompt";

fn valid_code(code: &str) -> bool {
    code.len() == 6 && code.chars().all(|c| c.is_ascii_digit())
}

impl Session {
    pub fn new(mfa_code: Option<MfaCode>, interactive: bool, home: Option<PathBuf>) -> Self {
        Self {
            mfa_code,
            interactive,
            home,
            codes: Mutex::new(HashMap::new()),
            assumed: Mutex::new(HashMap::new()),
            profiles: Mutex::new(HashMap::new()),
            prompting: tokio::sync::Mutex::new(()),
            resolving: Mutex::new(HashMap::new()),
            leaves: Mutex::new(HashMap::new()),
            identities: Mutex::new(Vec::new()),
            process_timeout: DEFAULT_PROCESS_TIMEOUT,
        }
    }

    /// Bounds each credential_process run, as the kubeconfig's exec plugin is.
    pub fn with_process_timeout(mut self, timeout: Duration) -> Self {
        self.process_timeout = timeout;
        self
    }

    /// The identity each account acted as so far: `(side, description)`.
    /// In account order (klanker first), whichever resolved first.
    pub fn identities(&self) -> Vec<(Side, String)> {
        let mut identities = lock(&self.identities).clone();
        identities.sort_by_key(|(side, _)| *side);
        identities
    }

    /// Records (and, with --verbose, logs) which identity `side` acts as:
    /// an ARN or a profile name, never a key. The latest word for a side
    /// wins, except that ARNs of different accounts stand side by side (a
    /// fleet's clusters in several accounts); the same word again (another
    /// client of that side) is not logged again.
    pub fn record(&self, side: Side, who: String) {
        let mut identities = lock(&self.identities);
        if identities.contains(&(side, who.clone())) {
            return;
        }
        tracing::debug!("  [aws {side}] identity {who}");
        let account = |word: &str| crate::trust::arn::account_of(word).map(str::to_string);
        let (new_account, old) = (account(&who), identities.clone());
        identities.clear();
        identities.extend(old.into_iter().filter(|(s, word)| {
            *s != side
                || (new_account.is_some() && account(word).is_some_and(|a| Some(a) != new_account))
        }));
        identities.push((side, who));
    }

    /// The CLI cache directory, unless it (or a parent below HOME) is not
    /// to be trusted: then no session is read from it or written to it.
    fn cache_dir(&self) -> Option<PathBuf> {
        let home = self.home.as_deref()?;
        let dir = cli_cache_dir(home);
        match untrusted_dir(home, &dir) {
            Some(untrusted) => {
                warn_untrusted("the AWS CLI session cache", &untrusted);
                None
            }
            None => Some(dir),
        }
    }

    fn cached(&self, key: &str, now: SystemTime) -> Option<Resolved> {
        if let Some(r) = lock(&self.assumed)
            .get(key)
            .filter(|r| r.is_fresh(now, RUN_WINDOW))
        {
            return Some(r.clone());
        }
        match read_cache(&self.cache_dir()?, key, now) {
            Ok(found) => found,
            Err(untrusted) => {
                warn_untrusted("the AWS CLI cached session", &untrusted);
                None
            }
        }
    }

    /// Whether a code for `serial` can be had without a call: already
    /// typed, given, or a terminal to ask on.
    fn can_get_code(&self, serial: &str) -> bool {
        self.mfa_code.is_some() || self.interactive || lock(&self.codes).contains_key(serial)
    }

    async fn code_for(&self, step: &RoleStep, serial: &str) -> Result<String, CredentialsError> {
        let _one_prompt_at_a_time = self.prompting.lock().await;
        if let Some(code) = lock(&self.codes).get(serial) {
            return Ok(code.clone());
        }
        let (code, from) = match &self.mfa_code {
            Some(code) => (code.secret().to_string(), FROM_FLAG),
            None => {
                let prompt = format!(
                    "MFA code for {serial} (AWS profile {}, role {})",
                    step.profile, step.role_arn
                );
                let asked = tokio::task::spawn_blocking(move || {
                    dialoguer::Password::new()
                        .with_prompt(prompt)
                        .interact_on(&console::Term::stderr())
                })
                .await;
                let typed = match asked {
                    Ok(Ok(code)) => code,
                    Ok(Err(e)) => {
                        return Err(CredentialsError::Prompt {
                            serial: serial.to_string(),
                            message: e.to_string(),
                        });
                    }
                    Err(e) => {
                        return Err(CredentialsError::Prompt {
                            serial: serial.to_string(),
                            message: e.to_string(),
                        });
                    }
                };
                (typed.trim().to_string(), FROM_PROMPT)
            }
        };
        if !valid_code(&code) {
            return Err(CredentialsError::BadMfaCode {
                serial: serial.to_string(),
                from,
            });
        }
        lock(&self.codes).insert(serial.to_string(), code.clone());
        Ok(code)
    }

    /// Plans `profile`'s resolution without a call: its chain, the newest
    /// usable session (this run's, or the CLI cache's; nothing below it
    /// runs), and, for what must run, a code source for every MFA step and
    /// a usable SSO session at the bottom.
    async fn plan(&self, profile: &str, now: SystemTime) -> Result<Planned, AwsError> {
        let set = load_profiles().await?;
        let chain = plan_chain(&set, profile)?;
        let keys: Vec<String> = chain.steps.iter().map(cache_key).collect();
        let newest = (0..chain.steps.len())
            .rev()
            .find_map(|i| self.cached(&keys[i], now).map(|r| (i, r)));
        let (first_to_run, cached) = match newest {
            Some((i, r)) => (i + 1, Some(r)),
            None => (0, None),
        };
        if let Some(step) = chain.steps[first_to_run..].iter().find(|s| {
            s.mfa_serial
                .as_deref()
                .is_some_and(|m| !self.can_get_code(m))
        }) {
            return Err(CredentialsError::MfaCodeNeeded {
                profile: step.profile.clone(),
                role_arn: step.role_arn.clone(),
                serial: step.mfa_serial.clone().unwrap_or_default(),
            }
            .into());
        }
        if cached.is_none() {
            self.check_leaf(&chain.leaf, profile, now)?;
        }
        Ok(Planned {
            chain,
            keys,
            first_to_run,
            cached,
        })
    }

    /// Fails, without a call, where `profile` could not sign in: an MFA
    /// step with no code to be had, an SSO session missing or expired.
    pub async fn preflight(&self, profile: &str) -> Result<(), AwsError> {
        self.plan(profile, SystemTime::now()).await.map(|_| ())
    }

    /// Credentials for `profile`, walking its chain as planned: from the
    /// newest usable session down to the leaf only as far as needed.
    pub async fn resolve(
        &self,
        profile: &str,
        side: Side,
        base: &SdkConfig,
    ) -> Result<Resolved, AwsError> {
        let profile_lock = self.lock_for(&format!("profile {profile}"));
        let _one_at_a_time = profile_lock.lock().await;
        let now = SystemTime::now();
        if let Some(r) = lock(&self.profiles)
            .get(profile)
            .filter(|r| r.is_fresh(now, RUN_WINDOW))
        {
            return Ok(r.clone());
        }
        let Planned {
            chain,
            keys,
            first_to_run,
            cached,
        } = self.plan(profile, now).await?;
        let mut current = match cached {
            Some(r) => r,
            None => self.leaf_once(&chain, profile, base).await?,
        };
        for (step, key) in chain.steps[first_to_run..]
            .iter()
            .zip(&keys[first_to_run..])
        {
            current = self
                .assume_once(step, key, current.credentials, side, base)
                .await?;
        }
        let described = match &current.identity {
            Some(arn) => arn.clone(),
            None => format!("AWS profile {} (its own credentials)", chain.leaf.profile()),
        };
        self.record(side, described);
        lock(&self.profiles).insert(profile.to_string(), current.clone());
        Ok(current)
    }

    fn check_leaf(&self, leaf: &Leaf, top: &str, now: SystemTime) -> Result<(), AwsError> {
        if let Leaf::Sso {
            profile,
            identifier,
            session_form,
        } = leaf
        {
            let state = match &self.home {
                Some(home) => sso_state(home, identifier, *session_form, now),
                None => SsoState::Missing,
            };
            match state {
                SsoState::Missing => {
                    return Err(sso_login(top, profile, "is missing (not signed in)").into());
                }
                SsoState::Expired => return Err(sso_login(top, profile, "has expired").into()),
                SsoState::Usable => {}
            }
        }
        Ok(())
    }

    async fn leaf(&self, chain: &Chain, top: &str, base: &SdkConfig) -> Result<Resolved, AwsError> {
        let credentials = match &chain.leaf {
            Leaf::Static {
                access_key_id,
                secret_access_key,
                session_token,
                ..
            } => Credentials::new(
                access_key_id,
                secret_access_key,
                session_token.clone(),
                None,
                "klanker-trust-profile",
            ),
            Leaf::Process { profile, command } => {
                run_process(profile, command, self.process_timeout).await?
            }
            Leaf::Sso { profile, .. } => sdk_leaf(profile, base)
                .await
                .map_err(|_| sso_login(top, profile, "was refused by AWS"))?,
            Leaf::Sdk { profile } => sdk_leaf(profile, base).await.map_err(|e| {
                let message = super::error::display_chain(&e);
                // The SDK's words for "this profile holds no credentials".
                if message.contains("not enabled") || message.contains("no credentials") {
                    CredentialsError::NoCredentials {
                        top: top.to_string(),
                        profile: profile.clone(),
                    }
                } else {
                    CredentialsError::Provider {
                        profile: profile.clone(),
                        message,
                    }
                }
            })?,
        };
        Ok(Resolved {
            credentials,
            identity: None,
        })
    }

    /// `assume`, once per step for the whole run: two chains resolved side
    /// by side that share a step (an MFA hub role, say) wait for each other
    /// there, and the second takes the first's session.
    async fn assume_once(
        &self,
        step: &RoleStep,
        key: &str,
        source: Credentials,
        side: Side,
        base: &SdkConfig,
    ) -> Result<Resolved, AwsError> {
        let step_lock = self.lock_for(&format!("assume {key}"));
        let _one_at_a_time = step_lock.lock().await;
        match self.cached(key, SystemTime::now()) {
            Some(resolved) => Ok(resolved),
            None => self.assume(step, key, source, side, base).await,
        }
    }

    /// The credentials at the bottom of `profile`'s chain, had now unless a
    /// cached session covers the chain: they come from this machine (keys,
    /// a credential process) or its SSO sign-in, so a broken profile fails
    /// here, before any call to an account is sent.
    pub async fn prepare_leaf(&self, profile: &str, base: &SdkConfig) -> Result<(), AwsError> {
        let profile_lock = self.lock_for(&format!("profile {profile}"));
        let _one_at_a_time = profile_lock.lock().await;
        let planned = self.plan(profile, SystemTime::now()).await?;
        if planned.cached.is_none() {
            self.leaf_once(&planned.chain, profile, base).await?;
        }
        Ok(())
    }

    /// `leaf`, once per leaf profile for the whole run.
    async fn leaf_once(
        &self,
        chain: &Chain,
        top: &str,
        base: &SdkConfig,
    ) -> Result<Resolved, AwsError> {
        let key = chain.leaf.profile().to_string();
        let leaf_lock = self.lock_for(&format!("leaf {key}"));
        let _one_at_a_time = leaf_lock.lock().await;
        if let Some(found) = lock(&self.leaves).get(&key) {
            return Ok(found.clone());
        }
        let resolved = self.leaf(chain, top, base).await?;
        lock(&self.leaves).insert(key, resolved.clone());
        Ok(resolved)
    }

    /// The async lock of `what` (a profile, an assume step), made on first use.
    fn lock_for(&self, what: &str) -> Arc<tokio::sync::Mutex<()>> {
        Arc::clone(lock(&self.resolving).entry(what.to_string()).or_default())
    }

    async fn assume(
        &self,
        step: &RoleStep,
        key: &str,
        source: Credentials,
        side: Side,
        base: &SdkConfig,
    ) -> Result<Resolved, AwsError> {
        let config = aws_sdk_sts::config::Builder::from(base).credentials_provider(source);
        let sts = aws_sdk_sts::Client::from_conf(config.build());
        let session_name = step.session_name.clone().unwrap_or_else(|| {
            let secs = SystemTime::now()
                .duration_since(SystemTime::UNIX_EPOCH)
                .map(|d| d.as_secs())
                .unwrap_or_default();
            format!("kubectl-klanker-trust-{secs}")
        });
        let mut request = sts
            .assume_role()
            .role_arn(&step.role_arn)
            .role_session_name(session_name)
            .set_external_id(step.external_id.clone())
            .set_duration_seconds(step.duration_seconds);
        if let Some(serial) = &step.mfa_serial {
            let code = self.code_for(step, serial).await?;
            request = request.serial_number(serial).token_code(code);
        }
        let out = request
            .send()
            .await
            .map_err(|e| AwsError::from_sdk("sts:AssumeRole", side, &sts, e))?;
        let creds = out.credentials.ok_or(AwsError::Incomplete {
            operation: "sts:AssumeRole",
            what: "credentials",
        })?;
        let expires = SystemTime::try_from(creds.expiration).map_err(|_| AwsError::Incomplete {
            operation: "sts:AssumeRole",
            what: "expiration",
        })?;
        let user = out.assumed_role_user.map(|u| AssumedRoleUser {
            assumed_role_id: u.assumed_role_id,
            arn: u.arn,
        });
        let entry = CacheEntry {
            credentials: CachedCredentials {
                access_key_id: creds.access_key_id,
                secret_access_key: creds.secret_access_key,
                session_token: creds.session_token,
                expiration: format_expiration(expires),
                account_id: user
                    .as_ref()
                    .and_then(|u| crate::trust::arn::account_of(&u.arn))
                    .map(str::to_string),
            },
            assumed_role_user: user,
        };
        let resolved = Resolved::from_entry(&entry).ok_or(AwsError::Incomplete {
            operation: "sts:AssumeRole",
            what: "expiration",
        })?;
        if let Some(dir) = self.cache_dir() {
            // Best effort, as the CLI: a cache that cannot be written costs a prompt next run.
            if let Err(e) = write_cache(&dir, key, &entry) {
                tracing::warn!(
                    "note: could not write the AWS CLI session cache in {}: {e}",
                    dir.display()
                );
            }
        }
        lock(&self.assumed).insert(key.to_string(), resolved.clone());
        Ok(resolved)
    }
}

/// What a profile's resolution needs, found without a call.
struct Planned {
    chain: Chain,
    keys: Vec<String>,
    /// Steps below this index are covered by `cached`.
    first_to_run: usize,
    cached: Option<Resolved>,
}

/// The SSO error for `top`, whose chain ends in SSO profile `profile`.
fn sso_login(top: &str, profile: &str, state: &'static str) -> CredentialsError {
    CredentialsError::SsoLogin {
        profile: top.to_string(),
        through: if profile == top {
            String::new()
        } else {
            format!(", through its source profile `{profile}`")
        },
        login: profile.to_string(),
        state,
    }
}

/// The SDK's own provider for one profile (SSO, web identity,
/// credential_source), through the same HTTP client and endpoints.
async fn sdk_leaf(
    profile: &str,
    base: &SdkConfig,
) -> Result<Credentials, provider::error::CredentialsError> {
    let mut provider_config = aws_config::provider_config::ProviderConfig::without_region()
        .with_region(base.region().cloned());
    if let Some(http) = base.http_client() {
        provider_config = provider_config.with_http_client(http);
    }
    aws_config::profile::ProfileFileCredentialsProvider::builder()
        .configure(&provider_config)
        .profile_name(profile)
        .build()
        .provide_credentials()
        .await
}

/// The SDK clients' credentials: the run's session for one profile,
/// resolved again (from this run's sessions or the CLI cache) when spent.
#[derive(Debug)]
pub struct SessionProvider {
    pub session: Arc<Session>,
    pub profile: String,
    pub side: Side,
    pub base: SdkConfig,
}

impl ProvideCredentials for SessionProvider {
    fn provide_credentials<'a>(&'a self) -> provider::future::ProvideCredentials<'a>
    where
        Self: 'a,
    {
        provider::future::ProvideCredentials::new(async move {
            self.session
                .resolve(&self.profile, self.side, &self.base)
                .await
                .map(|r| r.credentials)
                .map_err(provider::error::CredentialsError::provider_error)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_runtime::env_config::file::{EnvConfigFileKind, EnvConfigFiles};

    fn profiles(config: &str) -> ProfileSet {
        let files = EnvConfigFiles::builder()
            .with_contents(EnvConfigFileKind::Config, config)
            .build();
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        rt.block_on(aws_config::profile::load(
            &aws_types::os_shim_internal::Fs::from_map(HashMap::<String, String>::new()),
            &aws_types::os_shim_internal::Env::from_slice(&[]),
            &files,
            None,
        ))
        .unwrap()
    }

    const CONFIG: &str = "[profile base]\naws_access_key_id = AK\naws_secret_access_key = SK\n\n\
        [profile hub]\nrole_arn = arn:aws:iam::111111111111:role/hub\nsource_profile = base\nmfa_serial = arn:aws:iam::123456789012:mfa/admin\nduration_seconds = 3600\n\n\
        [profile klanker-application]\nrole_arn = arn:aws:iam::333333333333:role/klanker-operator\nsource_profile = hub\nrole_session_name = ops\nexternal_id = ext-1\n\n\
        [profile self]\nrole_arn = arn:aws:iam::333333333333:role/x\nsource_profile = self\naws_access_key_id = AK2\naws_secret_access_key = SK2\n\n\
        [profile loop-a]\nrole_arn = arn:aws:iam::333333333333:role/a\nsource_profile = loop-b\n\n\
        [profile loop-b]\nrole_arn = arn:aws:iam::333333333333:role/b\nsource_profile = loop-a\n\n\
        [profile sso-new]\nsso_session = corp\nsso_account_id = 333333333333\nsso_role_name = Admin\n\n\
        [sso-session corp]\nsso_start_url = https://corp.awsapps.com/start\nsso_region = us-east-1\n\n\
        [profile proc]\ncredential_process = /bin/false\n\n\
        [profile web]\nrole_arn = arn:aws:iam::333333333333:role/w\nweb_identity_token_file = /t\n\n\
        [profile via-web]\nrole_arn = arn:aws:iam::333333333333:role/v\nsource_profile = web\n\n\
        [profile orphan]\nrole_arn = arn:aws:iam::333333333333:role/o\n\n\
        [profile bad-duration]\nrole_arn = arn:aws:iam::333333333333:role/o\nsource_profile = base\nduration_seconds = 60\n";

    #[test]
    fn mfa_in_the_middle_of_a_chain_is_found_with_every_setting() {
        let chain = plan_chain(&profiles(CONFIG), "klanker-application").unwrap();
        assert!(matches!(&chain.leaf, Leaf::Static { profile, .. } if profile == "base"));
        assert_eq!(chain.steps.len(), 2);
        let hub = &chain.steps[0];
        assert_eq!(hub.role_arn, "arn:aws:iam::111111111111:role/hub");
        assert_eq!(
            hub.mfa_serial.as_deref(),
            Some("arn:aws:iam::123456789012:mfa/admin")
        );
        assert_eq!(hub.duration_seconds, Some(3600));
        let top = &chain.steps[1];
        assert_eq!(top.session_name.as_deref(), Some("ops"));
        assert_eq!(top.external_id.as_deref(), Some("ext-1"));
        assert_eq!(top.mfa_serial, None);
    }

    #[test]
    fn odd_chains_are_said_plainly() {
        let set = profiles(CONFIG);
        let own = plan_chain(&set, "self").unwrap();
        assert!(matches!(&own.leaf, Leaf::Static { access_key_id, .. } if access_key_id == "AK2"));
        assert_eq!(own.steps.len(), 1);
        assert!(matches!(
            plan_chain(&set, "loop-a"),
            Err(CredentialsError::Loop { .. })
        ));
        assert!(matches!(
            plan_chain(&set, "orphan"),
            Err(CredentialsError::NoSource { .. })
        ));
        assert!(matches!(
            plan_chain(&set, "bad-duration"),
            Err(CredentialsError::BadSetting {
                setting: "duration_seconds",
                ..
            })
        ));
        assert!(matches!(
            plan_chain(&set, "sso-new").unwrap().leaf,
            Leaf::Sso { session_form: true, ref identifier, .. } if identifier == "corp"
        ));
        assert!(matches!(
            plan_chain(&set, "proc").unwrap().leaf,
            Leaf::Process { .. }
        ));
        // Web identity roles stay the SDK's, also as a source.
        let via = plan_chain(&set, "via-web").unwrap();
        assert_eq!(
            via.leaf,
            Leaf::Sdk {
                profile: "web".into()
            }
        );
        assert_eq!(via.steps.len(), 1);
        // Debug never shows a key.
        let base = plan_chain(&set, "base").unwrap();
        assert_eq!(format!("{:?}", base.leaf), "Static(base)");
    }

    fn step(role_arn: &str) -> RoleStep {
        RoleStep {
            profile: "p".into(),
            role_arn: role_arn.into(),
            session_name: None,
            external_id: None,
            mfa_serial: None,
            duration_seconds: None,
        }
    }

    /// The expected keys are botocore's own, computed with Python:
    /// sha1(json.dumps(args, sort_keys=True)).
    #[test]
    fn cache_keys_are_the_aws_clis() {
        let mut full = step("arn:aws:iam::333333333333:role/klanker-operator");
        full.session_name = Some("ops".into());
        full.external_id = Some("ext-1".into());
        full.mfa_serial = Some("arn:aws:iam::123456789012:mfa/admin".into());
        full.duration_seconds = Some(3600);
        assert_eq!(cache_key(&full), "4593a2d6bc5ea38116d87b2c966ec798edba9313");
        assert_eq!(
            cache_key(&step("arn:aws:iam::333333333333:role/klanker-operator")),
            "59a304aa5b96691a01f05ef523df772280a16000"
        );
        let mut accented = step("arn:aws:iam::333333333333:role/r");
        accented.external_id = Some("caf\u{e9}".into());
        assert_eq!(
            cache_key(&accented),
            "2e25a0fa051d6e02a5c63dec4146e712ef364fab"
        );
    }

    #[test]
    fn expirations_in_every_form_the_cache_holds() {
        let at = parse_expiration("2026-12-01T13:00:00UTC").unwrap();
        assert_eq!(parse_expiration("2026-12-01T13:00:00Z"), Some(at));
        assert_eq!(parse_expiration("2026-12-01T13:00:00+00:00"), Some(at));
        assert_eq!(format_expiration(at), "2026-12-01T13:00:00UTC");
        assert_eq!(parse_expiration("soon"), None);
    }

    fn entry(expiration: &str) -> CacheEntry {
        CacheEntry {
            credentials: CachedCredentials {
                access_key_id: "ASIA".into(),
                secret_access_key: "secret".into(),
                session_token: "token".into(),
                expiration: expiration.into(),
                account_id: None,
            },
            assumed_role_user: Some(AssumedRoleUser {
                assumed_role_id: "AROA:s".into(),
                arn: "arn:aws:sts::333333333333:assumed-role/r/s".into(),
            }),
        }
    }

    #[test]
    fn expired_and_nearly_expired_sessions_are_ignored_and_files_are_private() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let now = parse_expiration("2026-12-01T12:00:00Z").unwrap();
        write_cache(dir.path(), "live", &entry("2026-12-01T13:00:00UTC")).unwrap();
        write_cache(dir.path(), "dead", &entry("2026-12-01T11:00:00UTC")).unwrap();
        // Ten minutes left: inside the CLI's 15-minute window.
        write_cache(dir.path(), "ending", &entry("2026-12-01T12:10:00Z")).unwrap();
        let live = read_cache(dir.path(), "live", now).unwrap().unwrap();
        assert_eq!(
            live.identity.as_deref(),
            Some("arn:aws:sts::333333333333:assumed-role/r/s")
        );
        assert!(matches!(read_cache(dir.path(), "dead", now), Ok(None)));
        assert!(matches!(read_cache(dir.path(), "ending", now), Ok(None)));
        assert!(matches!(read_cache(dir.path(), "absent", now), Ok(None)));
        let mode = std::fs::metadata(dir.path().join("live.json"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }

    #[test]
    fn caches_others_can_write_or_that_are_not_ours_are_not_trusted() {
        use std::os::unix::fs::PermissionsExt;
        let chmod = |path: &Path, mode: u32| {
            std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap()
        };
        let home = tempfile::tempdir().unwrap();
        let now = parse_expiration("2026-12-01T12:00:00Z").unwrap();
        let dir = cli_cache_dir(home.path());
        write_cache(&dir, "k", &entry("2026-12-01T13:00:00UTC")).unwrap();
        assert!(matches!(read_cache(&dir, "k", now), Ok(Some(_))));
        assert_eq!(untrusted_dir(home.path(), &dir), None);
        // A session file others can write is not read.
        let file = dir.join("k.json");
        chmod(&file, 0o666);
        let refused = read_cache(&dir, "k", now).map(|_| ()).unwrap_err();
        assert_eq!(refused.why, "can be written by other users");
        chmod(&file, 0o600);
        // Nor one owned by someone else (only root can hand a file over).
        if std::os::unix::fs::chown(&file, Some(4242), None).is_ok() {
            let refused = read_cache(&dir, "k", now).map(|_| ()).unwrap_err();
            assert_eq!(refused.why, "is not owned by you");
            std::os::unix::fs::chown(&file, Some(rustix::process::geteuid().as_raw()), None)
                .unwrap();
        }
        // A directory others can write, or a parent of it below HOME: the
        // cache is neither read nor written, and its mode is left alone.
        for judged in [dir.clone(), home.path().join(".aws")] {
            chmod(&judged, 0o777);
            let session = Session::new(None, false, Some(home.path().to_path_buf()));
            assert!(session.cached("k", now).is_none());
            assert_eq!(
                untrusted_dir(home.path(), &dir).map(|u| u.path),
                Some(judged.clone())
            );
            assert!(write_cache(&judged, "new", &entry("2026-12-01T13:00:00UTC")).is_err());
            assert!(!judged.join("new.json").exists());
            let mode = std::fs::metadata(&judged).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o777);
            chmod(&judged, 0o700);
        }
        // The SSO token cache alike.
        use sha1::Digest;
        let sso = home.path().join(".aws/sso/cache");
        std::fs::create_dir_all(&sso).unwrap();
        let token = sso.join(format!("{}.json", hex::encode(sha1::Sha1::digest(b"corp"))));
        std::fs::write(
            &token,
            r#"{"accessToken":"t","expiresAt":"2026-12-01T13:00:00Z"}"#,
        )
        .unwrap();
        chmod(&token, 0o600);
        assert_eq!(sso_state(home.path(), "corp", true, now), SsoState::Usable);
        chmod(&token, 0o666);
        assert_eq!(sso_state(home.path(), "corp", true, now), SsoState::Missing);
        chmod(&token, 0o600);
        chmod(&sso, 0o777);
        assert_eq!(sso_state(home.path(), "corp", true, now), SsoState::Missing);
    }

    #[test]
    fn sso_tokens_missing_expired_or_refreshable() {
        use sha1::Digest;
        let home = tempfile::tempdir().unwrap();
        let now = parse_expiration("2026-12-01T12:00:00Z").unwrap();
        assert_eq!(sso_state(home.path(), "corp", true, now), SsoState::Missing);
        let dir = home.path().join(".aws/sso/cache");
        std::fs::create_dir_all(&dir).unwrap();
        let put = |id: &str, json: &str| {
            use std::os::unix::fs::PermissionsExt;
            let name = hex::encode(sha1::Sha1::digest(id.as_bytes()));
            let path = dir.join(format!("{name}.json"));
            std::fs::write(&path, json).unwrap();
            // Private whatever the umask: others' files are not trusted.
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
        };
        put(
            "corp",
            r#"{"accessToken":"t","expiresAt":"2026-12-01T11:00:00Z"}"#,
        );
        assert_eq!(sso_state(home.path(), "corp", true, now), SsoState::Expired);
        put(
            "corp",
            r#"{"accessToken":"t","expiresAt":"2026-12-01T11:00:00Z","refreshToken":"r","clientId":"c","clientSecret":"s","registrationExpiresAt":"2027-01-01T00:00:00Z"}"#,
        );
        assert_eq!(sso_state(home.path(), "corp", true, now), SsoState::Usable);
        // The legacy form cannot refresh.
        put(
            "https://corp/start",
            r#"{"accessToken":"t","expiresAt":"2026-12-01T11:00:00Z","refreshToken":"r","clientId":"c","clientSecret":"s","registrationExpiresAt":"2027-01-01T00:00:00Z"}"#,
        );
        assert_eq!(
            sso_state(home.path(), "https://corp/start", false, now),
            SsoState::Expired
        );
    }

    #[test]
    fn codes_are_six_digits_and_never_in_debug() {
        assert!(valid_code("123456"));
        assert!(!valid_code("12345"));
        assert!(!valid_code("12345a"));
        let code: MfaCode = "654321".parse().unwrap();
        assert!(!format!("{code:?}").contains("654321"));
    }

    #[test]
    fn no_code_and_no_terminal_is_known_before_any_call() {
        let session = Session::new(None, false, None);
        assert!(!session.can_get_code("arn:aws:iam::1:mfa/x"));
        let given = Session::new(Some("123456".parse().unwrap()), false, None);
        assert!(given.can_get_code("arn:aws:iam::1:mfa/x"));
    }

    #[test]
    fn each_account_keeps_its_identity_and_a_profile_name_gives_way_to_its_arn() {
        use super::super::Side;
        let session = Session::new(None, false, None);
        let arn = |account: &str| format!("arn:aws:sts::{account}:assumed-role/admin/s");
        session.record(Side::Cluster, "cluster-admin".into());
        session.record(Side::Klanker, arn("333333333333"));
        session.record(Side::Cluster, arn("222222222222"));
        session.record(Side::Cluster, arn("444444444444"));
        session.record(Side::Cluster, arn("222222222222"));
        assert_eq!(
            session.identities(),
            [
                (Side::Klanker, arn("333333333333")),
                (Side::Cluster, arn("222222222222")),
                (Side::Cluster, arn("444444444444")),
            ]
        );
    }
}
