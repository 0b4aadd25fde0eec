//! The account quotas `add` plans against, before any write: OIDC providers
//! and roles per account, and the role trust policy's length. Each is the value
//! Service Quotas says is applied when the identity may read it, else AWS's
//! default; the plan says which. Pure: observe reads, this judges.

use super::PlanError;

/// One IAM quota as Service Quotas names it, with AWS's default.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QuotaCode {
    pub code: &'static str,
    pub default: usize,
    /// What a quota increase can raise it to.
    pub max: usize,
}

/// Service Quotas' service code of IAM's quotas.
pub const IAM_SERVICE: &str = "iam";
/// OpenID Connect providers per account.
pub const PROVIDERS: QuotaCode = QuotaCode {
    code: "L-858F3967",
    default: 100,
    max: 700,
};
/// IAM roles per account.
pub const ROLES: QuotaCode = QuotaCode {
    code: "L-FE177D64",
    default: 1000,
    max: 5000,
};
/// Role trust policy length, in characters without whitespace.
pub const TRUST_LENGTH: QuotaCode = QuotaCode {
    code: "L-C07B4B0D",
    default: crate::trust::policy::DEFAULT_MAX_TRUST_POLICY_SIZE,
    max: crate::trust::policy::MAX_TRUST_POLICY_QUOTA,
};

/// A quota's value and where it came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Quota {
    pub value: usize,
    pub source: QuotaSource,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum QuotaSource {
    /// Read with servicequotas:GetServiceQuota.
    Applied,
    /// AWS's default, assumed: why the applied value was not read.
    Default { why: String },
    /// Given on the command line (--max-trust-policy-size).
    Flag,
}

impl Quota {
    /// The applied value when `read` has one (a whole number, at least 1),
    /// else `of`'s default, with why (`refused`: access was denied).
    pub fn from_read(of: QuotaCode, read: Result<f64, QuotaUnread>) -> Quota {
        let why = match read {
            Ok(v) if v.is_finite() && v >= 1.0 && v <= usize::MAX as f64 => {
                return Quota {
                    value: v as usize,
                    source: QuotaSource::Applied,
                };
            }
            Ok(v) => format!("servicequotas:GetServiceQuota answered {v}"),
            Err(QuotaUnread::Refused) => "servicequotas:GetServiceQuota was refused".into(),
            Err(QuotaUnread::Failed(e)) => format!("servicequotas:GetServiceQuota failed: {e}"),
        };
        Quota {
            value: of.default,
            source: QuotaSource::Default { why },
        }
    }
}

/// Why a quota's applied value was not read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum QuotaUnread {
    /// Access denied: the identity may not read quotas.
    Refused,
    /// Any other failure, as said by the adapter.
    Failed(String),
}

impl std::fmt::Display for Quota {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.source {
            QuotaSource::Applied => write!(f, "quota {} (applied)", self.value),
            QuotaSource::Default { why } => write!(f, "quota {} (the default: {why})", self.value),
            QuotaSource::Flag => write!(f, "limit {} (--max-trust-policy-size)", self.value),
        }
    }
}

/// The trust policy limit `add` checks against: `--max-trust-policy-size`
/// when given, else the quota read from the account (`read`), else the
/// default (not read: nothing needed it).
pub fn trust_limit(flag: Option<usize>, read: Option<&Quota>) -> Quota {
    match (flag, read) {
        (Some(value), _) => Quota {
            value,
            source: QuotaSource::Flag,
        },
        (None, Some(read)) => read.clone(),
        (None, None) => Quota {
            value: TRUST_LENGTH.default,
            source: QuotaSource::Default {
                why: "not read".into(),
            },
        },
    }
}

/// An account's OIDC providers as counted by ListOpenIDConnectProviders,
/// and its quota.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProviderQuota {
    pub count: usize,
    pub quota: Quota,
}

/// One account's provider count against its quota, one more to come.
pub fn judge_providers(
    read: &ProviderQuota,
    account: &'static str,
) -> Result<Option<String>, PlanError> {
    let (count, quota) = (read.count, &read.quota);
    if count >= quota.value {
        return Err(PlanError::ProviderQuotaReached {
            account,
            count,
            quota: quota.to_string(),
        });
    }
    // As a batch of one is judged: by where the account ends after this add.
    Ok(near(count + 1, quota.value).then(|| {
        format!(
            "the {account} account holds {count} OIDC providers, {quota} (L-858F3967): this add creates one more; at the quota the next is refused. Request a quota increase (up to {}), or onboard further clusters with --mode chained or --mode pod-identity, which put no provider in the klanker account.",
            PROVIDERS.max
        )
    }))
}

/// One account's share of a batch (several clusters planned together):
/// the providers it holds and its quota, as one cluster's plan read them,
/// and the distinct providers the batch's plans create there.
#[derive(Debug, Clone)]
pub struct BatchProviders {
    pub account: String,
    pub read: ProviderQuota,
    pub creating: usize,
}

/// A batch's new providers against each account's quota, all judged up
/// front: refused before any write when they do not all fit, warned when
/// the account ends within 10% of its quota.
pub fn judge_batch(batch: &[BatchProviders]) -> Result<Vec<String>, PlanError> {
    let mut warnings = Vec::new();
    for BatchProviders {
        account,
        read,
        creating,
    } in batch.iter().filter(|b| b.creating > 0)
    {
        let (count, quota) = (read.count, &read.quota);
        let after = count + creating;
        if after > quota.value {
            return Err(PlanError::BatchProviderQuota {
                account: account.clone(),
                count,
                creating: *creating,
                fits: quota.value.saturating_sub(count),
                quota: quota.to_string(),
            });
        }
        if near(after, quota.value) {
            warnings.push(format!(
                "account {account} holds {count} OIDC providers, {quota} (L-858F3967): these clusters create {creating} more, {after} in all; at the quota the next is refused. Request a quota increase (up to {}), or onboard further clusters with --mode chained or --mode pod-identity.",
                PROVIDERS.max
            ));
        }
    }
    Ok(warnings)
}

/// An account's IAM roles as iam:GetAccountSummary counts them, and the
/// roles-per-account quota.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoleQuota {
    pub count: RoleCount,
    pub quota: Quota,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RoleCount {
    Counted(usize),
    /// Not counted, and why: the check is skipped and the plan says so,
    /// since a denied summary must not stop an `add` IAM would allow.
    Unread {
        why: String,
    },
}

/// Whether `after` (providers or roles) ends within the last 10% of `quota`:
/// warned (over the quota is refused before this is asked).
fn near(after: usize, quota: usize) -> bool {
    after * 10 >= quota * 9
}

/// One account's roles against its quota, with `creating` (the names of
/// the roles this add creates there) to come: refused when they do not
/// fit, warned when the account ends within 10% of its quota, and said
/// when the roles could not be counted.
pub fn judge_roles(
    read: &RoleQuota,
    account: &'static str,
    creating: &[String],
) -> Result<Option<String>, PlanError> {
    let quota = &read.quota;
    let count = match &read.count {
        RoleCount::Counted(count) => *count,
        RoleCount::Unread { why } => {
            return Ok(Some(format!(
                "the {account} account's roles were not counted ({why}), so its roles-per-account quota (L-FE177D64) was not checked before creating {}.",
                role_names(creating)
            )));
        }
    };
    let after = count + creating.len();
    if after > quota.value {
        return Err(PlanError::RoleQuotaReached {
            account,
            count,
            quota: quota.to_string(),
            roles: role_names(creating),
        });
    }
    Ok(near(after, quota.value).then(|| {
        format!(
            "the {account} account holds {count} IAM roles, {quota} (L-FE177D64): this add creates {}, {after} in all; at the quota the next is refused. Request a quota increase (up to 5,000), or delete roles the account no longer uses.",
            creating.len(),
        )
    }))
}

/// `role NAME`, or `roles A and B`, for the messages.
fn role_names(names: &[String]) -> String {
    match names {
        [one] => format!("role {one}"),
        _ => format!("roles {}", names.join(" and ")),
    }
}

/// One account's roles in a batch: as one cluster's plan counted them,
/// and how many distinct roles the batch's plans create there.
#[derive(Debug, Clone)]
pub struct BatchRoles {
    pub account: String,
    pub read: RoleQuota,
    pub creating: usize,
}

/// A batch's new roles against each account's quota, all judged up front,
/// as `judge_batch` judges providers. An account whose roles were not
/// counted is skipped: each plan already said so.
pub fn judge_batch_roles(batch: &[BatchRoles]) -> Result<Vec<String>, PlanError> {
    let mut warnings = Vec::new();
    for BatchRoles {
        account,
        read,
        creating,
    } in batch.iter().filter(|b| b.creating > 0)
    {
        let (RoleCount::Counted(count), quota) = (&read.count, &read.quota) else {
            continue;
        };
        let after = count + creating;
        if after > quota.value {
            return Err(PlanError::BatchRoleQuota {
                account: account.clone(),
                count: *count,
                creating: *creating,
                fits: quota.value.saturating_sub(*count),
                quota: quota.to_string(),
            });
        }
        if near(after, quota.value) {
            warnings.push(format!(
                "account {account} holds {count} IAM roles, {quota} (L-FE177D64): these clusters create {creating} more, {after} in all; at the quota the next is refused. Request a quota increase (up to 5,000), or delete roles the account no longer uses.",
            ));
        }
    }
    Ok(warnings)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    pub(crate) fn read(count: usize, value: usize, source: QuotaSource) -> ProviderQuota {
        ProviderQuota {
            count,
            quota: Quota { value, source },
        }
    }

    #[test]
    fn at_the_quota_refused_near_it_warned_below_quiet() {
        let err = judge_providers(&read(100, 100, QuotaSource::Applied), "klanker").unwrap_err();
        let text = err.to_string();
        assert!(text.contains("100 OIDC providers"), "{text}");
        assert!(text.contains("quota 100 (applied)"), "{text}");
        assert!(
            text.contains("--mode chained") && text.contains("--mode pod-identity"),
            "{text}"
        );
        let warned = judge_providers(&read(90, 100, QuotaSource::Applied), "klanker").unwrap();
        assert!(warned.is_some_and(|w| w.contains("holds 90 OIDC providers")));
        // 89 and this one make 90: the same line a batch of one draws.
        let warned = judge_providers(&read(89, 100, QuotaSource::Applied), "klanker").unwrap();
        assert!(warned.is_some_and(|w| w.contains("holds 89 OIDC providers")));
        assert_eq!(
            judge_providers(&read(88, 100, QuotaSource::Applied), "klanker"),
            Ok(None)
        );
        assert_eq!(
            judge_providers(&read(100, 200, QuotaSource::Applied), "klanker"),
            Ok(None)
        );
    }

    #[test]
    fn a_batch_is_judged_whole_against_each_account() {
        let batch = |count, creating| BatchProviders {
            account: "333333333333".into(),
            read: read(count, 100, QuotaSource::Applied),
            creating,
        };
        // Each of 5 fits alone at 96; the 5 together do not: refused, saying how many fit.
        let err = judge_batch(&[batch(96, 5)]).unwrap_err().to_string();
        assert!(
            err.contains("96 OIDC providers") && err.contains("5 new"),
            "{err}"
        );
        assert!(err.contains("only 4 fit"), "{err}");
        let warned = judge_batch(&[batch(80, 12)]).unwrap();
        assert!(warned[0].contains("92 in all"), "{warned:?}");
        assert!(
            judge_batch(&[batch(80, 5), batch(99, 0)])
                .unwrap()
                .is_empty()
        );
        assert!(judge_batch(&[batch(95, 5)]).is_ok());
    }

    #[test]
    fn an_existing_provider_is_reused_whatever_the_count() {
        use crate::plan::testing;
        let req = testing::issuer_url_request(&[]);
        let provider = crate::plan::ObservedProvider {
            arn: format!(
                "arn:aws:iam::{}:oidc-provider/oidc.eks.us-east-1.amazonaws.com/id/ABC",
                testing::KLANKER_ACCOUNT
            ),
            client_ids: vec![crate::trust::STS_AUDIENCE.into()],
            tags: std::collections::BTreeMap::from([(
                crate::trust::MANAGED_BY_TAG.to_string(),
                crate::trust::MANAGED_BY_VALUE.to_string(),
            )]),
        };
        let observed = crate::plan::Observed {
            provider: Some(provider),
            ..Default::default()
        };
        let mut snap = testing::snapshot(&req, testing::ISSUER_ACCOUNT, observed, None);
        snap.provider_quota = Some(read(100, 100, QuotaSource::Applied));
        assert!(crate::plan::mode::plan_add(&req, &snap).is_ok());
    }

    pub(crate) fn roles(count: RoleCount, value: usize) -> RoleQuota {
        RoleQuota {
            count,
            quota: Quota {
                value,
                source: QuotaSource::Applied,
            },
        }
    }

    fn named(names: &[&str]) -> Vec<String> {
        names.iter().map(|n| n.to_string()).collect()
    }

    #[test]
    fn a_role_with_no_room_is_refused_near_the_quota_warned() {
        let one = named(&["km-cluster-dev"]);
        let at = roles(RoleCount::Counted(1000), 1000);
        let err = judge_roles(&at, "klanker", &one).unwrap_err().to_string();
        assert!(err.contains("holds 1000 IAM roles"), "{err}");
        assert!(err.contains("quota 1000 (applied)"), "{err}");
        assert!(
            err.contains("role km-cluster-dev cannot be created"),
            "{err}"
        );
        assert!(
            err.contains("up to 5,000") && err.contains("no longer uses"),
            "{err}"
        );
        // The last slot is taken, with a warning that the next is refused.
        let last = roles(RoleCount::Counted(999), 1000);
        let warned = judge_roles(&last, "cluster", &one).unwrap();
        assert!(warned.is_some_and(
            |w| w.contains("cluster account holds 999 IAM roles") && w.contains("1000 in all")
        ));
        let clear = roles(RoleCount::Counted(898), 1000);
        assert_eq!(judge_roles(&clear, "klanker", &one), Ok(None));
        let ninety = roles(RoleCount::Counted(899), 1000);
        assert!(judge_roles(&ninety, "klanker", &one).unwrap().is_some());
        // Two roles in one account (a cluster in the klanker account) need two slots.
        let two = named(&["km-cluster-dev", "km-irsa-dev"]);
        let err = judge_roles(&last, "klanker", &two).unwrap_err().to_string();
        assert!(
            err.contains("roles km-cluster-dev and km-irsa-dev"),
            "{err}"
        );
    }

    #[test]
    fn uncounted_roles_skip_the_check_and_say_why() {
        let why = "iam:GetAccountSummary was refused".to_string();
        let read = roles(RoleCount::Unread { why }, 1000);
        let said = judge_roles(&read, "klanker", &named(&["km-cluster-dev"]))
            .unwrap()
            .expect("said");
        assert!(
            said.contains("not counted (iam:GetAccountSummary was refused)"),
            "{said}"
        );
        assert!(
            said.contains("L-FE177D64") && said.contains("km-cluster-dev"),
            "{said}"
        );
        // An unread quota is the default, 1,000, said as such.
        let q = Quota::from_read(ROLES, Err(QuotaUnread::Refused));
        assert_eq!(q.value, 1000);
        assert!(q.to_string().contains("the default"), "{q}");
    }

    #[test]
    fn a_batch_of_roles_is_judged_whole_against_each_account() {
        let batch = |count, creating| BatchRoles {
            account: "333333333333".into(),
            read: roles(RoleCount::Counted(count), 1000),
            creating,
        };
        // Each of 5 fits alone at 997; the 5 together do not.
        let err = judge_batch_roles(&[batch(997, 5)]).unwrap_err().to_string();
        assert!(
            err.contains("997 IAM roles") && err.contains("5 new"),
            "{err}"
        );
        assert!(err.contains("only 3 fit"), "{err}");
        let warned = judge_batch_roles(&[batch(890, 20)]).unwrap();
        assert!(warned[0].contains("910 in all"), "{warned:?}");
        assert!(
            judge_batch_roles(&[batch(800, 5), batch(1000, 0)])
                .unwrap()
                .is_empty()
        );
        assert!(judge_batch_roles(&[batch(995, 5)]).is_ok());
        // An uncounted account is skipped: its plans said so.
        let unread = BatchRoles {
            read: roles(RoleCount::Unread { why: "x".into() }, 1000),
            ..batch(0, 5000)
        };
        assert_eq!(judge_batch_roles(&[unread]), Ok(Vec::new()));
    }

    #[test]
    fn the_flag_wins_over_the_read_trust_quota() {
        let applied = Quota::from_read(TRUST_LENGTH, Ok(4096.0));
        assert_eq!(trust_limit(Some(3000), Some(&applied)).value, 3000);
        assert_eq!(trust_limit(None, Some(&applied)), applied);
        assert_eq!(trust_limit(None, None).value, 2048);
    }

    #[test]
    fn an_unread_quota_is_the_default_and_says_why() {
        let q = Quota::from_read(PROVIDERS, Err(QuotaUnread::Refused));
        assert_eq!(q.value, 100);
        assert_eq!(
            q.to_string(),
            "quota 100 (the default: servicequotas:GetServiceQuota was refused)"
        );
        let q = Quota::from_read(PROVIDERS, Ok(250.0));
        assert_eq!(q.to_string(), "quota 250 (applied)");
        // Nonsense from a server is not trusted: the default, said.
        let q = Quota::from_read(TRUST_LENGTH, Ok(0.0));
        assert_eq!(q.value, 2048);
        assert!(matches!(q.source, QuotaSource::Default { .. }));
        let q = Quota::from_read(TRUST_LENGTH, Err(QuotaUnread::Failed("timeout".into())));
        assert!(q.to_string().contains("failed: timeout"), "{q}");
    }
}
