//! `rotate-ldap`: the rotation Lambda for accounts of self-managed directories, Active Directory and OpenLDAP
//! (`ROTATION_STRATEGY` defaults to `single-user`; `admin` and `alternating-users` take `ADMIN_SECRET_ARNS`).
// The rotation futures nest deeply (runtime, rotator, target, driver); the default limit is too low.
#![recursion_limit = "256"]

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), rotation_core::lambda_runtime::Error> {
    rotation_core::run_function::<rotation_directory::RotateLdap>().await
}
