//! A self-signed certificate for `--tls`, so clients that only speak HTTPS (PySNC) can talk to
//! the emulator on loopback.

use std::path::{Path, PathBuf};

use anyhow::Context as _;

/// A generated certificate and key, and where the certificate's PEM was written.
pub struct SelfSigned {
    /// Certificate, PEM.
    pub cert_pem: String,
    /// Private key, PEM.
    pub key_pem: String,
    /// File holding `cert_pem`, to hand to clients as their CA bundle.
    pub pem_path: PathBuf,
}

impl SelfSigned {
    /// Generates a certificate valid for `localhost`, `127.0.0.1` and `::1`, and writes its PEM
    /// to `dir/grantdesk-emulator-ca.pem`.
    pub fn generate(dir: &Path) -> anyhow::Result<Self> {
        let names = vec!["localhost".to_string(), "127.0.0.1".to_string(), "::1".to_string()];
        let certified = rcgen::generate_simple_self_signed(names).context("generating a self-signed certificate")?;
        let cert_pem = certified.cert.pem();
        let key_pem = certified.signing_key.serialize_pem();
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        let pem_path = dir.join("grantdesk-emulator-ca.pem");
        std::fs::write(&pem_path, &cert_pem).with_context(|| format!("writing {}", pem_path.display()))?;
        Ok(SelfSigned { cert_pem, key_pem, pem_path })
    }
}
