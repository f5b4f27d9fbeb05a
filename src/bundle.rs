//! The Lambda package this binary deploys: the one `build.rs` bundled, or another build named by `LOGIN_ALERT_HANDLER_ZIP`.

use std::borrow::Cow;
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use base64::Engine;
use sha2::{Digest, Sha256};

/// Deploy another build of the handler: the path of a Lambda deployment package (a zip with `bootstrap` at its root).
pub const OVERRIDE_ENV: &str = "LOGIN_ALERT_HANDLER_ZIP";

/// The bundled package's code hash, computed by `build.rs` (what `--version` names).
pub const BUNDLED_SHA256: &str = env!("LOGIN_ALERT_HANDLER_SHA256");

static BUNDLED: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/bootstrap.zip"));

#[derive(Debug, thiserror::Error)]
pub enum BundleError {
    #[error(
        "{OVERRIDE_ENV}={}: cannot read it ({source}). Point it at a handler package (a zip with `bootstrap` at its root), or unset it to deploy the handler bundled in this binary",
        path.display()
    )]
    Unreadable {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(
        "{OVERRIDE_ENV}={}: not a zip file. Lambda needs a zip with the `bootstrap` executable at its root (`cargo lambda build --release --output-format zip` makes one); unset it to deploy the handler bundled in this binary",
        path.display()
    )]
    NotZip { path: PathBuf },
}

#[derive(Debug)]
struct Package {
    zip: Cow<'static, [u8]>,
    sha256: String,
    /// `None` for the bundled package.
    path: Option<PathBuf>,
}

static PACKAGE: OnceLock<Package> = OnceLock::new();

/// Reads the package once, from `LOGIN_ALERT_HANDLER_ZIP` if set; later calls are free. The commands call it
/// before anything else so that a bad override is reported before any AWS call; the functions below reuse it,
/// so a plan and the apply that follows it see the same bytes even if the file changes in between.
pub fn load() -> Result<(), BundleError> {
    if PACKAGE.get().is_none() {
        let package = read(std::env::var_os(OVERRIDE_ENV))?;
        let _ = PACKAGE.set(package);
    }
    Ok(())
}

/// The deployment package, exactly as uploaded to Lambda.
pub fn handler_zip() -> &'static [u8] {
    &package().zip
}

/// The package's SHA-256 as Lambda reports it in `CodeSha256` (base64), to tell whether the deployed code is ours.
pub fn handler_sha256() -> String {
    package().sha256.clone()
}

/// The file named by `LOGIN_ALERT_HANDLER_ZIP`, when that is what gets deployed.
pub fn override_path() -> Option<&'static Path> {
    package().path.as_deref()
}

fn package() -> &'static Package {
    if let Err(err) = load() {
        // Only library callers get here: every command calls `load` first and reports the error.
        panic!("{err}");
    }
    PACKAGE.get().expect("loaded above")
}

fn read(path: Option<OsString>) -> Result<Package, BundleError> {
    let Some(path) = path.filter(|p| !p.is_empty()).map(PathBuf::from) else {
        return Ok(Package {
            zip: Cow::Borrowed(BUNDLED),
            sha256: BUNDLED_SHA256.to_owned(),
            path: None,
        });
    };
    let zip = std::fs::read(&path).map_err(|source| BundleError::Unreadable {
        path: path.clone(),
        source,
    })?;
    if !zip.starts_with(b"PK\x03\x04") {
        return Err(BundleError::NotZip { path });
    }
    Ok(Package {
        sha256: sha256_base64(&zip),
        zip: Cow::Owned(zip),
        path: Some(path),
    })
}

fn sha256_base64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(Sha256::digest(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bundle_is_a_zip_with_an_executable_bootstrap_at_its_root() {
        // Local file header signature, then the entry name at offset 30.
        assert_eq!(&BUNDLED[..4], b"PK\x03\x04");
        let name_len = u16::from_le_bytes([BUNDLED[26], BUNDLED[27]]) as usize;
        assert_eq!(&BUNDLED[30..30 + name_len], b"bootstrap");
        assert!(
            BUNDLED.len() < 5 * 1024 * 1024,
            "zipped handler must stay under 5 MB"
        );
    }

    #[test]
    fn the_hash_build_rs_computed_is_the_bundled_packages() {
        assert_eq!(BUNDLED_SHA256, sha256_base64(BUNDLED));
        let unset = read(None).unwrap();
        assert_eq!(unset.sha256, BUNDLED_SHA256);
        assert_eq!(unset.path, None);
        // An empty variable is as good as unset.
        assert_eq!(read(Some(OsString::new())).unwrap().sha256, BUNDLED_SHA256);
        assert_eq!(
            base64::engine::general_purpose::STANDARD
                .decode(BUNDLED_SHA256)
                .unwrap()
                .len(),
            32
        );
    }

    #[test]
    fn an_override_is_deployed_with_its_own_hash() {
        let dir = tempfile::tempdir().unwrap();
        let other = dir.path().join("other.zip");
        let mut bytes = BUNDLED.to_vec();
        bytes.extend_from_slice(b"another build");
        std::fs::write(&other, &bytes).unwrap();
        let package = read(Some(other.clone().into())).unwrap();
        assert_eq!(package.zip.as_ref(), bytes.as_slice());
        assert_eq!(package.sha256, sha256_base64(&bytes));
        assert_ne!(package.sha256, BUNDLED_SHA256);
        assert_eq!(package.path.as_deref(), Some(other.as_path()));
    }

    #[test]
    fn a_bad_override_names_the_variable_the_file_and_the_fix() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("missing.zip");
        let err = read(Some(missing.clone().into())).unwrap_err().to_string();
        assert!(
            err.starts_with(&format!(
                "LOGIN_ALERT_HANDLER_ZIP={}: cannot read it",
                missing.display()
            )),
            "{err}"
        );
        assert!(err.contains("unset it"), "{err}");

        let text = dir.path().join("bootstrap");
        std::fs::write(&text, "#!/bin/sh\n").unwrap();
        let err = read(Some(text.into())).unwrap_err().to_string();
        assert!(err.contains(": not a zip file."), "{err}");
        assert!(err.contains("`bootstrap` executable at its root"), "{err}");
    }
}
