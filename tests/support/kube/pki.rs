//! The test binary's certificates and keys, made once: a CA, the serving
//! certificate for 127.0.0.1 (the API server and the fault proxy both use it,
//! so one `certificate-authority` in the kubeconfig trusts both), and the
//! ES256 key pair that signs ServiceAccount tokens.

use std::path::{Path, PathBuf};

use std::sync::OnceLock;

use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, DnType, ExtendedKeyUsagePurpose, IsCa,
    KeyPair, KeyUsagePurpose,
};

pub struct Pki {
    pub ca_cert: PathBuf,
    pub ca_pem: String,
    pub server_cert: PathBuf,
    pub server_key: PathBuf,
    pub server_cert_pem: String,
    pub server_key_pem: String,
    pub sa_public: PathBuf,
    pub sa_private: PathBuf,
}

impl Pki {
    pub fn get() -> &'static Pki {
        static PKI: OnceLock<Pki> = OnceLock::new();
        PKI.get_or_init(|| {
            let dir = super::server::peer_tmp().join(format!("pki-{}", std::process::id()));
            std::fs::create_dir_all(&dir).expect("pki dir");
            Pki::make(&dir).expect("test certificates")
        })
    }

    fn make(dir: &Path) -> Result<Pki, rcgen::Error> {
        let mut ca = CertificateParams::new(Vec::<String>::new())?;
        ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        ca.distinguished_name
            .push(DnType::CommonName, "kubectl-klanker-trust test CA");
        ca.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        let ca = CertifiedIssuer::self_signed(ca, KeyPair::generate()?)?;

        let server_key = KeyPair::generate()?;
        let mut server = CertificateParams::new(vec!["127.0.0.1".into(), "localhost".into()])?;
        server
            .distinguished_name
            .push(DnType::CommonName, "kube-apiserver");
        server.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        server.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        let server_cert = server.signed_by(&server_key, &ca)?;

        let sa = KeyPair::generate()?;
        let write = |name: &str, text: &str| {
            let path = dir.join(name);
            std::fs::write(&path, text).expect("write pki file");
            path
        };
        Ok(Pki {
            ca_cert: write("ca.crt", &ca.pem()),
            ca_pem: ca.pem(),
            server_cert: write("server.crt", &server_cert.pem()),
            server_key: write("server.key", &server_key.serialize_pem()),
            server_cert_pem: server_cert.pem(),
            server_key_pem: server_key.serialize_pem(),
            sa_public: write("sa.pub", &sa.public_key_pem()),
            sa_private: write("sa.key", &sa.serialize_pem()),
        })
    }
}
