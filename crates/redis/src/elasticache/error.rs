//! What the ElastiCache API's refusals say: the operation, and the fix.

use aws_sdk_elasticache::config::http::HttpResponse;
use aws_sdk_elasticache::error::{ProvideErrorMetadata, SdkError};
use rotation_core::{AwsFailure, RotationError, TargetErrorKind};

/// What a secret naming a user ElastiCache does not have is told.
pub(super) const NO_SUCH_USER: &str = "ElastiCache has no such user; create it, or fix the secret's user_arn";

/// An ElastiCache API error, named by its operation, with the fix.
pub(super) fn api_error<E: ProvideErrorMetadata>(
    operation: &str,
    resource: &str,
    error: &SdkError<E, HttpResponse>,
) -> RotationError {
    let failure = AwsFailure::of(error);
    let allow;
    let (kind, fix) = match failure.code().unwrap_or_default() {
        "AccessDenied" | "AccessDeniedException" | "UnauthorizedOperation" => {
            allow = format!("allow the function's role elasticache:{operation} on it");
            (TargetErrorKind::PermissionDenied, allow.as_str())
        }
        "UserNotFound" => (TargetErrorKind::Rejected, "ElastiCache has no such user; fix the secret's user_arn"),
        "UserGroupNotFound" | "ReplicationGroupNotFoundFault" => {
            (TargetErrorKind::Rejected, "it was deleted; name the cache with host and port in the secret")
        }
        "InvalidUserState" => (TargetErrorKind::Unreachable, "the user is being changed; the service retries"),
        "InvalidReplicationGroupState" => {
            (TargetErrorKind::Unreachable, "the replication group is being changed; the service retries")
        }
        "InvalidParameterValue" | "InvalidParameterCombination" => {
            (TargetErrorKind::Rejected, "ElastiCache refused the request")
        }
        _ => (failure.target_kind(), ""),
    };
    let reason =
        failure.unanswered("ElastiCache", "AWS_ENDPOINT_URL_ELASTICACHE").unwrap_or_else(|| failure.answer_with(fix));
    RotationError::target(kind, resource, format!("ElastiCache {operation} failed: {reason}"))
}
