//! What `describe` says: the live state of one onboarding, as text, JSON
//! or YAML (one shape for all three).

use std::collections::BTreeMap;

use serde::Serialize;

use super::{Out, Structured, visible};
use crate::cli::ReportOutput;
use crate::error::Error;
use crate::plan::describe::is_subject;
use crate::plan::snapshot::Onboarding;
use crate::plan::snapshot::{Provider, Seen};
use crate::trust::{ROLE_ARN_ANNOTATION, TOKEN_EXPIRATION_ANNOTATION};
use crate::verify::AgentAddon;

#[derive(Debug, Serialize)]
pub struct Description {
    pub name: String,
    pub klanker_account: String,
    pub role_name: String,
    pub mode: crate::trust::TrustMode,
    /// The cluster role in the cluster's account, in a mode that has one
    /// (`verify` checks it).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cluster_role_arn: Option<String>,
    /// `None`: the role does not exist.
    pub role: Option<RoleView>,
    /// `None`: no provider is known (no role names one).
    pub oidc_provider: Option<ProviderView>,
    /// The context the ServiceAccounts were read through.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub context: Option<String>,
    pub service_accounts: Vec<AccountView>,
    /// Why the cluster was not read, when it was not.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cluster_not_read: Option<String>,
    /// EKS Pod Identity, in a mode whose pods get credentials from it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pod_identity: Option<PodIdentityView>,
    pub drift: Vec<String>,
}

/// The association role, the associations and the agent add-on, as read.
#[derive(Debug, Serialize)]
pub struct PodIdentityView {
    /// Why they were not read, when they were not.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub not_read: Option<String>,
    pub cluster: String,
    pub agent_add_on: String,
    pub association_role_arn: String,
    /// `None`: the association role does not exist.
    pub association_role: Option<RoleView>,
    pub inline_policies: BTreeMap<String, serde_json::Value>,
    pub associations: Vec<AssociationView>,
}

#[derive(Debug, Serialize)]
pub struct AssociationView {
    pub namespace: String,
    pub service_account: String,
    /// `None`: no association for this ServiceAccount.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub role_arn: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub target_role_arn: Option<String>,
    pub session_tags: bool,
}

fn pod_identity_view(seen: &Seen) -> Option<PodIdentityView> {
    let facts = match seen.associations.as_ref()? {
        Ok(facts) => facts,
        Err(why) => {
            return Some(PodIdentityView {
                not_read: Some(why.clone()),
                cluster: String::new(),
                agent_add_on: String::new(),
                association_role_arn: String::new(),
                association_role: None,
                inline_policies: BTreeMap::new(),
                associations: Vec::new(),
            });
        }
    };
    Some(PodIdentityView {
        not_read: None,
        cluster: facts.cluster_name.clone(),
        agent_add_on: match &facts.agent {
            AgentAddon::Active => "ACTIVE".into(),
            AgentAddon::Other(status) => status.clone(),
            AgentAddon::Missing => "not installed".into(),
            AgentAddon::Unknown(why) => format!("unknown ({why})"),
        },
        association_role_arn: facts.association_role_arn.clone(),
        association_role: facts.association_role.as_ref().map(|r| RoleView {
            arn: r.arn.clone(),
            max_session_seconds: r.max_session,
            tags: BTreeMap::new(),
            permissions_boundary: None,
            trust_policy: r.trust_policy.clone(),
            attached_policies: r.attached_policies.iter().cloned().collect(),
        }),
        inline_policies: facts.inline_policies.clone(),
        associations: facts
            .subjects
            .iter()
            .map(|s| AssociationView {
                namespace: s.namespace.clone(),
                service_account: s.service_account.clone(),
                id: s.association.as_ref().map(|a| a.id.clone()),
                role_arn: s.association.as_ref().map(|a| a.role_arn.clone()),
                target_role_arn: s
                    .association
                    .as_ref()
                    .and_then(|a| a.target_role_arn.clone()),
                session_tags: s
                    .association
                    .as_ref()
                    .is_some_and(|a| !a.session_tags_disabled),
            })
            .collect(),
    })
}

fn pod_identity_text(d: &Description, out: &mut String) {
    let Some(p) = &d.pod_identity else {
        return;
    };
    if let Some(why) = &p.not_read {
        out.push_str(&format!(
            "Pod Identity:      not read: {}
",
            visible(why)
        ));
        return;
    }
    out.push_str(&format!(
        "Pod Identity:      cluster {}, agent add-on {}
",
        visible(&p.cluster),
        visible(&p.agent_add_on)
    ));
    match &p.association_role {
        None => out.push_str(&format!(
            "  Association role: {} (does not exist)
",
            visible(&p.association_role_arn)
        )),
        Some(role) => {
            out.push_str(&format!(
                "  Association role: {}
",
                visible(&role.arn)
            ));
            out.push_str(
                "    Trust policy:
",
            );
            pretty_lines(&role.trust_policy, "      ", out);
            for (name, doc) in &p.inline_policies {
                out.push_str(&format!(
                    "    Inline policy {}:
",
                    visible(name)
                ));
                pretty_lines(doc, "      ", out);
            }
        }
    }
    for a in &p.associations {
        let subject = format!("{}/{}", visible(&a.namespace), visible(&a.service_account));
        match &a.id {
            None => out.push_str(&format!(
                "  Association for {subject}: none
"
            )),
            Some(id) => out.push_str(&format!(
                "  Association {} for {subject}: role {}, target {}, session tags {}
",
                visible(id),
                visible(a.role_arn.as_deref().unwrap_or("-")),
                visible(a.target_role_arn.as_deref().unwrap_or("-")),
                if a.session_tags { "on" } else { "off" }
            )),
        }
    }
}

fn pretty_lines(doc: &serde_json::Value, indent: &str, out: &mut String) {
    let pretty = serde_json::to_string_pretty(doc).unwrap_or_else(|_| doc.to_string());
    for line in pretty.lines() {
        out.push_str(&format!(
            "{indent}{}
",
            visible(line)
        ));
    }
}

#[derive(Debug, Serialize)]
pub struct RoleView {
    pub arn: String,
    pub max_session_seconds: u32,
    pub tags: BTreeMap<String, String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub permissions_boundary: Option<String>,
    pub trust_policy: serde_json::Value,
    pub attached_policies: Vec<String>,
}

#[derive(Debug, Serialize)]
pub struct ProviderView {
    pub arn: String,
    pub exists: bool,
    /// Whether this tool created it (its managed-by tag); `None` when it does not exist.
    pub created_by_this_tool: Option<bool>,
    pub client_ids: Vec<String>,
}

#[derive(Debug, Serialize)]
pub struct AccountView {
    pub namespace: String,
    pub name: String,
    /// The ServiceAccount the trust policy names.
    pub trusted_subject: bool,
    pub role_arn: Option<String>,
    pub token_expiration: Option<String>,
    pub created_by_this_tool: bool,
}

fn yes_no(value: bool) -> &'static str {
    if value { "yes" } else { "no" }
}

/// The text report: one section per part of the chain; drift lines wrapped
/// at words to `width` (a terminal's), under their dash.
pub fn text(d: &Description, width: Option<usize>) -> String {
    let mut out = format!(
        "Name:              {}\nKlanker account:   {}\nMode:              {}\n",
        visible(&d.name),
        visible(&d.klanker_account),
        d.mode.as_str()
    );
    if let Some(cluster_role) = &d.cluster_role_arn {
        out.push_str(&format!(
            "Cluster role:      {} (assumes the role below; `verify` checks it)\n",
            visible(cluster_role)
        ));
    }
    role_text(d, &mut out);
    provider_text(d, &mut out);
    service_accounts_text(d, &mut out);
    pod_identity_text(d, &mut out);
    if d.drift.is_empty() {
        // Nothing found is not "none" when the cluster's half was not looked at.
        out.push_str(match d.cluster_not_read {
            Some(_) => "Drift:             unknown (the cluster was not read; see above)\n",
            None => "Drift:             none\n",
        });
    } else {
        out.push_str("Drift:\n");
        for line in &d.drift {
            out.push_str(&super::wrap_hanging(&visible(line), width, "  - ", "    "));
            out.push('\n');
        }
    }
    out
}

fn role_text(d: &Description, out: &mut String) {
    match &d.role {
        None => out.push_str(&format!(
            "Role:              {} (does not exist)\n",
            visible(&d.role_name)
        )),
        Some(role) => {
            out.push_str(&format!("Role:              {}\n", visible(&d.role_name)));
            out.push_str(&format!("  ARN:             {}\n", visible(&role.arn)));
            out.push_str(&format!(
                "  Max session:     {}s\n",
                role.max_session_seconds
            ));
            if let Some(b) = &role.permissions_boundary {
                out.push_str(&format!("  Boundary:        {}\n", visible(b)));
            }
            out.push_str("  Tags:\n");
            for (k, v) in &role.tags {
                out.push_str(&format!("    {}={}\n", visible(k), visible(v)));
            }
            out.push_str("  Trust policy:\n");
            let pretty = serde_json::to_string_pretty(&role.trust_policy)
                .unwrap_or_else(|_| role.trust_policy.to_string());
            for line in pretty.lines() {
                out.push_str(&format!("    {}\n", visible(line)));
            }
            out.push_str("  Attached policies:\n");
            if role.attached_policies.is_empty() {
                out.push_str("    (none)\n");
            }
            for p in &role.attached_policies {
                out.push_str(&format!("    {}\n", visible(p)));
            }
        }
    }
}

fn provider_text(d: &Description, out: &mut String) {
    match &d.oidc_provider {
        None if d.pod_identity.is_some() => {
            out.push_str("OIDC provider:     (none: EKS Pod Identity needs no provider)\n")
        }
        None if d.cluster_role_arn.is_some() => out.push_str(&format!(
            "OIDC provider:     ({} mode: the cluster account's, which the cluster role trusts; `verify` checks it)\n",
            d.mode.as_str()
        )),
        None => out.push_str("OIDC provider:     (none named by the role)\n"),
        Some(p) if !p.exists => out.push_str(&format!(
            "OIDC provider:     {} (does not exist)\n",
            visible(&p.arn)
        )),
        Some(p) => {
            out.push_str(&format!("OIDC provider:     {}\n", visible(&p.arn)));
            out.push_str(&format!(
                "  Created by this tool: {}\n",
                yes_no(p.created_by_this_tool == Some(true))
            ));
            out.push_str(&format!(
                "  Client IDs:      {}\n",
                visible(&p.client_ids.join(", "))
            ));
        }
    }
}

fn service_accounts_text(d: &Description, out: &mut String) {
    match (&d.context, &d.cluster_not_read) {
        (_, Some(why)) => out.push_str(&format!("ServiceAccounts:   not read: {}\n", visible(why))),
        (Some(ctx), None) => {
            out.push_str(&format!("ServiceAccounts:   (context {})\n", visible(ctx)))
        }
        (None, None) => out.push_str("ServiceAccounts:\n"),
    }
    if d.cluster_not_read.is_none() && d.service_accounts.is_empty() {
        out.push_str("  (none carries the role)\n");
    }
    for sa in &d.service_accounts {
        out.push_str(&format!(
            "  {}/{}\n",
            visible(&sa.namespace),
            visible(&sa.name)
        ));
        out.push_str(&format!(
            "    trusted subject: {}; created by this tool: {}\n",
            yes_no(sa.trusted_subject),
            yes_no(sa.created_by_this_tool)
        ));
        out.push_str(&format!(
            "    {}: {}\n",
            crate::trust::ROLE_ARN_ANNOTATION,
            visible(sa.role_arn.as_deref().unwrap_or("(not set)"))
        ));
        if let Some(exp) = &sa.token_expiration {
            out.push_str(&format!(
                "    {}: {}\n",
                crate::trust::TOKEN_EXPIRATION_ANNOTATION,
                visible(exp)
            ));
        }
    }
}

/// What `describe` shows, out of what was read and the drift found.
pub fn description(name: &str, found: &Onboarding, seen: &Seen, drift: Vec<String>) -> Description {
    let accounts = seen
        .cluster
        .as_ref()
        .map(|(_, _, s)| s.as_slice())
        .unwrap_or(&[]);
    Description {
        name: name.to_string(),
        klanker_account: found.identity.account.clone(),
        role_name: found.located.role_name.clone(),
        mode: crate::plan::describe::mode(found, seen),
        cluster_role_arn: crate::plan::describe::cluster_role_arn(found, seen),
        role: seen.role.as_ref().map(|(r, attached)| RoleView {
            arn: r.arn.clone(),
            max_session_seconds: r.max_session,
            tags: r.tags.clone(),
            permissions_boundary: r.permissions_boundary.clone(),
            trust_policy: r.trust_policy.clone(),
            attached_policies: attached.iter().cloned().collect(),
        }),
        oidc_provider: match &seen.provider {
            Provider::Unknown => None,
            Provider::Missing(arn) => Some(ProviderView {
                arn: arn.clone(),
                exists: false,
                created_by_this_tool: None,
                client_ids: Vec::new(),
            }),
            Provider::Found(p) => Some(ProviderView {
                arn: p.arn.clone(),
                exists: true,
                created_by_this_tool: Some(crate::trust::is_owned(&p.tags)),
                client_ids: p.client_ids.clone(),
            }),
        },
        context: seen.cluster.as_ref().ok().map(|(c, _, _)| c.clone()),
        service_accounts: accounts
            .iter()
            .map(|sa| AccountView {
                namespace: sa.namespace.clone(),
                name: sa.name.clone(),
                trusted_subject: is_subject(seen, sa),
                role_arn: sa.observed.annotations.get(ROLE_ARN_ANNOTATION).cloned(),
                token_expiration: sa
                    .observed
                    .annotations
                    .get(TOKEN_EXPIRATION_ANNOTATION)
                    .cloned(),
                created_by_this_tool: sa.observed.created_by_us(),
            })
            .collect(),
        cluster_not_read: seen.cluster.as_ref().err().cloned(),
        pod_identity: pod_identity_view(seen),
        drift,
    }
}

pub fn report(o: &mut Out, d: &Description, format: ReportOutput) -> Result<(), Error> {
    match format {
        ReportOutput::Text => write!(o.out, "{}", text(d, o.width)),
        ReportOutput::Json => super::write_structured(o, d, Structured::Json),
        ReportOutput::Yaml => super::write_structured(o, d, Structured::Yaml),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn description() -> Description {
        Description {
            name: "dev".into(),
            klanker_account: "333333333333".into(),
            role_name: "km-cluster-dev".into(),
            mode: Default::default(),
            cluster_role_arn: None,
            role: Some(RoleView {
                arn: "arn:role".into(),
                max_session_seconds: 3600,
                tags: [("klanker-trust/name".to_string(), "dev".to_string())].into(),
                permissions_boundary: None,
                trust_policy: serde_json::json!({"Version": "2012-10-17"}),
                attached_policies: vec!["arn:policy".into()],
            }),
            oidc_provider: Some(ProviderView {
                arn: "arn:provider".into(),
                exists: true,
                created_by_this_tool: Some(true),
                client_ids: vec!["sts.amazonaws.com".into()],
            }),
            context: Some("ctx".into()),
            service_accounts: vec![AccountView {
                namespace: "ai-pods".into(),
                name: "km".into(),
                trusted_subject: true,
                role_arn: Some("arn:role".into()),
                token_expiration: Some("3600".into()),
                created_by_this_tool: true,
            }],
            cluster_not_read: None,
            pod_identity: None,
            drift: Vec::new(),
        }
    }

    #[test]
    fn the_text_shows_every_part_of_the_chain() {
        let t = text(&description(), None);
        for part in [
            "Role:              km-cluster-dev\n",
            "  ARN:             arn:role\n",
            "  Max session:     3600s\n",
            "    klanker-trust/name=dev\n",
            "    {\n      \"Version\": \"2012-10-17\"\n    }\n",
            "    arn:policy\n",
            "OIDC provider:     arn:provider\n",
            "  Created by this tool: yes\n",
            "  Client IDs:      sts.amazonaws.com\n",
            "  ai-pods/km\n",
            "    eks.amazonaws.com/role-arn: arn:role\n",
            "Drift:             none\n",
        ] {
            assert!(t.contains(part), "{part:?} missing:\n{t}");
        }
    }

    #[test]
    fn missing_parts_and_drift_are_said() {
        let mut d = description();
        d.role = None;
        d.cluster_not_read = Some("no context".into());
        d.drift = vec!["role gone".into()];
        let t = text(&d, None);
        assert!(t.contains("km-cluster-dev (does not exist)"), "{t}");
        assert!(t.contains("ServiceAccounts:   not read: no context"), "{t}");
        assert!(t.contains("Drift:\n  - role gone\n"), "{t}");
    }

    /// Issue 26, item 12: nothing found is "unknown" when the cluster was
    /// not read, and the provider of an onboarding through a cluster role
    /// is said to be the cluster account's, in its mode's word.
    #[test]
    fn drift_is_unknown_without_the_cluster_and_a_cluster_role_names_its_provider() {
        let mut d = description();
        d.cluster_not_read = Some("unreachable".into());
        d.oidc_provider = None;
        d.cluster_role_arn = Some("arn:aws:iam::222222222222:role/km-irsa-dev".into());
        d.mode = crate::inventory::recognise::mode_by_cluster_role(true);
        let t = text(&d, None);
        assert!(
            t.contains("Drift:             unknown (the cluster was not read"),
            "{t}"
        );
        assert!(!t.contains("Drift:             none"), "{t}");
        assert!(
            t.contains(&format!(
                "OIDC provider:     ({} mode: the cluster account's",
                d.mode.as_str()
            )),
            "{t}"
        );
        assert_ne!(d.mode, Default::default());
    }
}
