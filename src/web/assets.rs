//! The stylesheet and the script, built into the binary: nothing is loaded
//! from elsewhere, and the pages work offline.

use axum::extract::Path;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};

const CSS: &str = include_str!("../../assets/tocsin.css");
const JS: &str = include_str!("../../assets/tocsin.js");

pub async fn asset(Path(file): Path<String>) -> Response {
    let (body, kind) = match file.as_str() {
        "tocsin.css" => (CSS, "text/css; charset=utf-8"),
        "tocsin.js" => (JS, "text/javascript; charset=utf-8"),
        _ => return (StatusCode::NOT_FOUND, "no such file\n").into_response(),
    };
    let r = ([(header::CONTENT_TYPE, kind), (header::CACHE_CONTROL, "public, max-age=300")], body);
    super::harden(r.into_response())
}
