//! Request bodies as the bot sends them: JSON, or multipart/form-data with files.

use super::*;

/// The JSON payload and the files of a body sent as JSON or as multipart/form-data
/// (`payload_json` plus `files[n]` parts).
pub(super) fn parse_body(headers: &HeaderMap, body: &[u8]) -> Result<(Value, Files), String> {
    let ctype = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("");
    let boundary = ctype
        .strip_prefix("multipart/form-data")
        .and_then(|rest| rest.split("boundary=").nth(1))
        .map(|b| b.split(';').next().unwrap_or(b).trim().trim_matches('"'));
    let Some(boundary) = boundary else {
        if body.is_empty() {
            return Ok((Value::Null, vec![]));
        }
        let parsed = serde_json::from_slice(body).map_err(|e| format!("body is not JSON: {e}"))?;
        return Ok((parsed, vec![]));
    };
    let delimiter = format!("--{boundary}");
    let (mut payload, mut files) = (Value::Null, vec![]);
    let mut marks = vec![];
    let mut at = 0;
    while let Some(found) = find(body, delimiter.as_bytes(), at) {
        marks.push(found);
        at = found + delimiter.len();
    }
    for pair in marks.windows(2) {
        let part = &body[pair[0] + delimiter.len()..pair[1]];
        let part = part.strip_prefix(b"\r\n").unwrap_or(part);
        let part = part.strip_suffix(b"\r\n").unwrap_or(part);
        let Some(split) = find(part, b"\r\n\r\n", 0) else { continue };
        let head = String::from_utf8_lossy(&part[..split]);
        let content = &part[split + 4..];
        let name = disposition(&head, "name").unwrap_or_default();
        if name == "payload_json" {
            payload = serde_json::from_slice(content)
                .map_err(|e| format!("payload_json is not JSON: {e}"))?;
        } else if let Some(filename) = disposition(&head, "filename") {
            files.push((percent_decode(&filename), content.to_vec()));
        } else if payload.is_null() || payload.is_object() {
            payload[name] = Value::String(String::from_utf8_lossy(content).into_owned());
        }
    }
    Ok((payload, files))
}

pub(super) fn find(hay: &[u8], needle: &[u8], from: usize) -> Option<usize> {
    let at = hay.get(from..)?.windows(needle.len()).position(|w| w == needle)?;
    Some(at + from)
}

/// A parameter of a part's Content-Disposition header, e.g. `filename`.
pub(super) fn disposition(head: &str, key: &str) -> Option<String> {
    let needle = format!("; {key}=\"");
    let start = head.find(&needle)? + needle.len();
    let end = head[start..].find('"')? + start;
    Some(head[start..end].to_string())
}
