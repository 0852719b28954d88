//! The endpoint's perimeter: which requests it serves at all.
//!
//! The endpoint listens on loopback, but the developer's browser runs on the same machine and any page it opens
//! can send requests there. Through DNS rebinding a page reaches the endpoint under a name of its own: only a
//! loopback `Host` with the endpoint's port is served. Without rebinding, a page can still *send* what browsers
//! call simple requests (a form POST, a `text/plain` body, a body without a type) to any address without asking
//! first; it cannot read the answer, but a request that creates a cache user or starts an invocation needs none.
//! Anything else (another content type, an `Authorization` or `X-Amz-Target` header) makes the browser ask first
//! with a CORS preflight, which the endpoint never grants (it sends no `Access-Control-Allow-*` header). So:
//! - a request carrying an `Origin` other than the endpoint's own, or `Sec-Fetch-Site: cross-site` or
//!   `same-site` (a page on another port of localhost is same-site), is refused: browsers send these, the AWS
//!   SDKs and the aws CLI do not;
//! - a request with a body is served only in a content type of the AWS protocols the endpoint speaks, which no
//!   browser sends cross-site without the preflight; the two the protocols share with simple requests, the
//!   Query protocol's form body (ElastiCache) and an untyped body (Lambda's Invoke payload from boto3 and the aws
//!   CLI), only with a SigV4 `Authorization` header, which no page can add without the preflight either.
//!
//! The endpoint verifies no signature (it knows no secret key): the header proves the sender is not a page,
//! not who it is.

use axum::http::{HeaderMap, Method};

use super::sigv4::signed_region;
use crate::error::Error;

/// The content types of the protocols the endpoint speaks, none of which a browser sends cross-site without a
/// preflight: the JSON protocol 1.1 and 1.0 (Secrets Manager, Parameter Store, EventBridge), REST-JSON
/// (Lambda; rotor's own `/_rotor/` routes) and Lambda's Invoke payload as the Rust SDK types it.
const PROTOCOL_TYPES: [&str; 4] =
    ["application/x-amz-json-1.1", "application/x-amz-json-1.0", "application/json", "application/octet-stream"];

/// The Query protocol's body (ElastiCache), served only when signed.
const FORM: &str = "application/x-www-form-urlencoded";

/// Whether the endpoint on `port` serves a request with these method and headers: `Err` is the
/// `AccessDeniedException` (HTTP 403) to answer instead, before anything is read or changed.
pub fn check(method: &Method, headers: &HeaderMap, port: u16) -> Result<(), Error> {
    let host = header(headers, "host").unwrap_or_default();
    if !is_loopback_host(host, port) {
        return Err(Error::foreign_host(host));
    }
    if let Some(origin) = header(headers, "origin")
        && !origin.strip_prefix("http://").is_some_and(|host| is_loopback_host(host, port))
    {
        return Err(Error::cross_site(&format!("Origin {origin:?}")));
    }
    if let Some(site @ ("cross-site" | "same-site")) = header(headers, "sec-fetch-site") {
        return Err(Error::cross_site(&format!("Sec-Fetch-Site {site:?}")));
    }
    // A GET changes nothing, and its answer is the page's to read only through CORS, which is never granted.
    if method == Method::GET || method == Method::HEAD {
        return Ok(());
    }
    let media_type = header(headers, "content-type")
        .map(|value| value.split(';').next().unwrap_or_default().trim().to_ascii_lowercase());
    match media_type.as_deref() {
        Some(known) if PROTOCOL_TYPES.contains(&known) => Ok(()),
        Some(FORM) | None if sigv4_signed(headers) => Ok(()),
        other => Err(Error::simple_content_type(other)),
    }
}

/// A header's value; one that is not visible ASCII reads as empty (present, and matching nothing).
fn header<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).map(|value| value.to_str().unwrap_or_default())
}

/// Whether the request carries a SigV4 `Authorization` header (`AWS4-HMAC-SHA256 Credential=.../<region>/...`),
/// which an SDK always sends and a page cannot send cross-site; a `Basic` header a browser may replay is not one.
fn sigv4_signed(headers: &HeaderMap) -> bool {
    header(headers, "authorization")
        .is_some_and(|value| value.starts_with("AWS4-HMAC-SHA256 ") && signed_region(value).is_some())
}

/// Whether a `Host` header (or an origin's host) names a loopback address (`127.0.0.1`, `localhost`, `[::1]`)
/// and `port`.
pub fn is_loopback_host(host: &str, port: u16) -> bool {
    let Some((name, host_port)) = host.rsplit_once(':') else { return false };
    matches!(name.to_ascii_lowercase().as_str(), "127.0.0.1" | "localhost" | "[::1]") && host_port == port.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    const SIGV4: &str = "AWS4-HMAC-SHA256 Credential=AKID/20260101/us-east-1/elasticache/aws4_request, \
                         SignedHeaders=host;x-amz-date, Signature=00";

    fn verdict(method: Method, pairs: &[(&'static str, &str)]) -> Result<(), String> {
        let mut headers = HeaderMap::new();
        headers.insert("host", "127.0.0.1:4566".parse().unwrap());
        for (name, value) in pairs {
            headers.insert(*name, value.parse().unwrap());
        }
        check(&method, &headers, 4566).map_err(|e| e.to_string())
    }

    #[test]
    fn what_the_sdks_send_is_served() {
        for pairs in [
            vec![("content-type", "application/x-amz-json-1.1"), ("x-amz-target", "secretsmanager.ListSecrets")],
            vec![("content-type", "application/x-amz-json-1.0")],
            vec![("content-type", "application/json")],
            vec![("content-type", "application/octet-stream")],
            vec![("content-type", "application/x-www-form-urlencoded; charset=utf-8"), ("authorization", SIGV4)],
            vec![("authorization", SIGV4)],
            vec![("content-type", "application/json"), ("origin", "http://localhost:4566")],
            vec![("content-type", "application/json"), ("sec-fetch-site", "same-origin")],
        ] {
            assert_eq!(verdict(Method::POST, &pairs), Ok(()), "{pairs:?}");
        }
        assert_eq!(verdict(Method::GET, &[]), Ok(()));
        assert_eq!(verdict(Method::GET, &[("sec-fetch-site", "none")]), Ok(()), "typed into the address bar");
    }

    #[test]
    fn what_a_page_sends_without_a_preflight_is_refused() {
        for (pairs, expect) in [
            (vec![("content-type", "application/x-www-form-urlencoded")], "not \"application/x-www-form-urlencoded\""),
            (vec![("content-type", "text/plain;charset=UTF-8")], "not \"text/plain\""),
            (vec![("content-type", "multipart/form-data; boundary=x")], "not \"multipart/form-data\""),
            (vec![], "a body without a Content-Type"),
            (
                vec![("content-type", "application/x-www-form-urlencoded"), ("authorization", "Basic dTpw")],
                "not \"application/x-www-form-urlencoded\"",
            ),
            (vec![("content-type", "text/plain"), ("authorization", SIGV4)], "not \"text/plain\""),
        ] {
            let error = verdict(Method::POST, &pairs).unwrap_err();
            assert!(error.starts_with("AccessDeniedException: ") && error.contains(expect), "{pairs:?}: {error}");
        }
    }

    #[test]
    fn a_foreign_origin_or_a_cross_site_fetch_is_refused_whatever_it_carries() {
        for pairs in [
            vec![("origin", "https://evil.example")],
            vec![("origin", "null")],
            vec![("origin", "http://localhost:8080")],
            vec![("origin", "https://127.0.0.1:4566")],
            vec![("sec-fetch-site", "cross-site")],
            vec![("sec-fetch-site", "same-site")],
        ] {
            let mut signed = pairs.clone();
            signed.extend([("content-type", "application/x-amz-json-1.1"), ("authorization", SIGV4)]);
            for (method, pairs) in [(Method::GET, &pairs), (Method::POST, &signed), (Method::OPTIONS, &pairs)] {
                let error = verdict(method.clone(), pairs).unwrap_err();
                assert!(error.contains("refuses cross-site requests"), "{method} {pairs:?}: {error}");
            }
        }
    }

    #[test]
    fn only_loopback_hosts_on_the_port_are_served() {
        assert!(is_loopback_host("127.0.0.1:4566", 4566) && is_loopback_host("LOCALHOST:4566", 4566));
        assert!(is_loopback_host("[::1]:4566", 4566));
        for host in ["evil.example:4566", "127.0.0.1:1", "127.0.0.1", "localhost.evil.example:4566", ""] {
            assert!(!is_loopback_host(host, 4566), "{host}");
        }
    }
}
