//! The endpoint's errors, in Secrets Manager's terms: what went wrong ([`ErrorKind`], which names AWS's error
//! code) and AWS's message. The HTTP layer turns them into the JSON protocol's error answers.

/// What went wrong; each kind is one of AWS's error codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ErrorKind {
    /// `ResourceNotFoundException`.
    NotFound,
    /// `InvalidRequestException`.
    InvalidRequest,
    /// `InvalidParameterException`.
    InvalidParameter,
    /// `ResourceExistsException`.
    Exists,
    /// `InternalServiceError`: a failure of the endpoint itself (its state file).
    Internal,
    /// `UnknownOperationException`.
    UnknownOperation,
    /// `AccessDeniedException`.
    AccessDenied,
    /// `SerializationException`: a body that is not the operation's JSON.
    Serialization,
    /// `ThrottlingException`: over the operation's per-second quota (with `--quotas aws`).
    Throttling,
    /// A Parameter Store error, by its code (`ParameterNotFound`, `ParameterAlreadyExists`, ...).
    Parameter(&'static str),
}

impl ErrorKind {
    /// AWS's error code.
    pub fn code(self) -> &'static str {
        match self {
            Self::NotFound => "ResourceNotFoundException",
            Self::InvalidRequest => "InvalidRequestException",
            Self::InvalidParameter => "InvalidParameterException",
            Self::Exists => "ResourceExistsException",
            Self::Internal => "InternalServiceError",
            Self::UnknownOperation => "UnknownOperationException",
            Self::AccessDenied => "AccessDeniedException",
            Self::Serialization => "SerializationException",
            Self::Throttling => "ThrottlingException",
            Self::Parameter(code) => code,
        }
    }
}

/// An operation's error: its kind and AWS's message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}: {message}", kind.code())]
pub struct Error {
    /// What went wrong.
    pub kind: ErrorKind,
    /// AWS's message.
    pub message: String,
}

impl Error {
    fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        Self { kind, message: message.into() }
    }

    /// AWS's error code (`ResourceNotFoundException`, ...).
    pub fn code(&self) -> &'static str {
        self.kind.code()
    }

    /// A request over its quota, as AWS answers it.
    pub fn throttled() -> Self {
        Self::new(ErrorKind::Throttling, "Rate exceeded")
    }

    /// A secret that does not exist.
    pub fn secret_not_found() -> Self {
        Self::new(ErrorKind::NotFound, "Secrets Manager can't find the specified secret.")
    }

    /// Something else that does not exist.
    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::NotFound, message)
    }

    /// A request the secret's state does not allow.
    pub fn invalid_request(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::InvalidRequest, message)
    }

    /// A parameter out of its range.
    pub fn invalid_parameter(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::InvalidParameter, message)
    }

    /// Something that exists already.
    pub fn exists(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Exists, message)
    }

    /// A secret scheduled for deletion.
    pub fn marked_for_deletion() -> Self {
        Self::invalid_request("You can't perform this operation on the secret because it was marked for deletion.")
    }

    /// A failure of the endpoint itself (its state file).
    pub fn internal(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Internal, message)
    }

    /// An operation the endpoint does not implement.
    pub fn unknown_operation(target: &str) -> Self {
        Self::new(ErrorKind::UnknownOperation, format!("The operation {target} is not supported."))
    }

    /// A request whose `Host` is not the loopback address the endpoint serves.
    pub fn foreign_host(host: &str) -> Self {
        Self::new(
            ErrorKind::AccessDenied,
            format!("the endpoint serves 127.0.0.1, localhost and [::1] on its own port only, not Host {host:?}"),
        )
    }

    /// A request a web page sent: an `Origin` other than the endpoint's own, or a cross-site `Sec-Fetch-Site`
    /// (`what` names the header and its value).
    pub fn cross_site(what: &str) -> Self {
        Self::new(
            ErrorKind::AccessDenied,
            format!(
                "the endpoint refuses cross-site requests, and this one carries {what}: a web page may not call it \
                 (the AWS SDKs and the aws CLI send no Origin)"
            ),
        )
    }

    /// A body in a content type a web page can send cross-site without a CORS preflight (`None`: no type), not
    /// signed where the AWS protocol allows it signed.
    pub fn simple_content_type(media_type: Option<&str>) -> Self {
        let what = media_type.map_or_else(|| "a body without a Content-Type".to_owned(), |t| format!("not {t:?}"));
        Self::new(
            ErrorKind::AccessDenied,
            format!(
                "the endpoint accepts the AWS protocols' content types only (application/x-amz-json-1.1 or 1.0, \
                 application/json, application/octet-stream; application/x-www-form-urlencoded or no type only \
                 with a SigV4 Authorization header), {what}: a web page can send that cross-site without asking"
            ),
        )
    }

    /// A Parameter Store error with its code.
    pub fn parameter(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Parameter(code), message)
    }

    /// A body that is not the operation's JSON.
    pub fn serialization(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Serialization, message)
    }
}
