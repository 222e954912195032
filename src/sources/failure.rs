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
    /// The kubeconfig's credential plugin (`exec`, as `aws eks get-token`) failed: the
    /// command without its environment (which may hold secrets), its status and stderr.
    Credentials(String),
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
            Failure::Credentials(m) => write!(f, "credential plugin: {m}"),
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
    if let Some(auth) = err.downcast_ref::<kube::client::AuthError>() {
        return Some(Failure::Credentials(credentials(auth)));
    }
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

/// A credential plugin's failure as a person can act on it: never its environment.
fn credentials(e: &kube::client::AuthError) -> String {
    use kube::client::AuthError;
    match e {
        AuthError::AuthExecRun { cmd, out } => {
            let stderr = String::from_utf8_lossy(&out.stderr);
            let said: Vec<&str> = stderr.lines().filter(|l| !l.trim().is_empty()).collect();
            let tail = said[said.len().saturating_sub(5)..].join(" / ");
            format!(
                "`{}` failed ({}){}",
                command_of(cmd),
                out.status,
                if tail.is_empty() {
                    String::new()
                } else {
                    format!(": {tail}")
                }
            )
        }
        AuthError::AuthExecStart(io) => format!("the exec command could not start: {io}"),
        other => other.to_string(),
    }
}

/// The program and arguments of a `std::process::Command` as Debug prints it
/// (`K="v" … "prog" "arg"`), without the environment assignments.
pub fn command_of(debug: &str) -> String {
    let mut words = Vec::new();
    let mut word = String::new();
    let (mut quoted, mut escaped, mut started) = (false, false, false);
    for c in debug.chars() {
        if escaped {
            word.push(c);
            escaped = false;
        } else if quoted && c == '\\' {
            escaped = true;
        } else if c == '"' {
            quoted = !quoted;
            started = true;
        } else if c == ' ' && !quoted {
            if started {
                words.push(std::mem::take(&mut word));
            }
            started = false;
        } else {
            word.push(c);
            started = true;
        }
    }
    if started {
        words.push(word);
    }
    let is_env = |w: &String| {
        w.split_once('=').is_some_and(|(k, _)| {
            !k.is_empty() && k.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        })
    };
    let first = words.iter().position(|w| !is_env(w)).unwrap_or(words.len());
    words[first..].join(" ")
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
    fn a_failing_credential_plugin_is_named_without_its_environment() {
        let cmd = r#"AWS_SECRET_ACCESS_KEY="s3cr3t" KUBERNETES_EXEC_INFO="{\"kind\":\"ExecCredential\"}" "/usr/local/bin/aws" "eks" "get-token""#;
        assert_eq!(command_of(cmd), "/usr/local/bin/aws eks get-token");
        let out = std::process::Command::new("sh")
            .args([
                "-c",
                "echo 'first' >&2; echo 'Error: the SSO session has expired' >&2; exit 255",
            ])
            .output()
            .unwrap();
        let e = kube::client::AuthError::AuthExecRun {
            cmd: cmd.into(),
            out: Box::new(out),
        };
        let text = Failure::in_chain(&e).unwrap().to_string();
        assert_eq!(
            text,
            "credential plugin: `/usr/local/bin/aws eks get-token` failed (exit status: 255): first / Error: the SSO session has expired"
        );
        assert!(!text.contains("s3cr3t"));
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
