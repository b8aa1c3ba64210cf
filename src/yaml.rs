//! The part of YAML a web configuration file uses (exporter-toolkit's format): block mappings
//! and sequences by indentation, flow sequences (`[a, b]`), plain, single- and double-quoted
//! scalars, comments and a leading `---`. Anything else (anchors, tags, multi-line scalars,
//! flow mappings, several documents) is refused with its line number rather than guessed at.
//! A YAML crate would parse more than this format needs, and cost more than the parser.

/// A parsed value. Scalars stay text: the reader of each key decides what it must be.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Null,
    Scalar(String),
    Seq(Vec<Value>),
    /// Keys in file order (a repeated key is an error).
    Map(Vec<(String, Value)>),
}

/// One meaningful line: its number (from 1), indentation and text without the comment.
struct Line<'a> {
    number: usize,
    indent: usize,
    text: &'a str,
}

/// Parses a whole file. An empty file is `Null`.
pub fn parse(text: &str) -> Result<Value, String> {
    let mut lines = Vec::new();
    for (i, raw) in text.lines().enumerate() {
        let number = i + 1;
        let body = strip_comment(raw).trim_end();
        if body.trim().is_empty() {
            continue;
        }
        let indent = body.len() - body.trim_start_matches(' ').len();
        if body[indent..].starts_with('\t') {
            return Err(format!("line {number}: a tab in the indentation"));
        }
        if body == "---" && lines.is_empty() {
            continue;
        }
        if body == "---" || body == "..." {
            return Err(format!("line {number}: only one document is read"));
        }
        lines.push(Line {
            number,
            indent,
            text: &body[indent..],
        });
    }
    if lines.is_empty() {
        return Ok(Value::Null);
    }
    let mut at = 0;
    let v = block(&lines, &mut at, lines[0].indent)?;
    match lines.get(at) {
        Some(l) => Err(format!("line {}: unexpected indentation", l.number)),
        None => Ok(v),
    }
}

/// The text before a comment: `#` at the start or after white space, outside quotes.
fn strip_comment(line: &str) -> &str {
    let mut quote = None;
    let mut prev = ' ';
    for (i, c) in line.char_indices() {
        match (quote, c) {
            (None, '\'' | '"') if prev == ' ' || prev == '[' || prev == ',' || prev == ':' => {
                quote = Some(c)
            }
            (Some(q), c) if c == q => quote = None,
            (None, '#') if prev == ' ' || prev == '\t' || i == 0 => return &line[..i],
            _ => {}
        }
        prev = c;
    }
    line
}

/// The block (mapping or sequence) whose lines start at `indent`.
fn block(lines: &[Line], at: &mut usize, indent: usize) -> Result<Value, String> {
    if is_item(lines[*at].text) {
        return sequence(lines, at, indent);
    }
    let mut map: Vec<(String, Value)> = Vec::new();
    while let Some(line) = lines.get(*at) {
        if line.indent < indent {
            break;
        }
        if line.indent > indent {
            return Err(format!("line {}: unexpected indentation", line.number));
        }
        if is_item(line.text) {
            return Err(format!(
                "line {}: a list item inside a mapping",
                line.number
            ));
        }
        let (key, rest) = split_key(line.text)
            .ok_or_else(|| format!("line {}: expected `key: value`", line.number))?;
        let key = scalar(key, line.number)?;
        if map.iter().any(|(k, _)| *k == key) {
            return Err(format!("line {}: '{key}' is given twice", line.number));
        }
        *at += 1;
        let value = if !rest.is_empty() {
            inline(rest, line.number)?
        } else {
            match lines.get(*at) {
                Some(next) if next.indent > indent => block(lines, at, next.indent)?,
                // `key:` followed by `- item` at the same indentation is a list too.
                Some(next) if next.indent == indent && is_item(next.text) => {
                    sequence(lines, at, indent)?
                }
                _ => Value::Null,
            }
        };
        map.push((key, value));
    }
    Ok(Value::Map(map))
}

fn is_item(text: &str) -> bool {
    text == "-" || text.starts_with("- ")
}

/// A block sequence at `indent`; its items are scalars or flow sequences.
fn sequence(lines: &[Line], at: &mut usize, indent: usize) -> Result<Value, String> {
    let mut items = Vec::new();
    while let Some(line) = lines.get(*at) {
        if line.indent != indent || !is_item(line.text) {
            if line.indent > indent {
                return Err(format!(
                    "line {}: nested blocks inside a list are not supported",
                    line.number
                ));
            }
            break;
        }
        let rest = line.text[1..].trim();
        if split_key(rest).is_some() {
            return Err(format!(
                "line {}: mappings inside a list are not supported",
                line.number
            ));
        }
        items.push(if rest.is_empty() {
            Value::Null
        } else {
            inline(rest, line.number)?
        });
        *at += 1;
    }
    Ok(Value::Seq(items))
}

/// `key: rest` or `key:` (the key outside quotes; the first `: ` after it).
fn split_key(text: &str) -> Option<(&str, &str)> {
    let key_end = match text.chars().next()? {
        q @ ('\'' | '"') => text[1..].find(q)? + 2,
        _ => 0,
    };
    let rest = &text[key_end..];
    let colon = if rest.ends_with(':') && !rest[..rest.len() - 1].contains(": ") {
        rest.len() - 1
    } else {
        rest.find(": ")?
    };
    let i = key_end + colon;
    Some((text[..i].trim(), text[i + 1..].trim()))
}

/// A value on the key's line: a flow sequence or a scalar.
fn inline(text: &str, line: usize) -> Result<Value, String> {
    if let Some(inner) = text.strip_prefix('[') {
        let inner = inner
            .strip_suffix(']')
            .ok_or_else(|| format!("line {line}: a list without its closing ']'"))?;
        if inner.trim().is_empty() {
            return Ok(Value::Seq(Vec::new()));
        }
        return inner
            .split(',')
            .map(|item| scalar(item.trim(), line).map(Value::Scalar))
            .collect::<Result<_, _>>()
            .map(Value::Seq);
    }
    if text == "{}" {
        return Ok(Value::Map(Vec::new()));
    }
    if matches!(text, "~" | "null" | "Null" | "NULL") {
        return Ok(Value::Null);
    }
    scalar(text, line).map(Value::Scalar)
}

/// One scalar: quoted (`'it''s'`, `"a\"b"`) or plain.
fn scalar(text: &str, line: usize) -> Result<String, String> {
    let unsupported = |what: &str| Err(format!("line {line}: {what} are not supported"));
    if let Some(inner) = text.strip_prefix('\'') {
        let inner = inner
            .strip_suffix('\'')
            .ok_or_else(|| format!("line {line}: a quote without its end"))?;
        return Ok(inner.replace("''", "'"));
    }
    if let Some(inner) = text.strip_prefix('"') {
        let inner = inner
            .strip_suffix('"')
            .ok_or_else(|| format!("line {line}: a quote without its end"))?;
        let mut out = String::with_capacity(inner.len());
        let mut chars = inner.chars();
        while let Some(c) = chars.next() {
            if c != '\\' {
                out.push(c);
                continue;
            }
            out.push(match chars.next() {
                Some('\\') => '\\',
                Some('"') => '"',
                Some('n') => '\n',
                Some('t') => '\t',
                Some('/') => '/',
                _ => return Err(format!("line {line}: an unsupported escape in quotes")),
            });
        }
        return Ok(out);
    }
    match text.chars().next() {
        Some('&' | '*' | '!') => unsupported("anchors, aliases and tags"),
        Some('|' | '>') => unsupported("multi-line scalars"),
        Some('{') => unsupported("flow mappings"),
        _ => Ok(text.to_owned()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(v: &str) -> Value {
        Value::Scalar(v.into())
    }

    #[test]
    fn the_web_config_shapes_parse() {
        let text = "---\n# comment\ntls_server_config:\n  cert_file: \"server.crt\" # why\n  key_file: 'it''s.key'\n  cipher_suites:\n    - TLS_AES_128_GCM_SHA256\n    - TLS_CHACHA20_POLY1305_SHA256\n  curve_preferences: [X25519, CurveP256]\nhttp_server_config:\n  headers:\n    X-Frame-Options: deny\nbasic_auth_users:\n  alice: $2y$10$abc/def.ghi\n  bob:\nlist:\n- a\n- b#c\n";
        let v = parse(text).unwrap();
        let Value::Map(top) = v else { panic!() };
        assert_eq!(top[0].0, "tls_server_config");
        let Value::Map(tls) = &top[0].1 else { panic!() };
        assert_eq!(tls[0], ("cert_file".into(), s("server.crt")));
        assert_eq!(tls[1], ("key_file".into(), s("it's.key")));
        assert_eq!(
            tls[2].1,
            Value::Seq(vec![
                s("TLS_AES_128_GCM_SHA256"),
                s("TLS_CHACHA20_POLY1305_SHA256")
            ])
        );
        assert_eq!(tls[3].1, Value::Seq(vec![s("X25519"), s("CurveP256")]));
        let Value::Map(users) = &top[2].1 else {
            panic!()
        };
        assert_eq!(users[0].1, s("$2y$10$abc/def.ghi"));
        assert_eq!(users[1].1, Value::Null);
        assert_eq!(top[3].1, Value::Seq(vec![s("a"), s("b#c")]));
        assert_eq!(parse("").unwrap(), Value::Null);
        assert_eq!(parse("# only\n").unwrap(), Value::Null);
    }

    #[test]
    fn what_is_not_read_is_refused_with_its_line() {
        for (text, line) in [
            ("a: 1\na: 2\n", "line 2"),
            ("a:\n\t b: 1\n", "line 2"),
            ("a: 1\n  b: 2\n", "line 2"),
            ("a: &x 1\n", "line 1"),
            ("a: |\n  x\n", "line 1"),
            ("a: {b: 1}\n", "line 1"),
            ("a: [x\n", "line 1"),
            ("a: 'x\n", "line 1"),
            ("just text\n", "line 1"),
            ("a:\n  - b: 1\n", "line 2"),
            ("a: 1\n---\nb: 2\n", "line 2"),
        ] {
            let err = parse(text).expect_err(text);
            assert!(err.starts_with(line), "{text:?}: {err}");
        }
    }
}
