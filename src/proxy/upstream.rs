//! Clients to upstreams (the app, or a gateway's services) and to egress
//! peers: pooled keep-alive connections, plain HTTP or TLS (with ALPN for
//! HTTP/2), connect timeouts.

use std::path::PathBuf;
use std::time::Duration;

use http::Uri;
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::{TokioExecutor, TokioTimer};

use super::ProxyError;
use super::respond::ProxyBody;
use crate::tls::{self, TlsFiles};

pub type HttpClient = Client<HttpsConnector<HttpConnector>, ProxyBody>;

/// Where an upstream is and how to reach it.
#[derive(Debug, Clone)]
pub struct UpstreamConfig {
    pub name: String,
    /// `http://host:port` or `https://host:port`; a path is not allowed.
    pub url: Uri,
    /// For `https`: the CA that signs the upstream's certificate…
    pub ca: Option<PathBuf>,
    /// …and the client certificate to present, if any.
    pub client_cert: Option<TlsFiles>,
}

pub struct Upstream {
    pub name: String,
    scheme: http::uri::Scheme,
    authority: http::uri::Authority,
    pub client: HttpClient,
}

impl Upstream {
    pub fn new(config: &UpstreamConfig, connect_timeout: Duration) -> Result<Upstream, ProxyError> {
        let bad = |why: &str| ProxyError::Upstream { name: config.name.clone(), reason: why.to_string() };
        let scheme = config.url.scheme().cloned().ok_or_else(|| bad("the URL needs http:// or https://"))?;
        let authority = config.url.authority().cloned().ok_or_else(|| bad("the URL needs a host and port"))?;
        if config.url.path() != "/" && !config.url.path().is_empty() {
            return Err(bad("the URL must not have a path; routes keep the request's path"));
        }
        let tls = match (scheme.as_str(), &config.ca) {
            ("http", _) => None,
            ("https", Some(ca)) => Some(tls::client_config(ca, config.client_cert.as_ref())?),
            ("https", None) => return Err(bad("an https upstream needs `ca`, the CA that signs its certificate")),
            _ => return Err(bad("the scheme must be http or https")),
        };
        Ok(Upstream { name: config.name.clone(), scheme, authority, client: build_client(tls, connect_timeout)? })
    }

    /// Whether the upstream speaks TLS, and so may negotiate HTTP/2.
    pub fn is_tls(&self) -> bool {
        self.scheme == http::uri::Scheme::HTTPS
    }

    /// The upstream URI for a request's path and query.
    pub fn uri_for(&self, path_and_query: &str) -> Result<Uri, http::Error> {
        Uri::builder()
            .scheme(self.scheme.clone())
            .authority(self.authority.clone())
            .path_and_query(path_and_query)
            .build()
    }
}

/// A pooled client; with a TLS config it speaks https only (ALPN h2 or
/// http/1.1), without one plain HTTP/1.1 only.
pub fn build_client(tls: Option<rustls::ClientConfig>, connect_timeout: Duration) -> Result<HttpClient, ProxyError> {
    let mut http = HttpConnector::new();
    http.enforce_http(false);
    http.set_nodelay(true);
    http.set_connect_timeout(Some(connect_timeout));
    let connector = match tls {
        Some(config) => hyper_rustls::HttpsConnectorBuilder::new()
            .with_tls_config(config)
            .https_only()
            .enable_all_versions()
            .wrap_connector(http),
        // The connector type wants a TLS config even for plain HTTP; one that
        // trusts nothing makes sure an https URI can never slip through.
        None => hyper_rustls::HttpsConnectorBuilder::new()
            .with_tls_config(tls::trust_nothing_config()?)
            .https_or_http()
            .enable_http1()
            .wrap_connector(http),
    };
    Ok(Client::builder(TokioExecutor::new())
        // RFC 9112 section 5.2: a recipient of an obs-fold in a response
        // replaces it with spaces before reading the value (which is then
        // masked like any other header value).
        .http1_allow_obsolete_multiline_headers_in_responses(true)
        .pool_idle_timeout(Duration::from_secs(90))
        .pool_timer(TokioTimer::new())
        .build(connector))
}
