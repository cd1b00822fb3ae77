//! Downloads over HTTPS: verified against the configured CA, refused when the server's certificate chains to
//! another one. The server is our TLS listener with a throwaway CA made in the test.

use falcon_proto::connect::Connector;
use falcon_runtime::tls::{ClientTls, ClientTlsConfig, ServerFiles, ServerTls};
use falcon_tests::pki::Pki;
use falcon_updater::fetch::{FetchError, Fetcher};
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// An HTTPS server answering every request with `body`, with the certificate `stem` of `pki`.
async fn https_server(pki: &Pki, stem: &str, body: &'static [u8]) -> String {
    let files = ServerFiles {
        cert: pki.path(&format!("{stem}.pem")),
        key: pki.path(&format!("{stem}.key")),
        client_ca: String::new(),
    };
    let tls = ServerTls::new(files, "test").unwrap();
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = l.local_addr().unwrap().to_string();
    tokio::spawn(async move {
        while let Ok((tcp, _)) = l.accept().await {
            let tls = tls.clone();
            tokio::spawn(async move {
                let Some(mut s) = tls.accept(tcp).await else { return };
                let mut buf = [0u8; 4096];
                let _ = s.read(&mut buf).await;
                let head = format!("HTTP/1.1 200 OK\r\nContent-Length: {}\r\n\r\n", body.len());
                let _ = s.write_all(head.as_bytes()).await;
                let _ = s.write_all(body).await;
                let _ = s.shutdown().await;
            });
        }
    });
    addr
}

fn fetcher(pki: &Pki) -> Fetcher {
    let cfg = ClientTlsConfig { ca: pki.path("ca.pem"), ..Default::default() };
    let tls = ClientTls::new(&cfg).unwrap() as Arc<dyn Connector>;
    Fetcher { tls: Some(tls), max_bytes: 1 << 20, timeout: Duration::from_secs(10) }
}

#[tokio::test]
async fn https_downloads_are_verified() {
    let pki = Pki::new("updater-https");
    let good = https_server(&pki, "server", b"tarball bytes").await;
    assert_eq!(fetcher(&pki).get(&format!("https://{good}/falcon-agent-1.0.tar.gz")).await.unwrap(), b"tarball bytes");
    // A server whose certificate another CA signed is refused, and so is an expired one.
    for stem in ["other-server", "expired"] {
        let bad = https_server(&pki, stem, b"x").await;
        let e = fetcher(&pki).get(&format!("https://{bad}/x")).await.unwrap_err();
        assert!(matches!(e, FetchError::Transport { .. }), "{stem}: {e}");
    }
}
