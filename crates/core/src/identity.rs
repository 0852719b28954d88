//! The identity rule of the trust model: the identity a rotation changes is proven or pinned, never claimed.
//!
//! A secret's writer can put any user name in its value. Before any target changes a credential other than by
//! logging in as it (an admin setting a user's password, an API minting a user's key), the identity the change acts
//! on must be bound to the secret by something that writer cannot forge:
//! - **pinned**: an administrator-held [`USER_TAG`] on the secret names it (the tag guard in `infra/iam/` keeps
//!   `rotor:*` tags to administrators); a tag that names another identity refuses the rotation outright;
//! - **proven**: the secret's `AWSCURRENT` (or `AWSPREVIOUS`) credential logs in as it, by the target's own login
//!   ([`Possession`]): a writer who can do that already holds the identity.
//!
//! Otherwise the step fails before any change with [`RotationError::IdentityNotBound`], which names both ways.

use std::future::Future;

use crate::error::RotationError;
use crate::secret::Secret;

/// `rotor:user`: the administrator-held binding of a secret to the identity it rotates, written as
/// [`Claim::pinned_as`] gives it: `user@host:port` for a database user (a user name alone would let the secret's
/// writer move it to another server the function may reach), an IAM user's name, an ElastiCache user's ARN. For
/// alternating users it names the pair's base user.
pub const USER_TAG: &str = "rotor:user";

/// How the identity a rotation changes was bound to its secret.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Binding {
    /// The secret's [`USER_TAG`], set by an administrator, names it.
    Pinned,
    /// The secret's `AWSCURRENT` or `AWSPREVIOUS` credential logs in as it.
    Proven,
}

impl Binding {
    /// The binding's name in logs.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pinned => "pinned",
            Self::Proven => "proven",
        }
    }
}

/// The identity a rotation is about to change, as the secret names it.
#[derive(Debug, Clone, Copy)]
pub struct Claim<'a> {
    /// What kind of identity it is, for messages (`user`, `IAM user`).
    pub kind: &'static str,
    /// The identity's name (for alternating users, the pair's base user).
    pub name: &'a str,
    /// Where it lives, when its name alone does not say (a database server's `host:port`): a tag must name that
    /// too, since the secret's writer chooses the host among those the function reaches.
    pub at: Option<&'a str>,
}

impl Claim<'_> {
    /// The [`USER_TAG`] value that pins this identity: `name@at`, or the name alone when it says where it lives.
    pub fn pinned_as(&self) -> String {
        match self.at {
            Some(at) => format!("{}@{}", self.name, at.to_ascii_lowercase()),
            None => self.name.to_owned(),
        }
    }

    /// Whether a tag's value pins this identity (the location's host compared without case).
    fn is_pinned_by(&self, tag: &str) -> bool {
        match self.at {
            Some(at) => {
                tag.rsplit_once('@').is_some_and(|(name, place)| name == self.name && place.eq_ignore_ascii_case(at))
            }
            None => tag == self.name,
        }
    }
}

/// A target's proof that a credential logs in as the claimed identity: its own login (SQL, `AUTH`, STS).
pub trait Possession: Sync {
    /// Whether `secret`'s credential logs in as the claimed identity on the system the rotation changes. `Ok(false)`
    /// when the system refuses it, or when `secret` names another system or identity (it then proves nothing);
    /// an error only when the system cannot be asked (it is unreachable).
    fn proves(&self, secret: &Secret) -> impl Future<Output = Result<bool, RotationError>> + Send;
}

/// Where the identity rule reads a secret's binding tag and the credentials it may try.
pub(crate) trait BindingSource: Sync {
    /// The secret's ARN or name, for messages.
    fn secret_id(&self) -> &str;
    /// The secret's tags, when its store has any to read (`None` for a parameter).
    fn tags(&self) -> Option<&[(String, String)]>;
    /// The `AWSCURRENT` value.
    fn current(&self) -> &Secret;
    /// The `AWSPREVIOUS` value, when there is one.
    fn previous(&self) -> impl Future<Output = Result<Option<Secret>, RotationError>> + Send;
}

/// The identity rule: [`Binding::Pinned`] when the secret's [`USER_TAG`] names the claim, an error when it names
/// another; else [`Binding::Proven`] when `AWSCURRENT`'s credential, or else `AWSPREVIOUS`'s, logs in as it; else
/// an error naming the identity and both ways to bind it.
pub(crate) async fn bind(
    source: &impl BindingSource,
    claim: &Claim<'_>,
    possession: &impl Possession,
) -> Result<Binding, RotationError> {
    let refuse = |reason: String| RotationError::IdentityNotBound {
        secret: source.secret_id().to_owned(),
        kind: claim.kind,
        identity: claim.pinned_as(),
        reason,
    };
    let tag = source.tags().and_then(|tags| tags.iter().find(|(k, _)| k == USER_TAG)).map(|(_, v)| v.trim());
    match tag {
        Some(tagged) if claim.is_pinned_by(tagged) => return Ok(Binding::Pinned),
        Some(tagged) => return Err(refuse(format!("its {USER_TAG} tag names {tagged:?}"))),
        None => {}
    }
    if possession.proves(source.current()).await? {
        return Ok(Binding::Proven);
    }
    if let Some(previous) = source.previous().await?
        && possession.proves(&previous).await?
    {
        return Ok(Binding::Proven);
    }
    let tags = if source.tags().is_some() { "no" } else { "a parameter has no" };
    Err(refuse(format!(
        "neither its AWSCURRENT nor its AWSPREVIOUS credential logs in as it, and {tags} {USER_TAG} tag binds it"
    )))
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use super::*;

    struct Source {
        tags: Option<Vec<(String, String)>>,
        current: Secret,
        previous: Option<Secret>,
    }

    impl BindingSource for Source {
        fn secret_id(&self) -> &str {
            "arn:secret:a"
        }
        fn tags(&self) -> Option<&[(String, String)]> {
            self.tags.as_deref()
        }
        fn current(&self) -> &Secret {
            &self.current
        }
        async fn previous(&self) -> Result<Option<Secret>, RotationError> {
            Ok(self.previous.clone())
        }
    }

    /// Logs in with the password "right" only, recording every password it was asked about.
    #[derive(Default)]
    struct Login(Mutex<Vec<String>>);

    impl Possession for Login {
        async fn proves(&self, secret: &Secret) -> Result<bool, RotationError> {
            let password = secret.require_str("password")?.to_owned();
            self.0.lock().unwrap().push(password.clone());
            Ok(password == "right")
        }
    }

    fn secret(password: &str) -> Secret {
        Secret::parse("arn:secret:a", &format!(r#"{{"username":"app","password":"{password}"}}"#))
    }

    fn source(tag: Option<&str>, current: &str, previous: Option<&str>) -> Source {
        Source {
            tags: Some(tag.map(|t| vec![(USER_TAG.to_owned(), t.to_owned())]).unwrap_or_default()),
            current: secret(current),
            previous: previous.map(secret),
        }
    }

    const CLAIM: Claim<'static> = Claim { kind: "user", name: "app", at: None };
    const AT_DB: Claim<'static> = Claim { kind: "user", name: "app", at: Some("DB.internal:5432") };

    #[tokio::test]
    async fn a_tag_naming_the_identity_pins_it_without_a_login() {
        for tag in ["app", " app "] {
            let login = Login::default();
            assert_eq!(bind(&source(Some(tag), "wrong", None), &CLAIM, &login).await.unwrap(), Binding::Pinned);
            assert!(login.0.lock().unwrap().is_empty(), "{tag}: no login needed");
        }
    }

    #[tokio::test]
    async fn a_tag_pins_a_database_user_on_its_server_only() {
        assert_eq!(AT_DB.pinned_as(), "app@db.internal:5432");
        for tag in ["app@db.internal:5432", "app@DB.Internal:5432"] {
            let login = Login::default();
            assert_eq!(bind(&source(Some(tag), "wrong", None), &AT_DB, &login).await.unwrap(), Binding::Pinned);
        }
        // The user's name alone, the same name on another server or port, or the clone's name pin nothing.
        for tag in ["app", "app@other.internal:5432", "app@db.internal:5433", "app_clone@db.internal:5432"] {
            let error = bind(&source(Some(tag), "right", None), &AT_DB, &Login::default()).await.unwrap_err();
            let message = error.to_string();
            assert!(message.contains("rotor:user=app@db.internal:5432"), "{tag}: {message}");
        }
        let mut clone_tag = source(Some("app_clone"), "wrong", None);
        clone_tag.tags = Some(vec![(USER_TAG.to_owned(), "app_clone".to_owned())]);
        assert!(bind(&clone_tag, &CLAIM, &Login::default()).await.is_err(), "a tag names the base user only");
    }

    #[tokio::test]
    async fn a_tag_naming_another_identity_refuses_even_a_working_credential() {
        let login = Login::default();
        let error = bind(&source(Some("victim"), "right", None), &CLAIM, &login).await.unwrap_err();
        assert_eq!(error.error_type(), "IdentityNotBound");
        let message = error.to_string();
        assert!(message.contains("rotor:user tag names \"victim\"") && message.contains("\"app\""), "{message}");
        assert!(login.0.lock().unwrap().is_empty());
    }

    #[tokio::test]
    async fn possession_of_current_or_previous_proves_it() {
        let login = Login::default();
        assert_eq!(bind(&source(None, "right", Some("wrong")), &CLAIM, &login).await.unwrap(), Binding::Proven);
        assert_eq!(*login.0.lock().unwrap(), ["right"]);
        let login = Login::default();
        assert_eq!(bind(&source(None, "wrong", Some("right")), &CLAIM, &login).await.unwrap(), Binding::Proven);
        assert_eq!(*login.0.lock().unwrap(), ["wrong", "right"]);
    }

    #[tokio::test]
    async fn a_claim_nothing_binds_is_refused_naming_both_ways_and_no_value() {
        let error = bind(&source(None, "wrong", Some("also-wrong")), &CLAIM, &Login::default()).await.unwrap_err();
        let message = error.to_string();
        for expected in ["\"app\"", "AWSCURRENT", "rotor:user=app", "administrator", "PutSecretValue", "first rotation"]
        {
            assert!(message.contains(expected), "{expected}: {message}");
        }
        assert!(!message.contains("wrong"), "{message}");
        let parameter = Source { tags: None, current: secret("wrong"), previous: None };
        let message = bind(&parameter, &CLAIM, &Login::default()).await.unwrap_err().to_string();
        assert!(message.contains("a parameter has no rotor:user tag"), "{message}");
    }
}
