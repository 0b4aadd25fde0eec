//! The check after `add`: the facts of `verify`'s local links, from the
//! plan just applied (one hop: the ServiceAccounts name the klanker role,
//! which trusts the klanker account's provider).

use crate::plan::add::AddPlan;
use crate::plan::snapshot::AfterApply;
use crate::resolve::add::AddRequest;
use crate::trust::{self, Issuer, STS_AUDIENCE};
use crate::verify::{Facts, ProviderFacts, RoleFacts};

/// The facts of `verify`'s local checks after applying: what was just
/// written, and the token the cluster issued.
/// `subject`: the ServiceAccount `(namespace, name)` the token is for.
pub fn facts_after_apply(
    req: &AddRequest,
    add: &AddPlan,
    (namespace, service_account): &(String, String),
    after: AfterApply,
) -> Facts {
    let desired = &add.desired;
    let claims = after.token.and_then(|t| {
        trust::token::claims(&t).map_err(|e| crate::verify::NoToken::Failed(e.to_string()))
    });
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
        fix_add: crate::inventory::intent::add_command_for(
            &req.name,
            req.mode.kind(),
            &req.service_accounts(),
        ),
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
        second_hop: None,
    }
}
