//! Why a request to a cluster failed, named for what it is: the status bar, the watch
//! inspector and the one-shot commands say "TLS", "401", "connection refused", "timed out"
//! or "DNS" rather than a client library's error chain. Prometheus's client names its
//! errors the same way ([`Failure::of_http`], [`Failure::in_chain`]).

use std::error::Error as StdError;
use std::fmt;
use std::io::ErrorKind;

/// What went wrong, from the outermost cause a person can act on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Failure {
    /// The server answered 401: the token or certificate is not accepted (expired, from
    /// another cluster, revoked).
    Unauthorized(String),
    /// The server answered 403: authenticated, but not allowed.
    Forbidden(String),
    /// Another status from the server, with its own message.
    Status { code: u16, message: String },
    /// The TLS handshake failed (a certificate the kubeconfig's CA did not sign, a name
    /// the certificate does not carry, ...).
    Tls(String),
    /// Nothing listens at the address (the server is down or restarting).
    Refused,
    /// The server accepted the connection but did not answer in time.
    Timeout,
    /// The server's name does not resolve.
    Dns(String),
    /// Anything else, in the client's words.
    Other(String),
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Failure::Unauthorized(m) => write!(f, "401 Unauthorized: {m}"),
            Failure::Forbidden(m) => write!(f, "403 Forbidden: {m}"),
            Failure::Status { code, message } => write!(f, "{code} {message}"),
            Failure::Tls(m) => write!(f, "TLS: {m}"),
            Failure::Refused => f.write_str("connection refused"),
            Failure::Timeout => f.write_str("timed out"),
            Failure::Dns(m) => write!(f, "DNS: {m}"),
            Failure::Other(m) => f.write_str(m),
        }
    }
}

impl Failure {
    /// Names a kube client error by walking its chain of causes.
    pub fn of(e: &kube::Error) -> Failure {
        if let kube::Error::Api(status) = e {
            return Failure::of_http(status.code, status.message.clone());
        }
        Failure::in_chain(e).unwrap_or_else(|| Failure::Other(e.to_string()))
    }
}

impl Failure {
    /// An HTTP status a server (or a proxy in front of it) answered with.
    pub fn of_http(code: u16, message: String) -> Failure {
        match code {
            401 => Failure::Unauthorized(message),
            403 => Failure::Forbidden(message),
            code => Failure::Status { code, message },
        }
    }

    /// The first link of an error's chain of causes that says what happened.
    pub fn in_chain(e: &(dyn StdError + 'static)) -> Option<Failure> {
        let mut cause = Some(e);
        while let Some(err) = cause {
            if let Some(f) = named(err) {
                return Some(f);
            }
            cause = err.source();
        }
        None
    }
}

/// One link of the chain, if it says what happened.
fn named(err: &(dyn StdError + 'static)) -> Option<Failure> {
    if let Some(tls) = err.downcast_ref::<rustls::Error>() {
        return Some(Failure::Tls(tls.to_string()));
    }
    if let Some(io) = err.downcast_ref::<std::io::Error>() {
        match io.kind() {
            ErrorKind::ConnectionRefused => return Some(Failure::Refused),
            ErrorKind::TimedOut => return Some(Failure::Timeout),
            _ => {}
        }
        // An I/O error's `source` skips the error it wraps (rustls reports a failed
        // handshake as I/O errors wrapping its own): look inside.
        if let Some(inner) = io.get_ref() {
            return named(inner);
        }
    }
    if err.is::<tokio::time::error::Elapsed>() {
        return Some(Failure::Timeout);
    }
    // hyper-util's connector names the step that failed ("dns error", "tcp connect error").
    if err.to_string() == "dns error" {
        let detail = err.source().map_or_else(String::new, |s| s.to_string());
        return Some(Failure::Dns(detail));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn api(code: u16, message: &str) -> kube::Error {
        kube::Error::Api(Box::new(
            kube::core::Status::failure(message, "").with_code(code),
        ))
    }

    #[test]
    fn statuses_are_named_by_code() {
        assert_eq!(
            Failure::of(&api(401, "Unauthorized")).to_string(),
            "401 Unauthorized: Unauthorized"
        );
        assert!(matches!(
            Failure::of(&api(403, "no")),
            Failure::Forbidden(_)
        ));
        assert_eq!(
            Failure::of(&api(500, "etcd is sad")).to_string(),
            "500 etcd is sad"
        );
    }

    #[test]
    fn causes_deep_in_the_chain_are_found() {
        let refused = std::io::Error::from(ErrorKind::ConnectionRefused);
        let e = kube::Error::Service(Box::new(refused));
        assert_eq!(Failure::of(&e), Failure::Refused);
        let timeout = std::io::Error::from(ErrorKind::TimedOut);
        assert_eq!(
            Failure::of(&kube::Error::Service(Box::new(timeout))),
            Failure::Timeout
        );
        let tls = std::io::Error::new(
            ErrorKind::InvalidData,
            rustls::Error::InvalidCertificate(rustls::CertificateError::UnknownIssuer),
        );
        let f = Failure::of(&kube::Error::Service(Box::new(tls)));
        assert!(matches!(f, Failure::Tls(_)), "{f:?}");
        assert!(
            f.to_string().starts_with("TLS: invalid peer certificate"),
            "{f}"
        );
    }
}
