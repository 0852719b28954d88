//! What a failed AWS call was, read the same way whichever service's client made it: no answer in time, no
//! connection, a request that was never sent, or the service's answer (its error code). The Secrets Manager and
//! Parameter Store stores and the RDS, ElastiCache and IAM targets each name their own fix from it.

use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_runtime_api::http::Response;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;
use aws_smithy_types::retry::ErrorKind;

use crate::error::TargetErrorKind;

/// Error codes with which AWS services say the caller was throttled (the query-protocol services, IAM, STS, RDS
/// and ElastiCache, say `Throttling`; the JSON ones `ThrottlingException`; Parameter Store's `PutParameter`
/// `TooManyUpdates`).
const THROTTLING: &[&str] = &[
    "Throttling",
    "ThrottlingException",
    "ThrottledException",
    "RequestThrottled",
    "RequestThrottledException",
    "TooManyRequestsException",
    "RequestLimitExceeded",
    "TooManyUpdates",
];

/// Error codes with which AWS services say they failed on their side.
const SERVICE_FAULTS: &[&str] = &[
    "InternalFailure",
    "InternalServiceError",
    "InternalServerError",
    "InternalError",
    "ServiceFailure",
    "ServiceUnavailable",
    "ServiceUnavailableException",
];

/// Secrets Manager's words when `GetSecretValue` names a version by `VersionId` and a `VersionStage` that version
/// does not carry (code `InvalidRequestException`): what AWS answers (recorded against AWS by LocalStack's
/// `test_get_secret_value_errors`), and moto and LocalStack with it.
const STAGE_NOT_ON_VERSION: &str = "You provided a VersionStage that is not associated to the provided VersionId";

/// What went wrong with an AWS call.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum AwsFailure {
    /// No answer within the SDK's time-outs (to connect, for an attempt, or for the operation): inside a VPC, most
    /// often a service with neither an interface endpoint nor a NAT gateway on the function's path.
    TimedOut,
    /// No connection (refused, reset, DNS, TLS): the endpoint, the VPC endpoint or the security groups.
    Unreachable,
    /// The request was never sent: the function's credentials could not be loaded, or the request could not be
    /// built or signed. Not a network problem; the error's source says which.
    NotSent,
    /// The service answered with an error.
    Answered {
        /// The service's error code or, when the SDK could not read one, one made from the HTTP status
        /// (`AccessDenied` for 403, `Throttling` for 429, `ServiceUnavailable` for 5xx, `HTTP <status>` else).
        code: String,
        /// The service's message, if it gave one.
        message: Option<String>,
        /// The HTTP status of the answer.
        status: Option<u16>,
    },
}

impl AwsFailure {
    /// Reads an error from any AWS service's client (they all return the same `SdkError`).
    pub fn of<E: ProvideErrorMetadata>(error: &SdkError<E, Response>) -> Self {
        match error {
            SdkError::TimeoutError(_) => Self::TimedOut,
            SdkError::DispatchFailure(failure) if failure.is_timeout() => Self::TimedOut,
            SdkError::DispatchFailure(failure)
                if failure.is_io() || failure.as_other() == Some(ErrorKind::TransientError) =>
            {
                Self::Unreachable
            }
            SdkError::DispatchFailure(_) | SdkError::ConstructionFailure(_) => Self::NotSent,
            _ => {
                let status = error.raw_response().map(|r| r.status().as_u16());
                let code = match (error.code(), status) {
                    (Some(code), _) => code.to_owned(),
                    (None, Some(403)) => "AccessDenied".to_owned(),
                    (None, Some(429)) => "Throttling".to_owned(),
                    (None, Some(status)) if status >= 500 => "ServiceUnavailable".to_owned(),
                    (None, Some(status)) => format!("HTTP {status}"),
                    (None, None) => "UnknownError".to_owned(),
                };
                Self::Answered { code, message: error.message().map(str::to_owned), status }
            }
        }
    }

    /// The service's error code, when it answered.
    pub fn code(&self) -> Option<&str> {
        match self {
            Self::Answered { code, .. } => Some(code),
            _ => None,
        }
    }

    /// The service's message, when it answered with one.
    pub fn message(&self) -> Option<&str> {
        match self {
            Self::Answered { message, .. } => message.as_deref(),
            _ => None,
        }
    }

    /// The service's answer as `<code>: <message>`, then `; <fix>`: the caller's `fix` for its service's codes,
    /// or, for throttling and a fault on the service's side, that the rotation is retried; nothing when neither.
    pub fn answer_with(&self, fix: &str) -> String {
        let code = self.code().unwrap_or("UnknownError");
        let detail = self.message().unwrap_or("no message");
        let fix = if self.is_throttling() {
            "the service throttled the call; the rotation is retried later"
        } else if self.is_service_fault() {
            "a service-side error; the rotation is retried later"
        } else {
            fix
        };
        if fix.is_empty() { format!("{code}: {detail}") } else { format!("{code}: {detail}; {fix}") }
    }

    /// Whether Secrets Manager answered that the version named by `VersionId` does not carry the `VersionStage`
    /// asked for (a finished rotation's token asked for `AWSPENDING`): known by its code and its message together,
    /// since `InvalidRequestException` alone also means a secret marked for deletion.
    pub fn is_stage_not_on_version(&self) -> bool {
        self.code() == Some("InvalidRequestException")
            && self.message().is_some_and(|message| message.contains(STAGE_NOT_ON_VERSION))
    }

    /// Whether the service throttled the call (the account's quota, shared with every other caller).
    pub fn is_throttling(&self) -> bool {
        self.code().is_some_and(|code| THROTTLING.contains(&code))
    }

    /// Whether the service failed on its side (an internal error, unavailable, or any 5xx answer).
    pub fn is_service_fault(&self) -> bool {
        match self {
            Self::Answered { code, status, .. } => {
                SERVICE_FAULTS.contains(&code.as_str()) || status.is_some_and(|s| s >= 500)
            }
            _ => false,
        }
    }

    /// Whether the same call may succeed later unchanged: no answer, no connection, throttling, or a fault on the
    /// service's side. A refusal (access denied, not found, invalid) needs a person; so does a request that could
    /// not be sent.
    pub fn is_retryable(&self) -> bool {
        matches!(self, Self::TimedOut | Self::Unreachable) || self.is_throttling() || self.is_service_fault()
    }

    /// The kind of target failure this is when a target's own AWS API failed (RDS, ElastiCache, IAM): no answer,
    /// throttling or a fault on the service's side is `Unreachable` (worth retrying), access denied is
    /// `PermissionDenied`, and anything else the service refused, or a request never sent, is `Rejected`.
    pub fn target_kind(&self) -> TargetErrorKind {
        match self.code() {
            _ if self.is_retryable() => TargetErrorKind::Unreachable,
            Some("AccessDenied" | "AccessDeniedException" | "UnauthorizedOperation") => {
                TargetErrorKind::PermissionDenied
            }
            _ => TargetErrorKind::Rejected,
        }
    }

    /// The cause and the fix when `service` did not answer, naming the variables that set its endpoint
    /// (`endpoint_variables`); `None` when it answered, for the caller to name the fix by its code.
    pub fn unanswered(&self, service: &str, endpoint_variables: &str) -> Option<String> {
        match self {
            Self::TimedOut => Some(format!(
                "timed out; inside a VPC the function reaches {service} only through an interface endpoint or a NAT gateway"
            )),
            Self::Unreachable if crate::fips::uses_fips_endpoints() => Some(format!(
                "could not connect to {service}'s FIPS endpoint (AWS_USE_FIPS_ENDPOINT=true): {service} may have no FIPS endpoint in this Region (AWS lists them by service and Region); else check the VPC endpoint and security groups"
            )),
            Self::Unreachable => Some(format!(
                "could not connect; check the endpoint ({endpoint_variables}), the VPC endpoint and security groups"
            )),
            Self::NotSent if crate::fips::uses_fips_endpoints() => Some(format!(
                "the request to {service} was not sent: FIPS endpoints are on (AWS_USE_FIPS_ENDPOINT=true), and the AWS SDK uses none beside a custom endpoint (an endpoint URL setting, rotatectl's --endpoint-url): drop one of the two; else the credentials could not be loaded or the request could not be signed (see the cause)"
            )),
            Self::NotSent => Some(format!(
                "the request to {service} was not sent: the function's credentials could not be loaded, or the request could not be signed (see the cause)"
            )),
            Self::Answered { .. } => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_smithy_runtime_api::client::result::ConnectorError;
    use aws_smithy_types::body::SdkBody;
    use aws_smithy_types::error::ErrorMetadata;

    fn answer(status: u16, code: Option<&str>) -> SdkError<ErrorMetadata, Response> {
        let mut metadata = ErrorMetadata::builder().message("the service's words");
        if let Some(code) = code {
            metadata = metadata.code(code);
        }
        let raw = Response::new(status.try_into().unwrap(), SdkBody::empty());
        SdkError::service_error(metadata.build(), raw)
    }

    fn dispatch(error: ConnectorError) -> SdkError<ErrorMetadata, Response> {
        SdkError::dispatch_failure(error)
    }

    #[test]
    fn no_answer_no_connection_and_a_request_never_sent_are_told_apart() {
        let timed_out: SdkError<ErrorMetadata, Response> = SdkError::timeout_error("operation time-out");
        assert_eq!(AwsFailure::of(&timed_out), AwsFailure::TimedOut);
        assert_eq!(AwsFailure::of(&dispatch(ConnectorError::timeout("connect".into()))), AwsFailure::TimedOut);
        assert_eq!(AwsFailure::of(&dispatch(ConnectorError::io("refused".into()))), AwsFailure::Unreachable);
        let reset = ConnectorError::other("incomplete message".into(), Some(ErrorKind::TransientError));
        assert_eq!(AwsFailure::of(&dispatch(reset)), AwsFailure::Unreachable);
        // What the SDK gives when the credentials chain fails: not the network's fault.
        let no_credentials = ConnectorError::other("no credentials in the chain".into(), None);
        assert_eq!(AwsFailure::of(&dispatch(no_credentials)), AwsFailure::NotSent);
        let unbuilt: SdkError<ErrorMetadata, Response> = SdkError::construction_failure("missing field");
        assert_eq!(AwsFailure::of(&unbuilt), AwsFailure::NotSent);

        for failure in [AwsFailure::TimedOut, AwsFailure::Unreachable] {
            assert!(failure.is_retryable());
        }
        assert!(!AwsFailure::NotSent.is_retryable());
        assert_eq!(AwsFailure::TimedOut.target_kind(), TargetErrorKind::Unreachable);
        assert_eq!(AwsFailure::NotSent.target_kind(), TargetErrorKind::Rejected);
        let timed_out = AwsFailure::TimedOut.unanswered("IAM", "AWS_ENDPOINT_URL_IAM").unwrap();
        assert!(timed_out.contains("inside a VPC the function reaches IAM only through"), "{timed_out}");
        let refused = AwsFailure::Unreachable.unanswered("RDS", "AWS_ENDPOINT_URL_RDS").unwrap();
        assert!(refused.contains("could not connect; check the endpoint (AWS_ENDPOINT_URL_RDS)"), "{refused}");
        let unsent = AwsFailure::NotSent.unanswered("Parameter Store", "AWS_ENDPOINT_URL_SSM").unwrap();
        assert!(unsent.contains("credentials") && !unsent.contains("endpoint"), "{unsent}");
    }

    #[test]
    fn an_answer_is_read_by_its_code_or_else_its_status() {
        let denied = AwsFailure::of(&answer(400, Some("AccessDeniedException")));
        assert_eq!(denied.code(), Some("AccessDeniedException"));
        assert_eq!(denied.message(), Some("the service's words"));
        assert!(!denied.is_retryable() && denied.unanswered("Secrets Manager", "x").is_none());
        assert_eq!(denied.answer_with("grant it"), "AccessDeniedException: the service's words; grant it");
        assert_eq!(denied.answer_with(""), "AccessDeniedException: the service's words");
        let throttled = AwsFailure::of(&answer(400, Some("ThrottlingException"))).answer_with("grant it");
        assert!(throttled.ends_with("the service throttled the call; the rotation is retried later"), "{throttled}");
        // moto's IAM answers errors in a shape the SDK cannot read: the status speaks instead.
        assert_eq!(AwsFailure::of(&answer(403, None)).code(), Some("AccessDenied"));
        assert_eq!(AwsFailure::of(&answer(404, None)).code(), Some("HTTP 404"));
        assert!(AwsFailure::of(&answer(429, None)).is_throttling());
        assert!(AwsFailure::of(&answer(503, None)).is_service_fault());
    }

    #[test]
    fn a_version_without_the_stage_asked_for_is_known_by_its_code_and_its_message() {
        let answer = |code: &str, message: &str| {
            let metadata = ErrorMetadata::builder().code(code).message(message).build();
            let raw = Response::new(400.try_into().unwrap(), SdkBody::empty());
            AwsFailure::of(&SdkError::<ErrorMetadata, Response>::service_error(metadata, raw))
        };
        let mismatch = "You provided a VersionStage that is not associated to the provided VersionId.";
        assert!(answer("InvalidRequestException", mismatch).is_stage_not_on_version());
        // A secret marked for deletion shares the code, not the message: it stays an error.
        let deleted = "You can't perform this operation on the secret because it was marked for deletion.";
        assert!(!answer("InvalidRequestException", deleted).is_stage_not_on_version());
        assert!(!answer("AccessDeniedException", mismatch).is_stage_not_on_version());
        assert!(!AwsFailure::TimedOut.is_stage_not_on_version());
    }

    #[test]
    fn throttling_and_service_faults_are_retryable_in_every_services_words() {
        for code in ["Throttling", "ThrottlingException", "TooManyRequestsException", "TooManyUpdates"] {
            let failure = AwsFailure::of(&answer(400, Some(code)));
            assert!(failure.is_throttling() && failure.is_retryable(), "{code}");
        }
        for code in ["InternalServiceError", "InternalServerError", "ServiceFailure", "ServiceUnavailable"] {
            let failure = AwsFailure::of(&answer(500, Some(code)));
            assert!(failure.is_service_fault() && failure.is_retryable(), "{code}");
        }
        let unknown_fault = AwsFailure::of(&answer(502, Some("BadGateway")));
        assert!(unknown_fault.is_service_fault(), "any 5xx is the service's side");
        // IAM's two-keys limit is a refusal, not throttling.
        let limit = AwsFailure::of(&answer(409, Some("LimitExceeded")));
        assert!(!limit.is_throttling() && !limit.is_retryable());
        assert_eq!(limit.target_kind(), TargetErrorKind::Rejected);
        assert_eq!(AwsFailure::of(&answer(400, Some("Throttling"))).target_kind(), TargetErrorKind::Unreachable);
        assert_eq!(AwsFailure::of(&answer(403, None)).target_kind(), TargetErrorKind::PermissionDenied);
    }
}
