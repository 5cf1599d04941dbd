//! RSA key pairs: an account's (and the instance actor's) identity in federation.

use rsa::pkcs8::{EncodePrivateKey, EncodePublicKey, LineEnding};

use crate::error::{Error, Result};

/// A fresh RSA-2048 pair as PKCS#8 PEM (private, public). CPU-heavy: call it off the runtime.
pub fn generate_key_pair() -> Result<(String, String)> {
    let key = rsa::PrivateKey::new(&mut rand::rng(), 2048)
        .map_err(|e| Error::internal(format!("key generation failed: {e}")))?;
    let private = key
        .to_pkcs8_pem(LineEnding::LF)
        .map_err(|e| Error::internal(format!("key encoding failed: {e}")))?;
    let public = key
        .to_public_key()
        .to_public_key_pem(LineEnding::LF)
        .map_err(|e| Error::internal(format!("key encoding failed: {e}")))?;
    Ok((private.to_string(), public))
}
