//! Reads the claims of a ServiceAccount token (a JWT), and checks its
//! signature against the API server's published keys (JWKS) so `verify` can
//! tell a token STS would refuse from a trust that does. The token itself is
//! never printed.

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

/// Why a token's signature could not be confirmed.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SignatureError {
    /// The JWKS document or the token's header could not be read.
    #[error("{0}")]
    Unreadable(String),
    /// No published key has the token's key ID.
    #[error("no key with the token's key ID `{0}` is published")]
    UnknownKey(String),
    /// Only what Kubernetes signs with is supported.
    #[error("the token is signed with {0}, which this check does not support (RS256 or ES256)")]
    Algorithm(String),
    /// The signature does not match the key.
    #[error("the signature does not verify against key `{0}`")]
    Invalid(String),
}

#[derive(Deserialize)]
struct Header {
    alg: String,
    #[serde(default)]
    kid: String,
}

#[derive(Deserialize)]
struct Jwk {
    #[serde(default)]
    kid: String,
    kty: String,
    #[serde(default)]
    n: String,
    #[serde(default)]
    e: String,
    #[serde(default)]
    crv: String,
    #[serde(default)]
    x: String,
    #[serde(default)]
    y: String,
}

#[derive(Deserialize)]
struct Jwks {
    keys: Vec<Jwk>,
}

fn b64(part: &str, what: &str) -> Result<Vec<u8>, SignatureError> {
    URL_SAFE_NO_PAD
        .decode(part.trim_end_matches('='))
        .map_err(|e| SignatureError::Unreadable(format!("{what} is not base64url ({e})")))
}

/// Checks the token's signature against the JWKS document (`/openid/v1/jwks`);
/// returns the key ID that verified it. Uses ring, as rustls does.
pub fn verify_signature(token: &str, jwks: &str) -> Result<String, SignatureError> {
    use ring::signature::{self, UnparsedPublicKey};
    let mut parts = token.split('.');
    let (Some(header), Some(payload), Some(sig), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(SignatureError::Unreadable(
            "the token does not have three parts".into(),
        ));
    };
    let header: Header = serde_json::from_slice(&b64(header, "the token header")?)
        .map_err(|e| SignatureError::Unreadable(format!("the token header is not JSON ({e})")))?;
    let keys: Jwks = serde_json::from_str(jwks)
        .map_err(|e| SignatureError::Unreadable(format!("the JWKS document is not JSON ({e})")))?;
    let key = keys
        .keys
        .iter()
        .find(|k| k.kid == header.kid)
        .ok_or_else(|| SignatureError::UnknownKey(header.kid.clone()))?;
    let signed = format!(
        "{}.{}",
        token.split('.').next().unwrap_or_default(),
        payload
    );
    let sig = b64(sig, "the token signature")?;
    let verified = match (header.alg.as_str(), key.kty.as_str()) {
        ("RS256", "RSA") => signature::RsaPublicKeyComponents {
            n: b64(&key.n, "the key's n")?,
            e: b64(&key.e, "the key's e")?,
        }
        .verify(
            &signature::RSA_PKCS1_2048_8192_SHA256,
            signed.as_bytes(),
            &sig,
        )
        .is_ok(),
        ("ES256", "EC") if key.crv == "P-256" => {
            let mut point = vec![4u8];
            point.extend(b64(&key.x, "the key's x")?);
            point.extend(b64(&key.y, "the key's y")?);
            UnparsedPublicKey::new(&signature::ECDSA_P256_SHA256_FIXED, point)
                .verify(signed.as_bytes(), &sig)
                .is_ok()
        }
        (alg, _) => return Err(SignatureError::Algorithm(alg.to_string())),
    };
    if verified {
        Ok(key.kid.clone())
    } else {
        Err(SignatureError::Invalid(key.kid.clone()))
    }
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
    fn signatures_verify_against_the_published_key_only() {
        use ring::rand::SystemRandom;
        use ring::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, KeyPair};
        let rng = SystemRandom::new();
        let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &rng).unwrap();
        let key = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, pkcs8.as_ref(), &rng)
            .unwrap();
        let public = key.public_key().as_ref();
        let jwks = serde_json::json!({"keys": [{"kid": "k1", "kty": "EC", "crv": "P-256",
            "x": URL_SAFE_NO_PAD.encode(&public[1..33]), "y": URL_SAFE_NO_PAD.encode(&public[33..65])}]})
        .to_string();
        let signed = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(r#"{"alg":"ES256","kid":"k1"}"#),
            URL_SAFE_NO_PAD.encode(r#"{"iss":"i","sub":"s","aud":"a"}"#)
        );
        let sig = key.sign(&rng, signed.as_bytes()).unwrap();
        let token = format!("{signed}.{}", URL_SAFE_NO_PAD.encode(sig.as_ref()));
        assert_eq!(verify_signature(&token, &jwks), Ok("k1".to_string()));
        // Another payload under the same signature: refused.
        let forged = format!(
            "{}.{}.{}",
            URL_SAFE_NO_PAD.encode(r#"{"alg":"ES256","kid":"k1"}"#),
            URL_SAFE_NO_PAD.encode(r#"{"iss":"i","sub":"root","aud":"a"}"#),
            URL_SAFE_NO_PAD.encode(sig.as_ref())
        );
        assert_eq!(
            verify_signature(&forged, &jwks),
            Err(SignatureError::Invalid("k1".into()))
        );
        let other_kid = jwks.replace("\"k1\"", "\"k2\"");
        assert_eq!(
            verify_signature(&token, &other_kid),
            Err(SignatureError::UnknownKey("k1".into()))
        );
        assert!(matches!(
            verify_signature(&token, "not json"),
            Err(SignatureError::Unreadable(_))
        ));
        let hs = format!(
            "{}.e30.c2ln",
            URL_SAFE_NO_PAD.encode(r#"{"alg":"HS256","kid":"k1"}"#)
        );
        assert_eq!(
            verify_signature(&hs, &jwks),
            Err(SignatureError::Algorithm("HS256".into()))
        );
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
