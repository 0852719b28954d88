//! The FIPS build (`--features fips` on rotation-core, forwarded as `fips` by every function's crate): every TLS
//! connection (the AWS SDK's, the databases', Redis's, webhooks') and the password generator run on AWS-LC's FIPS
//! module, which the function checks before anything else at cold start, refusing to start outside FIPS mode.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use rustls::crypto::CryptoProvider;

use crate::{Env, RotationError};

/// Whether the process's AWS clients use FIPS endpoints (`AWS_USE_FIPS_ENDPOINT=true`), as [`enter`] read it.
static FIPS_ENDPOINTS: AtomicBool = AtomicBool::new(false);

/// Records that the loaded AWS configuration uses FIPS endpoints (from the environment or a profile's
/// `use_fips_endpoint`), for the errors of calls that go unanswered.
pub(crate) fn note_fips_endpoints(on: bool) {
    if on {
        FIPS_ENDPOINTS.store(true, Ordering::Relaxed);
    }
}

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

/// The AWS SDK refuses FIPS endpoints beside a custom endpoint (`AWS_ENDPOINT_URL`, `AWS_ENDPOINT_URL_<SERVICE>`,
/// which it reads even empty; rotor's `SECRETS_MANAGER_ENDPOINT` when not empty, as the template leaves it), failing
/// every call with "FIPS and custom endpoint are not supported": refused at cold start instead, naming the variable
/// and the two ways out.
/// (`AWS_IGNORE_CONFIGURED_ENDPOINT_URLS=true` does not help: the service clients of the SDK version rotor builds
/// with still read `AWS_ENDPOINT_URL`.)
fn refuse_custom_endpoints(env: &Env) -> Result<(), RotationError> {
    let mut custom: Vec<&str> = env
        .names()
        .filter(|name| {
            name.starts_with("AWS_ENDPOINT_URL") || (*name == "SECRETS_MANAGER_ENDPOINT" && env.get(name).is_some())
        })
        .collect();
    custom.sort_unstable();
    match custom.first() {
        None => Ok(()),
        Some(name) => Err(RotationError::Config {
            variable: "AWS_USE_FIPS_ENDPOINT",
            reason: format!(
                "is true and {name} is set: the AWS SDK uses no FIPS endpoint beside a custom endpoint (every call would fail); unset {name}, or set AWS_USE_FIPS_ENDPOINT=false and give the FIPS endpoint's own URL in {name}"
            ),
        }),
    }
}

/// At cold start, before any other work: in the FIPS build, checks that AWS-LC runs its FIPS module
/// (`try_fips_mode`; the module's integrity check runs as it loads and its algorithm self-tests on first use, either
/// failing aborts the process) and that the TLS provider is FIPS-approved, makes that provider the process's default
/// (for the clients that take the default), and logs, as the function's first line, that it runs in FIPS mode and
/// whether the AWS clients use FIPS endpoints. Where the deployment requires FIPS (`ROTOR_REQUIRE_FIPS=true`, which
/// the template's `Fips=true` sets), the default build refuses to run, and the FIPS build refuses to run without
/// FIPS endpoints. An error names what is not in FIPS mode and the fix.
pub fn enter(env: &Env) -> Result<(), RotationError> {
    let endpoints = fips_endpoints(env)?;
    let required = env.flag("ROTOR_REQUIRE_FIPS", false)?;
    if endpoints {
        refuse_custom_endpoints(env)?;
    }
    FIPS_ENDPOINTS.store(endpoints, Ordering::Relaxed);
    #[cfg(feature = "fips")]
    {
        let unavailable = |reason: String| RotationError::FipsUnavailable { reason };
        aws_lc_rs::try_fips_mode().map_err(|e| {
            unavailable(format!("AWS-LC is not in FIPS mode ({e}); this FIPS build refuses to run without it"))
        })?;
        let provider = tls_provider();
        if !provider.fips() {
            return Err(unavailable("the TLS provider is not FIPS-approved; this FIPS build refuses to run".into()));
        }
        // Another default installed first would be one rotor did not choose.
        let _ = CryptoProvider::install_default(Arc::unwrap_or_clone(provider));
        if !CryptoProvider::get_default().is_some_and(|default| default.fips()) {
            return Err(unavailable("the process's default TLS provider is not FIPS-approved".into()));
        }
        if required && !endpoints {
            return Err(RotationError::Config {
                variable: "AWS_USE_FIPS_ENDPOINT",
                reason: "is not true, and ROTOR_REQUIRE_FIPS=true: a deployment requiring FIPS reaches AWS only at its FIPS endpoints (the template's Fips=true sets both)".into(),
            });
        }
        tracing::info!(
            fips = true,
            module = aws_lc_rs::awslc_version(),
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
    if required {
        return Err(RotationError::FipsUnavailable {
            reason: "ROTOR_REQUIRE_FIPS is true, and this is not the FIPS build: deploy the functions built with --features rotation-core/fips (make package FIPS=1; the book's FIPS chapter, docs/src/security/fips.md)".into(),
        });
    }
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
    fn fips_endpoints_beside_a_custom_endpoint_are_refused_naming_it() {
        // Through `refuse_custom_endpoints`, not `enter`: `enter` records FIPS endpoints for the whole process, which
        // other tests' error messages read.
        let refused = |name: &str, value: &str| {
            refuse_custom_endpoints(&Env::from_pairs([(name.to_string(), value.to_string())])).unwrap_err().to_string()
        };
        for name in ["AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_SECRETS_MANAGER", "SECRETS_MANAGER_ENDPOINT"] {
            let values: &[&str] = if name == "SECRETS_MANAGER_ENDPOINT" {
                &["https://vpce.example"]
            } else {
                &["https://vpce.example", ""]
            };
            for &value in values {
                let error = refused(name, value);
                assert!(error.contains(&format!("AWS_USE_FIPS_ENDPOINT is true and {name} is set")), "{error}");
            }
        }
        // The template sets SECRETS_MANAGER_ENDPOINT empty on every function: rotor reads that as unset.
        let template = [("SECRETS_MANAGER_ENDPOINT".to_string(), String::new())];
        refuse_custom_endpoints(&Env::from_pairs(template)).unwrap();
        refuse_custom_endpoints(&Env::from_pairs([("AWS_REGION".to_string(), "us-east-1".to_string())])).unwrap();
    }

    #[test]
    fn this_build_runs_as_it_says() {
        enter(&Env::default()).unwrap();
        assert_eq!(tls_provider().fips(), FIPS_BUILD);
        // A deployment requiring FIPS runs only the FIPS build, and that only with FIPS endpoints.
        let required = |pairs: &[(&str, &str)]| {
            enter(&Env::from_pairs(pairs.iter().map(|(name, value)| (name.to_string(), value.to_string()))))
        };
        let error = required(&[("ROTOR_REQUIRE_FIPS", "true")]).unwrap_err().to_string();
        if FIPS_BUILD {
            assert!(error.contains("AWS_USE_FIPS_ENDPOINT is not true, and ROTOR_REQUIRE_FIPS=true"), "{error}");
        } else {
            assert!(error.contains("FIPS mode is not active: ROTOR_REQUIRE_FIPS is true"), "{error}");
        }
        // A value the flag reader does not know is refused, never read as false.
        let error = required(&[("ROTOR_REQUIRE_FIPS", "1")]).unwrap_err().to_string();
        assert!(error.contains("ROTOR_REQUIRE_FIPS"), "{error}");
    }
}
