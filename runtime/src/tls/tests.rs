use super::*;
use falcon_tests::pki::Pki;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

fn files(pki: &Pki, stem: &str, client_ca: &str) -> ServerFiles {
    ServerFiles {
        cert: pki.path(&format!("{stem}.pem")),
        key: pki.path(&format!("{stem}.key")),
        client_ca: if client_ca.is_empty() { String::new() } else { pki.path(client_ca) },
    }
}

fn client(pki: &Pki, ca: &str, cert: &str) -> Arc<ClientTls> {
    let (cert, key) = if cert.is_empty() {
        (String::new(), String::new())
    } else {
        (pki.path(&format!("{cert}.pem")), pki.path(&format!("{cert}.key")))
    };
    ClientTls::new(&ClientTlsConfig { ca: pki.path(ca), cert, key, server_name: String::new() }).unwrap()
}

/// An echo server over `tls` on a loopback port: each connection's first line comes back.
async fn echo(tls: Arc<ServerTls>) -> String {
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = l.local_addr().unwrap().to_string();
    tokio::spawn(async move {
        while let Ok((s, _)) = l.accept().await {
            let tls = tls.clone();
            tokio::spawn(async move {
                if let Some(mut s) = tls.accept(s).await {
                    let mut b = [0u8; 5];
                    if s.read_exact(&mut b).await.is_ok() {
                        let _ = s.write_all(&b).await;
                        let _ = s.flush().await;
                    }
                }
            });
        }
    });
    addr
}

async fn hello(c: &ClientTls, addr: &str) -> Result<[u8; 5], String> {
    let mut s = c.connect(addr).await.map_err(|e| e.to_string())?;
    s.write_all(b"hello").await.map_err(|e| e.to_string())?;
    s.flush().await.map_err(|e| e.to_string())?;
    let mut b = [0u8; 5];
    s.read_exact(&mut b).await.map_err(|e| e.to_string())?;
    Ok(b)
}

#[tokio::test]
async fn verified_both_ways_and_refused_otherwise() {
    let pki = Pki::new("runtime-tls");
    let tls = ServerTls::new(files(&pki, "server", ""), "test").unwrap();
    let addr = echo(tls.clone()).await;
    assert_eq!(hello(&client(&pki, "ca.pem", ""), &addr).await.unwrap(), *b"hello");
    let e = hello(&client(&pki, "other-ca.pem", ""), &addr).await.unwrap_err();
    assert!(e.contains("UnknownIssuer"), "a server the CA did not sign: {e}");

    let expired = ServerTls::new(files(&pki, "expired", ""), "test").unwrap();
    let e = hello(&client(&pki, "ca.pem", ""), &echo(expired).await).await.unwrap_err();
    assert!(e.contains("certificate expired"), "an expired certificate: {e}");

    // Mutual TLS: no client certificate, or one from another CA, is refused by the server.
    let mtls = ServerTls::new(files(&pki, "server", "ca.pem"), "test").unwrap();
    let addr = echo(mtls.clone()).await;
    assert_eq!(hello(&client(&pki, "ca.pem", "client"), &addr).await.unwrap(), *b"hello");
    assert!(hello(&client(&pki, "ca.pem", ""), &addr).await.is_err());
    assert!(hello(&client(&pki, "ca.pem", "other-client"), &addr).await.is_err());
    assert!(mtls.failed_handshakes.load(Relaxed) >= 2);
}

#[tokio::test]
async fn reload_swaps_the_certificate_for_new_connections() {
    let pki = Pki::new("runtime-tls-reload");
    // Start with the other CA's certificate in the server's files, then put ours in place and reload.
    let f = files(&pki, "server", "");
    std::fs::copy(pki.path("other-server.pem"), pki.path("live.pem")).unwrap();
    std::fs::copy(pki.path("other-server.key"), pki.path("live.key")).unwrap();
    let tls = ServerTls::new(ServerFiles { cert: pki.path("live.pem"), key: pki.path("live.key"), ..f.clone() }, "t")
        .unwrap();
    let addr = echo(tls.clone()).await;
    let c = client(&pki, "ca.pem", "");
    assert!(hello(&c, &addr).await.is_err());
    std::fs::copy(&f.cert, pki.path("live.pem")).unwrap();
    std::fs::copy(&f.key, pki.path("live.key")).unwrap();
    tls.reload().unwrap();
    assert_eq!(hello(&c, &addr).await.unwrap(), *b"hello");
    // A broken file on reload keeps the running certificate.
    std::fs::write(pki.path("live.pem"), "not pem").unwrap();
    assert!(tls.reload().is_err());
    assert_eq!(hello(&c, &addr).await.unwrap(), *b"hello");
}

#[test]
fn bad_files_name_the_file() {
    let pki = Pki::new("runtime-tls-bad");
    let e = ServerTls::new(ServerFiles { cert: pki.path("nope.pem"), ..files(&pki, "server", "") }, "t")
        .err()
        .unwrap()
        .to_string();
    assert!(e.contains("nope.pem"), "{e}");
    let e =
        ClientTls::new(&ClientTlsConfig { ca: pki.path("ca.pem"), cert: pki.path("client.pem"), ..Default::default() })
            .err()
            .unwrap()
            .to_string();
    assert!(e.contains("cert and key go together"), "{e}");
}
