//! trust/token.rs: the claims of ServiceAccount tokens.

use kubectl_klanker_trust::trust::token;
use proptest::collection::vec;
use proptest::prelude::*;
use proptest::sample::select;
use serde_json::json;

use crate::cases;
use crate::strategies::{json_object, json_value, short_text, text};

fn b64(bytes: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

proptest! {
    #![proptest_config(cases(3000))]

    #[test]
    fn claims_never_panics(raw in prop_oneof![text(), vec(short_text(), 0..5).prop_map(|p| p.join("."))]) {
        let _ = token::claims(&raw);
    }

    #[test]
    fn claims_of_random_payloads_never_panic(
        header in short_text(),
        payload in prop_oneof![
            vec(any::<u8>(), 0..200),
            json_value(true).prop_map(|v| v.to_string().into_bytes()),
        ],
        signature in short_text(),
        padding in select(&["", "=", "==", "==="][..]),
        standard in any::<bool>(),
    ) {
        let encoded = if standard {
            use base64::Engine;
            base64::engine::general_purpose::STANDARD.encode(&payload)
        } else {
            format!("{}{padding}", b64(&payload))
        };
        let _ = token::claims(&format!("{header}.{encoded}.{signature}"));
    }

    #[test]
    fn claims_read_back_what_the_payload_says(
        iss in short_text(),
        sub in short_text(),
        aud in prop_oneof![short_text().prop_map(|a| vec![a]), vec(short_text(), 0..4)],
        aud_as_string in any::<bool>(),
        exp in prop::option::of(any::<i64>()),
        extra in json_object(true),
    ) {
        let mut payload = extra;
        payload["iss"] = json!(iss);
        payload["sub"] = json!(sub);
        payload["aud"] = if aud_as_string && aud.len() == 1 { json!(aud[0]) } else { json!(aud) };
        match exp {
            Some(exp) => payload["exp"] = json!(exp),
            None => { payload.as_object_mut().unwrap().remove("exp"); }
        }
        let claims = token::claims(&format!("e30.{}.c2ln", b64(payload.to_string().as_bytes()))).unwrap();
        prop_assert_eq!((claims.iss, claims.sub, claims.aud, claims.exp), (iss, sub, aud, exp));
    }
}
