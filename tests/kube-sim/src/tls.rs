//! A generated CA and a server certificate for 127.0.0.1/localhost, and the rustls config.

use crate::error::SimError;
use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair, KeyUsagePurpose};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use std::sync::Arc;

/// PEM material for a cluster's TLS endpoint.
#[derive(Debug, Clone)]
pub struct TlsMaterial {
    /// CA certificate (PEM), embedded in kubeconfigs.
    pub ca_pem: String,
    /// Server certificate (DER).
    pub cert_der: Vec<u8>,
    /// Server key (PKCS#8 DER).
    pub key_der: Vec<u8>,
}

/// Generates a fresh CA and a server certificate signed by it.
pub fn generate() -> Result<TlsMaterial, SimError> {
    let ca_key = KeyPair::generate().map_err(SimError::Certificates)?;
    let mut ca = CertificateParams::new(Vec::<String>::new()).map_err(SimError::Certificates)?;
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca.distinguished_name
        .push(DnType::CommonName, "kube-sim-ca");
    ca.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    let ca_cert = ca.self_signed(&ca_key).map_err(SimError::Certificates)?;
    let issuer = Issuer::new(ca, ca_key);
    let key = KeyPair::generate().map_err(SimError::Certificates)?;
    let mut params = CertificateParams::new(vec![
        "localhost".to_string(),
        "127.0.0.1".to_string(),
        "kubernetes.default.svc".to_string(),
    ])
    .map_err(SimError::Certificates)?;
    params
        .distinguished_name
        .push(DnType::CommonName, "kube-apiserver");
    params.extended_key_usages = vec![rcgen::ExtendedKeyUsagePurpose::ServerAuth];
    let cert = params
        .signed_by(&key, &issuer)
        .map_err(SimError::Certificates)?;
    Ok(TlsMaterial {
        ca_pem: ca_cert.pem(),
        cert_der: cert.der().to_vec(),
        key_der: key.serialize_der(),
    })
}

/// Builds the rustls server config (HTTP/1.1 only, ring provider).
pub fn server_config(m: &TlsMaterial) -> Result<Arc<rustls::ServerConfig>, SimError> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut cfg = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(SimError::Tls)?
        .with_no_client_auth()
        .with_single_cert(
            vec![CertificateDer::from(m.cert_der.clone())],
            PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(m.key_der.clone())),
        )
        .map_err(SimError::Tls)?;
    cfg.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Arc::new(cfg))
}
