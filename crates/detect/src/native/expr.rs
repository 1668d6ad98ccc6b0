//! Match expressions compiled into a tree of [`Node`]s and evaluated against JSON events.
//!
//! Semantics (where Panther leaves them open, chosen here and documented):
//! - A key path resolves to zero or more values (`[*]` fans out). A positive condition holds
//!   when at least one resolved value satisfies it; every negated form (`DoesNot…`, `IsNotIn`,
//!   `IsNull`, `IsNullOrEmpty`, `DoesNotExist`, `IsIPAddressNotInCIDR`) is exactly the negation
//!   of its positive form, so `DoesNotEqual` holds for a missing key.
//! - String conditions only match string values; `Contains` on a list tests membership.
//! - Ordering conditions accept numbers and strings that spell a number.
//! - `AllElements` needs a list (vacuously true when empty); a missing key makes it false.

use std::cmp::Ordering;
use std::net::IpAddr;

use ipnet::IpNet;
use serde_json::Value;

use super::ip;
use super::path::{KeyPath, Lookups, eq_ignore_case};
use super::value::{Num, Scalar, ScalarSet, caseless, is_null_or_empty, values_equal};
use super::{CompileError, CompileErrorKind};
use crate::content::spec::{KeySpecifier, MatchExpression};

/// One compiled match expression.
#[derive(Debug, Clone)]
pub(crate) enum Node {
    All(Box<[Node]>),
    Any(Box<[Node]>),
    OnlyOne(Box<[Node]>),
    None(Box<[Node]>),
    Const(bool),
    /// A condition on the values of one key.
    Key {
        key: KeyPath,
        test: Test,
        negate: bool,
    },
    /// A comparison between the values of two keys.
    Keys {
        left: KeyPath,
        right: KeyPath,
        op: PairOp,
        negate: bool,
    },
    /// A quantifier over list elements, each evaluated as the root of `body` (an implicit All).
    Elements {
        key: KeyPath,
        quantifier: Quantifier,
        body: Box<[Node]>,
    },
}

#[derive(Debug, Clone)]
pub(crate) enum Test {
    Present,
    NotNull,
    HasContent,
    Equals(Scalar),
    EqualsCaseless(Box<str>),
    StartsWith(Box<str>),
    StartsWithCaseless(Box<str>),
    EndsWith(Box<str>),
    EndsWithCaseless(Box<str>),
    Contains { text: Box<str>, scalar: Scalar },
    ContainsCaseless(Box<str>),
    Order(Order, Num),
    In(ScalarSet),
    Ip(IpKind),
    InCidr(Box<[IpNet]>),
}

#[derive(Debug, Clone, Copy)]
pub(crate) enum Order {
    Greater,
    GreaterOrEqual,
    Less,
    LessOrEqual,
}

impl Order {
    fn accepts(self, ordering: Ordering) -> bool {
        match self {
            Order::Greater => ordering.is_gt(),
            Order::GreaterOrEqual => ordering.is_ge(),
            Order::Less => ordering.is_lt(),
            Order::LessOrEqual => ordering.is_le(),
        }
    }
}

#[derive(Debug, Clone, Copy)]
pub(crate) enum IpKind {
    Any,
    V4,
    V6,
    Public,
    Private,
}

#[derive(Debug, Clone, Copy)]
pub(crate) enum PairOp {
    Equals,
    EqualsCaseless,
    Order(Order),
}

#[derive(Debug, Clone, Copy)]
pub(crate) enum Quantifier {
    Any,
    All,
    OnlyOne,
    None,
}

/// What a condition's key path starts from: a whole event, whose top-level lookups are shared,
/// or an element of a list (the body of `AnyElement`, `AllElements`, ...).
#[derive(Clone, Copy)]
pub(crate) enum Root<'a, 'v> {
    Event(&'a Lookups<'v>),
    Element(&'v Value),
}

impl<'v> Root<'_, 'v> {
    fn any<F: FnMut(&'v Value) -> bool>(self, key: &KeyPath, f: F) -> bool {
        match self {
            Root::Event(lookups) => key.any_in(lookups, f),
            Root::Element(value) => key.any(value, f),
        }
    }
}

impl Node {
    pub(crate) fn eval(&self, root: Root<'_, '_>) -> bool {
        match self {
            Node::All(nodes) => nodes.iter().all(|n| n.eval(root)),
            Node::Any(nodes) => nodes.iter().any(|n| n.eval(root)),
            Node::OnlyOne(nodes) => {
                let mut hits = nodes.iter().filter(|n| n.eval(root));
                hits.next().is_some() && hits.next().is_none()
            }
            Node::None(nodes) => !nodes.iter().any(|n| n.eval(root)),
            Node::Const(b) => *b,
            Node::Key { key, test, negate } => root.any(key, |v| test.holds(v)) != *negate,
            Node::Keys {
                left,
                right,
                op,
                negate,
            } => root.any(left, |a| root.any(right, |b| op.holds(a, b))) != *negate,
            Node::Elements {
                key,
                quantifier,
                body,
            } => quantifier.eval(key, root, body),
        }
    }
}

fn all_hold(body: &[Node], item: &Value) -> bool {
    body.iter().all(|n| n.eval(Root::Element(item)))
}

impl Quantifier {
    fn eval(self, key: &KeyPath, root: Root<'_, '_>, body: &[Node]) -> bool {
        let any = || {
            root.any(key, |v| {
                v.as_array()
                    .is_some_and(|items| items.iter().any(|e| all_hold(body, e)))
            })
        };
        match self {
            Quantifier::Any => any(),
            Quantifier::None => !any(),
            Quantifier::All => {
                let mut seen_list = false;
                let failed = root.any(key, |v| match v.as_array() {
                    Some(items) => {
                        seen_list = true;
                        !items.iter().all(|e| all_hold(body, e))
                    }
                    None => true,
                });
                seen_list && !failed
            }
            Quantifier::OnlyOne => {
                let mut hits = 0usize;
                root.any(key, |v| {
                    for item in v.as_array().into_iter().flatten() {
                        if all_hold(body, item) {
                            hits += 1;
                            if hits > 1 {
                                return true;
                            }
                        }
                    }
                    false
                });
                hits == 1
            }
        }
    }
}

impl Test {
    fn holds(&self, v: &Value) -> bool {
        match self {
            Test::Present => true,
            Test::NotNull => !v.is_null(),
            Test::HasContent => !is_null_or_empty(v),
            Test::Equals(scalar) => scalar.matches(v),
            Test::EqualsCaseless(lower) => v.as_str().is_some_and(|s| caseless::equals(s, lower)),
            Test::StartsWith(p) => v.as_str().is_some_and(|s| s.starts_with(&**p)),
            Test::StartsWithCaseless(p) => v.as_str().is_some_and(|s| caseless::starts_with(s, p)),
            Test::EndsWith(p) => v.as_str().is_some_and(|s| s.ends_with(&**p)),
            Test::EndsWithCaseless(p) => v.as_str().is_some_and(|s| caseless::ends_with(s, p)),
            Test::Contains { text, scalar } => match v {
                Value::String(s) => s.contains(&**text),
                Value::Array(items) => items.iter().any(|e| scalar.matches(e)),
                _ => false,
            },
            Test::ContainsCaseless(lower) => match v {
                Value::String(s) => caseless::contains(s, lower),
                Value::Array(items) => items
                    .iter()
                    .any(|e| e.as_str().is_some_and(|s| caseless::equals(s, lower))),
                _ => false,
            },
            Test::Order(order, rhs) => Num::from_event(v)
                .and_then(|lhs| lhs.compare(*rhs))
                .is_some_and(|o| order.accepts(o)),
            Test::In(set) => set.contains(v),
            Test::Ip(kind) => parse_ip(v).is_some_and(|addr| match kind {
                IpKind::Any => true,
                IpKind::V4 => addr.is_ipv4(),
                IpKind::V6 => addr.is_ipv6(),
                IpKind::Public => ip::is_global(addr),
                IpKind::Private => ip::is_private(addr),
            }),
            Test::InCidr(nets) => {
                parse_ip(v).is_some_and(|addr| nets.iter().any(|n| n.contains(&addr)))
            }
        }
    }
}

impl PairOp {
    fn holds(self, a: &Value, b: &Value) -> bool {
        match self {
            PairOp::Equals => values_equal(a, b),
            PairOp::EqualsCaseless => match (a, b) {
                (Value::String(a), Value::String(b)) => eq_ignore_case(a, b),
                _ => false,
            },
            PairOp::Order(order) => match (Num::from_event(a), Num::from_event(b)) {
                (Some(a), Some(b)) => a.compare(b).is_some_and(|o| order.accepts(o)),
                _ => false,
            },
        }
    }
}

fn parse_ip(v: &Value) -> Option<IpAddr> {
    v.as_str()?.parse().ok()
}

/// What a condition name compiles to, before its operands are read.
#[derive(Debug, Clone, Copy)]
enum Kind {
    Present,
    NotNull,
    HasContent,
    Equals,
    EqualsCaseless,
    StartsWith,
    StartsWithCaseless,
    EndsWith,
    EndsWithCaseless,
    Contains,
    ContainsCaseless,
    Order(Order),
    In,
    Ip(IpKind),
    InCidr,
    Elements(Quantifier),
    Const(bool),
}

/// Maps a `Condition` name to its kind and whether it is the negated form.
fn condition(name: &str) -> Option<(Kind, bool)> {
    Some(match name {
        "Exists" => (Kind::Present, false),
        "DoesNotExist" => (Kind::Present, true),
        "IsNotNull" => (Kind::NotNull, false),
        "IsNull" => (Kind::NotNull, true),
        "IsNotNullOrEmpty" => (Kind::HasContent, false),
        "IsNullOrEmpty" => (Kind::HasContent, true),
        "Equals" => (Kind::Equals, false),
        "DoesNotEqual" => (Kind::Equals, true),
        "IEquals" => (Kind::EqualsCaseless, false),
        "IDoesNotEqual" => (Kind::EqualsCaseless, true),
        "StartsWith" => (Kind::StartsWith, false),
        "DoesNotStartWith" => (Kind::StartsWith, true),
        "IStartsWith" => (Kind::StartsWithCaseless, false),
        "IDoesNotStartWith" => (Kind::StartsWithCaseless, true),
        "EndsWith" => (Kind::EndsWith, false),
        "DoesNotEndWith" => (Kind::EndsWith, true),
        "IEndsWith" => (Kind::EndsWithCaseless, false),
        "IDoesNotEndWith" => (Kind::EndsWithCaseless, true),
        "Contains" => (Kind::Contains, false),
        "DoesNotContain" => (Kind::Contains, true),
        "IContains" => (Kind::ContainsCaseless, false),
        "IDoesNotContain" => (Kind::ContainsCaseless, true),
        "IsGreaterThan" => (Kind::Order(Order::Greater), false),
        // Panther's InlineFilters list spells the inclusive forms with a trailing "s".
        "IsGreaterThanOrEqual" | "IsGreaterThanOrEquals" => {
            (Kind::Order(Order::GreaterOrEqual), false)
        }
        "IsLessThan" => (Kind::Order(Order::Less), false),
        "IsLessThanOrEqual" | "IsLessThanOrEquals" => (Kind::Order(Order::LessOrEqual), false),
        "IsIn" => (Kind::In, false),
        "IsNotIn" => (Kind::In, true),
        "IsIPAddress" => (Kind::Ip(IpKind::Any), false),
        "IsIPv4Address" => (Kind::Ip(IpKind::V4), false),
        "IsIPv6Address" => (Kind::Ip(IpKind::V6), false),
        "IsIPAddressPublic" => (Kind::Ip(IpKind::Public), false),
        "IsIPAddressPrivate" => (Kind::Ip(IpKind::Private), false),
        "IsIPAddressInCIDR" => (Kind::InCidr, false),
        "IsIPAddressNotInCIDR" => (Kind::InCidr, true),
        "AnyElement" => (Kind::Elements(Quantifier::Any), false),
        "AllElements" => (Kind::Elements(Quantifier::All), false),
        "OnlyOneElement" => (Kind::Elements(Quantifier::OnlyOne), false),
        "NoElement" => (Kind::Elements(Quantifier::None), false),
        "AlwaysTrue" => (Kind::Const(true), false),
        "AlwaysFalse" => (Kind::Const(false), false),
        _ => return None,
    })
}

/// Compiles a list of expressions; `path` names the list (e.g. `Detection`).
pub(crate) fn compile_list(
    exprs: &[MatchExpression],
    path: &str,
) -> Result<Box<[Node]>, CompileError> {
    exprs
        .iter()
        .enumerate()
        .map(|(i, e)| compile(e, &format!("{path}[{i}]")))
        .collect()
}

/// Compiles a key specifier on its own (`GroupBy`, `AlertContext`, multi-key `Values`).
pub(crate) fn compile_key(spec: &KeySpecifier, path: &str) -> Result<KeyPath, CompileError> {
    key_of(
        spec.key_path.as_deref(),
        spec.key.as_deref(),
        spec.deep_key.as_deref(),
        path,
    )?
    .ok_or_else(|| CompileError::new(path, CompileErrorKind::KeySpecifierCount))
}

fn key_of(
    key_path: Option<&str>,
    key: Option<&str>,
    deep_key: Option<&[Value]>,
    path: &str,
) -> Result<Option<KeyPath>, CompileError> {
    let parsed = match (key_path, key, deep_key) {
        (None, None, None) => return Ok(None),
        (Some(p), None, None) => KeyPath::parse(p),
        (None, Some(k), None) => Ok(KeyPath::key(k)),
        (None, None, Some(parts)) => KeyPath::deep(parts),
        _ => return Err(CompileError::new(path, CompileErrorKind::KeySpecifierCount)),
    };
    parsed
        .map(Some)
        .map_err(|reason| CompileError::new(path, CompileErrorKind::BadKey(reason)))
}

fn compile(e: &MatchExpression, path: &str) -> Result<Node, CompileError> {
    let err = |kind| CompileError::new(path, kind);
    if e.enrichment.is_some() {
        return Err(err(CompileErrorKind::Unsupported(
            "Enrichment (lookup tables)",
        )));
    }
    type Group = fn(Box<[Node]>) -> Node;
    let groups: [(&'static str, &Option<Vec<MatchExpression>>, Group); 4] = [
        ("All", &e.all, Node::All),
        ("Any", &e.any, Node::Any),
        ("OnlyOne", &e.only_one, Node::OnlyOne),
        ("None", &e.none, Node::None),
    ];
    let mut present = groups
        .into_iter()
        .filter_map(|(name, group, make)| group.as_deref().map(|g| (name, g, make)));
    if let Some((name, group, make)) = present.next() {
        let alone = present.next().is_none()
            && e.condition.is_none()
            && e.key_path.is_none()
            && e.key.is_none()
            && e.deep_key.is_none()
            && e.value.is_none()
            && e.values.is_none()
            && e.expressions.is_none();
        if !alone {
            return Err(err(CompileErrorKind::MixedGroup(name)));
        }
        return Ok(make(compile_list(group, &format!("{path}.{name}"))?));
    }

    let name = e
        .condition
        .as_deref()
        .ok_or_else(|| err(CompileErrorKind::MissingCondition))?;
    let (kind, negate) =
        condition(name).ok_or_else(|| err(CompileErrorKind::UnknownCondition(name.into())))?;
    let operands = Operands { e, name, path };
    let key = key_of(
        e.key_path.as_deref(),
        e.key.as_deref(),
        e.deep_key.as_deref(),
        path,
    )?;

    if let Kind::Const(value) = kind {
        operands.none_of(&[Operand::Value, Operand::Values, Operand::Expressions])?;
        if key.is_some() {
            return Err(err(CompileErrorKind::UnexpectedKey(name.into())));
        }
        return Ok(Node::Const(value));
    }
    if let Kind::Elements(quantifier) = kind {
        operands.none_of(&[Operand::Value, Operand::Values])?;
        let key = key.ok_or_else(|| err(CompileErrorKind::MissingKey(name.into())))?;
        let body = e
            .expressions
            .as_deref()
            .ok_or_else(|| operands.missing(Operand::Expressions))?;
        let body = compile_list(body, &format!("{path}.Expressions"))?;
        return Ok(Node::Elements {
            key,
            quantifier,
            body,
        });
    }
    operands.none_of(&[Operand::Expressions])?;

    let Some(key) = key else {
        // Without a key, the only form left is a comparison between two keys.
        return compile_pair(kind, negate, &operands);
    };
    let test = match kind {
        Kind::Present => operands.bare(Test::Present)?,
        Kind::NotNull => operands.bare(Test::NotNull)?,
        Kind::HasContent => operands.bare(Test::HasContent)?,
        Kind::Ip(ip_kind) => operands.bare(Test::Ip(ip_kind))?,
        Kind::Equals => Test::Equals(operands.scalar()?),
        Kind::EqualsCaseless => Test::EqualsCaseless(operands.text()?.to_lowercase().into()),
        Kind::StartsWith => Test::StartsWith(operands.text()?.into()),
        Kind::StartsWithCaseless => {
            Test::StartsWithCaseless(operands.text()?.to_lowercase().into())
        }
        Kind::EndsWith => Test::EndsWith(operands.text()?.into()),
        Kind::EndsWithCaseless => Test::EndsWithCaseless(operands.text()?.to_lowercase().into()),
        Kind::Contains => Test::Contains {
            text: operands.text()?.into(),
            scalar: operands.scalar()?,
        },
        Kind::ContainsCaseless => Test::ContainsCaseless(operands.text()?.to_lowercase().into()),
        Kind::Order(order) => Test::Order(order, operands.number()?),
        Kind::In => Test::In(operands.scalar_set()?),
        Kind::InCidr => Test::InCidr(operands.cidrs()?),
        Kind::Elements(_) | Kind::Const(_) => unreachable!("handled before the key"),
    };
    Ok(Node::Key { key, test, negate })
}

fn compile_pair(kind: Kind, negate: bool, operands: &Operands<'_>) -> Result<Node, CompileError> {
    let op = match kind {
        Kind::Equals => PairOp::Equals,
        Kind::EqualsCaseless => PairOp::EqualsCaseless,
        Kind::Order(order) => PairOp::Order(order),
        _ => {
            return Err(CompileError::new(
                operands.path,
                CompileErrorKind::MissingKey(operands.name.into()),
            ));
        }
    };
    let Some(values) = operands.e.values.as_deref() else {
        // A lone Value means the key was forgotten, not the second key.
        return Err(CompileError::new(
            operands.path,
            CompileErrorKind::MissingKey(operands.name.into()),
        ));
    };
    operands.none_of(&[Operand::Value])?;
    let [left, right] = values else {
        return Err(operands.bad("comparing two keys needs exactly two key specifiers in Values"));
    };
    let key = |v: &Value, i: usize| {
        let spec: KeySpecifier = serde_json::from_value(v.clone())
            .map_err(|e| operands.bad(&format!("Values[{i}] is not a key specifier: {e}")))?;
        compile_key(&spec, &format!("{}.Values[{i}]", operands.path))
    };
    Ok(Node::Keys {
        left: key(left, 0)?,
        right: key(right, 1)?,
        op,
        negate,
    })
}

/// The keys that carry a condition's operands.
#[derive(Debug, Clone, Copy)]
enum Operand {
    Value,
    Values,
    Expressions,
}

impl Operand {
    fn name(self) -> &'static str {
        match self {
            Operand::Value => "Value",
            Operand::Values => "Values",
            Operand::Expressions => "Expressions",
        }
    }
}

/// Reads and checks the operands of one condition.
struct Operands<'a> {
    e: &'a MatchExpression,
    name: &'a str,
    path: &'a str,
}

impl Operands<'_> {
    fn missing(&self, operand: Operand) -> CompileError {
        CompileError::new(
            self.path,
            CompileErrorKind::MissingOperand {
                condition: self.name.into(),
                operand: operand.name(),
            },
        )
    }

    fn bad(&self, reason: &str) -> CompileError {
        CompileError::new(
            self.path,
            CompileErrorKind::BadOperand {
                condition: self.name.into(),
                reason: reason.into(),
            },
        )
    }

    fn none_of(&self, operands: &[Operand]) -> Result<(), CompileError> {
        for &operand in operands {
            let present = match operand {
                Operand::Value => self.e.value.is_some(),
                Operand::Values => self.e.values.is_some(),
                Operand::Expressions => self.e.expressions.is_some(),
            };
            if present {
                return Err(CompileError::new(
                    self.path,
                    CompileErrorKind::UnexpectedOperand {
                        condition: self.name.into(),
                        operand: operand.name(),
                    },
                ));
            }
        }
        Ok(())
    }

    /// For conditions that take no operand.
    fn bare(&self, test: Test) -> Result<Test, CompileError> {
        self.none_of(&[Operand::Value, Operand::Values])?;
        Ok(test)
    }

    fn value(&self) -> Result<&Value, CompileError> {
        self.none_of(&[Operand::Values])?;
        self.e
            .value
            .as_ref()
            .ok_or_else(|| self.missing(Operand::Value))
    }

    fn scalar(&self) -> Result<Scalar, CompileError> {
        Scalar::from_yaml(self.value()?)
            .ok_or_else(|| self.bad("Value must be a string, a number or a boolean"))
    }

    /// String conditions take a string; an integer stands for its decimal digits.
    fn text(&self) -> Result<String, CompileError> {
        match self.value()? {
            Value::String(s) => Ok(s.clone()),
            Value::Number(n) if !n.is_f64() => Ok(n.to_string()),
            _ => Err(self.bad("Value must be a string (quote it)")),
        }
    }

    fn number(&self) -> Result<Num, CompileError> {
        match self.value()? {
            Value::Number(n) => Ok(Num::from_json(n)),
            _ => Err(self.bad("Value must be a number")),
        }
    }

    fn scalar_set(&self) -> Result<ScalarSet, CompileError> {
        self.none_of(&[Operand::Value])?;
        let values = self
            .e
            .values
            .as_deref()
            .ok_or_else(|| self.missing(Operand::Values))?;
        if values.is_empty() {
            return Err(self.bad("Values is empty"));
        }
        let scalars = values
            .iter()
            .map(Scalar::from_yaml)
            .collect::<Option<Vec<_>>>()
            .ok_or_else(|| self.bad("Values must be strings, numbers or booleans"))?;
        Ok(ScalarSet::new(scalars))
    }

    /// One CIDR in `Value`, or several in `Values`; a bare address means a single host.
    fn cidrs(&self) -> Result<Box<[IpNet]>, CompileError> {
        let texts: Vec<&Value> = match (&self.e.value, &self.e.values) {
            (Some(v), None) => vec![v],
            (None, Some(vs)) if !vs.is_empty() => vs.iter().collect(),
            (None, Some(_)) => return Err(self.bad("Values is empty")),
            (None, None) => return Err(self.missing(Operand::Value)),
            (Some(_), Some(_)) => {
                return Err(self.bad("give the CIDR in either Value or Values, not both"));
            }
        };
        texts
            .into_iter()
            .map(|v| {
                let text = v
                    .as_str()
                    .ok_or_else(|| self.bad(&format!("{v} is not a CIDR")))?;
                text.parse::<IpNet>()
                    .map(|net| net.trunc())
                    .or_else(|_| text.parse::<IpAddr>().map(IpNet::from))
                    .map_err(|_| self.bad(&format!("'{text}' is not a CIDR")))
            })
            .collect()
    }
}
