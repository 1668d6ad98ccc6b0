//! The no-code alert fields: `AlertTitle` templates and rendering of event values into titles,
//! dedup strings and alert context.

use serde_json::Value;

use super::path::KeyPath;

/// A compiled `AlertTitle`: literal text with `{key.path}` placeholders. `{{` and `}}` stand
/// for literal braces.
#[derive(Debug, Clone)]
pub(crate) struct Template {
    parts: Box<[Part]>,
}

#[derive(Debug, Clone)]
enum Part {
    Text(Box<str>),
    Field(KeyPath),
}

impl Template {
    pub(crate) fn parse(template: &str) -> Result<Self, String> {
        let mut parts = Vec::new();
        let mut text = String::new();
        let mut rest = template;
        while let Some(i) = rest.find(['{', '}']) {
            text.push_str(&rest[..i]);
            let at = template.len() - rest.len() + i;
            let brace = rest.as_bytes()[i];
            let after = &rest[i + 1..];
            if after.as_bytes().first() == Some(&brace) {
                text.push(char::from(brace));
                rest = &after[1..];
                continue;
            }
            if brace == b'}' {
                return Err(format!(
                    "unmatched '}}' at byte {at}; write '}}}}' for a literal brace"
                ));
            }
            let close = after
                .find('}')
                .ok_or_else(|| format!("unclosed '{{' at byte {at}"))?;
            let path = after[..close].trim();
            let key = KeyPath::parse(path)
                .map_err(|reason| format!("placeholder {{{path}}}: {reason}"))?;
            if !text.is_empty() {
                parts.push(Part::Text(std::mem::take(&mut text).into()));
            }
            parts.push(Part::Field(key));
            rest = &after[close + 1..];
        }
        text.push_str(rest);
        if !text.is_empty() {
            parts.push(Part::Text(text.into()));
        }
        Ok(Self {
            parts: parts.into(),
        })
    }

    pub(crate) fn render(&self, event: &Value) -> String {
        let mut out = String::new();
        for part in &self.parts {
            match part {
                Part::Text(text) => out.push_str(text),
                Part::Field(key) => render_key(key, event, &mut out),
            }
        }
        out
    }
}

/// Appends the text of the values `key` resolves to: strings as they are, other values as
/// JSON, several values joined by `", "`, nothing for a missing key or null.
pub(crate) fn render_key(key: &KeyPath, event: &Value, out: &mut String) {
    let mut first = true;
    key.any(event, |v| {
        if v.is_null() {
            return false;
        }
        if !first {
            out.push_str(", ");
        }
        first = false;
        match v {
            Value::String(s) => out.push_str(s),
            other => out.push_str(&other.to_string()),
        }
        false
    });
}

/// The value `key` resolves to for alert context: itself when there is one, null when there is
/// none, a list when `[*]` finds several.
pub(crate) fn context_value(key: &KeyPath, event: &Value) -> Value {
    let mut values = Vec::new();
    key.collect(event, &mut values);
    match values.as_slice() {
        [] => Value::Null,
        [one] => (*one).clone(),
        many => Value::Array(many.iter().map(|v| (*v).clone()).collect()),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn renders_placeholders() {
        let event = json!({
            "repo": "org/repo",
            "actor": {"name": "cat", "id": 7},
            "tags": [{"k": "a"}, {"k": "b"}],
            "nothing": null,
        });
        let t = |s: &str| Template::parse(s).unwrap().render(&event);
        assert_eq!(
            t("Repository [{repo}] archived."),
            "Repository [org/repo] archived."
        );
        assert_eq!(t("{actor.name} ({actor.id})"), "cat (7)");
        assert_eq!(t("{ actor.name }"), "cat");
        assert_eq!(t("tags: {tags[*].k}"), "tags: a, b");
        assert_eq!(t("[{missing}] [{nothing}]"), "[] []");
        assert_eq!(t("{{literal}} {repo}"), "{literal} org/repo");
        assert_eq!(t("obj {actor}"), r#"obj {"id":7,"name":"cat"}"#);
        assert_eq!(t("plain"), "plain");
        assert_eq!(t(""), "");
    }

    #[test]
    fn rejects_bad_templates() {
        for bad in ["{unclosed", "stray }", "{}", "{a..b}"] {
            assert!(Template::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn context_values() {
        let event = json!({"a": 1, "l": [{"b": 1}, {"b": 2}]});
        assert_eq!(
            context_value(&KeyPath::parse("a").unwrap(), &event),
            json!(1)
        );
        assert_eq!(
            context_value(&KeyPath::parse("x").unwrap(), &event),
            json!(null)
        );
        assert_eq!(
            context_value(&KeyPath::parse("l[*].b").unwrap(), &event),
            json!([1, 2])
        );
    }
}
