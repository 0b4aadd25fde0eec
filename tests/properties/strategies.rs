//! Generators shared by several subjects: strings that trip parsers, ARN and
//! URL fields, JSON documents and trust-policy shapes, valid names and
//! issuers, YAML fragments.

use kubectl_klanker_trust::trust::Issuer;
use proptest::collection::{btree_map, vec};
use proptest::prelude::*;
use proptest::sample::select;
use serde_json::{Value, json};

pub const PARTITIONS: [&str; 3] = ["aws", "aws-cn", "aws-us-gov"];

/// Characters that trip parsers: separators of ARNs, URLs, YAML and JSON,
/// wildcards, controls, and multi-byte characters (some change length when
/// lower-cased, some are whitespace outside ASCII).
const TRICKY: &[char] = &[
    ':', '/', '.', '-', '_', '=', '*', '?', '%', '[', ']', '{', '}', '"', '\'', '\\', '#', '@',
    '&', '!', '|', '>', ',', ' ', '\n', '\r', '\t', '\0', '\u{7f}', 'a', 'Z', '0', '9', 'é', 'ß',
    'İ', 'K', '€', '😀', '\u{200b}', '\u{feff}', '\u{85}', '\u{a0}', '\u{2028}', 'ｱ', '２',
];

pub fn tricky_char() -> impl Strategy<Value = char> {
    prop_oneof![3 => select(TRICKY), 1 => any::<char>()]
}

/// Any string: arbitrary code points, printable ASCII, tricky characters, or
/// one character repeated thousands of times.
pub fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => vec(tricky_char(), 0..40).prop_map(|v| v.into_iter().collect()),
        2 => "[ -~]{0,40}",
        2 => any::<String>(),
        1 => (tricky_char(), 200usize..5000).prop_map(|(c, n)| c.to_string().repeat(n)),
    ]
}

/// A short string, for fields of structured inputs.
pub fn short_text() -> impl Strategy<Value = String> {
    prop_oneof![
        2 => vec(tricky_char(), 0..12).prop_map(|v| v.into_iter().collect()),
        2 => "[a-z0-9-]{0,12}",
        1 => any::<String>(),
    ]
}

pub fn account() -> impl Strategy<Value = String> {
    "[0-9]{12}"
}

pub fn partition() -> impl Strategy<Value = &'static str> {
    select(&PARTITIONS[..])
}

/// URL-like strings: schemes, credentials, hosts, ports, paths and suffixes
/// that a URL parser normalises or rejects.
pub fn urlish() -> impl Strategy<Value = String> {
    let scheme = select(
        &[
            "https://",
            "http://",
            "HTTPS://",
            "hTTps://",
            "ftp://",
            "",
            "https:",
            "https:///",
        ][..],
    );
    let userinfo = select(&["", "", "", "u@", "u:p@", ":@", "@", "u:@"][..]);
    let host = prop_oneof![
        3 => "[a-z0-9-]{1,10}(\\.[a-z0-9-]{1,10}){0,3}",
        1 => "[A-Za-z]{1,5}\\.Example\\.COM",
        1 => "[0-9]{1,3}\\.[0-9]{1,3}\\.[0-9]{1,3}\\.[0-9]{1,3}",
        1 => select(&[
            "[::1]", "[2001:db8::1]", "[::ffff:10.0.0.1]", "bücher.example", "xn--bcher-kva.example",
            "%41.example", "", "exa mple.com", "ex%2Fample", "localhost", "kubernetes.default.svc",
            "0x7f.1", "127.1", "İ.example", "K.example", "a..b", ".", "-a-.b", "ｅｘａｍｐｌｅ.com",
        ][..]).prop_map(String::from),
        1 => short_text(),
    ];
    let port = select(
        &[
            "", "", "", ":", ":443", ":8443", ":0", ":65535", ":65536", ":abc", ":-1",
        ][..],
    );
    let segment = prop_oneof![
        2 => "[a-zA-Z0-9._~-]{0,8}",
        2 => select(&[
            "", ".", "..", "%2e", "%2E%2E", "%2F", "%2f", "id", "EXAMPLE", "a b", "ü", "%FF", "\\",
            "?", "#", ";", ":", "@", "%", "%zz", "\t", "\n", "https:", "/",
        ][..]).prop_map(String::from),
        1 => short_text(),
    ];
    let path = vec(segment, 0..5).prop_map(|s| {
        if s.is_empty() {
            String::new()
        } else {
            format!("/{}", s.join("/"))
        }
    });
    let suffix = select(
        &[
            "", "", "", "/", "//", "?x=1", "#f", "?", "#", "/?", " ", "\n",
        ][..],
    );
    let structured = (
        select(&["", "", " ", "\t"][..]),
        scheme,
        userinfo,
        host,
        port,
        path,
        suffix,
    )
        .prop_map(|(lead, scheme, user, host, port, path, suffix)| {
            format!("{lead}{scheme}{user}{host}{port}{path}{suffix}")
        });
    prop_oneof![5 => structured, 1 => text()]
}

/// JSON leaves; floats only when the property does not send the value through text.
fn json_leaf(floats: bool) -> BoxedStrategy<Value> {
    let words = select(
        &[
            "2012-10-17",
            "Allow",
            "Deny",
            "sts:AssumeRoleWithWebIdentity",
            "sts:*",
            "*",
            "system:serviceaccount:ai-pods:km",
            "system:serviceaccount:*:km",
            "sts.amazonaws.com",
            "arn:aws:iam::333333333333:oidc-provider/oidc.example.com/id/A",
        ][..],
    )
    .prop_map(Value::from);
    let base = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        short_text().prop_map(Value::from),
        words,
    ];
    if floats {
        prop_oneof![5 => base, 1 => any::<f64>().prop_map(Value::from)].boxed()
    } else {
        base.boxed()
    }
}

fn json_key() -> impl Strategy<Value = String> {
    prop_oneof![
        2 => select(&[
            "Version", "Statement", "Effect", "Principal", "Federated", "Action", "Condition",
            "StringEquals", "StringLike", "Sid", "oidc.example.com/id/A:sub", "oidc.example.com/id/A:aud",
        ][..]).prop_map(String::from),
        1 => short_text(),
    ]
}

/// Arbitrary JSON documents, nested up to a few levels.
pub fn json_value(floats: bool) -> impl Strategy<Value = Value> {
    json_leaf(floats).prop_recursive(5, 64, 6, |inner| {
        prop_oneof![
            vec(inner.clone(), 0..6).prop_map(Value::Array),
            btree_map(json_key(), inner, 0..6).prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

pub fn json_object(floats: bool) -> impl Strategy<Value = Value> {
    btree_map(json_key(), json_value(floats), 0..6)
        .prop_map(|m| Value::Object(m.into_iter().collect()))
}

/// The OIDC provider `policy_like` documents mostly federate, and its issuer.
pub const PROVIDER: &str = "arn:aws:iam::333333333333:oidc-provider/oidc.example.com/id/A";
pub const PROVIDER_HOST_PATH: &str = "oidc.example.com/id/A";

/// Trust-policy-shaped documents with random (sometimes wrong) parts.
pub fn policy_like() -> impl Strategy<Value = Value> {
    let one_or_many = |s: BoxedStrategy<Value>| {
        prop_oneof![
            s.clone(),
            vec(s, 0..3).prop_map(Value::Array),
            json_leaf(true),
        ]
    };
    let string = |vocab: &'static [&'static str]| -> BoxedStrategy<Value> {
        prop_oneof![4 => select(vocab).prop_map(Value::from), 1 => short_text().prop_map(Value::from)].boxed()
    };
    let condition_keys = btree_map(
        select(
            &[
                "oidc.example.com/id/A:sub",
                "oidc.example.com/id/A:aud",
                "other:sub",
                "x",
            ][..],
        )
        .prop_map(String::from),
        one_or_many(string(&[
            "system:serviceaccount:ai-pods:km",
            "system:serviceaccount:*:km",
            "system:serviceaccount:*:*",
            "*",
            "sts.amazonaws.com",
        ])),
        0..3,
    )
    .prop_map(|m| Value::Object(m.into_iter().collect()));
    let condition = prop_oneof![
        4 => btree_map(
            select(&["StringEquals", "StringLike", "StringNotEquals", "ForAnyValue:StringLike"][..])
                .prop_map(String::from),
            prop_oneof![4 => condition_keys, 1 => json_value(true)],
            0..3,
        )
        .prop_map(|m| Value::Object(m.into_iter().collect())),
        1 => json_value(true),
    ];
    let statement = (
        string(&["Allow", "Deny", "allow"]),
        prop_oneof![
            4 => one_or_many(string(&[PROVIDER, "arn:aws:iam::333333333333:oidc-provider/elsewhere"]))
                .prop_map(|f| json!({ "Federated": f })),
            1 => json_value(true),
        ],
        one_or_many(string(&["sts:AssumeRoleWithWebIdentity", "sts:*", "*", "sts:AssumeRole", "STS:assumerolewithwebidentity"])),
        prop::option::of(condition),
    )
        .prop_map(|(effect, principal, action, condition)| {
            let mut s = json!({ "Effect": effect, "Principal": principal, "Action": action });
            if let Some(c) = condition {
                s["Condition"] = c;
            }
            s
        });
    prop_oneof![
        4 => prop_oneof![statement.clone(), vec(statement, 0..4).prop_map(Value::Array)]
            .prop_map(|s| json!({ "Version": "2012-10-17", "Statement": s })),
        1 => json_value(true),
    ]
}

/// Valid-looking names as Kubernetes and the tool accept them.
pub fn dns_label() -> impl Strategy<Value = String> {
    "[a-z0-9]([a-z0-9-]{0,10}[a-z0-9])?"
}

pub fn valid_issuer() -> impl Strategy<Value = Issuer> {
    (
        "[a-z0-9]{1,8}(\\.[a-z0-9]{1,8}){1,3}",
        select(&["", ":8443"][..]),
        vec("[A-Za-z0-9._~-]{1,8}", 0..3),
    )
        .prop_filter_map("issuer must parse", |(host, port, path)| {
            let url = format!("https://{host}{port}/{}", path.join("/"));
            Issuer::parse(&url, "x").ok()
        })
}

/// YAML fragments for the kubeconfig and km-config parsers: anchors, aliases,
/// merge keys, tags, complex keys, flow and block styles, documents.
pub fn yamlish() -> impl Strategy<Value = String> {
    let token = prop_oneof![
        3 => select(&[
            "apiVersion: v1\n", "kind: Config\n", "current-context: a\n", "contexts:\n", "clusters:\n",
            "users:\n", "- name: a\n", "  context: {cluster: a, user: a}\n", "  cluster: {server: https://x}\n",
            "  user:\n", "    exec:\n", "      command: aws\n", "      args: [eks, get-token, --cluster-name, c]\n",
            "      env: [{name: AWS_PROFILE}]\n", "---\n", "...\n", "&a ", "*a", "<<: *a\n", "!!str ",
            "!!binary ", "!custom ", "? [a, b]\n: c\n", "? {a: 1}\n: d\n", "{", "}", "[", "]", ": ", "- ",
            "|\n  block\n", ">-\n  folded\n", "\"esc\\u0041\"", "'q''q'", "# comment\n", "\t", "  ", "\n",
            "%YAML 1.2\n", "%TAG ! tag:x,2000:\n", "~", "null", ".nan", "0x", "1e999", "-.inf",
            "clusters: [{name: a, oidc_provider_arn: b, namespace: c, service_account: d, role_arn: e}]\n",
            "clusters: null\n", "clusters: {}\n", "clusters: [~]\n", "\u{feff}", "\0", "\u{85}",
        ][..]).prop_map(String::from),
        1 => short_text(),
    ];
    prop_oneof![
        4 => vec(token, 0..24).prop_map(|t| t.concat()),
        1 => text(),
    ]
}
