//! The instance actor: the server itself, for signed fetches and instance-level follows
//! (mirroring). Its key pair is made once and kept in the database, shared by every process.

use crate::{
    db::{self, Db},
    error::Result,
};

pub const USERNAME: &str = "instance.actor";

pub struct InstanceKeys {
    pub private_pem: String,
    pub public_pem: String,
}

pub async fn keys(db: &Db) -> Result<InstanceKeys> {
    if let (Some(private_pem), Some(public_pem)) = (
        db::settings::get(db, "instance_private_key").await?,
        db::settings::get(db, "instance_public_key").await?,
    ) {
        return Ok(InstanceKeys {
            private_pem,
            public_pem,
        });
    }
    let (private, public) = tokio::task::spawn_blocking(crate::net::keys::generate_key_pair)
        .await
        .map_err(|e| crate::error::Error::internal("key generation task failed").with_source(e))??;
    // Whoever stored first wins; a pair is only used whole.
    let private_pem = db::settings::get_or_insert(db, "instance_private_key", &private).await?;
    let public_pem = if private_pem == private {
        db::settings::get_or_insert(db, "instance_public_key", &public).await?
    } else {
        loop {
            if let Some(p) = db::settings::get(db, "instance_public_key").await? {
                break p;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
    };
    Ok(InstanceKeys {
        private_pem,
        public_pem,
    })
}
