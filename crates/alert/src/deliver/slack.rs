//! The Slack message for an alert: readable mrkdwn with every log-derived text escaped and cut
//! to length. Pure text building; sending is the webhook code's.
//!
//! Slack reads `<...>` as links and mentions (`<!channel>`, `<@U123>`) and `&` as the start of
//! an entity, so a log value could ping a whole channel or forge a link. Slack's documented
//! escaping replaces exactly `&`, `<` and `>` with `&amp;`, `&lt;`, `&gt;`.

use serde_json::{Value, json};

use crate::model::Alert;

use super::payload::alert_link;

/// Longest title shown; Slack folds long messages and an alert title should fit a line or two.
const TITLE_CHARS: usize = 200;
/// Longest single context value shown.
const VALUE_CHARS: usize = 300;
/// Context entries shown; the rest are counted.
const CONTEXT_ENTRIES: usize = 10;
/// Slack truncates a message's `text` beyond 40,000 characters; stay well under.
const TEXT_CHARS: usize = 3500;

/// `text` with Slack's control characters escaped.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            c => out.push(c),
        }
    }
    out
}

/// The first `max` characters of `text`, with `…` when something was cut. Cut before escaping,
/// so an entity is never split.
pub fn truncate(text: &str, max: usize) -> std::borrow::Cow<'_, str> {
    match text.char_indices().nth(max) {
        None => text.into(),
        Some((end, _)) => {
            let keep = text[..end]
                .char_indices()
                .nth(max.saturating_sub(1))
                .map_or(end, |(i, _)| i);
            format!("{}…", &text[..keep]).into()
        }
    }
}

fn shown(text: &str, max: usize) -> String {
    escape(&truncate(text, max))
}

/// The incoming-webhook body: `text` only, which Slack renders as mrkdwn and uses in
/// notifications too.
pub fn message(alert: &Alert, console_url: Option<&str>) -> Value {
    let mut lines = Vec::new();
    lines.push(format!(
        "*[{}] {}*",
        alert.severity.as_str(),
        shown(&alert.title, TITLE_CHARS)
    ));
    lines.push(format!(
        "Rule: `{}` · Type: {} · Events: {} · Log types: {}",
        shown(&alert.rule_id, TITLE_CHARS),
        alert.kind.as_str(),
        alert.event_count,
        shown(&alert.log_types.join(", "), VALUE_CHARS)
    ));
    lines.push(format!(
        "Created: {} UTC · Alert id: `{}`",
        &alert.creation_time.to_string()[..19],
        shown(&alert.alert_id, TITLE_CHARS)
    ));
    if let Some(error) = &alert.details.error {
        lines.push(format!(
            "Error: {}: {}",
            shown(&error.error_type, TITLE_CHARS),
            shown(&error.message, VALUE_CHARS)
        ));
    }
    if let Some(Value::Object(context)) = &alert.context {
        for (key, value) in context.iter().take(CONTEXT_ENTRIES) {
            let value = match value {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            lines.push(format!(
                "• {}: {}",
                shown(key, TITLE_CHARS),
                shown(&value, VALUE_CHARS)
            ));
        }
        if context.len() > CONTEXT_ENTRIES {
            lines.push(format!(
                "• … {} more context entries",
                context.len() - CONTEXT_ENTRIES
            ));
        }
    }
    if !alert.details.runbook.is_empty() {
        lines.push(format!(
            "Runbook: {}",
            shown(&alert.details.runbook, VALUE_CHARS)
        ));
    }
    if let Some(base) = console_url {
        // The only `<...>` in the message: a link built from configuration and a hex id.
        lines.push(format!(
            "<{}|View alert in bucketwatch>",
            escape(&alert_link(base, &alert.alert_id))
        ));
    }
    let mut text = lines.join("\n");
    if text.chars().count() > TEXT_CHARS {
        // Cutting escaped text could split an entity such as `&amp;`; drop the partial one.
        let mut cut = truncate(&text, TEXT_CHARS).into_owned();
        if let Some(amp) = cut.rfind('&')
            && !cut[amp..].contains(';')
        {
            cut.truncate(amp);
            cut.push('…');
        }
        text = cut;
    }
    json!({ "text": text })
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    #[test]
    fn escapes_exactly_slacks_three_characters() {
        assert_eq!(
            escape("<!channel> a&b <script>alert(1)</script> *bold* `code`"),
            "&lt;!channel&gt; a&amp;b &lt;script&gt;alert(1)&lt;/script&gt; *bold* `code`"
        );
        assert_eq!(
            escape("&amp;"),
            "&amp;amp;",
            "already-escaped text is escaped again"
        );
    }

    #[test]
    fn truncates_on_character_boundaries() {
        assert_eq!(truncate("abcdef", 6), "abcdef");
        assert_eq!(truncate("abcdefg", 6), "abcde…");
        assert_eq!(truncate("ééééééé", 3), "éé…");
        assert_eq!(truncate("", 3), "");
    }

    proptest! {
        #[test]
        fn escaped_text_has_no_raw_angle_brackets_or_bare_ampersands(text in "\\PC*") {
            let out = escape(&text);
            prop_assert!(!out.contains('<') && !out.contains('>'));
            for (i, _) in out.match_indices('&') {
                let rest = &out[i..];
                prop_assert!(
                    rest.starts_with("&amp;") || rest.starts_with("&lt;") || rest.starts_with("&gt;")
                );
            }
            let back = out.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&");
            prop_assert_eq!(back, text);
        }

        #[test]
        fn truncation_keeps_a_prefix_within_the_limit(text in "\\PC{0,50}", max in 1usize..20) {
            let cut = truncate(&text, max);
            prop_assert!(cut.chars().count() <= max);
            let kept = cut.trim_end_matches('…');
            prop_assert!(text.starts_with(kept));
        }
    }
}
