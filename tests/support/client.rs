//! HTTPS clients trusting the dev CA, with or without a client
//! certificate, speaking HTTP/1.1 or HTTP/2; and a plain client for the
//! admin listener.

use std::net::SocketAddr;
use std::sync::Arc;

use bytes::Bytes;
use http::{HeaderMap, Request, StatusCode};
use http_body_util::BodyExt;
use hyper_util::rt::{TokioExecutor, TokioIo};
use piimask::tls::{self, TlsFiles};
use tokio::net::TcpStream;

use super::app::{TestBody, full};
use super::pki::Pki;

/// How the test client talks to the proxy.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Http {
    H1,
    H2,
}

/// An HTTPS client trusting the dev CA, presenting `identity` (`client`,
/// `other-client`, … as written in the PKI folder) if given.
pub struct Client {
    config: Arc<rustls::ClientConfig>,
}

#[derive(Debug)]
pub struct Answer {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Bytes,
    /// The trailers, if the body ended with any.
    pub trailers: Option<HeaderMap>,
}

impl Answer {
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

impl Client {
    pub fn new(pki: &Pki, identity: Option<&str>, http: Http) -> Client {
        let files = identity.map(|name| TlsFiles {
            cert: pki.path(&format!("{name}.crt")),
            key: pki.path(&format!("{name}.key")),
            ca: None,
        });
        let mut config = tls::client_config(&pki.path("ca.crt"), files.as_ref()).expect("client config");
        config.alpn_protocols = vec![match http {
            Http::H1 => b"http/1.1".to_vec(),
            Http::H2 => b"h2".to_vec(),
        }];
        Client { config: Arc::new(config) }
    }

    pub async fn get(&self, addr: SocketAddr, path: &str) -> Result<Answer, piimask::proxy::BoxError> {
        self.send(addr, Request::get(path).header("host", "localhost").body(full(Bytes::new()))?).await
    }

    /// Opens a keep-alive HTTP/1.1 connection and completes one request on
    /// it; the returned sender keeps the connection open.
    pub async fn keep_alive(
        &self,
        addr: SocketAddr,
        path: &str,
    ) -> Result<hyper::client::conn::http1::SendRequest<TestBody>, piimask::proxy::BoxError> {
        let connector = tokio_rustls::TlsConnector::from(self.config.clone());
        let tcp = TcpStream::connect(addr).await?;
        let tls = connector.connect(rustls_pki_types::ServerName::try_from("localhost")?, tcp).await?;
        let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(tls)).await?;
        tokio::spawn(conn);
        let response =
            sender.send_request(Request::get(path).header("host", "localhost").body(full(Bytes::new()))?).await?;
        response.into_body().collect().await?;
        Ok(sender)
    }

    /// A TLS connection to `addr` with this client's identity and ALPN,
    /// for tests that write raw bytes.
    pub async fn tls(
        &self,
        addr: SocketAddr,
    ) -> Result<tokio_rustls::client::TlsStream<TcpStream>, piimask::proxy::BoxError> {
        let connector = tokio_rustls::TlsConnector::from(self.config.clone());
        let tcp = TcpStream::connect(addr).await?;
        Ok(connector.connect(rustls_pki_types::ServerName::try_from("localhost")?, tcp).await?)
    }

    /// The leaf certificate the server presents on a new connection.
    pub async fn server_certificate(&self, addr: SocketAddr) -> Result<Vec<u8>, piimask::proxy::BoxError> {
        let connector = tokio_rustls::TlsConnector::from(self.config.clone());
        let tcp = TcpStream::connect(addr).await?;
        let tls = connector.connect(rustls_pki_types::ServerName::try_from("localhost")?, tcp).await?;
        let certs = tls.get_ref().1.peer_certificates().ok_or("no server certificate")?;
        Ok(certs[0].as_ref().to_vec())
    }

    pub async fn send(&self, addr: SocketAddr, request: Request<TestBody>) -> Result<Answer, piimask::proxy::BoxError> {
        let connector = tokio_rustls::TlsConnector::from(self.config.clone());
        let tcp = TcpStream::connect(addr).await?;
        let tls = connector.connect(rustls_pki_types::ServerName::try_from("localhost")?, tcp).await?;
        let h2 = tls.get_ref().1.alpn_protocol() == Some(b"h2");
        let io = TokioIo::new(tls);
        let response = if h2 {
            let (mut sender, conn) = hyper::client::conn::http2::handshake(TokioExecutor::new(), io).await?;
            tokio::spawn(conn);
            let mut request = request;
            *request.version_mut() = http::Version::HTTP_2;
            *request.uri_mut() = format!("https://localhost{}", request.uri()).parse()?;
            sender.send_request(request).await?
        } else {
            let (mut sender, conn) = hyper::client::conn::http1::handshake(io).await?;
            tokio::spawn(conn);
            sender.send_request(request).await?
        };
        let status = response.status();
        let headers = response.headers().clone();
        let collected = response.into_body().collect().await?;
        let trailers = collected.trailers().cloned();
        Ok(Answer { status, headers, body: collected.to_bytes(), trailers })
    }
}

/// A plain HTTP/1.1 request to an admin listener: (status, body).
pub async fn admin(addr: SocketAddr, method: http::Method, path: &str) -> (StatusCode, String) {
    let tcp = TcpStream::connect(addr).await.expect("connect admin");
    let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(tcp)).await.expect("handshake");
    tokio::spawn(conn);
    let request = Request::builder().method(method).uri(path).header("host", "admin").body(full(Bytes::new()));
    let response = sender.send_request(request.expect("request")).await.expect("response");
    let status = response.status();
    let body = response.into_body().collect().await.expect("body").to_bytes();
    (status, String::from_utf8_lossy(&body).into_owned())
}
