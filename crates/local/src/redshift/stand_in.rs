//! The PostgreSQL server that stands in for Redshift (md5 authentication, as Redshift's `md5` passwords): how the
//! endpoint reaches it as its superuser, the address clients reach it at, the md5 form a password reaches it in, and
//! what a call changes on it once answered.

use std::fmt;
use std::net::IpAddr;
use std::str::FromStr;
use std::time::Duration;

use postgres_protocol::escape::{escape_identifier, escape_literal};
use rotation_core::Password;
use tokio_postgres::config::{Host, SslMode};
use tokio_postgres::{Client, NoTls};

/// How long the stand-in may take to accept the endpoint's session.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// The stand-in the Redshift calls manage. Its `Debug` hides the superuser's password.
#[derive(Debug, Clone)]
pub struct RedshiftConfig {
    /// The superuser's session: plain TCP on loopback.
    admin: tokio_postgres::Config,
    /// Where clients reach the stand-in, as `DescribeClusters` and `GetWorkgroup` answer it: the URL's host and port.
    endpoint: (String, u16),
    /// How long a modified cluster or namespace stays `modifying` before its new password applies.
    pub modify_delay: Duration,
}

impl RedshiftConfig {
    /// The stand-in at `admin_url` (`postgres://<superuser>:<password>@127.0.0.1:<port>/<database>`, the password
    /// percent-encoded), its clusters and workgroups answered at the URL's host and port. The host must be a
    /// loopback address: the endpoint's session is plain TCP. Errors never quote the URL, which holds the password.
    pub fn new(admin_url: &str, modify_delay: Duration) -> Result<Self, String> {
        let mut admin = tokio_postgres::Config::from_str(admin_url)
            .map_err(|e| format!("the Redshift stand-in's URL is not a PostgreSQL URL ({e})"))?;
        let host = match admin.get_hosts() {
            [Host::Tcp(host)] => host.clone(),
            _ => return Err("the Redshift stand-in's URL must name one TCP host".into()),
        };
        let loopback = host == "localhost" || host.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback());
        if !loopback {
            return Err(format!(
                "the Redshift stand-in must be on this machine (127.0.0.1, ::1 or localhost), not {host}: the \
                 endpoint reaches it over plain TCP as its superuser"
            ));
        }
        let port = match admin.get_ports() {
            [] => 5432,
            [port] => *port,
            _ => return Err("the Redshift stand-in's URL must name one port".into()),
        };
        if admin.get_user().is_none_or(str::is_empty) {
            return Err("the Redshift stand-in's URL must name its superuser (postgres://postgres@host:port)".into());
        }
        admin.ssl_mode(SslMode::Disable).connect_timeout(CONNECT_TIMEOUT).application_name("rotor-local");
        Ok(Self { admin, endpoint: (host, port), modify_delay })
    }

    /// The superuser the endpoint works as: no call may set its password.
    pub fn superuser(&self) -> &str {
        self.admin.get_user().unwrap_or_default()
    }

    /// Where clients reach the stand-in: host and port.
    pub fn endpoint(&self) -> (&str, u16) {
        (&self.endpoint.0, self.endpoint.1)
    }
}

/// An admin user and its new password in Redshift's md5 form, `'md5' || md5(password || user)`: what Redshift takes
/// in place of a password, and what the stand-in stores and checks. The form logs in by itself under md5, so it is a
/// [`Password`] too, never shown and never kept in the state.
#[derive(Debug, Clone)]
pub struct Master {
    /// The user's name on the stand-in.
    pub user: String,
    md5: Password,
}

impl Master {
    /// `user` and the md5 form of `password`, computed here: the password goes no further.
    pub fn new(user: &str, password: &str) -> Self {
        Self { user: user.to_owned(), md5: Password::new(postgres_protocol::password::md5(password.as_bytes(), user)) }
    }
}

/// What a change is to: a provisioned cluster, or a Serverless namespace.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Subject {
    /// A cluster, by `ClusterIdentifier`.
    Cluster(String),
    /// A namespace, by `namespaceName`.
    Namespace(String),
}

impl fmt::Display for Subject {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Cluster(id) => write!(f, "cluster {id}"),
            Self::Namespace(name) => write!(f, "namespace {name}"),
        }
    }
}

/// What a call changes on the stand-in once answered.
#[derive(Debug)]
pub enum Change {
    /// Nothing.
    Nothing,
    /// Now: `database` exists, and `master` (if a password was given) logs in with it; `created` is removed again if
    /// the stand-in refuses.
    Now {
        /// What the call created.
        created: Subject,
        /// The database it names (Redshift creates it with the cluster or namespace).
        database: String,
        /// The admin user and its password, when one was given.
        master: Option<Master>,
    },
    /// After the modify delay: `master`'s new password, then `subject` is ready again.
    Later {
        /// What the call modified.
        subject: Subject,
        /// The admin user and its new password.
        master: Master,
    },
}

/// Creates `database` if it is missing, and creates `master` with its password: a cluster's or namespace's admin
/// is created with it, so a user the stand-in already has is refused (the endpoint never takes over a user it did
/// not create).
pub async fn create(config: &RedshiftConfig, database: &str, master: Option<&Master>) -> Result<(), String> {
    bounded(async {
        let client = session(config).await?;
        let exists = client
            .query_opt("SELECT 1 FROM pg_catalog.pg_database WHERE datname = $1", &[&database])
            .await
            .map_err(|e| e.to_string())?
            .is_some();
        if !exists {
            let created = client.batch_execute(&format!("CREATE DATABASE {}", escape_identifier(database))).await;
            // Another call may have created it meanwhile: that is the outcome wanted.
            if let Err(error) = created
                && error.code() != Some(&tokio_postgres::error::SqlState::DUPLICATE_DATABASE)
            {
                return Err(error.to_string());
            }
        }
        match master {
            Some(master) => set_master_password(&client, master, Master::NEW).await,
            None => Ok(()),
        }
    })
    .await
}

/// Sets the password of `master`, a user the endpoint created with its cluster or namespace.
pub async fn set_password(config: &RedshiftConfig, master: &Master) -> Result<(), String> {
    bounded(async { set_master_password(&session(config).await?, master, !Master::NEW).await }).await
}

impl Master {
    /// Whether [`set_master_password`] creates the user (else it changes an existing one's password).
    const NEW: bool = true;
}

/// A user the endpoint creates is Redshift's admin as far as the stand-in goes: it may create databases
/// (`CREATEDB`), nothing more: no superuser, no `CREATEROLE` (which on PostgreSQL reaches `pg_*` roles and the
/// server's files). A user that exists is never created again, and only a user without such rights has its
/// password changed: the endpoint changes no password of the server's own users.
async fn set_master_password(client: &Client, master: &Master, new: bool) -> Result<(), String> {
    let rights = client
        .query_opt(
            "SELECT r.rolsuper OR r.rolcreaterole OR r.rolreplication OR r.rolbypassrls \
               OR EXISTS (SELECT 1 FROM pg_catalog.pg_auth_members m JOIN pg_catalog.pg_roles g ON g.oid = m.roleid \
                          WHERE m.member = r.oid AND g.rolname LIKE 'pg\\_%') \
             FROM pg_catalog.pg_roles r WHERE r.rolname = $1",
            &[&master.user],
        )
        .await
        .map_err(|e| e.to_string())?
        .map(|row| row.get::<_, bool>(0));
    let (user, md5) = (escape_identifier(&master.user), escape_literal(master.md5.expose()));
    let statement = match (rights, new) {
        (None, true) => format!("CREATE USER {user} WITH CREATEDB PASSWORD {md5}"),
        (Some(false), false) => format!("ALTER USER {user} PASSWORD {md5}"),
        (Some(_), true) => return Err(format!("the stand-in already has a user {}; name a new admin", master.user)),
        (Some(true), false) => {
            return Err(format!(
                "{} holds administrative rights on the stand-in; its password is not set",
                master.user
            ));
        }
        (None, false) => return Err(format!("the stand-in has no user {}", master.user)),
    };
    client.batch_execute(&statement).await.map_err(|e| e.to_string())
}

/// How long a change on the stand-in may take, connecting included: a lock held on the stand-in fails the call
/// rather than leaving the resource `modifying` for ever.
const CHANGE_TIMEOUT: Duration = Duration::from_secs(10);

async fn bounded<T>(change: impl Future<Output = Result<T, String>>) -> Result<T, String> {
    tokio::time::timeout(CHANGE_TIMEOUT, change)
        .await
        .unwrap_or_else(|_| Err(format!("the stand-in did not finish the change within {}s", CHANGE_TIMEOUT.as_secs())))
}

/// A session as the superuser, its connection driven in the background until the client is dropped.
async fn session(config: &RedshiftConfig) -> Result<Client, String> {
    let (client, connection) = tokio::time::timeout(CONNECT_TIMEOUT, config.admin.connect(NoTls))
        .await
        .map_err(|_| format!("the stand-in did not answer within {}s", CONNECT_TIMEOUT.as_secs()))?
        .map_err(|e| format!("cannot reach the stand-in: {e}"))?;
    tokio::spawn(async move {
        if let Err(error) = connection.await {
            tracing::warn!(%error, "the session with the Redshift stand-in ended");
        }
    });
    Ok(client)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_stand_in_is_reached_on_loopback_as_its_superuser_and_never_shown() {
        let config =
            RedshiftConfig::new("postgres://postgres:s%40cret-0123@127.0.0.1:5433/postgres", Duration::ZERO).unwrap();
        assert_eq!((config.superuser(), config.endpoint()), ("postgres", ("127.0.0.1", 5433)));
        assert_eq!(config.admin.get_password(), Some(&b"s@cret-0123"[..]), "percent-decoded");
        assert!(!format!("{config:?}").contains("cret-0123"));
        let error = RedshiftConfig::new("postgres://postgres:s3cret@10.0.0.1:5432/postgres", Duration::ZERO);
        assert!(error.as_ref().unwrap_err().contains("must be on this machine"), "{error:?}");
        assert!(!error.unwrap_err().contains("s3cret"));
        assert!(RedshiftConfig::new("postgres://127.0.0.1:5432/postgres", Duration::ZERO).is_err(), "no user");
        assert!(RedshiftConfig::new("not a url s3cret", Duration::ZERO).is_err_and(|e| !e.contains("s3cret")));
        let localhost = RedshiftConfig::new("postgresql://postgres@localhost/postgres", Duration::ZERO).unwrap();
        assert_eq!(localhost.endpoint(), ("localhost", 5432));
    }

    #[test]
    fn a_password_reaches_the_stand_in_in_redshifts_md5_form_only() {
        let master = Master::new("app_admin", "New-Passw0rd");
        // md5("New-Passw0rd" || "app_admin"), computed apart (Python's hashlib).
        let expected = "md53165d8f517425ed61eb2604540971f87";
        assert_eq!(master.md5.expose(), expected);
        let shown = format!("{master:?}");
        assert!(!shown.contains(&expected[3..]) && !shown.contains("Passw0rd"), "{shown}");
    }
}
