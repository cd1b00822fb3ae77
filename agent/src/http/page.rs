//! Everything not routed: files from `<cwd>/public` when that directory exists (the Go agent's linux-dash),
//! else a small built-in status page at `/`, else Go's 404.

use super::http_error;
use axum::http::{header, HeaderValue, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use std::path::{Component, Path, PathBuf};

const STATUS_PAGE: &str = include_str!("status.html");

/// The status page with the shared style put in (once).
fn status_page() -> &'static str {
    static PAGE: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    PAGE.get_or_init(|| STATUS_PAGE.replace("/*FALCON_CSS*/", falcon_runtime::ui::CSS))
}

/// A path under `public` for a request path, refusing `..` and anything absolute.
pub fn public_file(root: &Path, uri_path: &str) -> Option<PathBuf> {
    let rel = Path::new(uri_path.trim_start_matches('/'));
    if rel.components().any(|c| !matches!(c, Component::Normal(_))) {
        return None;
    }
    let mut p = root.join(rel);
    if uri_path.ends_with('/') {
        p = p.join("index.html");
    }
    p.is_file().then_some(p)
}

fn content_type(p: &Path) -> &'static str {
    match p.extension().and_then(|e| e.to_str()).unwrap_or("") {
        "html" | "htm" => "text/html; charset=utf-8",
        "css" => "text/css; charset=utf-8",
        "js" => "text/javascript; charset=utf-8",
        "json" => "application/json",
        "png" => "image/png",
        "ico" => "image/x-icon",
        "svg" => "image/svg+xml",
        _ => "application/octet-stream",
    }
}

/// The fallback handler.
pub async fn fallback(uri: Uri) -> Response {
    let path = uri.path();
    if let Some(file) = public_file(Path::new("public"), path) {
        if let Ok(bytes) = tokio::fs::read(&file).await {
            let mut r = (StatusCode::OK, bytes).into_response();
            r.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type(&file)));
            return r;
        }
    }
    if path == "/" || path == "/index.html" {
        let mut r = (StatusCode::OK, status_page()).into_response();
        r.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("text/html; charset=utf-8"));
        return r;
    }
    http_error(StatusCode::NOT_FOUND, "404 page not found")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_escape_from_public() {
        let root = std::env::temp_dir().join(format!("falcon-public-{}", std::process::id()));
        std::fs::create_dir_all(root.join("css")).unwrap();
        std::fs::write(root.join("css/a.css"), "x").unwrap();
        std::fs::write(root.join("index.html"), "x").unwrap();
        assert!(public_file(&root, "/css/a.css").is_some());
        assert!(public_file(&root, "/").is_some());
        assert!(public_file(&root, "/css/").is_none());
        assert!(public_file(&root, "/../etc/passwd").is_none());
        assert!(public_file(&root, "/css/../../x").is_none());
        std::fs::remove_dir_all(&root).ok();
    }
}
