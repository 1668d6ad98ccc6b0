//! Bucket-policy analysis with IAM semantics: is a policy public, which other accounts may call
//! the dangerous bucket-administration actions, does it deny plain HTTP.
//!
//! Owns: normalizing a policy document (object-or-array `Statement`, string-or-list fields,
//! case-insensitive condition keys), the condition operators, and the verdicts with their
//! reasons. Must not touch: AWS calls or the resource JSON layout (see `resource`).
//!
//! Method (posture reference §6): a policy is evaluated against adversarial requests rather than
//! pattern-matched. The caller is anonymous (or a foreign account), and each condition key takes
//! every value an adversary could present: absent, "elsewhere" (a value equal to none of the
//! policy's fixed values but matching any wildcard or `${variable}` value), and the literals the
//! policy names. Keys that AWS lets restrict a wildcard principal (`aws:SourceIp`,
//! `aws:SourceVpce`, `aws:PrincipalOrgID`, ...) only take absent or elsewhere, since a stranger
//! cannot come from the owner's network or organization. Explicit Deny wins; a request that ends
//! in Allow makes the policy public.

use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;

use ipnet::IpNet;
use serde::Serialize;
use serde_json::Value;

/// A policy document that is not valid IAM JSON.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum PolicyError {
    #[error("the policy is not JSON: {0}")]
    NotJson(String),
    #[error("the policy has no Statement")]
    NoStatement,
    #[error("{0}: {1}")]
    Statement(String, String),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Effect {
    Allow,
    Deny,
}

/// A principal element: `*`, or values per type (`AWS`, `Service`, `CanonicalUser`, `Federated`).
#[derive(Debug, Clone)]
enum Principals {
    Any,
    Some(Vec<(String, String)>),
}

#[derive(Debug, Clone)]
struct Condition {
    /// As written, e.g. `ForAnyValue:StringEqualsIfExists`.
    operator: String,
    /// Lower-cased.
    key: String,
    /// As written (the case of the key in the document, for reasons).
    key_display: String,
    values: Vec<String>,
}

#[derive(Debug, Clone)]
struct Statement {
    label: String,
    effect: Effect,
    /// `(principals, negated)`: `NotPrincipal` when negated; `None` when neither is given.
    principal: Option<(Principals, bool)>,
    actions: (Vec<String>, bool),
    resources: (Vec<String>, bool),
    conditions: Vec<Condition>,
}

/// A parsed bucket policy.
#[derive(Debug, Clone)]
pub struct Policy {
    statements: Vec<Statement>,
}

/// Actions an anonymous caller must not be able to call (posture reference §6), by direction.
const READ_ACTIONS: &[&str] = &[
    "s3:GetObject",
    "s3:GetObjectVersion",
    "s3:GetObjectAcl",
    "s3:ListBucket",
    "s3:ListBucketVersions",
    "s3:ListBucketMultipartUploads",
    "s3:GetBucketPolicy",
    "s3:GetBucketAcl",
];
const WRITE_ACTIONS: &[&str] = &[
    "s3:PutObject",
    "s3:PutObjectAcl",
    "s3:DeleteObject",
    "s3:DeleteObjectVersion",
    "s3:AbortMultipartUpload",
    "s3:RestoreObject",
    "s3:PutBucketPolicy",
    "s3:DeleteBucketPolicy",
    "s3:PutBucketAcl",
    "s3:PutEncryptionConfiguration",
    "s3:DeleteBucket",
    "s3:PutLifecycleConfiguration",
];

/// The actions of Security Hub S3.6 (s3-bucket-blacklisted-actions-prohibited).
pub const BLACKLISTED_ACTIONS: &[&str] = &[
    "s3:DeleteBucketPolicy",
    "s3:PutBucketAcl",
    "s3:PutBucketPolicy",
    "s3:PutEncryptionConfiguration",
    "s3:PutObjectAcl",
];

/// Keys whose fixed values make a wildcard principal non-public, and which an internet caller
/// does not carry (so `…IfExists` on them does not restrict).
const RESTRICTING_ABSENT_KEYS: &[&str] = &[
    "aws:sourcevpc",
    "aws:sourcevpce",
    "aws:sourcearn",
    "aws:sourceaccount",
    "aws:sourceowner",
    "aws:principalorgid",
    "aws:principalaccount",
    "aws:principalarn",
    "aws:userid",
    "s3:x-amz-server-side-encryption-aws-kms-key-id",
    "s3:dataaccesspointarn",
    "s3:dataaccesspointaccount",
];

/// A value a condition key takes in an adversarial request.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum Ctx {
    Absent,
    /// Equal to no fixed value of the policy; matches wildcard and variable values.
    Elsewhere,
    Lit(String),
}

/// Who calls in an adversarial request.
#[derive(Debug, Clone)]
enum Caller {
    Anonymous,
    /// A principal of another account: its ARN and account id.
    Account {
        arn: String,
        account: String,
    },
}

/// Most requests evaluated per caller and action; past it, literals of free keys are dropped
/// (keeping absent and elsewhere) so the search stays bounded.
const MAX_CONTEXTS: usize = 4096;

impl Policy {
    /// Parses a policy document, normalizing its shape.
    pub fn parse(text: &str) -> Result<Policy, PolicyError> {
        let doc: Value =
            serde_json::from_str(text).map_err(|e| PolicyError::NotJson(e.to_string()))?;
        let statements = match doc.get("Statement") {
            Some(Value::Array(items)) => items.clone(),
            Some(v @ Value::Object(_)) => vec![v.clone()],
            _ => return Err(PolicyError::NoStatement),
        };
        let statements = statements
            .iter()
            .enumerate()
            .map(|(i, s)| parse_statement(i, s))
            .collect::<Result<_, _>>()?;
        Ok(Policy { statements })
    }

    /// Principals written with a wildcard inside an ARN (`arn:aws:iam::1:role/*`): AWS rejects
    /// them on write, so they grant nothing, but an emulator or an old document may hold them.
    pub fn malformed_principals(&self) -> Vec<String> {
        let mut out = BTreeSet::new();
        for s in &self.statements {
            if let Some((Principals::Some(list), _)) = &s.principal {
                for (kind, v) in list {
                    if kind == "AWS" && v != "*" && (v.contains('*') || v.contains('?')) {
                        out.insert(v.clone());
                    }
                }
            }
        }
        out.into_iter().collect()
    }

    /// Whether an anonymous caller can read (`write == false`) or write the bucket, and why.
    pub fn public_access(&self, bucket_arn: &str, write: bool) -> Verdict {
        let actions = if write { WRITE_ACTIONS } else { READ_ACTIONS };
        let mut reasons = Vec::new();
        let mut opened = BTreeMap::<String, BTreeSet<&str>>::new();
        let mut contexts_seen = BTreeMap::<String, String>::new();
        for action in actions {
            let resource = resource_for(bucket_arn, action);
            if let Some((label, ctx)) = self.allowed(&Caller::Anonymous, action, &resource) {
                opened.entry(label.clone()).or_default().insert(action);
                contexts_seen.entry(label).or_insert(ctx);
            }
        }
        for (label, acts) in &opened {
            let acts: Vec<&str> = acts.iter().copied().collect();
            let mut r = format!("{label} allows anyone {}", acts.join(", "));
            if let Some(ctx) = contexts_seen.get(label).filter(|c| !c.is_empty()) {
                r.push_str(&format!(" (its conditions hold for a stranger: {ctx})"));
            }
            reasons.push(r);
        }
        let public = !opened.is_empty();
        if !public {
            reasons = self.why_not_public(bucket_arn, actions);
        }
        Verdict {
            holds: public,
            reasons,
        }
    }

    /// Per other account (or `*` for anyone), the S3.6 actions the policy allows it. Accounts in
    /// `owner` are left out; the caller filters trusted accounts.
    pub fn cross_account_actions(
        &self,
        bucket_arn: &str,
        owner: &str,
    ) -> BTreeMap<String, Vec<String>> {
        // "Anyone else" is probed with an account no policy can name (not 12 digits), so a
        // real account in the policy is never mistaken for everyone.
        let mut callers: Vec<Caller> = vec![Caller::Account {
            arn: "arn:aws:iam::any-other-account:root".into(),
            account: "*".into(),
        }];
        let mut named = BTreeSet::new();
        for s in &self.statements {
            if let Some((Principals::Some(list), _)) = &s.principal {
                for (kind, v) in list {
                    if kind != "AWS" || v.contains('*') || v.contains('?') {
                        continue;
                    }
                    if let Some(account) = account_of(v).filter(|a| a != owner) {
                        named.insert((principal_arn(v, &account), account));
                    }
                }
            }
        }
        callers.extend(
            named
                .into_iter()
                .map(|(arn, account)| Caller::Account { arn, account }),
        );
        let mut out = BTreeMap::new();
        for caller in &callers {
            let Caller::Account { account, .. } = caller else {
                continue;
            };
            let allowed: Vec<String> = BLACKLISTED_ACTIONS
                .iter()
                .filter(|a| {
                    self.allowed(caller, a, &resource_for(bucket_arn, a))
                        .is_some()
                })
                .map(|a| a.to_string())
                .collect();
            if !allowed.is_empty() {
                out.insert(account.clone(), allowed);
            }
        }
        out
    }

    /// Secure transport (S3.5, CIS "deny HTTP"): one Deny statement for every principal, every
    /// S3 action, the bucket and its objects, conditioned only on `aws:SecureTransport` false.
    pub fn secure_transport(&self, bucket_arn: &str) -> Verdict {
        let object_arn = format!("{bucket_arn}/*");
        let mut reasons = Vec::new();
        for s in &self.statements {
            let Some(cond) = s.conditions.iter().find(|c| c.key == "aws:securetransport") else {
                continue;
            };
            let op = cond.operator.to_ascii_lowercase();
            let is_false = cond.values.iter().all(|v| v.eq_ignore_ascii_case("false"))
                && !cond.values.is_empty();
            if s.effect == Effect::Allow {
                reasons.push(format!(
                    "{} is an Allow on aws:SecureTransport; only an explicit Deny of HTTP requests counts",
                    s.label
                ));
                continue;
            }
            let mut gaps = Vec::new();
            if !(op == "bool" || op == "boolifexists") || !is_false {
                gaps.push(format!(
                    "its condition is {} {} {:?}, not Bool aws:SecureTransport false",
                    cond.operator, cond.key_display, cond.values
                ));
            }
            if s.conditions.len() > 1 {
                let extra: Vec<&str> = s
                    .conditions
                    .iter()
                    .filter(|c| c.key != "aws:securetransport")
                    .map(|c| c.key_display.as_str())
                    .collect();
                gaps.push(format!(
                    "it also requires {} (narrows the Deny)",
                    extra.join(", ")
                ));
            }
            if !s.applies_to_everyone() {
                gaps.push("it does not apply to every principal (Principal must be *)".into());
            }
            let all_actions = s
                .actions
                .0
                .iter()
                .any(|a| a == "*" || a.eq_ignore_ascii_case("s3:*"));
            if s.actions.1 || !all_actions {
                gaps.push(format!(
                    "it denies only {}{:?}, not s3:*",
                    if s.actions.1 { "everything but " } else { "" },
                    s.actions.0
                ));
            }
            let covers = |arn: &str| {
                let hit = s.resources.0.iter().any(|p| glob(p, arn, false));
                hit != s.resources.1
            };
            if !covers(bucket_arn) {
                gaps.push(format!("it does not cover the bucket ARN {bucket_arn}"));
            }
            if !covers(&format!("{bucket_arn}/bucketwatch-probe")) {
                gaps.push(format!("it does not cover the objects {object_arn}"));
            }
            if gaps.is_empty() {
                return Verdict {
                    holds: true,
                    reasons: vec![format!(
                        "{} denies every S3 action on {bucket_arn} and {object_arn} when aws:SecureTransport is false",
                        s.label
                    )],
                };
            }
            reasons.push(format!(
                "{} does not enforce HTTPS: {}",
                s.label,
                gaps.join("; ")
            ));
        }
        if reasons.is_empty() {
            reasons.push("no statement denies requests where aws:SecureTransport is false".into());
        }
        Verdict {
            holds: false,
            reasons,
        }
    }

    /// The minimum TLS version a Deny for every principal enforces (`NumericLessThan
    /// s3:TlsVersion` of 1.2 or more), reported beside secure transport, never in its place.
    pub fn minimum_tls(&self) -> Option<String> {
        self.statements.iter().find_map(|s| {
            let c = s.conditions.iter().find(|c| c.key == "s3:tlsversion")?;
            let ok = s.effect == Effect::Deny
                && s.applies_to_everyone()
                && c.operator
                    .to_ascii_lowercase()
                    .starts_with("numericlessthan")
                && c.values
                    .iter()
                    .any(|v| v.parse::<f64>().is_ok_and(|v| v >= 1.2));
            ok.then(|| c.values.join(","))
        })
    }

    /// The first Allow statement that lets `caller` call `action` on `resource` under some
    /// adversarial context no Deny catches, with that context described.
    fn allowed(&self, caller: &Caller, action: &str, resource: &str) -> Option<(String, String)> {
        let relevant: Vec<&Statement> = self
            .statements
            .iter()
            .filter(|s| {
                s.principal_matches(caller)
                    && s.action_matches(action)
                    && s.resource_matches(resource)
            })
            .collect();
        if !relevant.iter().any(|s| s.effect == Effect::Allow) {
            return None;
        }
        let keys = candidates(&relevant, caller);
        let mut found = None;
        for_each_context(&keys, &mut |ctx| {
            if relevant
                .iter()
                .any(|s| s.effect == Effect::Deny && s.conditions_hold(ctx))
            {
                return false;
            }
            if let Some(s) = relevant
                .iter()
                .find(|s| s.effect == Effect::Allow && s.conditions_hold(ctx))
            {
                let used: Vec<String> = s
                    .conditions
                    .iter()
                    .map(|c| format!("{} {}", c.key_display, describe(ctx.get(&c.key))))
                    .collect::<BTreeSet<_>>()
                    .into_iter()
                    .collect();
                found = Some((s.label.clone(), used.join(", ")));
                return true;
            }
            false
        });
        found
    }

    /// For a non-public policy: what stops each Allow that names everyone.
    fn why_not_public(&self, bucket_arn: &str, actions: &[&str]) -> Vec<String> {
        let mut reasons = Vec::new();
        for s in self.statements.iter().filter(|s| s.effect == Effect::Allow) {
            if !s.principal_matches(&Caller::Anonymous) {
                continue;
            }
            let acts: Vec<&&str> = actions
                .iter()
                .filter(|a| s.action_matches(a) && s.resource_matches(&resource_for(bucket_arn, a)))
                .collect();
            if acts.is_empty() {
                continue;
            }
            let keys = candidates(&[s], &Caller::Anonymous);
            let mut holds = false;
            for_each_context(&keys, &mut |ctx| {
                holds = s.conditions_hold(ctx);
                holds
            });
            if holds {
                let denies: Vec<&str> = self
                    .statements
                    .iter()
                    .filter(|d| d.effect == Effect::Deny)
                    .map(|d| d.label.as_str())
                    .collect();
                reasons.push(format!(
                    "{} names everyone but is overridden by {}",
                    s.label,
                    denies.join(", ")
                ));
            } else {
                let keys: BTreeSet<&str> = s
                    .conditions
                    .iter()
                    .map(|c| c.key_display.as_str())
                    .collect();
                reasons.push(format!(
                    "{} names everyone but its conditions on {} hold only for known callers",
                    s.label,
                    keys.into_iter().collect::<Vec<_>>().join(", ")
                ));
            }
        }
        if reasons.is_empty() {
            reasons.push("no Allow statement grants these actions to a wildcard principal".into());
        }
        reasons
    }
}

/// A yes/no answer with the reasons behind it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Verdict {
    pub holds: bool,
    pub reasons: Vec<String>,
}

fn describe(v: Option<&Ctx>) -> String {
    match v {
        None | Some(Ctx::Absent) => "absent".into(),
        Some(Ctx::Elsewhere) => "set to another value".into(),
        Some(Ctx::Lit(s)) => format!("= {s:?}"),
    }
}

fn resource_for(bucket_arn: &str, action: &str) -> String {
    let a = action.to_ascii_lowercase();
    if a.contains("object") || a.contains("multipart") && !a.contains("list") {
        format!("{bucket_arn}/bucketwatch-probe-object")
    } else {
        bucket_arn.to_string()
    }
}

/// The account of a principal value: a bare account id or an IAM/STS ARN.
fn account_of(v: &str) -> Option<String> {
    if v.len() == 12 && v.bytes().all(|b| b.is_ascii_digit()) {
        return Some(v.to_string());
    }
    let parts: Vec<&str> = v.splitn(6, ':').collect();
    (parts.len() == 6 && parts[0] == "arn" && !parts[4].is_empty()).then(|| parts[4].to_string())
}

fn principal_arn(v: &str, account: &str) -> String {
    if v.starts_with("arn:") {
        v.to_string()
    } else {
        format!("arn:aws:iam::{account}:root")
    }
}

impl Statement {
    /// `Principal: "*"` or `{"AWS": "*"}`, with no `NotPrincipal` exemption.
    fn applies_to_everyone(&self) -> bool {
        match &self.principal {
            Some((Principals::Any, false)) => true,
            Some((Principals::Some(list), false)) => {
                list.iter().any(|(k, v)| k == "AWS" && v == "*")
            }
            _ => false,
        }
    }

    fn principal_matches(&self, caller: &Caller) -> bool {
        let Some((principals, negated)) = &self.principal else {
            // A bucket policy statement without a principal is invalid and grants nothing.
            return false;
        };
        let hit = match principals {
            Principals::Any => true,
            Principals::Some(list) => list.iter().any(|(kind, v)| {
                kind == "AWS"
                    && (v == "*"
                        || match caller {
                            Caller::Anonymous => false,
                            Caller::Account { arn, account } => {
                                if v.contains('*') || v.contains('?') {
                                    false
                                } else if account_of(v).as_deref() == Some(account.as_str())
                                    && (!v.starts_with("arn:") || v.ends_with(":root"))
                                {
                                    true
                                } else {
                                    v == arn
                                }
                            }
                        })
            }),
        };
        hit != *negated
    }

    fn action_matches(&self, action: &str) -> bool {
        let hit = self.actions.0.iter().any(|p| glob(p, action, true));
        hit != self.actions.1
    }

    fn resource_matches(&self, resource: &str) -> bool {
        let hit = self.resources.0.iter().any(|p| glob(p, resource, false));
        hit != self.resources.1
    }

    fn conditions_hold(&self, ctx: &BTreeMap<String, Ctx>) -> bool {
        self.conditions
            .iter()
            .all(|c| c.holds(ctx.get(&c.key).unwrap_or(&Ctx::Absent)))
    }
}

/// Candidate values per condition key of these statements, for this caller.
fn candidates(statements: &[&Statement], caller: &Caller) -> Vec<(String, Vec<Ctx>)> {
    let mut literals = BTreeMap::<String, BTreeSet<Ctx>>::new();
    for s in statements {
        for c in &s.conditions {
            let set = literals.entry(c.key.clone()).or_default();
            if RESTRICTING_ABSENT_KEYS.contains(&c.key.as_str()) || c.key == "aws:sourceip" {
                continue;
            }
            for v in &c.values {
                if is_unbounded(v) {
                    continue;
                }
                set.insert(Ctx::Lit(v.clone()));
                if let Ok(n) = v.parse::<f64>() {
                    set.insert(Ctx::Lit(format!("{}", n + 1.0)));
                    set.insert(Ctx::Lit(format!("{}", n - 1.0)));
                }
            }
        }
    }
    let mut out: Vec<(String, Vec<Ctx>)> = literals
        .into_iter()
        .map(|(key, lits)| {
            let values = match (key.as_str(), caller) {
                ("aws:securetransport", _) => {
                    vec![Ctx::Lit("true".into()), Ctx::Lit("false".into())]
                }
                ("aws:sourceip", _) => vec![Ctx::Elsewhere],
                ("aws:principalaccount", Caller::Account { account, .. }) if account != "*" => {
                    vec![Ctx::Lit(account.clone())]
                }
                ("aws:principalarn", Caller::Account { arn, account }) if account != "*" => {
                    vec![Ctx::Lit(arn.clone())]
                }
                (k, _) if RESTRICTING_ABSENT_KEYS.contains(&k) => vec![Ctx::Absent, Ctx::Elsewhere],
                _ => {
                    let mut v = vec![Ctx::Absent, Ctx::Elsewhere];
                    v.extend(lits);
                    v
                }
            };
            (key, values)
        })
        .collect();
    let total: usize = out.iter().map(|(_, v)| v.len()).product();
    if total > MAX_CONTEXTS {
        for (_, v) in &mut out {
            v.truncate(2);
        }
    }
    out
}

/// Calls `f` with each combination of candidate values until it returns true.
fn for_each_context(
    keys: &[(String, Vec<Ctx>)],
    f: &mut dyn FnMut(&BTreeMap<String, Ctx>) -> bool,
) {
    let mut index = vec![0usize; keys.len()];
    loop {
        let ctx: BTreeMap<String, Ctx> = keys
            .iter()
            .zip(&index)
            .map(|((k, vals), &i)| (k.clone(), vals[i].clone()))
            .collect();
        if f(&ctx) {
            return;
        }
        let mut pos = 0;
        loop {
            if pos == keys.len() {
                return;
            }
            index[pos] += 1;
            if index[pos] < keys[pos].1.len() {
                break;
            }
            index[pos] = 0;
            pos += 1;
        }
    }
}

/// A value AWS cannot bound: it holds a wildcard or a policy variable.
fn is_unbounded(v: &str) -> bool {
    v.contains('*') || v.contains('?') || v.contains("${")
}

impl Condition {
    fn holds(&self, value: &Ctx) -> bool {
        let mut op = self.operator.as_str();
        let mut set_op = None;
        for prefix in ["ForAnyValue:", "ForAllValues:"] {
            if op.len() > prefix.len() && op[..prefix.len()].eq_ignore_ascii_case(prefix) {
                set_op = Some(prefix);
                op = &op[prefix.len()..];
            }
        }
        let if_exists = op.len() > 8 && op[op.len() - 8..].eq_ignore_ascii_case("IfExists");
        if if_exists {
            op = &op[..op.len() - 8];
        }
        let op = op.to_ascii_lowercase();
        if op == "null" {
            let absent = *value == Ctx::Absent;
            return self
                .values
                .iter()
                .any(|v| v.eq_ignore_ascii_case("true") == absent);
        }
        if *value == Ctx::Absent {
            return match set_op {
                Some("ForAllValues:") => true,
                Some(_) => false,
                None => if_exists || op.contains("not"),
            };
        }
        let negated = matches!(
            op.as_str(),
            "stringnotequals"
                | "stringnotequalsignorecase"
                | "stringnotlike"
                | "numericnotequals"
                | "datenotequals"
                | "notipaddress"
                | "arnnotequals"
                | "arnnotlike"
        );
        let positive = match op.as_str() {
            "stringequals" | "stringnotequals" => self.any(value, |p, v| p == v, false),
            "stringequalsignorecase" | "stringnotequalsignorecase" => {
                self.any(value, |p, v| p.eq_ignore_ascii_case(v), false)
            }
            "stringlike" | "stringnotlike" | "arnlike" | "arnnotlike" | "arnequals"
            | "arnnotequals" => self.any(value, |p, v| glob(p, v, false), true),
            "bool" => self.any(value, |p, v| p.eq_ignore_ascii_case(v), false),
            "binaryequals" => self.any(value, |p, v| p == v, false),
            "ipaddress" | "notipaddress" => match value {
                Ctx::Elsewhere => self.values.iter().any(|p| {
                    p.contains("${") || p.parse::<IpNet>().is_ok_and(|n| n.prefix_len() == 0)
                }),
                Ctx::Lit(v) => v.parse::<IpAddr>().is_ok_and(|ip| {
                    self.values
                        .iter()
                        .any(|p| p.parse::<IpNet>().is_ok_and(|n| n.contains(&ip)))
                }),
                Ctx::Absent => false,
            },
            o if o.starts_with("numeric") => {
                let Ctx::Lit(v) = value else {
                    return negated;
                };
                let Ok(v) = v.parse::<f64>() else {
                    return false;
                };
                let cmp = |p: f64| match &o["numeric".len()..] {
                    "equals" | "notequals" => v == p,
                    "lessthan" => v < p,
                    "lessthanequals" => v <= p,
                    "greaterthan" => v > p,
                    "greaterthanequals" => v >= p,
                    _ => true,
                };
                self.values
                    .iter()
                    .filter_map(|p| p.parse::<f64>().ok())
                    .any(cmp)
            }
            // The time of a request is the adversary's to choose.
            o if o.starts_with("date") => true,
            // An operator this evaluator does not know: assume it holds, which can only make an
            // Allow wider and a Deny narrower, so a verdict errs towards "public".
            _ => return true,
        };
        positive != negated
    }

    /// Whether some value of the condition matches `value`; `elsewhere` matches only unbounded
    /// values (variables always, wildcards when `wild` says the operator expands them).
    fn any(&self, value: &Ctx, eq: impl Fn(&str, &str) -> bool, wild: bool) -> bool {
        match value {
            Ctx::Absent => false,
            Ctx::Elsewhere => self
                .values
                .iter()
                .any(|p| p.contains("${") || (wild && (p.contains('*') || p.contains('?')))),
            Ctx::Lit(v) => self.values.iter().any(|p| eq(p, v)),
        }
    }
}

/// Glob with `*` and `?`, as IAM matches actions (case-insensitive) and resources.
pub fn glob(pattern: &str, text: &str, ignore_case: bool) -> bool {
    let (p, t): (Vec<char>, Vec<char>) = if ignore_case {
        (
            pattern.to_lowercase().chars().collect(),
            text.to_lowercase().chars().collect(),
        )
    } else {
        (pattern.chars().collect(), text.chars().collect())
    };
    let (mut pi, mut ti) = (0, 0);
    let (mut star, mut mark) = (None, 0);
    while ti < t.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == t[ti]) {
            pi += 1;
            ti += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some(pi);
            mark = ti;
            pi += 1;
        } else if let Some(s) = star {
            pi = s + 1;
            mark += 1;
            ti = mark;
        } else {
            return false;
        }
    }
    while pi < p.len() && p[pi] == '*' {
        pi += 1;
    }
    pi == p.len()
}

fn strings(v: &Value) -> Result<Vec<String>, String> {
    match v {
        Value::String(s) => Ok(vec![s.clone()]),
        Value::Bool(b) => Ok(vec![b.to_string()]),
        Value::Number(n) => Ok(vec![n.to_string()]),
        Value::Array(items) => items
            .iter()
            .map(|i| match i {
                Value::String(s) => Ok(s.clone()),
                Value::Bool(b) => Ok(b.to_string()),
                Value::Number(n) => Ok(n.to_string()),
                other => Err(format!("unexpected value {other}")),
            })
            .collect(),
        other => Err(format!("expected a string or a list, got {other}")),
    }
}

fn parse_statement(index: usize, s: &Value) -> Result<Statement, PolicyError> {
    let sid = s
        .get("Sid")
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty());
    let label = match sid {
        Some(sid) => format!("statement {sid:?}"),
        None => format!("statement #{}", index + 1),
    };
    let err = |m: String| PolicyError::Statement(label.clone(), m);
    let effect = match s.get("Effect").and_then(Value::as_str) {
        Some("Allow") => Effect::Allow,
        Some("Deny") => Effect::Deny,
        other => return Err(err(format!("Effect must be Allow or Deny, got {other:?}"))),
    };
    let principal = match (s.get("Principal"), s.get("NotPrincipal")) {
        (Some(p), None) => Some((principals(p).map_err(&err)?, false)),
        (None, Some(p)) => Some((principals(p).map_err(&err)?, true)),
        (None, None) => None,
        (Some(_), Some(_)) => return Err(err("has both Principal and NotPrincipal".into())),
    };
    let pair = |name: &str, not: &str| -> Result<(Vec<String>, bool), PolicyError> {
        match (s.get(name), s.get(not)) {
            (Some(v), None) => Ok((strings(v).map_err(&err)?, false)),
            (None, Some(v)) => Ok((strings(v).map_err(&err)?, true)),
            (None, None) => Err(err(format!("has neither {name} nor {not}"))),
            (Some(_), Some(_)) => Err(err(format!("has both {name} and {not}"))),
        }
    };
    let actions = pair("Action", "NotAction")?;
    let resources = pair("Resource", "NotResource")?;
    let mut conditions = Vec::new();
    if let Some(cond) = s.get("Condition") {
        let Value::Object(ops) = cond else {
            return Err(err("Condition must be an object".into()));
        };
        for (operator, keys) in ops {
            let Value::Object(keys) = keys else {
                return Err(err(format!("Condition {operator} must map keys to values")));
            };
            for (key, values) in keys {
                conditions.push(Condition {
                    operator: operator.clone(),
                    key: key.to_ascii_lowercase(),
                    key_display: key.clone(),
                    values: strings(values).map_err(&err)?,
                });
            }
        }
    }
    Ok(Statement {
        label,
        effect,
        principal,
        actions,
        resources,
        conditions,
    })
}

fn principals(v: &Value) -> Result<Principals, String> {
    match v {
        Value::String(s) if s == "*" => Ok(Principals::Any),
        Value::Object(map) => {
            let mut list = Vec::new();
            for (kind, values) in map {
                for value in strings(values)? {
                    list.push((kind.clone(), value));
                }
            }
            Ok(Principals::Some(list))
        }
        other => Err(format!("Principal must be \"*\" or an object, got {other}")),
    }
}

#[cfg(test)]
mod tests;
