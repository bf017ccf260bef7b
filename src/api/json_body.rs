//! Reading JSON request bodies, and saying what is wrong with one in the API's own terms: the
//! member's path and what it must be. A client never sees the parser's wording (`invalid type:
//! ... at line 1 column 9`), a Rust type name (`expected struct RegisterBody`) or a value it
//! sent (a string may be a name, a member name may be anything).

use serde::de::DeserializeOwned;
use serde_json::error::Category;
use serde_path_to_error::{Path, Segment};

use super::problem::Problem;

/// Reads a body that must be a JSON object into `T`; a refusal is a 400 `invalid-body`.
///
/// serde would also fill a struct from a list of its fields in order (`["123456782"]`), a
/// second spelling of every body that no client needs and no validation expects.
pub(crate) fn parse<T: DeserializeOwned>(body: &[u8]) -> Result<T, Problem> {
    read(body).map_err(|detail| {
        Problem::bad_request("invalid-body", format!("{detail}; see /openapi.json"))
    })
}

/// [`parse`], with the refusal's detail alone.
fn read<T: DeserializeOwned>(body: &[u8]) -> Result<T, String> {
    match body.iter().find(|b| !b.is_ascii_whitespace()) {
        None => return Err("the body is empty; a JSON object is expected".into()),
        Some(b'{') => {}
        Some(_) => return Err("the body must be a JSON object".into()),
    }
    let mut de = serde_json::Deserializer::from_slice(body);
    let value = serde_path_to_error::deserialize(&mut de)
        .map_err(|e| describe(Some(e.path()), e.inner()))?;
    de.end().map_err(|e| describe(None, &e))?;
    Ok(value)
}

/// The refusal's text for `e` at `path` (the member being read when it failed).
fn describe(path: Option<&Path>, e: &serde_json::Error) -> String {
    // serde_json's Display appends the position; the message alone is what it found.
    let full = e.to_string();
    let suffix = format!(" at line {} column {}", e.line(), e.column());
    let message = full.strip_suffix(&suffix).unwrap_or(&full);
    match e.classify() {
        Category::Eof => "the body ends before its JSON is complete".into(),
        Category::Syntax | Category::Io => format!(
            "the body is not valid JSON ({}, line {}, column {})",
            syntax(message),
            e.line(),
            e.column()
        ),
        Category::Data => {
            let segments: Vec<&Segment> = path.into_iter().flatten().collect();
            // An unknown member's path ends in the member itself: the refusal names its parent.
            let within = match segments.split_last() {
                Some((_, parent)) if message.starts_with("unknown field ") => parent,
                _ => &segments[..],
            };
            data(&member(within), message)
        }
    }
}

/// serde_json's syntax messages name JSON, not Rust; only `recursion limit exceeded` is the
/// parser's own limit.
fn syntax(message: &str) -> &str {
    match message {
        "recursion limit exceeded" => "nested too deeply",
        m if m.len() <= 80 && !m.contains('"') => m,
        _ => "unexpected input",
    }
}

/// `persons[0].bsn`, or `the body` for the top level. A member name that is not a plain
/// identifier (it came from the client and may be anything) shows as `…`.
fn member(segments: &[&Segment]) -> String {
    let mut out = String::new();
    for segment in segments {
        match segment {
            Segment::Seq { index } => out.push_str(&format!("[{index}]")),
            Segment::Map { key } => {
                if !out.is_empty() {
                    out.push('.');
                }
                out.push_str(&identifier(key));
            }
            Segment::Enum { .. } | Segment::Unknown => {}
        }
    }
    if out.is_empty() {
        "the body".into()
    } else {
        out
    }
}

/// `key` if it is a plain member name (as every documented one is), else `…`.
fn identifier(key: &str) -> String {
    let plain = !key.is_empty()
        && key.len() <= 64
        && key
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'#'));
    if plain {
        key.to_string()
    } else {
        "…".to_string()
    }
}

/// The names between backticks in a serde message (field and variant names).
fn quoted(message: &str) -> Vec<String> {
    message
        .split('`')
        .skip(1)
        .step_by(2)
        .map(identifier)
        .collect()
}

/// `member.name`, or `name` at the top level.
fn child(member: &str, name: &str) -> String {
    if member == "the body" {
        name.to_string()
    } else {
        format!("{member}.{name}")
    }
}

/// A message about the body's content (shape and types) for the member at `member`.
fn data(member: &str, message: &str) -> String {
    if message.starts_with("missing field ") {
        let names = quoted(message);
        let name = names.first().map(String::as_str).unwrap_or("…");
        return format!("{} is required", child(member, name));
    }
    if message.starts_with("duplicate field ") {
        let names = quoted(message);
        let name = names.first().map(String::as_str).unwrap_or("…");
        return format!("{} is given twice", child(member, name));
    }
    if message.starts_with("unknown field ") {
        let names = quoted(message);
        let allowed = names.get(1..).unwrap_or_default();
        return if allowed.is_empty() {
            format!("{member} has an unknown member")
        } else {
            format!(
                "{member} has an unknown member (allowed: {})",
                allowed.join(", ")
            )
        };
    }
    if message.starts_with("unknown variant ") {
        let names = quoted(message);
        let allowed = names.get(1..).unwrap_or_default();
        return format!("{member} must be one of {}", allowed.join(", "));
    }
    if let Some(rest) = message.strip_prefix("invalid type: ") {
        let (found, expected) = rest.split_once(", expected ").unwrap_or((rest, ""));
        return format!(
            "{member} must be {}, not {}",
            expected_kind(expected),
            found_kind(found)
        );
    }
    if let Some(rest) = message.strip_prefix("invalid value: ") {
        let expected = rest.split_once(", expected ").map(|(_, e)| e).unwrap_or("");
        return format!("{member} must be {}", expected_kind(expected));
    }
    if message.starts_with("invalid length ") {
        return format!("{member} has the wrong number of elements");
    }
    // A domain type's own refusal (`OIN must be exactly 20 digits`): written for clients.
    if !message.contains('`') && !message.contains("::") && message.len() <= 200 {
        return format!("{member}: {message}");
    }
    format!("{member} is not what the API expects")
}

/// What serde says it expected, in JSON's terms.
fn expected_kind(expected: &str) -> &'static str {
    match expected {
        "a string" | "a borrowed string" | "string" | "a character" | "char" => "a string",
        "a boolean" | "bool" => "true or false",
        "u8" | "u16" | "u32" | "u64" | "u128" | "usize" => "a whole number of at least 0",
        "i8" | "i16" | "i32" | "i64" | "i128" | "isize" => "a whole number",
        "f32" | "f64" => "a number",
        "a sequence" | "a tuple" => "a list",
        "unit" | "null" => "null",
        e if e.starts_with("a map")
            || e.starts_with("struct ")
            || e.starts_with("internally tagged enum")
            || e.starts_with("adjacently tagged enum") =>
        {
            "an object"
        }
        e if e.starts_with("tuple") || e.starts_with("an array") => "a list",
        _ => "a value of the documented type",
    }
}

/// What serde says it found, in JSON's terms, without the value itself.
fn found_kind(found: &str) -> &'static str {
    let kind = found.split([' ', '`', '"']).next().unwrap_or("");
    match kind {
        "boolean" => "true or false",
        "integer" | "floating" => "a number",
        "string" | "character" => "a string",
        "null" | "unit" => "null",
        "sequence" => "a list",
        "map" => "an object",
        _ => "another kind of value",
    }
}

#[cfg(test)]
mod tests {
    use serde::Deserialize;

    use super::*;

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Person {
        bsn: String,
        age: u32,
    }

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Body {
        reason: String,
        persons: Vec<Person>,
        #[serde(default)]
        urgent: bool,
    }

    fn detail(body: &str) -> String {
        read::<Body>(body.as_bytes()).expect_err("refused")
    }

    /// Nothing of serde's wording, a Rust type or a sent value reaches a client.
    fn clean(d: &str) {
        for banned in [
            "serde",
            "invalid type",
            "at line",
            "struct",
            "Body",
            "Person",
            "u32",
            "Henk",
            "`",
        ] {
            assert!(!d.contains(banned), "{banned:?} in {d:?}");
        }
    }

    #[test]
    fn refusals_name_the_member_and_what_it_must_be() {
        let cases = [
            ("", "the body is empty; a JSON object is expected"),
            ("[\"x\"]", "the body must be a JSON object"),
            (
                "{\"reason\": \"x\"",
                "the body ends before its JSON is complete",
            ),
            ("{\"persons\": []}", "reason is required"),
            (
                "{\"reason\": 5, \"persons\": []}",
                "reason must be a string, not a number",
            ),
            (
                "{\"reason\": \"x\", \"persons\": [{\"bsn\": \"Henk\", \"age\": \"Henk\"}]}",
                "persons[0].age must be a whole number of at least 0, not a string",
            ),
            (
                "{\"reason\": \"x\", \"persons\": [{\"bsn\": \"1\"}]}",
                "persons[0].age is required",
            ),
            (
                "{\"reason\": \"x\", \"persons\": {}}",
                "persons must be a list, not an object",
            ),
            (
                "{\"reason\": \"x\", \"persons\": [\"Henk\"]}",
                "persons[0] must be an object, not a string",
            ),
            (
                "{\"reason\": \"x\", \"persons\": [], \"Henk de Vries\": 1}",
                "the body has an unknown member (allowed: reason, persons, urgent)",
            ),
            (
                "{\"reason\": \"x\", \"persons\": [], \"urgent\": null}",
                "urgent must be true or false, not null",
            ),
            (
                "{\"reason\": \"x\", \"reason\": \"y\", \"persons\": []}",
                "reason is given twice",
            ),
        ];
        for (body, want) in cases {
            let d = detail(body);
            assert_eq!(d, want, "{body}");
            clean(&d);
        }
        let d = detail("{\"reason\": \"x\", \"persons\": []} trailing");
        assert!(
            d.starts_with("the body is not valid JSON (trailing characters"),
            "{d}"
        );
        clean(&d);
        let d = detail("{\"reason\": \"Henk\u{1}\"}");
        assert!(d.starts_with("the body is not valid JSON ("), "{d}");
        clean(&d);
        let deep = format!("{{\"reason\": {}{}}}", "[".repeat(500), "]".repeat(500));
        let d = read::<serde_json::Value>(deep.as_bytes()).expect_err("too deep");
        assert!(d.contains("nested too deeply"), "{d}");
    }
}
