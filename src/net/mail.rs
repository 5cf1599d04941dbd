//! Mail out, through the SMTP server of `[email]` (lettre). Only accounts code sends mail, and
//! always from a job, so a slow or failing mail server never holds a request and a mail is
//! retried rather than lost.

use std::time::Duration;

use lettre::{
    AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor,
    message::{Mailbox, header::ContentType},
    transport::smtp::authentication::Credentials,
};

use crate::{
    config::{EmailConfig, SmtpSecurity},
    error::{Error, Result},
};

pub struct Mailer {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
}

fn refused(what: &str, e: impl std::fmt::Display) -> Error {
    Error::unprocessable(format!("{what}: {e}"))
}

impl Mailer {
    pub fn new(config: &EmailConfig) -> Result<Mailer> {
        let host = config.smtp_host.as_str();
        let builder = match config.security {
            // Plain SMTP: a relay on this machine, or a test server.
            SmtpSecurity::None => AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(host),
            SmtpSecurity::StartTls => AsyncSmtpTransport::<Tokio1Executor>::starttls_relay(host)
                .map_err(|e| Error::internal(format!("email.smtp_host: {e}")))?,
            SmtpSecurity::Tls => AsyncSmtpTransport::<Tokio1Executor>::relay(host)
                .map_err(|e| Error::internal(format!("email.smtp_host: {e}")))?,
        };
        let mut builder = builder
            .port(config.smtp_port)
            .timeout(Some(Duration::from_secs(30)));
        if !config.username.is_empty() {
            builder = builder.credentials(Credentials::new(
                config.username.clone(),
                config.password.expose().to_owned(),
            ));
        }
        let from = config
            .from
            .parse::<Mailbox>()
            .map_err(|e| Error::internal(format!("email.from is not an address: {e}")))?;
        Ok(Mailer {
            transport: builder.build(),
            from,
        })
    }

    /// Sends a plain-text mail. A refused address is an error of its own (not worth retrying).
    pub async fn send(&self, to: &str, subject: &str, body: String) -> Result<()> {
        let to = to
            .parse::<Mailbox>()
            .map_err(|e| refused("not a mail address", e))?;
        let message = Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(subject)
            .header(ContentType::TEXT_PLAIN)
            .body(body)
            .map_err(|e| refused("the mail could not be built", e))?;
        self.transport.send(message).await.map_err(|e| {
            // A 5xx (no such mailbox, say) will not change on retrying; anything else may pass.
            if e.is_permanent() {
                Error::unprocessable(format!("the mail server refused the mail: {e}"))
            } else {
                Error::unavailable(format!("the mail server did not take the mail: {e}"))
            }
        })?;
        Ok(())
    }
}
