//! What the Redshift and Redshift Serverless APIs' refusals say: the service, the operation, and the fix.

use aws_sdk_redshift::config::http::HttpResponse;
use aws_sdk_redshift::error::{ProvideErrorMetadata, SdkError};
use rotation_core::{AwsFailure, RotationError, TargetErrorKind};

/// One of the two APIs that hold a Redshift admin's password.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Api {
    /// Provisioned clusters (`redshift:`).
    Redshift,
    /// Serverless namespaces and workgroups (`redshift-serverless:`).
    Serverless,
}

impl Api {
    /// The service's name, for messages.
    fn service(self) -> &'static str {
        match self {
            Self::Redshift => "Redshift",
            Self::Serverless => "Redshift Serverless",
        }
    }

    /// The IAM prefix of its actions.
    fn iam_prefix(self) -> &'static str {
        match self {
            Self::Redshift => "redshift",
            Self::Serverless => "redshift-serverless",
        }
    }

    /// The SDK's variables that set its endpoint.
    fn endpoint_variables(self) -> &'static str {
        match self {
            Self::Redshift => "AWS_ENDPOINT_URL_REDSHIFT",
            Self::Serverless => "AWS_ENDPOINT_URL_REDSHIFT_SERVERLESS",
        }
    }
}

/// A Redshift or Redshift Serverless API error, named by its operation, with the fix. The operations that change
/// the password (`ModifyCluster`, `UpdateNamespace`) send nothing else a service could refuse as invalid, so an
/// invalid request there is the pending password refused; the password itself is never in the message (the
/// service's message does not repeat it).
pub(super) fn api_error<E: ProvideErrorMetadata>(
    api: Api,
    operation: &str,
    resource: &str,
    error: &SdkError<E, HttpResponse>,
) -> RotationError {
    let failure = AwsFailure::of(error);
    let changes_password = matches!(operation, "ModifyCluster" | "UpdateNamespace");
    let allow;
    let (kind, fix) = match failure.code().unwrap_or_default() {
        "AccessDenied" | "AccessDeniedException" | "UnauthorizedOperation" => {
            allow = format!("allow the function's role {}:{operation} on it", api.iam_prefix());
            (TargetErrorKind::PermissionDenied, allow.as_str())
        }
        "ClusterNotFound" => {
            (TargetErrorKind::Rejected, "Redshift has no such cluster; fix the secret's dbClusterIdentifier")
        }
        "ResourceNotFoundException" => {
            (TargetErrorKind::Rejected, "Redshift Serverless has no such namespace; fix the secret's namespaceName")
        }
        "InvalidClusterState" | "ConflictException" => {
            (TargetErrorKind::Unreachable, "it is being changed; the service retries the step")
        }
        "InvalidParameterValue" | "InvalidParameterCombination" | "ValidationException" if changes_password => (
            TargetErrorKind::Rejected,
            "it refused the pending password: make the function's password policy (PASSWORD_LENGTH, EXCLUDE_CHARACTERS) one Redshift takes",
        ),
        "InvalidParameterValue" | "InvalidParameterCombination" | "ValidationException" => {
            (TargetErrorKind::Rejected, "it refused the request")
        }
        _ => (failure.target_kind(), ""),
    };
    let service = api.service();
    let reason = failure.unanswered(service, api.endpoint_variables()).unwrap_or_else(|| failure.answer_with(fix));
    RotationError::target(kind, resource, format!("{service} {operation} failed: {reason}"))
}
