//! The Lambda handler bundled into this binary by `build.rs` (a zip holding a static `bootstrap`).

use base64::Engine;
use sha2::{Digest, Sha256};

/// The deployment package, exactly as uploaded to Lambda.
pub static HANDLER_ZIP: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/bootstrap.zip"));

/// The package's SHA-256 as Lambda reports it in `CodeSha256` (base64), to tell whether the deployed code is ours.
pub fn handler_sha256() -> String {
    base64::engine::general_purpose::STANDARD.encode(Sha256::digest(HANDLER_ZIP))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bundle_is_a_zip_with_an_executable_bootstrap_at_its_root() {
        // Local file header signature, then the entry name at offset 30.
        assert_eq!(&HANDLER_ZIP[..4], b"PK\x03\x04");
        let name_len = u16::from_le_bytes([HANDLER_ZIP[26], HANDLER_ZIP[27]]) as usize;
        assert_eq!(&HANDLER_ZIP[30..30 + name_len], b"bootstrap");
        assert!(
            HANDLER_ZIP.len() < 5 * 1024 * 1024,
            "zipped handler must stay under 5 MB"
        );
    }

    #[test]
    fn code_hash_is_base64_sha256() {
        let hash = handler_sha256();
        assert_eq!(
            base64::engine::general_purpose::STANDARD
                .decode(&hash)
                .unwrap()
                .len(),
            32
        );
    }
}
