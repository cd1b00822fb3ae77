//! A throwaway PKI for TLS tests, made in the test: a CA, a server certificate for 127.0.0.1 and localhost, a
//! client certificate, a second unrelated CA with a server certificate of its own, and an expired server
//! certificate. PEM files in a fresh directory; [`Pki::path`] names them.

use rcgen::{
    date_time_ymd, BasicConstraints, Certificate, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, KeyPair,
    KeyUsagePurpose,
};
use std::path::PathBuf;

/// The files of a test PKI.
pub struct Pki {
    /// Where the files are.
    pub dir: PathBuf,
}

struct Ca {
    cert: Certificate,
    key: KeyPair,
}

fn ca(name: &str) -> Ca {
    let key = KeyPair::generate().expect("CA key");
    let mut p = CertificateParams::new(Vec::<String>::new()).expect("CA params");
    p.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    p.distinguished_name.push(DnType::CommonName, name);
    p.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign, KeyUsagePurpose::DigitalSignature];
    p.not_before = date_time_ymd(2020, 1, 1);
    p.not_after = date_time_ymd(2099, 1, 1);
    Ca { cert: p.self_signed(&key).expect("CA certificate"), key }
}

/// A leaf certificate and its key, as PEM.
fn leaf(ca: &Ca, names: &[&str], usage: ExtendedKeyUsagePurpose, expired: bool) -> (String, String) {
    let key = KeyPair::generate().expect("leaf key");
    let mut p = CertificateParams::new(names.iter().map(|s| s.to_string()).collect::<Vec<_>>()).expect("params");
    p.distinguished_name.push(DnType::CommonName, names.first().copied().unwrap_or("client"));
    p.extended_key_usages = vec![usage];
    if expired {
        p.not_before = date_time_ymd(2020, 1, 1);
        p.not_after = date_time_ymd(2021, 1, 1);
    } else {
        p.not_before = date_time_ymd(2020, 1, 1);
        p.not_after = date_time_ymd(2099, 1, 1);
    }
    let cert = p.signed_by(&key, &ca.cert, &ca.key).expect("sign");
    (cert.pem(), key.serialize_pem())
}

impl Pki {
    /// Makes every file in a fresh directory named after `name`.
    pub fn new(name: &str) -> Pki {
        let dir = std::env::temp_dir().join(format!("falcon-pki-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("pki dir");
        let write = |file: &str, text: &str| std::fs::write(dir.join(file), text).expect("write pem");
        let main = ca("falcon test CA");
        let other = ca("some other CA");
        write("ca.pem", &main.cert.pem());
        write("other-ca.pem", &other.cert.pem());
        let server = ["127.0.0.1", "localhost"];
        for (stem, issuer, usage, expired) in [
            ("server", &main, ExtendedKeyUsagePurpose::ServerAuth, false),
            ("other-server", &other, ExtendedKeyUsagePurpose::ServerAuth, false),
            ("expired", &main, ExtendedKeyUsagePurpose::ServerAuth, true),
        ] {
            let (cert, key) = leaf(issuer, &server, usage, expired);
            write(&format!("{stem}.pem"), &cert);
            write(&format!("{stem}.key"), &key);
        }
        let (cert, key) = leaf(&main, &["falcon-agent"], ExtendedKeyUsagePurpose::ClientAuth, false);
        write("client.pem", &cert);
        write("client.key", &key);
        let (cert, key) = leaf(&other, &["intruder"], ExtendedKeyUsagePurpose::ClientAuth, false);
        write("other-client.pem", &cert);
        write("other-client.key", &key);
        Pki { dir }
    }

    /// The path of one of the files (`ca.pem`, `server.pem`, `server.key`, `client.pem`, `expired.pem`...).
    pub fn path(&self, file: &str) -> String {
        self.dir.join(file).display().to_string()
    }
}

impl Drop for Pki {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
