//! What the endpoint reads from a SigV4 `Authorization` header. It verifies no signature (it knows no secret key).

/// The Region a request is signed for (`Credential=<key>/<date>/<region>/<service>/aws4_request`).
pub fn signed_region(authorization: &str) -> Option<&str> {
    let scope = authorization.split("Credential=").nth(1)?;
    scope.split('/').nth(2).filter(|r| !r.is_empty())
}
