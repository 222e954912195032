//! The lab's TLS: a CA generated at start and a server certificate for 127.0.0.1 it signs.
//! The CA goes into the kubeconfig, so clients trust the lab exactly as they trust EKS.

use std::sync::Arc;

use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose,
};
use rustls::pki_types::{CertificateDer, PrivateKeyDer};

#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error("cannot generate the lab certificate: {0}")]
    Generate(#[from] rcgen::Error),
    #[error("cannot configure TLS: {0}")]
    Rustls(#[from] rustls::Error),
    #[error("cannot read a saved certificate or key: {0}")]
    Pem(String),
}

/// The CA certificate (PEM, for the kubeconfig) and the server's rustls configuration.
#[derive(Clone)]
pub struct LabTls {
    pub ca_pem: String,
    pub server_config: Arc<rustls::ServerConfig>,
}

/// The CA certificate, the server certificate and its key, as PEM: what a lab's data
/// directory keeps so a restarted lab is the one its kubeconfigs trust.
#[derive(Clone, Debug, PartialEq)]
pub struct LabPems {
    pub ca: String,
    pub server: String,
    pub server_key: String,
}

pub fn generate() -> Result<LabTls, TlsError> {
    from_pems(&generate_pems()?)
}

/// A new CA and a server certificate for 127.0.0.1 and localhost that it signs.
pub fn generate_pems() -> Result<LabPems, TlsError> {
    let now = time::OffsetDateTime::now_utc();
    let mut ca_params = CertificateParams::new(Vec::<String>::new())?;
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params
        .distinguished_name
        .push(DnType::CommonName, "kdive-lab-ca");
    ca_params.key_usages = vec![
        KeyUsagePurpose::DigitalSignature,
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
    ];
    ca_params.not_before = now - time::Duration::hours(1);
    ca_params.not_after = now + time::Duration::days(365);
    let ca_key = KeyPair::generate()?;
    let ca_cert = ca_params.self_signed(&ca_key)?;
    let issuer = Issuer::new(ca_params, ca_key);

    let mut params =
        CertificateParams::new(vec!["localhost".to_string(), "127.0.0.1".to_string()])?;
    params
        .distinguished_name
        .push(DnType::CommonName, "kdive-lab-apiserver");
    params.use_authority_key_identifier_extension = true;
    params.key_usages = vec![
        KeyUsagePurpose::DigitalSignature,
        KeyUsagePurpose::KeyEncipherment,
    ];
    params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    params.not_before = now - time::Duration::hours(1);
    params.not_after = now + time::Duration::days(365);
    let key = KeyPair::generate()?;
    let cert = params.signed_by(&key, &issuer)?;

    Ok(LabPems {
        ca: ca_cert.pem(),
        server: cert.pem(),
        server_key: key.serialize_pem(),
    })
}

/// The server's TLS configuration from saved PEMs (the CA goes into the chain too).
pub fn from_pems(pems: &LabPems) -> Result<LabTls, TlsError> {
    use rustls::pki_types::pem::PemObject;
    let pem = |e: rustls::pki_types::pem::Error| TlsError::Pem(e.to_string());
    let chain = vec![
        CertificateDer::from_pem_slice(pems.server.as_bytes()).map_err(pem)?,
        CertificateDer::from_pem_slice(pems.ca.as_bytes()).map_err(pem)?,
    ];
    let key = PrivateKeyDer::from_pem_slice(pems.server_key.as_bytes()).map_err(pem)?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_no_client_auth()
        .with_single_cert(chain, key)?;
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(LabTls {
        ca_pem: pems.ca.clone(),
        server_config: Arc::new(config),
    })
}
