//! The address the service is reached at. Links in answers (OGC API
//! links, TileJSON tile URLs, `Location`) are built from it, never from
//! what a client sends in `Host`: a request for another host is refused
//! (421), so nobody can make the service hand out links to elsewhere.

use super::ApiError;
use axum::extract::{Request, State};
use axum::http::{StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use std::net::SocketAddr;
use std::sync::Arc;

/// The public base URL and the `Host` values that name it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublicUrl {
    /// `scheme://authority`, no trailing slash.
    base: String,
    /// Lower-case `Host` values accepted.
    hosts: Vec<String>,
}

impl PublicUrl {
    /// From a configured URL such as `https://map.example.gov.cn` (a path
    /// is not supported: the service sits at the root).
    pub fn parse(text: &str) -> Result<Self, String> {
        let text = text.trim().trim_end_matches('/');
        let (scheme, authority) = text
            .split_once("://")
            .ok_or_else(|| format!("public URL {text:?} must start with http:// or https://"))?;
        if !matches!(scheme, "http" | "https") {
            return Err(format!("public URL {text:?} must use http or https"));
        }
        if authority.is_empty()
            || !authority
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || ".-:[]".contains(c))
        {
            return Err(format!(
                "public URL {text:?} must be scheme://host[:port] with no path"
            ));
        }
        let authority = authority.to_ascii_lowercase();
        let mut hosts = vec![authority.clone()];
        // The default port may be left out of `Host`, or not.
        let default_port = if scheme == "https" { ":443" } else { ":80" };
        match authority.strip_suffix(default_port) {
            Some(bare) => hosts.push(bare.to_string()),
            None if !authority.ends_with(']') && !authority.contains(':') => {
                hosts.push(format!("{authority}{default_port}"))
            }
            None => {}
        }
        Ok(PublicUrl {
            base: format!("{scheme}://{authority}"),
            hosts,
        })
    }

    /// For a server reached directly at `addr` (no proxy): that address,
    /// and `localhost` for a loopback one. A server listening on every
    /// interface needs a configured URL instead.
    pub fn of_listener(addr: SocketAddr) -> Result<Self, String> {
        if addr.ip().is_unspecified() {
            return Err(format!(
                "listening on {addr} (every interface) needs --public-url (HUTONG_PUBLIC_URL): the address clients use, from which links are built"
            ));
        }
        let mut url = Self::parse(&format!("http://{addr}"))?;
        if addr.ip().is_loopback() {
            url.hosts.push(format!("localhost:{}", addr.port()));
        }
        Ok(url)
    }

    pub fn base(&self) -> &str {
        &self.base
    }

    fn accepts(&self, host: &str) -> bool {
        self.hosts.iter().any(|h| h.eq_ignore_ascii_case(host))
    }
}

/// Refuses requests addressed to another host, and hands the public URL
/// to the handlers.
pub async fn check_host(
    State(url): State<Arc<PublicUrl>>,
    mut request: Request,
    next: Next,
) -> Response {
    let host = request.headers().get(header::HOST);
    if let Some(host) = host.map(|h| h.to_str().unwrap_or("\u{FFFD}")) {
        if !url.accepts(host) {
            return ApiError::Rejected {
                status: StatusCode::MISDIRECTED_REQUEST,
                detail: format!(
                    "this service answers for {}; Host {host:?} is not it",
                    url.base()
                ),
            }
            .into_response();
        }
    }
    request.extensions_mut().insert(url);
    next.run(request).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hosts_match_the_configured_url_only() {
        let url = PublicUrl::parse("https://Map.Example.gov.cn/").expect("parses");
        assert_eq!(url.base(), "https://map.example.gov.cn");
        assert!(url.accepts("map.example.gov.cn"));
        assert!(url.accepts("MAP.example.gov.cn:443"));
        assert!(!url.accepts("evil.example"));
        assert!(!url.accepts("map.example.gov.cn:8443"));
        let direct = PublicUrl::of_listener("127.0.0.1:8080".parse().expect("addr")).expect("ok");
        assert!(direct.accepts("127.0.0.1:8080") && direct.accepts("localhost:8080"));
        assert!(!direct.accepts("127.0.0.1:9090"));
        assert!(PublicUrl::of_listener("0.0.0.0:8080".parse().expect("addr")).is_err());
        for bad in ["map.example", "ftp://x", "https://x/path", "https://"] {
            assert!(PublicUrl::parse(bad).is_err(), "{bad}");
        }
    }
}
