//! The directory's Kerberos proofs against a real KDC (Samba's Active Directory domain controller,
//! `samba_server.rs`): rotation-directory's AS exchange proves a password and a keytab derived from it, and refuses a
//! wrong, old, unknown or disabled one with the KDC's reason, every exchange bounded.

use std::time::{Duration, Instant};

use rotation_directory::{Enctype, Kdc, KerberosError, Keytab, Principal, ProofCredential};

use crate::harness::unique;
use crate::samba_server::{REALM, SambaDc};

/// A fresh account in the shared domain, with `password`.
fn account(dc: &SambaDc, password: &str) -> Principal {
    let name = unique("svc").replace('-', "_");
    dc.create_user(&name, password);
    Principal::new(&name, REALM).unwrap()
}

fn kdc(dc: &SambaDc) -> Kdc {
    Kdc::new(dc.kdc(), Duration::from_secs(5))
}

#[tokio::test]
async fn a_password_is_proved_by_an_as_exchange_and_a_wrong_unknown_or_disabled_one_is_refused() {
    let dc = SambaDc::get();
    let principal = account(&dc, "Initial-Pass-0001");
    let proof = kdc(&dc).authenticate(&principal, ProofCredential::Password("Initial-Pass-0001")).await.unwrap();
    assert_eq!(proof.enctype, Enctype::Aes256CtsHmacSha196, "the strongest key type both have");
    assert_eq!(proof.salt.as_deref(), Some(principal.default_salt().as_str()), "AD salts a user with REALM + name");
    assert_eq!(proof.kvno, Some(dc.kvno(principal.name())), "the KDC names the directory's key version");

    let wrong = kdc(&dc).authenticate(&principal, ProofCredential::Password("Initial-Pass-0002")).await;
    assert!(matches!(wrong, Err(KerberosError::WrongCredential { .. })), "{wrong:?}");

    let nobody = Principal::new("no_such_account_x", REALM).unwrap();
    let unknown = kdc(&dc).authenticate(&nobody, ProofCredential::Password("Initial-Pass-0001")).await.unwrap_err();
    assert!(unknown.to_string().contains("no such principal in the realm"), "{unknown}");

    dc.disable(principal.name());
    let disabled = kdc(&dc).authenticate(&principal, ProofCredential::Password("Initial-Pass-0001")).await.unwrap_err();
    assert!(disabled.to_string().contains("disabled, locked out or expired"), "{disabled}");
    for error in [wrong.unwrap_err().to_string(), unknown.to_string(), disabled.to_string()] {
        assert!(!error.contains("Initial-Pass"), "no password in an error: {error}");
    }
}

#[tokio::test]
async fn a_keytab_from_the_new_password_authenticates_and_the_old_keytab_and_password_do_not() {
    let dc = SambaDc::get();
    let principal = account(&dc, "Before-Pass-0001");
    let before = kdc(&dc).authenticate(&principal, ProofCredential::Password("Before-Pass-0001")).await.unwrap();
    let old_kvno = dc.kvno(principal.name());
    let old_salt = before.salt.unwrap();
    let old_keytab = Keytab::from_password(&principal, "Before-Pass-0001", &old_salt, old_kvno, 0).unwrap();

    dc.reset_password(principal.name(), "After-Pass-0002");
    let kvno = dc.kvno(principal.name());
    assert_eq!(kvno, old_kvno + 1, "a reset moves the key version on");
    // The keytab's salt comes from a proof of the new password, which vouches for it.
    let after = kdc(&dc).authenticate(&principal, ProofCredential::Password("After-Pass-0002")).await.unwrap();
    let salt = after.salt.unwrap();
    let keytab = Keytab::from_password(&principal, "After-Pass-0002", &salt, kvno, 1_780_000_000).unwrap();
    // Through its bytes, as a keytab travels in a secret.
    let keytab = Keytab::parse(&keytab.to_bytes()).unwrap();
    assert_eq!(keytab.entries().len(), 2, "AES256 and AES128");
    let proof = kdc(&dc).authenticate(&principal, ProofCredential::Keytab(&keytab)).await.unwrap();
    assert_eq!((proof.enctype, proof.kvno, proof.salt), (Enctype::Aes256CtsHmacSha196, Some(kvno), None));
    assert_eq!(format!("{:?}", ProofCredential::Password("After-Pass-0002")), "Password(..)");

    let stale = kdc(&dc).authenticate(&principal, ProofCredential::Keytab(&old_keytab)).await;
    assert!(matches!(stale, Err(KerberosError::WrongCredential { .. })), "the old keytab: {stale:?}");
    let old = kdc(&dc).authenticate(&principal, ProofCredential::Password("Before-Pass-0001")).await;
    assert!(matches!(old, Err(KerberosError::WrongCredential { .. })), "the old password: {old:?}");
    let other = Principal::new("someone_else", REALM).unwrap();
    let foreign = kdc(&dc).authenticate(&other, ProofCredential::Keytab(&keytab)).await.unwrap_err();
    assert!(foreign.to_string().contains("holds no AES key of someone_else@ROTOR.TEST"), "{foreign}");
}

#[tokio::test]
async fn an_unreachable_or_silent_kdc_fails_within_the_bound_naming_it() {
    let principal = Principal::new("svc_app", REALM).unwrap();
    let closed = crate::harness::free_port();
    let error = Kdc::new(format!("127.0.0.1:{closed}"), Duration::from_secs(2))
        .authenticate(&principal, ProofCredential::Password("Any-Pass-0001"))
        .await
        .unwrap_err();
    assert!(matches!(error, KerberosError::Unreachable { .. }), "{error:?}");
    assert!(error.to_string().contains(&format!("127.0.0.1:{closed}")), "{error}");

    // A server that takes the connection and never answers.
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let address = silent.local_addr().unwrap().to_string();
    let started = Instant::now();
    let error = Kdc::new(address, Duration::from_millis(700))
        .authenticate(&principal, ProofCredential::Password("Any-Pass-0001"))
        .await
        .unwrap_err();
    assert!(matches!(error, KerberosError::TimedOut { .. }), "{error:?}");
    assert!(started.elapsed() < Duration::from_secs(10), "bounded: {:?}", started.elapsed());
    drop(silent);
}
