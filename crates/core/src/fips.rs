//! The FIPS build (`--features fips` on rotation-core, forwarded as `fips` by every function's crate): every TLS
//! connection (the AWS SDK's, the databases', Redis's, webhooks') and the password generator run on AWS-LC's FIPS
//! module, which the function checks before anything else at cold start, refusing to start outside FIPS mode.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use rustls::crypto::CryptoProvider;

use crate::{Env, RotationError};

/// Whether the process's AWS clients use FIPS endpoints (`AWS_USE_FIPS_ENDPOINT=true`), as [`enter`] read it.
static FIPS_ENDPOINTS: AtomicBool = AtomicBool::new(false);

/// Whether the AWS clients use FIPS endpoints: a service that cannot be reached may have none in the Region.
pub(crate) fn uses_fips_endpoints() -> bool {
    FIPS_ENDPOINTS.load(Ordering::Relaxed)
}

/// Whether this is the FIPS build.
pub const FIPS_BUILD: bool = cfg!(feature = "fips");

/// The rustls provider every TLS client of rotor is built on: AWS-LC, its FIPS module with the FIPS-approved
/// cipher suites and key exchanges only in the FIPS build.
pub fn tls_provider() -> Arc<CryptoProvider> {
    #[cfg(feature = "fips")]
    let provider = rustls::crypto::default_fips_provider();
    #[cfg(not(feature = "fips"))]
    let provider = rustls::crypto::aws_lc_rs::default_provider();
    Arc::new(provider)
}

/// Reads `AWS_USE_FIPS_ENDPOINT` as the SDK does, but refuses a value it would ignore: the SDK warns about anything
/// but `true` or `false` and then uses the standard endpoints, a silent fallback a FIPS deployment must not have.
pub fn fips_endpoints(env: &Env) -> Result<bool, RotationError> {
    match env.get("AWS_USE_FIPS_ENDPOINT").map(|value| value.to_ascii_lowercase()) {
        None => Ok(false),
        Some(value) if value == "true" => Ok(true),
        Some(value) if value == "false" || value.is_empty() => Ok(false),
        Some(_) => Err(RotationError::Config {
            variable: "AWS_USE_FIPS_ENDPOINT",
            reason: "must be true or false (the AWS SDK ignores any other value and uses the standard endpoints)"
                .into(),
        }),
    }
}

/// At cold start, before any other work: in the FIPS build, checks that AWS-LC runs its FIPS module (its power-on
/// self-tests passed) and that the TLS provider is FIPS-approved, makes that provider the process's default (for the
/// clients that take the default), and logs, as the function's first line, that it runs in FIPS mode and whether
/// the AWS clients use FIPS endpoints. An error names what is not in FIPS mode. The default build refuses to run
/// where the deployment requires FIPS (`ROTOR_REQUIRE_FIPS=true`, which the template's `Fips=true` sets).
pub fn enter(env: &Env) -> Result<(), RotationError> {
    let endpoints = fips_endpoints(env)?;
    FIPS_ENDPOINTS.store(endpoints, Ordering::Relaxed);
    #[cfg(feature = "fips")]
    {
        let not_fips = |reason: String| RotationError::Config { variable: "FIPS", reason };
        aws_lc_rs::try_fips_mode().map_err(|e| {
            not_fips(format!("AWS-LC is not in FIPS mode ({e}); this FIPS build refuses to run without it"))
        })?;
        let provider = tls_provider();
        if !provider.fips() {
            return Err(not_fips("the TLS provider is not FIPS-approved; this FIPS build refuses to run".into()));
        }
        // Another default installed first would be one rotor did not choose.
        let _ = CryptoProvider::install_default(Arc::unwrap_or_clone(provider));
        if !CryptoProvider::get_default().is_some_and(|default| default.fips()) {
            return Err(not_fips("the process's default TLS provider is not FIPS-approved".into()));
        }
        tracing::info!(
            fips = true,
            module = "AWS-LC FIPS",
            fips_endpoints = endpoints,
            "running in FIPS mode: TLS and password generation on AWS-LC's FIPS module"
        );
        if !endpoints {
            tracing::warn!(
                "AWS_USE_FIPS_ENDPOINT is not true: the AWS clients use the standard endpoints (the template sets it with Fips=true)"
            );
        }
    }
    // A deployment that asked for FIPS (the template's Fips=true) never runs a build without the module.
    #[cfg(not(feature = "fips"))]
    if env.get("ROTOR_REQUIRE_FIPS").is_some_and(|value| value.eq_ignore_ascii_case("true")) {
        return Err(RotationError::Config {
            variable: "ROTOR_REQUIRE_FIPS",
            reason: "is true, and this is not the FIPS build: deploy the functions built with --features fips (see the README's FIPS section)".into(),
        });
    }
    #[cfg(not(feature = "fips"))]
    let _ = endpoints;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(value: &str) -> Env {
        Env::from_pairs([("AWS_USE_FIPS_ENDPOINT".to_string(), value.to_string())])
    }

    #[test]
    fn the_fips_endpoint_setting_is_read_as_the_sdk_reads_it_and_nothing_else_passes() {
        assert!(!fips_endpoints(&Env::default()).unwrap());
        assert!(fips_endpoints(&env("TRUE")).unwrap() && !fips_endpoints(&env("false")).unwrap());
        for ignored in ["1", "yes", "on"] {
            let error = fips_endpoints(&env(ignored)).unwrap_err().to_string();
            assert!(error.contains("AWS_USE_FIPS_ENDPOINT must be true or false"), "{ignored}: {error}");
        }
    }

    #[test]
    fn this_build_runs_as_it_says() {
        enter(&Env::default()).unwrap();
        assert_eq!(tls_provider().fips(), FIPS_BUILD);
        let required = Env::from_pairs([("ROTOR_REQUIRE_FIPS".to_string(), "true".to_string())]);
        assert_eq!(enter(&required).is_ok(), FIPS_BUILD, "a deployment requiring FIPS runs only the FIPS build");
    }
}
