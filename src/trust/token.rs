//! Reads the claims of a ServiceAccount token (a JWT). The signature is not
//! checked here: STS checks it; `verify` only needs to know what the token
//! says to explain a refusal. The token itself is never printed.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::Deserialize;

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Claims {
    pub iss: String,
    pub sub: String,
    #[serde(deserialize_with = "one_or_many")]
    pub aud: Vec<String>,
    #[serde(default)]
    pub exp: Option<i64>,
}

fn one_or_many<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum OneOrMany {
        One(String),
        Many(Vec<String>),
    }
    Ok(match OneOrMany::deserialize(d)? {
        OneOrMany::One(s) => vec![s],
        OneOrMany::Many(v) => v,
    })
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("the ServiceAccount token is not a readable JWT: {0}")]
pub struct TokenError(String);

pub fn claims(token: &str) -> Result<Claims, TokenError> {
    let mut parts = token.split('.');
    let (Some(_header), Some(payload), Some(_signature), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(TokenError(
            "it does not have three dot-separated parts".into(),
        ));
    };
    let bytes = URL_SAFE_NO_PAD
        .decode(payload.trim_end_matches('='))
        .map_err(|e| TokenError(format!("payload is not base64url ({e})")))?;
    serde_json::from_slice(&bytes)
        .map_err(|e| TokenError(format!("payload is not the expected JSON ({e})")))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn jwt(payload: &str) -> String {
        format!("e30.{}.c2ln", URL_SAFE_NO_PAD.encode(payload))
    }

    #[test]
    fn reads_claims_with_list_or_string_audience() {
        let c = claims(&jwt(r#"{"iss":"https://o.example.com","sub":"system:serviceaccount:a:b","aud":["sts.amazonaws.com"],"exp":5}"#)).unwrap();
        assert_eq!(c.aud, ["sts.amazonaws.com"]);
        assert_eq!(c.exp, Some(5));
        let c = claims(&jwt(r#"{"iss":"i","sub":"s","aud":"x"}"#)).unwrap();
        assert_eq!(c.aud, ["x"]);
    }

    #[test]
    fn rejects_malformed_tokens() {
        for bad in [
            "",
            "a.b",
            "a.b.c.d",
            "e30.!!!.x",
            &jwt("not json"),
            &jwt(r#"{"sub":"s"}"#),
        ] {
            assert!(claims(bad).is_err(), "{bad}");
        }
    }
}
