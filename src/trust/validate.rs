//! Local validation of everything a user types. IAM and the emulators accept
//! things real IAM or Kubernetes reject, so nothing here trusts the server.

use std::fmt;

/// A rejected input: which flag, the value typed, why, and what to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValidationError {
    pub input: String,
    pub value: String,
    pub problem: String,
    pub hint: String,
}

impl ValidationError {
    pub fn new(
        input: impl Into<String>,
        value: impl Into<String>,
        problem: impl Into<String>,
        hint: impl Into<String>,
    ) -> Self {
        Self {
            input: input.into(),
            value: value.into(),
            problem: problem.into(),
            hint: hint.into(),
        }
    }
}

impl fmt::Display for ValidationError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // No value (a flag that is missing, or given where it means nothing):
        // "--name `` is not valid: it is required" would quote nothing.
        match self.value.is_empty() {
            true => write!(f, "{}: {}. {}", self.input, self.problem, self.hint),
            false => write!(
                f,
                "{} `{}` is not valid: {}. {}",
                self.input, self.value, self.problem, self.hint
            ),
        }
    }
}

impl std::error::Error for ValidationError {}

pub const ROLE_NAME_MAX: usize = 64;
/// IAM limits: tags per role, characters of a tag value and of a role description.
pub const TAGS_MAX: usize = 50;
pub const TAG_VALUE_MAX: usize = 256;
pub const DESCRIPTION_MAX: usize = 1000;
pub const SESSION_MIN: u32 = 3600;
pub const SESSION_MAX: u32 = 43200;
/// Prefix of the tag keys this tool writes; users may not set them with --tag.
pub const RESERVED_TAG_PREFIX: &str = "klanker-trust/";

/// The registry name (`--name`): it becomes part of the role name and a tag
/// value, so keep it to the characters both accept and a cluster name uses.
/// STS's RoleSessionName: 2 to 64 characters of letters, digits and
/// `+=,.@_-`. The klanker role's session is named after the onboarding.
pub fn role_session_name(value: &str, input: &str) -> Result<(), ValidationError> {
    let len = value.chars().count();
    let fits = (2..=64).contains(&len)
        && value
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "+=,.@_-".contains(c));
    match fits {
        true => Ok(()),
        false => Err(ValidationError::new(
            input,
            value,
            format!(
                "the klanker role's session is named after it, and STS takes a session name of 2 to 64 letters, digits and +=,.@_- ({len} characters here)"
            ),
            "Pick a --name of 2 to 64 such characters.",
        )),
    }
}

pub fn registry_name(value: &str) -> Result<(), ValidationError> {
    let err = |problem: &str| {
        ValidationError::new(
            "--name",
            value,
            problem,
            "Use letters, digits, '-', '_' and '.', starting with a letter or digit.",
        )
    };
    if value.is_empty() {
        return Err(err("it is empty"));
    }
    // It is the value of the role's klanker-trust/name tag, whatever --role-name says.
    let len = value.chars().count();
    if len > TAG_VALUE_MAX {
        return Err(err(&format!(
            "it is {len} characters; it becomes the role's klanker-trust/name tag, whose value IAM limits to {TAG_VALUE_MAX}"
        )));
    }
    if !value.starts_with(|c: char| c.is_ascii_alphanumeric()) {
        return Err(err("it must start with a letter or digit"));
    }
    if let Some(c) = value
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.')))
    {
        return Err(err(&format!("it contains `{c}`")));
    }
    Ok(())
}

/// IAM role names: 1-64 characters of `[A-Za-z0-9+=,.@_-]`.
pub fn role_name(value: &str, input: &str) -> Result<(), ValidationError> {
    let hint = "Pick a shorter --name, or set --role-name explicitly (1-64 characters: letters, digits and + = , . @ _ -).";
    if value.is_empty() {
        return Err(ValidationError::new(
            input,
            value,
            "the role name is empty",
            hint,
        ));
    }
    let len = value.chars().count();
    if len > ROLE_NAME_MAX {
        return Err(ValidationError::new(
            input,
            value,
            format!("the role name is {len} characters; IAM allows {ROLE_NAME_MAX}"),
            hint,
        ));
    }
    if let Some(c) = value
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || "+=,.@_-".contains(*c)))
    {
        return Err(ValidationError::new(
            input,
            value,
            format!("IAM role names cannot contain `{c}`"),
            hint,
        ));
    }
    Ok(())
}

fn dns1123_label_problem(value: &str) -> Option<String> {
    if value.is_empty() {
        return Some("it is empty".into());
    }
    let chars = value.chars().count();
    if chars > 63 {
        return Some(format!("it is {chars} characters; the limit is 63"));
    }
    if let Some(c) = value
        .chars()
        .find(|c| !(c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '-'))
    {
        return Some(format!(
            "it contains `{c}`; only lower-case letters, digits and '-' are allowed"
        ));
    }
    if value.starts_with('-') || value.ends_with('-') {
        return Some("it must start and end with a letter or digit".into());
    }
    None
}

/// Namespace: a DNS-1123 label, or `*` for "any namespace" (wildcard trust).
pub fn namespace(value: &str) -> Result<(), ValidationError> {
    if value == "*" {
        return Ok(());
    }
    match dns1123_label_problem(value) {
        None => Ok(()),
        Some(problem) => Err(ValidationError::new(
            "--namespace",
            value,
            format!("{problem} (Kubernetes namespaces are DNS-1123 labels)"),
            "Use a name like `ai-pods`, or `*` for any namespace.",
        )),
    }
}

/// ServiceAccount names are DNS-1123 subdomains: dot-separated labels, at most 253 characters.
pub fn service_account(value: &str) -> Result<(), ValidationError> {
    let hint = "Use a name like `km`: lower-case letters, digits, '-' and '.'.";
    let chars = value.chars().count();
    if chars > 253 {
        return Err(ValidationError::new(
            "--service-account",
            value,
            format!("it is {chars} characters; the limit is 253"),
            hint,
        ));
    }
    // Characters first, against the whole name: a label's own rule ("only
    // '-'") would leave out the '.' a subdomain allows, and contradict the
    // hint (issue 26, item 14).
    if let Some(c) = value
        .chars()
        .find(|c| !(c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '-' | '.')))
    {
        return Err(ValidationError::new(
            "--service-account",
            value,
            format!(
                "it contains `{c}`; ServiceAccount names hold only lower-case letters, digits, '-' and '.'"
            ),
            "Use a name like `km`.",
        ));
    }
    for label in value.split('.') {
        if let Some(problem) = dns1123_label_problem(label) {
            return Err(ValidationError::new(
                "--service-account",
                value,
                format!("{problem} (ServiceAccount names are DNS-1123 subdomains)"),
                hint,
            ));
        }
    }
    Ok(())
}

/// ConfigMap names are DNS-1123 subdomains, as ServiceAccount names are.
pub fn config_map_name(value: &str) -> Result<(), ValidationError> {
    service_account(value).map_err(|e| {
        ValidationError::new(
            "--config-map-name",
            value,
            e.problem.replace("ServiceAccount names", "ConfigMap names"),
            "Use a name like `km-aws-config`: lower-case letters, digits, '-' and '.'.",
        )
    })
}

/// A ServiceAccount name, or with `allow_wide` a pattern with IAM wildcards
/// (`*`, `?`) that admits every matching ServiceAccount.
pub fn service_account_pattern(value: &str, allow_wide: bool) -> Result<(), ValidationError> {
    if !value.contains(['*', '?']) {
        return service_account(value);
    }
    if !allow_wide {
        return Err(ValidationError::new(
            "--service-account",
            value,
            "a wildcard lets every matching ServiceAccount assume the role, which is wider than one workload needs",
            "Name the ServiceAccount, or pass --allow-wide-trust if that is really intended.",
        ));
    }
    let literal = value.replace(['*', '?'], "a");
    service_account(&literal).map_err(|mut e| {
        e.value = value.to_string();
        e
    })
}

/// `--session-duration`: IAM's MaxSessionDuration range.
pub fn session_duration(value: u32) -> Result<(), ValidationError> {
    if (SESSION_MIN..=SESSION_MAX).contains(&value) {
        Ok(())
    } else {
        // The flag takes units, and its value arrives here as seconds. A
        // whole number of hours was most likely typed in hours (`13h`, not
        // `46800`, issue 26, item 14): echo it so, with the seconds beside
        // IAM's range; anything else as the seconds it most likely was.
        let (shown, seconds) = match value > 0 && value.is_multiple_of(3600) {
            true => (humanised(value), format!("that is {value} seconds; ")),
            false => (value.to_string(), String::new()),
        };
        Err(ValidationError::new(
            "--session-duration",
            shown,
            format!("{seconds}IAM allows {SESSION_MIN} to {SESSION_MAX} seconds (1h to 12h)"),
            "Pass a number of seconds in that range, e.g. 3600 for one hour.",
        ))
    }
}

/// Seconds as the flag takes them: `13h`, `1h30m`, `45s`.
fn humanised(seconds: u32) -> String {
    let (h, m, s) = (seconds / 3600, seconds / 60 % 60, seconds % 60);
    let parts = [(h, "h"), (m, "m"), (s, "s")];
    let text: String = parts
        .iter()
        .filter(|(n, _)| *n > 0)
        .map(|(n, unit)| format!("{n}{unit}"))
        .collect();
    if text.is_empty() { "0s".into() } else { text }
}

/// AWS region names such as `us-east-1`, `eu-central-2`, `us-gov-west-1`.
pub fn region(value: &str, input: &str) -> Result<(), ValidationError> {
    let parts: Vec<&str> = value.split('-').collect();
    let ok = parts.len() >= 3
        && parts[..parts.len() - 1]
            .iter()
            .all(|p| !p.is_empty() && p.chars().all(|c| c.is_ascii_lowercase()))
        && parts[parts.len() - 1].chars().all(|c| c.is_ascii_digit())
        && !parts[parts.len() - 1].is_empty();
    if ok {
        Ok(())
    } else {
        Err(ValidationError::new(
            input,
            value,
            "it is not an AWS region name",
            "Use a region such as `us-east-1`.",
        ))
    }
}

/// A `--tag KEY=VALUE` pair, checked against IAM's tag rules.
/// Whether IAM accepts `value` as a tag value (at most 256 characters of
/// `[\p{L}\p{Z}\p{N}_.:/=+\-@]`). A value that does not fit is not recorded.
pub fn tag_value_fits(value: &str) -> bool {
    value.chars().count() <= 256
        && value.chars().all(|c| {
            c.is_alphabetic()
                || c.is_numeric()
                || (c.is_whitespace() && !c.is_control())
                || "_.:/=+-@".contains(c)
        })
}

pub fn tag(raw: &str) -> Result<(String, String), ValidationError> {
    let hint = "Write tags as KEY=VALUE, e.g. --tag team=platform.";
    let Some((key, value)) = raw.split_once('=') else {
        return Err(ValidationError::new("--tag", raw, "there is no `=`", hint));
    };
    // IAM: [\p{L}\p{Z}\p{N}_.:/=+\-@]. \p{Z} is separators, not control
    // whitespace such as tab or newline.
    let allowed = |c: char| {
        c.is_alphabetic()
            || c.is_numeric()
            || (c.is_whitespace() && !c.is_control())
            || "_.:/=+-@".contains(c)
    };
    if key.is_empty() || key.chars().count() > 128 {
        return Err(ValidationError::new(
            "--tag",
            raw,
            "tag keys must be 1 to 128 characters",
            hint,
        ));
    }
    if value.chars().count() > 256 {
        return Err(ValidationError::new(
            "--tag",
            raw,
            "tag values may be at most 256 characters",
            hint,
        ));
    }
    if let Some(c) = key.chars().chain(value.chars()).find(|c| !allowed(*c)) {
        return Err(ValidationError::new(
            "--tag",
            raw,
            format!("IAM tags cannot contain `{c}`"),
            "Use letters, digits, spaces and _ . : / = + - @.",
        ));
    }
    if key.to_ascii_lowercase().starts_with("aws:") {
        return Err(ValidationError::new(
            "--tag",
            raw,
            "keys starting with `aws:` are reserved by AWS",
            hint,
        ));
    }
    // IAM tag keys are case-insensitive: `Klanker-Trust/Managed-By` would
    // replace the ownership tag.
    if key.to_lowercase().starts_with(RESERVED_TAG_PREFIX) {
        return Err(ValidationError::new(
            "--tag",
            raw,
            format!("keys starting with `{RESERVED_TAG_PREFIX}` are written by this tool"),
            "Choose another key.",
        ));
    }
    Ok((key.to_string(), value.to_string()))
}

/// All `--tag` flags, with the keys the tool adds itself (`own_keys`): IAM
/// compares keys without case and allows 50 tags on a role in all.
pub fn tag_set(
    raw: &[String],
    own_keys: &[&str],
) -> Result<std::collections::BTreeMap<String, String>, ValidationError> {
    let mut tags = std::collections::BTreeMap::new();
    let mut seen: std::collections::BTreeMap<String, &str> = std::collections::BTreeMap::new();
    for item in raw {
        let (key, value) = tag(item)?;
        if let Some(earlier) = seen.insert(key.to_lowercase(), item) {
            return Err(ValidationError::new(
                "--tag",
                item,
                format!(
                    "its key is the same as that of `{earlier}`: IAM tag keys do not distinguish case"
                ),
                "Give each key once.",
            ));
        }
        tags.insert(key, value);
    }
    let total = tags.len() + own_keys.len();
    if total > TAGS_MAX {
        return Err(ValidationError::new(
            "--tag",
            format!("{} tags", tags.len()),
            format!(
                "with the {} tags this tool writes that makes {total}; IAM allows {TAGS_MAX} on a role",
                own_keys.len()
            ),
            format!("Pass at most {} --tag flags.", TAGS_MAX - own_keys.len()),
        ));
    }
    Ok(tags)
}

/// The tags an existing role would carry after `add`: its own (kept, since
/// `--tag` never removes) and the ones written, keys compared without case.
pub fn merged_tag_count<'a>(
    existing: impl IntoIterator<Item = &'a String>,
    written: impl IntoIterator<Item = &'a String>,
    role: &str,
) -> Result<(), ValidationError> {
    let keys: std::collections::BTreeSet<String> = existing
        .into_iter()
        .chain(written)
        .map(|k| k.to_lowercase())
        .collect();
    if keys.len() > TAGS_MAX {
        return Err(ValidationError::new(
            "--tag",
            role,
            format!(
                "the role already has tags; with these it would carry {}, and IAM allows {TAGS_MAX}",
                keys.len()
            ),
            "Pass fewer --tag flags, or remove tags from the role first.",
        ));
    }
    Ok(())
}

/// The role description derived from `--name`: IAM allows 1000 characters.
pub fn description(text: &str, name: &str) -> Result<(), ValidationError> {
    let len = text.chars().count();
    if len > DESCRIPTION_MAX {
        return Err(ValidationError::new(
            "--name",
            name,
            format!(
                "the role description made from it is {len} characters; IAM allows {DESCRIPTION_MAX}"
            ),
            "Pick a shorter --name, --namespace or --service-account.",
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Issue 26, item 14: `bad_name!` was told "only lower-case letters,
    /// digits and '-'" and then "'-' and '.'": one rule, said once.
    #[test]
    fn a_bad_service_account_name_gets_one_true_rule() {
        let text = service_account("bad_name!").unwrap_err().to_string();
        assert_eq!(
            text,
            "--service-account `bad_name!` is not valid: it contains `_`; ServiceAccount names hold only lower-case letters, digits, '-' and '.'. Use a name like `km`."
        );
        assert!(service_account("a.b-c").is_ok());
        let empty_label = service_account("a..b").unwrap_err().to_string();
        assert!(empty_label.contains("it is empty"), "{empty_label}");
        let config_map = config_map_name("Team").unwrap_err().to_string();
        assert!(
            config_map
                .contains("ConfigMap names hold only lower-case letters, digits, '-' and '.'"),
            "{config_map}"
        );
    }

    /// Issue 26: a missing value read "NAME `` is not valid: it is required".
    #[test]
    fn a_missing_value_is_named_as_missing_not_quoted_empty() {
        let missing = ValidationError::new(
            "--name",
            "",
            "it is required when the context does not name an EKS cluster",
            "Pass --name NAME.",
        );
        assert_eq!(
            missing.to_string(),
            "--name: it is required when the context does not name an EKS cluster. Pass --name NAME."
        );
        let given = ValidationError::new("--name", "a b", "bad", "Fix it.");
        assert_eq!(given.to_string(), "--name `a b` is not valid: bad. Fix it.");
    }

    #[test]
    fn a_role_session_name_is_what_sts_takes() {
        assert!(role_session_name("ab", "--name").is_ok());
        assert!(role_session_name(&"x".repeat(64), "--name").is_ok());
        assert!(role_session_name("dev.use1_0@a+b=c,d", "--name").is_ok());
        for bad in ["a", &"x".repeat(65), "a b", "dev/0", ""] {
            let err = role_session_name(bad, "--name").unwrap_err();
            assert_eq!(err.input, "--name", "{bad}");
        }
    }

    #[test]
    fn cluster_records_fit_iam_tag_values() {
        assert!(tag_value_fits(
            "arn:aws:eks:us-east-1:222222222222:cluster/dev"
        ));
        assert!(tag_value_fits("https://127.0.0.1:6443"));
        assert!(!tag_value_fits("https://x.example.com/?a=b&c"));
        assert!(!tag_value_fits(&"a".repeat(257)));
    }

    #[test]
    fn registry_names() {
        for ok in ["dev-use1-0", "a", "Prod_1.eu", "0cluster"] {
            assert!(registry_name(ok).is_ok(), "{ok}");
        }
        for bad in ["", "-x", ".x", "a b", "a/b", "a*", "ünï"] {
            assert!(registry_name(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn registry_name_fits_the_name_tag() {
        assert!(registry_name(&"a".repeat(TAG_VALUE_MAX)).is_ok());
        let err = registry_name(&"a".repeat(300)).unwrap_err();
        assert!(err.problem.contains("300 characters"), "{err}");
        assert!(err.problem.contains("klanker-trust/name"), "{err}");
    }

    #[test]
    fn tag_keys_are_compared_without_case() {
        let own = ["klanker-trust/managed-by", "klanker-trust/name"];
        let ok = tag_set(&["team=a".into(), "env=b".into()], &own).unwrap();
        assert_eq!(ok.len(), 2);
        let err = tag_set(&["Team=a".into(), "team=b".into()], &own).unwrap_err();
        assert!(err.problem.contains("`Team=a`"), "{err}");
        assert!(tag_set(&["k=1".into(), "k=1".into()], &own).is_err());
    }

    #[test]
    fn at_most_fifty_tags_counting_the_tools_own() {
        let own = ["klanker-trust/managed-by", "klanker-trust/name"];
        let many = |n: usize| (0..n).map(|i| format!("k{i}=v")).collect::<Vec<_>>();
        assert!(tag_set(&many(48), &own).is_ok());
        let err = tag_set(&many(49), &own).unwrap_err();
        assert!(err.problem.contains("51"), "{err}");
        assert!(err.hint.contains("at most 48"), "{err}");
    }

    #[test]
    fn tags_already_on_the_role_count_too() {
        let existing: Vec<String> = (0..46).map(|i| format!("old{i}")).collect();
        let written: Vec<String> = ["OLD0", "klanker-trust/name", "new1", "new2", "new3"]
            .map(String::from)
            .to_vec();
        assert!(merged_tag_count(&existing, &written, "r").is_ok());
        let more: Vec<String> = written.iter().cloned().chain(["new4".into()]).collect();
        let err = merged_tag_count(&existing, &more, "r").unwrap_err();
        assert!(err.problem.contains("carry 51"), "{err}");
    }

    #[test]
    fn descriptions() {
        assert!(description(&"d".repeat(DESCRIPTION_MAX), "n").is_ok());
        let err = description(&"d".repeat(DESCRIPTION_MAX + 1), "n").unwrap_err();
        assert!(err.problem.contains("1001 characters"), "{err}");
    }

    #[test]
    fn role_name_length_boundary() {
        assert!(role_name(&"a".repeat(64), "--role-name").is_ok());
        let err = role_name(&"a".repeat(65), "--role-name").unwrap_err();
        assert!(err.problem.contains("65 characters"), "{err}");
        assert!(err.to_string().contains("--role-name"));
    }

    #[test]
    fn role_name_charset() {
        assert!(role_name("km-cluster+=,.@_x", "--role-name").is_ok());
        for bad in ["", "with space", "a/b", "a*b", "a:b"] {
            assert!(role_name(bad, "--role-name").is_err(), "{bad}");
        }
    }

    #[test]
    fn namespaces() {
        for ok in ["*", "ai-pods", "a", "default", &"a".repeat(63)] {
            assert!(namespace(ok).is_ok(), "{ok}");
        }
        for bad in [
            "",
            "AI",
            "a_b",
            "-a",
            "a-",
            "a.b",
            &"a".repeat(64),
            "**",
            "a*",
        ] {
            assert!(namespace(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn service_accounts() {
        for ok in ["km", "a.b-c", "x1"] {
            assert!(service_account(ok).is_ok(), "{ok}");
        }
        for bad in ["", "*", "KM", "a..b", ".a", "a.", "a_b", &"a".repeat(254)] {
            assert!(service_account(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn wildcard_service_accounts_need_allow_wide() {
        assert!(service_account_pattern("km", false).is_ok());
        let err = service_account_pattern("*", false).unwrap_err();
        assert!(err.hint.contains("--allow-wide-trust"), "{err}");
        assert!(service_account_pattern("*", true).is_ok());
        assert!(service_account_pattern("km-*", true).is_ok());
        assert!(service_account_pattern("KM-*", true).is_err());
        assert_eq!(
            service_account_pattern("KM-*", true).unwrap_err().value,
            "KM-*"
        );
    }

    #[test]
    fn a_session_duration_out_of_range_is_echoed_with_units() {
        let text = session_duration(46800).unwrap_err().to_string();
        assert!(
            text.starts_with("--session-duration `13h` is not valid: that is 46800 seconds; IAM allows 3600 to 43200 seconds (1h to 12h)."),
            "{text}"
        );
        // Anything but whole hours is echoed as the seconds it was.
        let text = session_duration(60).unwrap_err().to_string();
        assert!(
            text.starts_with("--session-duration `60` is not valid: IAM allows 3600 to 43200 seconds (1h to 12h)."),
            "{text}"
        );
        assert_eq!(humanised(5400), "1h30m");
        assert_eq!(humanised(1800), "30m");
        assert_eq!(humanised(43201), "12h1s");
        assert_eq!(humanised(0), "0s");
    }

    #[test]
    fn session_durations() {
        assert!(session_duration(3600).is_ok());
        assert!(session_duration(43200).is_ok());
        assert!(session_duration(3599).is_err());
        assert!(session_duration(43201).is_err());
    }

    #[test]
    fn regions() {
        for ok in [
            "us-east-1",
            "eu-central-2",
            "us-gov-west-1",
            "ap-southeast-5",
        ] {
            assert!(region(ok, "--region").is_ok(), "{ok}");
        }
        for bad in [
            "",
            "us-east",
            "US-EAST-1",
            "useast1",
            "us-east-1a",
            "-east-1",
        ] {
            assert!(region(bad, "--region").is_err(), "{bad}");
        }
    }

    #[test]
    fn tags() {
        assert_eq!(
            tag("team=platform").unwrap(),
            ("team".into(), "platform".into())
        );
        assert_eq!(tag("k=").unwrap(), ("k".into(), "".into()));
        assert_eq!(tag("k=a=b").unwrap(), ("k".into(), "a=b".into()));
        for bad in [
            "novalue",
            "=v",
            "aws:x=1",
            "AWS:x=1",
            "klanker-trust/name=x",
            "Klanker-Trust/Managed-By=x",
            "KLANKER-TRUST/name=x",
            "team=a\tb",
            "team=a\nb",
            "k=v;",
            "k#=v",
        ] {
            assert!(tag(bad).is_err(), "{bad}");
        }
        assert!(tag(&format!("{}=v", "k".repeat(129))).is_err());
        assert!(tag(&format!("k={}", "v".repeat(257))).is_err());
    }
}
