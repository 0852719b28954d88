//! Secrets Manager over HTTPS, as in AWS: the functions' SDK client trusts the system roots rotor reads once per
//! process (`SSL_CERT_FILE` honoured, as OpenSSL does), and refuses a server it cannot verify. A TLS proxy in front
//! of the local endpoint serves a certificate from the test CA.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

use crate::harness::{Function, Harness, unique};

const INITIAL: &str = r#"{"password":"initial-password-value-0001"}"#;

/// Serves TLS with the test server certificate from `dir` on `[::1]`, at the port of `upstream`
/// (`http://127.0.0.1:<port>`, the local endpoint), and forwards the plaintext there: the endpoint serves only
/// requests whose `Host` is a loopback name at its own port. Returns the `https://[::1]:<port>` URL.
async fn tls_proxy(dir: &std::path::Path, upstream: &str) -> String {
    let certificates: Vec<CertificateDer<'static>> =
        CertificateDer::pem_file_iter(dir.join("server.pem")).unwrap().collect::<Result<_, _>>().unwrap();
    let key = PrivateKeyDer::from_pem_file(dir.join("server.key")).unwrap();
    let config = rustls::ServerConfig::builder_with_provider(Arc::new(rustls::crypto::aws_lc_rs::default_provider()))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(certificates, key)
        .unwrap();
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let upstream = upstream.trim_start_matches("http://").to_owned();
    let port: u16 = upstream.rsplit(':').next().unwrap().parse().unwrap();
    let listener = TcpListener::bind(("::1", port)).await.expect("IPv6 loopback, at the endpoint's port");
    tokio::spawn(async move {
        while let Ok((client, _)) = listener.accept().await {
            let (acceptor, upstream) = (acceptor.clone(), upstream.clone());
            tokio::spawn(async move {
                // A client that refuses the certificate ends its handshake here.
                let Ok(mut client) = acceptor.accept(client).await else { return };
                let Ok(mut server) = TcpStream::connect(&upstream).await else { return };
                tokio::io::copy_bidirectional(&mut client, &mut server).await.ok();
            });
        }
    });
    format!("https://[::1]:{port}")
}

fn function(h: &Harness, url: &str, ca: &str) -> Function {
    Function {
        name: "rotate-custom",
        env: vec![
            ("AWS_ENDPOINT_URL".into(), url.to_owned()),
            ("SSL_CERT_FILE".into(), h.dir.path().join(ca).display().to_string()),
        ],
    }
}

#[tokio::test]
async fn secrets_manager_over_https_is_verified_against_the_roots_rotor_loaded() {
    let mut h = Harness::start(vec![]).await;
    crate::certificates::write(h.dir.path());
    let url = tls_proxy(h.dir.path(), &h.endpoint_url.clone()).await;
    h.start_function(function(&h, &url, "ca.pem"));
    let arn = h.create_secret(&unique("https"), INITIAL).await;
    h.rotate(&arn, "rotate-custom").await;
    let record = h.wait_rotation(&arn).await;
    assert_eq!(record["state"], "succeeded", "every call went through the TLS proxy: {record}");
    assert_ne!(h.value(&arn, "AWSCURRENT").await, INITIAL);
}

#[tokio::test]
async fn secrets_manager_with_a_certificate_from_an_untrusted_ca_is_refused() {
    let mut h = Harness::start(vec![]).await;
    crate::certificates::write(h.dir.path());
    let url = tls_proxy(h.dir.path(), &h.endpoint_url.clone()).await;
    h.start_function(function(&h, &url, "other-ca.pem"));
    let arn = h.create_secret(&unique("https-untrusted"), INITIAL).await;
    let current = h.holding(&arn, "AWSCURRENT").await.unwrap();
    h.rotate(&arn, "rotate-custom").await;
    let record = h.wait_rotation(&arn).await;
    assert_eq!(record["state"], "failed", "{record}");
    assert_eq!(record["step"], "createSecret");
    let logs = h.all_logs();
    assert!(
        logs.contains("UnknownIssuer") || logs.contains("invalid peer certificate"),
        "the TLS refusal is logged:\n{logs}"
    );
    assert_eq!(h.holding(&arn, "AWSCURRENT").await.as_deref(), Some(current.as_str()), "AWSCURRENT untouched");
    assert_eq!(h.value(&arn, "AWSCURRENT").await, INITIAL);
}

/// An HTTP proxy that serves `CONNECT` only, as egress proxies do for HTTPS; counts the tunnels it opened.
async fn connect_proxy() -> (String, Arc<AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let tunnels = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&tunnels);
    tokio::spawn(async move {
        while let Ok((mut client, _)) = listener.accept().await {
            let counter = Arc::clone(&counter);
            tokio::spawn(async move {
                let mut head = Vec::new();
                let mut byte = [0u8; 1];
                while !head.ends_with(b"\r\n\r\n") {
                    if client.read(&mut byte).await.unwrap_or(0) == 0 {
                        return;
                    }
                    head.push(byte[0]);
                }
                let head = String::from_utf8_lossy(&head).into_owned();
                let Some(target) = head.strip_prefix("CONNECT ").and_then(|rest| rest.split(' ').next()) else {
                    client.write_all(b"HTTP/1.1 405 Method Not Allowed\r\n\r\n").await.ok();
                    return;
                };
                // `localhost` is the TLS proxy on [::1] (127.0.0.1 at that port is the plaintext endpoint).
                let target = target.replace("localhost:", "[::1]:");
                let Ok(mut server) = TcpStream::connect(target.as_str()).await else { return };
                counter.fetch_add(1, Ordering::SeqCst);
                client.write_all(b"HTTP/1.1 200 Connection established\r\n\r\n").await.ok();
                tokio::io::copy_bidirectional(&mut client, &mut server).await.ok();
            });
        }
    });
    (format!("http://127.0.0.1:{port}"), tunnels)
}

#[tokio::test]
async fn secrets_manager_is_reached_through_the_https_proxy_the_environment_names() {
    let mut h = Harness::start(vec![]).await;
    crate::certificates::write(h.dir.path());
    let url = tls_proxy(h.dir.path(), &h.endpoint_url.clone()).await;
    let (proxy, tunnels) = connect_proxy().await;
    // By name, as real endpoints are: the proxy tunnel's TLS handshake takes a DNS name.
    let url = url.replace("[::1]", "localhost");
    let mut with_proxy = function(&h, &url, "ca.pem");
    with_proxy.env.push(("HTTPS_PROXY".into(), proxy));
    h.start_function(with_proxy);
    let arn = h.create_secret(&unique("https-proxy"), INITIAL).await;
    h.rotate(&arn, "rotate-custom").await;
    let record = h.wait_rotation(&arn).await;
    assert_eq!(record["state"], "succeeded", "{record}");
    assert!(tunnels.load(Ordering::SeqCst) >= 1, "the calls went through the proxy");
}
