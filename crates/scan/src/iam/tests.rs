//! Verdicts on fixture policies, including each scanner mistake of the posture reference §8
//! that concerns bucket policies (numbers in the test names refer to its rows).

use proptest::prelude::*;
use serde_json::json;

use super::*;

const B: &str = "arn:aws:s3:::b";

fn policy(statements: Value) -> Policy {
    Policy::parse(&json!({"Version": "2012-10-17", "Statement": statements}).to_string()).unwrap()
}

fn public_read(statements: Value) -> Verdict {
    policy(statements).public_access(B, false)
}

fn deny_http(action: Value, resource: Value, condition: Value) -> Value {
    json!({"Sid": "DenyHttp", "Effect": "Deny", "Principal": "*", "Action": action,
           "Resource": resource, "Condition": condition})
}

#[test]
fn wildcard_principal_without_condition_is_public_with_reason() {
    let v = public_read(json!([{"Sid": "Pub", "Effect": "Allow", "Principal": "*",
        "Action": "s3:GetObject", "Resource": "arn:aws:s3:::b/*"}]));
    assert!(v.holds);
    assert_eq!(
        v.reasons,
        vec!["statement \"Pub\" allows anyone s3:GetObject"]
    );
}

#[test]
fn aws_star_principal_and_single_statement_object_are_normalized() {
    let p = Policy::parse(
        r#"{"Statement": {"Effect": "Allow", "Principal": {"AWS": ["*"]},
        "Action": ["S3:GET*"], "Resource": ["arn:aws:s3:::b/*"]}}"#,
    )
    .unwrap();
    assert!(p.public_access(B, false).holds);
    assert!(!p.public_access(B, true).holds);
}

#[test]
fn specific_account_principal_is_not_public() {
    let v = public_read(
        json!([{"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::111122223333:root"},
        "Action": "s3:*", "Resource": ["arn:aws:s3:::b", "arn:aws:s3:::b/*"]}]),
    );
    assert!(!v.holds);
    assert_eq!(
        v.reasons,
        vec!["no Allow statement grants these actions to a wildcard principal"]
    );
}

#[test]
fn fixture_7_public_allow_with_deny_for_non_org_callers_is_not_public() {
    let v = public_read(json!([
        {"Sid": "Pub", "Effect": "Allow", "Principal": "*", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::b/*"},
        {"Sid": "OrgOnly", "Effect": "Deny", "Principal": "*", "Action": "s3:*", "Resource": "arn:aws:s3:::b/*",
         "Condition": {"StringNotEquals": {"aws:PrincipalOrgID": "o-abc123"}}}]));
    assert!(!v.holds, "{v:?}");
    assert!(
        v.reasons[0].contains("overridden by statement \"OrgOnly\""),
        "{v:?}"
    );
}

#[test]
fn fixture_8_wildcard_inside_principal_arn_is_not_public_but_flagged() {
    let p = policy(
        json!([{"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::123456789012:role/*"},
        "Action": "s3:GetObject", "Resource": "arn:aws:s3:::b/*"}]),
    );
    assert!(!p.public_access(B, false).holds);
    assert_eq!(
        p.malformed_principals(),
        vec!["arn:aws:iam::123456789012:role/*"]
    );
}

#[test]
fn fixture_9_public_office_cidr_is_not_public_but_slash_zero_is() {
    let office = public_read(
        json!([{"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject",
        "Resource": "arn:aws:s3:::b/*", "Condition": {"IpAddress": {"aws:SourceIp": "203.0.113.0/24"}}}]),
    );
    assert!(!office.holds);
    assert!(office.reasons[0].contains("aws:SourceIp"), "{office:?}");
    let anywhere = public_read(
        json!([{"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject",
        "Resource": "arn:aws:s3:::b/*", "Condition": {"IpAddress": {"aws:SourceIp": ["0.0.0.0/0"]}}}]),
    );
    assert!(anywhere.holds);
}

#[test]
fn fixture_10_if_exists_on_source_vpce_stays_public() {
    let v = public_read(
        json!([{"Sid": "Vpce", "Effect": "Allow", "Principal": "*", "Action": "s3:GetObject",
        "Resource": "arn:aws:s3:::b/*",
        "Condition": {"StringEqualsIfExists": {"aws:SourceVpce": "vpce-1a2b3c4d"}}}]),
    );
    assert!(v.holds);
    assert!(v.reasons[0].contains("aws:SourceVpce absent"), "{v:?}");
    let strict = public_read(
        json!([{"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject",
        "Resource": "arn:aws:s3:::b/*", "Condition": {"StringEquals": {"aws:SourceVpce": "vpce-1a2b3c4d"}}}]),
    );
    assert!(!strict.holds);
}

#[test]
fn fixture_29_vpc_vpce_ip_and_org_conditions_are_not_public() {
    for (op, key, val) in [
        ("StringEquals", "aws:SourceVpc", "vpc-111"),
        ("StringEquals", "aws:sourcevpce", "vpce-111"),
        ("IpAddress", "aws:SourceIp", "10.0.0.0/8"),
        ("StringEquals", "aws:PrincipalOrgID", "o-abc"),
        ("StringEquals", "aws:SourceAccount", "111122223333"),
        (
            "ArnLike",
            "aws:SourceArn",
            "arn:aws:cloudfront::111122223333:distribution/E1",
        ),
        ("StringEquals", "aws:PrincipalAccount", "111122223333"),
    ] {
        let v = public_read(
            json!([{"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject",
            "Resource": "arn:aws:s3:::b/*", "Condition": {op: {key: val}}}]),
        );
        assert!(!v.holds, "{op} {key}");
    }
}

#[test]
fn wildcard_or_variable_values_do_not_restrict() {
    for val in ["*", "o-*", "${aws:PrincipalAccount}"] {
        let v = public_read(
            json!([{"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject",
            "Resource": "arn:aws:s3:::b/*", "Condition": {"StringLike": {"aws:PrincipalOrgID": val}}}]),
        );
        assert!(v.holds, "{val}");
    }
}

#[test]
fn null_and_negated_operators_follow_iam_on_missing_keys() {
    // Null true: holds when the key is absent, as for a stranger.
    let v = public_read(
        json!([{"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject",
        "Resource": "arn:aws:s3:::b/*", "Condition": {"Null": {"aws:SourceVpce": "true"}}}]),
    );
    assert!(v.holds);
    let v = public_read(
        json!([{"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject",
        "Resource": "arn:aws:s3:::b/*", "Condition": {"StringNotEquals": {"aws:SourceVpce": "vpce-1"}}}]),
    );
    assert!(v.holds);
    let v = public_read(
        json!([{"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject",
        "Resource": "arn:aws:s3:::b/*", "Condition": {"ForAllValues:StringEquals": {"aws:TagKeys": "x"}}}]),
    );
    assert!(v.holds);
}

#[test]
fn not_principal_allow_is_public() {
    let v = public_read(
        json!([{"Effect": "Allow", "NotPrincipal": {"AWS": "arn:aws:iam::111122223333:root"},
        "Action": "s3:GetObject", "Resource": "arn:aws:s3:::b/*"}]),
    );
    assert!(v.holds);
}

#[test]
fn not_action_allow_is_public_for_the_actions_it_leaves() {
    let p = policy(
        json!([{"Effect": "Allow", "Principal": "*", "NotAction": "s3:Delete*", "Resource": "*"}]),
    );
    assert!(p.public_access(B, false).holds);
    assert!(
        p.public_access(B, true).holds,
        "s3:PutObject is still allowed"
    );
}

#[test]
fn deny_for_http_and_allow_for_https_is_still_public() {
    let v = public_read(json!([
        {"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::b/*"},
        deny_http(json!("s3:*"), json!(["arn:aws:s3:::b", "arn:aws:s3:::b/*"]),
                  json!({"Bool": {"aws:SecureTransport": "false"}}))]));
    assert!(v.holds, "HTTPS callers are still let in");
    assert_eq!(v.reasons, vec!["statement #1 allows anyone s3:GetObject"]);
}

#[test]
fn allow_and_deny_on_same_free_key_are_searched_together() {
    // Allowed only with Referer x, denied with Referer x: nobody gets in.
    let v = public_read(json!([
        {"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::b/*",
         "Condition": {"StringEquals": {"aws:Referer": "x"}}},
        {"Sid": "D", "Effect": "Deny", "Principal": "*", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::b/*",
         "Condition": {"StringEquals": {"aws:referer": "x"}}}]));
    assert!(!v.holds, "{v:?}");
    // A numeric bound the adversary can exceed.
    let v = public_read(
        json!([{"Effect": "Allow", "Principal": "*", "Action": "s3:ListBucket",
        "Resource": "arn:aws:s3:::b", "Condition": {"NumericGreaterThan": {"s3:max-keys": "5"}}}]),
    );
    assert!(v.holds);
}

#[test]
fn fixture_26_and_27_cross_account_blacklisted_actions() {
    let put_star = policy(
        json!([{"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::444455556666:root"},
        "Action": "s3:Put*", "Resource": ["arn:aws:s3:::b", "arn:aws:s3:::b/*"]}]),
    );
    let got = put_star.cross_account_actions(B, "123456789012");
    assert_eq!(
        got.get("444455556666").unwrap(),
        &vec![
            "s3:PutBucketAcl",
            "s3:PutBucketPolicy",
            "s3:PutEncryptionConfiguration",
            "s3:PutObjectAcl"
        ]
    );
    let get_only = policy(
        json!([{"Effect": "Allow", "Principal": {"AWS": "444455556666"},
        "Action": "s3:GetObject", "Resource": "arn:aws:s3:::b/*"}]),
    );
    assert!(get_only.cross_account_actions(B, "123456789012").is_empty());
    let own = policy(
        json!([{"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::123456789012:role/admin"},
        "Action": "s3:*", "Resource": ["arn:aws:s3:::b", "arn:aws:s3:::b/*"]}]),
    );
    assert!(own.cross_account_actions(B, "123456789012").is_empty());
    let anyone =
        policy(json!([{"Effect": "Allow", "Principal": "*", "Action": "s3:*", "Resource": "*"}]));
    assert_eq!(
        anyone
            .cross_account_actions(B, "123456789012")
            .keys()
            .collect::<Vec<_>>(),
        vec!["*"]
    );
    // An account that happens to look like a placeholder is that account, not everyone.
    let nines = policy(json!([{"Effect": "Allow",
        "Principal": {"AWS": "arn:aws:iam::999999999999:root"},
        "Action": "s3:PutBucketPolicy", "Resource": "arn:aws:s3:::b"}]));
    assert_eq!(
        nines
            .cross_account_actions(B, "123456789012")
            .keys()
            .collect::<Vec<_>>(),
        vec!["999999999999"]
    );
}

#[test]
fn secure_transport_reference_shape_passes() {
    let p = policy(json!([deny_http(
        json!("s3:*"),
        json!(["arn:aws:s3:::b", "arn:aws:s3:::b/*"]),
        json!({"Bool": {"aws:SecureTransport": "false"}})
    )]));
    let v = p.secure_transport(B);
    assert!(v.holds, "{v:?}");
}

#[test]
fn fixture_3_secure_transport_variants_pass() {
    for cond in [
        json!({"BoolIfExists": {"aws:SecureTransport": "false"}}),
        json!({"Bool": {"aws:SecureTransport": false}}),
        json!({"Bool": {"aws:SecureTransport": ["false"]}}),
        json!({"Bool": {"aws:securetransport": "false"}}),
    ] {
        let p = policy(json!([deny_http(
            json!("*"),
            json!("arn:aws:s3:::b*"),
            cond.clone()
        )]));
        assert!(p.secure_transport(B).holds, "{cond}");
    }
}

#[test]
fn fixture_1_2_6_narrow_deny_http_fails_with_reason() {
    let get_only = policy(json!([deny_http(
        json!("s3:Get*"),
        json!(["arn:aws:s3:::b", "arn:aws:s3:::b/*"]),
        json!({"Bool": {"aws:SecureTransport": "false"}})
    )]));
    let v = get_only.secure_transport(B);
    assert!(!v.holds);
    assert!(v.reasons[0].contains("not s3:*"), "{v:?}");
    let bucket_only = policy(json!([deny_http(
        json!("s3:*"),
        json!("arn:aws:s3:::b"),
        json!({"Bool": {"aws:SecureTransport": "false"}})
    )]));
    let v = bucket_only.secure_transport(B);
    assert!(!v.holds);
    assert!(v.reasons[0].contains("does not cover the objects"), "{v:?}");
}

#[test]
fn fixture_4_allow_on_secure_transport_true_fails() {
    let p = policy(
        json!([{"Sid": "Tls", "Effect": "Allow", "Principal": "*", "Action": "s3:GetObject",
        "Resource": "arn:aws:s3:::b/*", "Condition": {"Bool": {"aws:SecureTransport": "true"}}}]),
    );
    let v = p.secure_transport(B);
    assert!(!v.holds);
    assert!(v.reasons[0].contains("only an explicit Deny"), "{v:?}");
}

#[test]
fn fixture_5_tls_version_deny_alone_is_not_secure_transport() {
    let p = policy(
        json!([{"Effect": "Deny", "Principal": "*", "Action": "s3:*",
        "Resource": ["arn:aws:s3:::b", "arn:aws:s3:::b/*"],
        "Condition": {"NumericLessThan": {"s3:TlsVersion": "1.2"}}}]),
    );
    assert!(!p.secure_transport(B).holds);
    assert_eq!(p.minimum_tls().as_deref(), Some("1.2"));
}

#[test]
fn deny_http_narrowed_by_another_key_or_principal_fails() {
    let p = policy(
        json!([{"Effect": "Deny", "Principal": "*", "Action": "s3:*",
        "Resource": ["arn:aws:s3:::b", "arn:aws:s3:::b/*"],
        "Condition": {"Bool": {"aws:SecureTransport": "false"}, "StringNotEquals": {"aws:SourceVpce": "vpce-1"}}}]),
    );
    assert!(p.secure_transport(B).reasons[0].contains("narrows the Deny"));
    let p = policy(
        json!([{"Effect": "Deny", "NotPrincipal": {"AWS": "arn:aws:iam::1:root"}, "Action": "s3:*",
        "Resource": ["arn:aws:s3:::b", "arn:aws:s3:::b/*"], "Condition": {"Bool": {"aws:SecureTransport": "false"}}}]),
    );
    assert!(!p.secure_transport(B).holds);
}

#[test]
fn malformed_documents_are_typed_errors() {
    assert!(matches!(Policy::parse("{"), Err(PolicyError::NotJson(_))));
    assert_eq!(Policy::parse("{}").unwrap_err(), PolicyError::NoStatement);
    let e = Policy::parse(
        r#"{"Statement": [{"Sid": "X", "Effect": "Maybe", "Action": "*", "Resource": "*"}]}"#,
    )
    .unwrap_err();
    assert!(
        e.to_string().starts_with("statement \"X\": Effect must be"),
        "{e}"
    );
}

#[test]
fn glob_matches_iam_style() {
    assert!(glob("s3:Get*", "S3:GETOBJECT", true));
    assert!(!glob("s3:Get*", "s3:PutObject", true));
    assert!(glob("arn:aws:s3:::b*", "arn:aws:s3:::b/x", false));
    assert!(glob("a?c", "abc", false));
    assert!(!glob("a?c", "ac", false));
    assert!(glob("*", "", false));
}

proptest! {
    /// Adding an unconditional Deny of everything never makes a policy public.
    #[test]
    fn a_global_deny_closes_any_policy(action in "(s3:)?(\\*|Get\\*|GetObject|Put\\*|List\\*)",
                                       key in "(aws:Referer|aws:SourceVpce|s3:prefix)",
                                       op in "(StringEquals|StringNotEquals|StringLike|StringEqualsIfExists|Null)") {
        let allow = json!({"Effect": "Allow", "Principal": "*", "Action": action, "Resource": "*",
                           "Condition": {op: {key: "v"}}});
        let deny = json!({"Effect": "Deny", "Principal": "*", "Action": "*", "Resource": "*"});
        let p = policy(json!([allow, deny]));
        prop_assert!(!p.public_access(B, false).holds);
        prop_assert!(!p.public_access(B, true).holds);
    }

    /// Adding a condition to an Allow can only narrow it: never public when the bare one is not.
    #[test]
    fn conditions_only_narrow(action in "(s3:GetObject|s3:PutObject|s3:ListBucket|s3:Delete\\*)",
                              key in "(aws:Referer|aws:SourceIp|aws:SourceVpce|aws:PrincipalOrgID)",
                              op in "(StringEquals|StringNotEquals|StringLike|IpAddress|NotIpAddress|StringEqualsIfExists)",
                              value in "(v|10\\.0\\.0\\.0/8|\\*)") {
        let bare = policy(json!([{"Effect": "Allow", "Principal": "*", "Action": action.clone(), "Resource": "*"}]));
        let cond = policy(json!([{"Effect": "Allow", "Principal": "*", "Action": action, "Resource": "*",
                                  "Condition": {op: {key: value}}}]));
        for write in [false, true] {
            prop_assert!(!cond.public_access(B, write).holds || bare.public_access(B, write).holds);
        }
    }

    /// Parsing never panics on arbitrary JSON-ish input.
    #[test]
    fn parse_never_panics(s in ".{0,200}") {
        let _ = Policy::parse(&s);
    }
}
