//! A lab's data directory (`--data-dir`): what makes a restarted lab the same cluster to its
//! clients. It keeps the CA, the server certificate and the bearer token, so kubeconfigs
//! written before stay valid, and the last resourceVersion, so versions keep counting up
//! and a client's old resourceVersion is never taken for a new object's. Files holding
//! secrets are written 0600 in a 0700 directory.

use std::io::Write;
use std::path::{Path, PathBuf};

use crate::tls::{self, LabPems};

#[derive(Debug, thiserror::Error)]
pub enum PersistError {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}: {message}")]
    Bad { path: PathBuf, message: String },
    #[error(transparent)]
    Tls(#[from] tls::TlsError),
}

pub struct DataDir {
    path: PathBuf,
}

const CA: &str = "ca.crt";
const SERVER: &str = "apiserver.crt";
const SERVER_KEY: &str = "apiserver.key";
const TOKEN: &str = "token";
const RESOURCE_VERSION: &str = "resource-version";

impl DataDir {
    /// Opens (creating) the directory.
    pub fn open(path: &Path) -> Result<DataDir, PersistError> {
        std::fs::create_dir_all(path).map_err(|source| PersistError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let _ = std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o700));
        }
        Ok(DataDir {
            path: path.to_path_buf(),
        })
    }

    /// The saved certificates and token; new ones (saved) on first use.
    pub fn identity(
        &self,
        new_token: impl FnOnce() -> String,
    ) -> Result<(LabPems, String), PersistError> {
        let files = [CA, SERVER, SERVER_KEY, TOKEN].map(|f| self.path.join(f));
        if files.iter().all(|f| f.exists()) {
            let [ca, server, server_key, token] = files.map(|f| self.read(&f));
            let pems = LabPems {
                ca: ca?,
                server: server?,
                server_key: server_key?,
            };
            let token = token?.trim().to_string();
            if token.is_empty() {
                return Err(PersistError::Bad {
                    path: self.path.join(TOKEN),
                    message: "empty token".into(),
                });
            }
            // Checked now, so a damaged file is named rather than failing the handshake.
            tls::from_pems(&pems)?;
            return Ok((pems, token));
        }
        let pems = tls::generate_pems()?;
        let token = new_token();
        self.write(CA, &pems.ca)?;
        self.write(SERVER, &pems.server)?;
        self.write(SERVER_KEY, &pems.server_key)?;
        self.write(TOKEN, &token)?;
        Ok((pems, token))
    }

    /// The last resourceVersion saved (0 for a new directory).
    pub fn resource_version(&self) -> Result<u64, PersistError> {
        let path = self.path.join(RESOURCE_VERSION);
        if !path.exists() {
            return Ok(0);
        }
        let text = self.read(&path)?;
        text.trim().parse().map_err(|_| PersistError::Bad {
            path,
            message: format!("{:?} is not a resourceVersion", text.trim()),
        })
    }

    pub fn save_resource_version(&self, rv: u64) -> Result<(), PersistError> {
        self.write(RESOURCE_VERSION, &rv.to_string())
    }

    fn read(&self, path: &Path) -> Result<String, PersistError> {
        std::fs::read_to_string(path).map_err(|source| PersistError::Io {
            path: path.to_path_buf(),
            source,
        })
    }

    /// Writes a file whole (temp file, then rename), readable by its owner only.
    fn write(&self, name: &str, contents: &str) -> Result<(), PersistError> {
        let path = self.path.join(name);
        let tmp = self.path.join(format!(".{name}.tmp"));
        let io = |source| PersistError::Io {
            path: path.clone(),
            source,
        };
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create(true).truncate(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            options.mode(0o600);
        }
        let mut f = options.open(&tmp).map_err(io)?;
        f.write_all(contents.as_bytes()).map_err(io)?;
        f.sync_all().map_err(io)?;
        std::fs::rename(&tmp, &path).map_err(io)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identity_is_made_once_then_read_back() {
        let dir = tempfile::tempdir().unwrap();
        let d = DataDir::open(&dir.path().join("lab")).unwrap();
        let (first, token) = d.identity(|| "tok".into()).unwrap();
        let (again, token2) = d.identity(|| "other".into()).unwrap();
        assert_eq!((first, token), (again, token2));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = |f: &str| {
                std::fs::metadata(dir.path().join("lab").join(f))
                    .unwrap()
                    .permissions()
                    .mode()
                    & 0o777
            };
            assert_eq!(mode(TOKEN), 0o600);
            assert_eq!(mode(SERVER_KEY), 0o600);
        }
        assert_eq!(d.resource_version().unwrap(), 0);
        d.save_resource_version(4711).unwrap();
        assert_eq!(d.resource_version().unwrap(), 4711);
    }

    #[test]
    fn damaged_files_are_named() {
        let dir = tempfile::tempdir().unwrap();
        let d = DataDir::open(dir.path()).unwrap();
        d.identity(|| "tok".into()).unwrap();
        std::fs::write(dir.path().join(SERVER_KEY), "not a key").unwrap();
        let e = d.identity(|| "x".into()).unwrap_err().to_string();
        assert!(e.contains("saved certificate or key"), "{e}");
        std::fs::write(dir.path().join(RESOURCE_VERSION), "twelve").unwrap();
        let e = d.resource_version().unwrap_err().to_string();
        assert!(e.ends_with("\"twelve\" is not a resourceVersion"), "{e}");
        assert!(e.starts_with(&dir.path().display().to_string()), "{e}");
    }
}
