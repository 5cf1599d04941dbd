//! The one error type of Kaleido. Every failure carries a kind that decides its HTTP status and a
//! stable machine-readable code; internal causes are logged, never sent to clients.

use std::fmt;

use actix_web::{HttpResponse, ResponseError, http::StatusCode};
use serde::Serialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    BadRequest,
    Unauthorized,
    Forbidden,
    NotFound,
    /// Was here, is not any more (a suspended or deleted account and what it posted).
    Gone,
    Conflict,
    PayloadTooLarge,
    UnsupportedMediaType,
    Unprocessable,
    RangeNotSatisfiable,
    /// tus: the chunk does not match its Upload-Checksum (status 460, as the protocol says).
    ChecksumMismatch,
    PreconditionFailed,
    /// Slow down: the answer says when to come back (`Retry-After`).
    TooManyRequests,
    /// Another server failed us: unreachable, refused, or answered nonsense.
    BadGateway,
    /// A dependency (database, storage) is down for now: 503 with Retry-After, and the message,
    /// which names the dependency and nothing internal, is sent.
    Unavailable,
    Internal,
}

/// What a 503 asks clients to wait before trying again.
pub const RETRY_AFTER_SECONDS: u32 = 30;

impl Kind {
    pub fn status(self) -> StatusCode {
        match self {
            Kind::BadRequest => StatusCode::BAD_REQUEST,
            Kind::Unauthorized => StatusCode::UNAUTHORIZED,
            Kind::Forbidden => StatusCode::FORBIDDEN,
            Kind::NotFound => StatusCode::NOT_FOUND,
            Kind::Gone => StatusCode::GONE,
            Kind::Conflict => StatusCode::CONFLICT,
            Kind::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            Kind::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Kind::Unprocessable => StatusCode::UNPROCESSABLE_ENTITY,
            Kind::RangeNotSatisfiable => StatusCode::RANGE_NOT_SATISFIABLE,
            Kind::PreconditionFailed => StatusCode::PRECONDITION_FAILED,
            Kind::TooManyRequests => StatusCode::TOO_MANY_REQUESTS,
            Kind::ChecksumMismatch => StatusCode::from_u16(460).unwrap_or(StatusCode::BAD_REQUEST),
            Kind::BadGateway => StatusCode::BAD_GATEWAY,
            Kind::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
            Kind::Internal => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

pub struct Error {
    pub kind: Kind,
    /// Stable code, e.g. `invalid_token`: clients may match on it.
    pub code: &'static str,
    /// Text a person can act on. For internal errors it is logged, not sent.
    pub message: String,
    /// Seconds after which trying again may succeed, sent as `Retry-After`.
    retry_after: Option<u64>,
    source: Option<Box<dyn std::error::Error + Send + Sync>>,
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    pub fn new(kind: Kind, code: &'static str, message: impl Into<String>) -> Self {
        Error {
            kind,
            code,
            message: message.into(),
            retry_after: None,
            source: None,
        }
    }

    pub fn with_retry_after(mut self, seconds: u64) -> Self {
        self.retry_after = Some(seconds);
        self
    }

    pub fn retry_after(&self) -> Option<u64> {
        self.retry_after
    }

    pub fn with_source(mut self, source: impl std::error::Error + Send + Sync + 'static) -> Self {
        self.source = Some(Box::new(source));
        self
    }

    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(Kind::BadRequest, "bad_request", message)
    }
    pub fn not_found(what: &str) -> Self {
        Self::new(Kind::NotFound, "not_found", format!("{what} not found"))
    }
    pub fn unprocessable(message: impl Into<String>) -> Self {
        Self::new(Kind::Unprocessable, "unprocessable_entity", message)
    }
    pub fn unauthorized(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(Kind::Unauthorized, code, message)
    }
    pub fn internal(message: impl Into<String>) -> Self {
        Self::new(Kind::Internal, "internal_error", message)
    }
    pub fn unavailable(message: impl Into<String>) -> Self {
        Self::new(Kind::Unavailable, "unavailable", message)
    }
}

impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{self}")
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.message)?;
        if let Some(source) = &self.source {
            write!(f, ": {source}")?;
        }
        Ok(())
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.source
            .as_deref()
            .map(|e| e as &(dyn std::error::Error + 'static))
    }
}

impl From<sqlx::Error> for Error {
    fn from(e: sqlx::Error) -> Self {
        match e {
            sqlx::Error::PoolTimedOut | sqlx::Error::Io(_) => {
                Error::unavailable("database unavailable").with_source(e)
            }
            e => Error::internal("database error").with_source(e),
        }
    }
}

impl From<std::io::Error> for Error {
    fn from(e: std::io::Error) -> Self {
        Error::internal("i/o error").with_source(e)
    }
}

#[derive(Serialize)]
struct Body<'a> {
    error: &'a str,
    error_description: &'a str,
}

impl ResponseError for Error {
    fn status_code(&self) -> StatusCode {
        self.kind.status()
    }

    fn error_response(&self) -> HttpResponse {
        let status = self.status_code();
        let description = if status.is_server_error() {
            // The cause is in the log, under the request's span; clients learn nothing internal.
            tracing::error!(error = %self, "request failed");
            if self.kind == Kind::Unavailable {
                // Which dependency is down is what the client can act on (wait); its cause,
                // the source, stays in the log.
                &self.message
            } else {
                status.canonical_reason().unwrap_or("server error")
            }
        } else {
            &self.message
        };
        let mut response = HttpResponse::build(status);
        if self.kind == Kind::Unauthorized {
            response.insert_header(("WWW-Authenticate", "Bearer"));
        }
        // A 503 always says when to come back; other errors when they know.
        let retry_after = self
            .retry_after
            .or((self.kind == Kind::Unavailable).then_some(u64::from(RETRY_AFTER_SECONDS)));
        if let Some(seconds) = retry_after {
            response.insert_header(("Retry-After", seconds.to_string()));
        }
        response.json(Body {
            error: self.code,
            error_description: description,
        })
    }
}
