//! What an LDAP failure says: the result code and, for Active Directory, its numeric sub-code, each turned into the
//! cause and the fix. The server's diagnostic text is never shown: a directory may echo what it was sent there.

use ldap3::LdapError;
use rotation_core::{RotationError, TargetErrorKind};
use rotation_database::{CONNECTION_FAILED, LoginFields, TlsMode, tls_failed};

/// Active Directory's reason for a refused bind: the `data` code of its diagnostic (`..., data 52e, v4563`).
fn bind_reason(text: &str) -> Option<&'static str> {
    let code = text.split("data ").nth(1)?.split(|c: char| !c.is_ascii_hexdigit()).next()?;
    Some(match code.to_ascii_lowercase().as_str() {
        "52e" => "the password is wrong",
        "525" => "there is no such account",
        "530" | "531" => "the account may not log in at this time or from here",
        "532" => "the password has expired",
        "533" => "the account is disabled",
        "701" => "the account has expired",
        "773" => "the account must change its password at next logon",
        "775" => "the account is locked out",
        _ => return None,
    })
}

/// Active Directory's Windows error code that leads its diagnostic (`0000052D: ...`).
fn windows_code(text: &str) -> Option<u32> {
    let head = text.get(..8)?;
    text.as_bytes().get(8).filter(|b| **b == b':')?;
    u32::from_str_radix(head, 16).ok()
}

/// A refusal of the credential; `what` names the operation (`the login as "svc"`).
fn refused(connection: &LoginFields, what: &str, reason: Option<&str>) -> RotationError {
    RotationError::target(
        TargetErrorKind::AuthenticationFailed,
        connection.address(),
        match reason {
            Some(reason) => format!("{what} was refused: {reason}"),
            None => format!("{what} was refused: wrong password, or no such account"),
        },
    )
}

/// Turns an LDAP failure of `what` into a [`RotationError`] naming the cause and the fix.
pub(crate) fn classify(error: LdapError, connection: &LoginFields, mode: TlsMode, what: &str) -> RotationError {
    let target = connection.address();
    let rejected = |message: String| RotationError::target(TargetErrorKind::Rejected, target.clone(), message);
    match error {
        LdapError::LdapResult { result } => {
            let code = windows_code(&result.text);
            match result.rc {
                49 => refused(connection, what, bind_reason(&result.text)),
                50 => RotationError::target(
                    TargetErrorKind::PermissionDenied,
                    target,
                    format!(
                        "{what} was refused for lack of rights; give the admin the Reset Password right on the account's container (Active Directory) or write access to its userPassword (OpenLDAP)"
                    ),
                ),
                19 if code == Some(0x56) => refused(connection, what, Some("the old password did not match")),
                19 => rejected(format!(
                    "{what} was refused by the directory's password policy (length, complexity, history or minimum age{}); align the function's password settings with the policy, or lower the minimum password age for this account",
                    code.map(|c| format!(", code {c:08X}")).unwrap_or_default()
                )),
                53 => rejected(format!(
                    "{what}: the directory is unwilling to perform it{}; Active Directory changes passwords only over TLS and within its password policy",
                    code.map(|c| format!(" (code {c:08X})")).unwrap_or_default()
                )),
                8 | 13 => RotationError::target(
                    TargetErrorKind::Tls,
                    target,
                    format!(
                        "{what}: the directory requires a stronger connection; use TLS (rotor never falls back to plaintext)"
                    ),
                ),
                32 => rejected(format!("{what}: no such entry in the directory; check the secret's username")),
                34 => rejected(format!(
                    "{what}: the directory does not take the username as a DN; give a DN (CN=...,DC=...) or, on Active Directory, a UPN (name@domain)"
                )),
                51 | 52 => RotationError::target(
                    TargetErrorKind::Unreachable,
                    target,
                    format!("{what}: the directory is busy or unavailable (result code {}); try again", result.rc),
                ),
                rc => rejected(format!("{what} failed with LDAP result code {rc}")),
            }
        }
        // tokio-rustls reports a failed handshake as an I/O error around rustls's.
        LdapError::Io { source } if source.get_ref().is_some_and(|inner| inner.is::<rustls::Error>()) => {
            RotationError::Target {
                kind: TargetErrorKind::Tls,
                target,
                message: tls_failed(mode),
                source: Some(Box::new(source)),
            }
        }
        LdapError::Io { source } => RotationError::Target {
            kind: TargetErrorKind::Unreachable,
            target,
            message: CONNECTION_FAILED.into(),
            source: Some(Box::new(source)),
        },
        LdapError::Timeout { .. } => RotationError::target(
            TargetErrorKind::Unreachable,
            target,
            format!(
                "{what} got no answer in time; check the host, the port, the security group, and that the function runs in the directory's VPC"
            ),
        ),
        LdapError::Rustls { source } => RotationError::Target {
            kind: TargetErrorKind::Tls,
            target,
            message: tls_failed(mode),
            source: Some(Box::new(source)),
        },
        LdapError::DNSName { .. } => RotationError::target(
            TargetErrorKind::Tls,
            target,
            format!("{:?} is not a host name TLS can verify", connection.host),
        ),
        // Every other failure is the client's own (a dropped connection, a malformed answer): named by kind only.
        LdapError::OpSend { .. } | LdapError::ResultRecv { .. } | LdapError::EndOfStream => RotationError::target(
            TargetErrorKind::Unreachable,
            target,
            format!("{what}: the directory closed the connection"),
        ),
        _ => rejected(format!("{what}: the LDAP client failed on the directory's answer")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ldap3::LdapResult;
    use rotation_core::Password;

    fn result(rc: u32, text: &str) -> LdapError {
        LdapError::LdapResult {
            result: LdapResult { rc, matched: String::new(), text: text.into(), refs: vec![], ctrls: vec![] },
        }
    }

    fn connection() -> LoginFields {
        LoginFields {
            engine: None,
            host: "dc1".into(),
            port: 636,
            dbname: None,
            username: "svc".into(),
            password: Password::new("Secret-Pw-1".into()),
        }
    }

    #[test]
    fn directory_codes_name_the_cause_and_never_the_servers_text() {
        let ad = "80090308: LdapErr: DSID-0C09041C, comment: AcceptSecurityContext error, data 533, v4563 Secret-Pw-1";
        for (error, kind, says) in [
            (result(49, ad), TargetErrorKind::AuthenticationFailed, "the account is disabled"),
            (result(49, "invalid credentials"), TargetErrorKind::AuthenticationFailed, "wrong password, or no such"),
            (
                result(19, "00000056: AtrErr: DSID-03190F80, #1: Secret-Pw-1"),
                TargetErrorKind::AuthenticationFailed,
                "the old password did not match",
            ),
            (result(19, "0000052D: Constraint violation"), TargetErrorKind::Rejected, "code 0000052D"),
            (result(50, "Secret-Pw-1"), TargetErrorKind::PermissionDenied, "Reset Password right"),
            (result(53, "0000001F: SvcErr"), TargetErrorKind::Rejected, "only over TLS"),
            (result(13, ""), TargetErrorKind::Tls, "use TLS"),
        ] {
            let error = classify(error, &connection(), TlsMode::VerifyFull, "the login as \"svc\"");
            let shown = error.to_string();
            assert!(matches!(&error, RotationError::Target { kind: k, .. } if *k == kind), "{shown}");
            assert!(shown.contains(says), "{shown}");
            assert!(!shown.contains("Secret-Pw-1") && !shown.contains("DSID"), "{shown}");
        }
    }
}
