//! The MongoDB-wire server that stands in for DocumentDB (SecantusDB in the tests): how the endpoint reaches it as its
//! root user with the official driver, the address its clusters answer, and what a call changes on it once answered:
//! a master created (`createUser` in `admin`, role `root`) or given a new password (`updateUser`).

use std::fmt;
use std::net::IpAddr;
use std::time::Duration;

use mongodb::bson::{Document, doc};
use mongodb::error::{Error, ErrorKind};
use mongodb::options::{ClientOptions, ConnectionString, HostInfo, ServerAddress};
use mongodb::{Client, Database};
use rotation_core::Password;

/// The host every cluster's endpoint names: the stand-in runs on this machine, and its certificate names
/// `localhost`.
pub const ENDPOINT_HOST: &str = "localhost";

/// How long the stand-in may take to accept a connection, and the driver to find it.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// How long a change on the stand-in may take, connecting included: a stand-in that hangs fails the call rather
/// than leaving a cluster `creating` or `modifying` for ever.
const CHANGE_TIMEOUT: Duration = Duration::from_secs(10);

/// The stand-in the DocumentDB calls manage. Its `Debug` hides the root user's password (the driver's
/// `Credential` shows none).
#[derive(Debug, Clone)]
pub struct DocumentDbConfig {
    /// The root user's connection, its timeouts set: one server, reached directly.
    admin: ConnectionString,
    /// The root user the endpoint works as: no call may create it or set its password.
    root: String,
    /// The stand-in's port, which every cluster answers as its own.
    port: u16,
    /// How long a modified cluster stays `modifying` before its new master password applies.
    pub modify_delay: Duration,
}

impl DocumentDbConfig {
    /// The stand-in at `admin_url` (`mongodb://<root>:<password>@localhost:<port>/?authSource=admin&tls=true&
    /// tlsCAFile=<file>`, the password percent-encoded), its clusters answered at `localhost` and the URL's port.
    /// The URL names one host on this machine. Errors never quote the URL, which holds the password.
    pub fn new(admin_url: &str, modify_delay: Duration) -> Result<Self, String> {
        let mut admin = ConnectionString::parse(admin_url)
            .map_err(|e| format!("the DocumentDB stand-in's URL is not a MongoDB URL ({e})"))?;
        let (host, port) = match &admin.host_info {
            HostInfo::HostIdentifiers(hosts) => match hosts.as_slice() {
                [ServerAddress::Tcp { host, port }] => (host.clone(), port.unwrap_or(27017)),
                _ => return Err("the DocumentDB stand-in's URL must name one TCP host".into()),
            },
            _ => return Err("the DocumentDB stand-in's URL must name its host (mongodb://, not mongodb+srv://)".into()),
        };
        let loopback = host == "localhost" || host.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback());
        if !loopback {
            return Err(format!(
                "the DocumentDB stand-in must be on this machine (localhost, 127.0.0.1 or ::1), not {host}: its \
                 clusters answer localhost as their endpoint"
            ));
        }
        let root = admin.credential.as_ref().and_then(|c| c.username.clone()).filter(|u| !u.is_empty()).ok_or(
            "the DocumentDB stand-in's URL must name its root user (mongodb://root@localhost:port/?authSource=admin)",
        )?;
        admin.connect_timeout = Some(CONNECT_TIMEOUT);
        admin.server_selection_timeout = Some(CONNECT_TIMEOUT);
        admin.direct_connection = Some(true);
        // One try per change, within its bound: the caller's SDK retries the call.
        admin.retry_reads = Some(false);
        admin.retry_writes = Some(false);
        admin.app_name = Some("rotor-local".into());
        Ok(Self { admin, root, port, modify_delay })
    }

    /// The root user the endpoint works as: no cluster may name it as its master.
    pub fn root(&self) -> &str {
        &self.root
    }

    /// The port every cluster answers as its own: the stand-in's.
    pub fn port(&self) -> u16 {
        self.port
    }
}

/// A cluster's master user and its password. The password is a [`Password`], never shown, and kept only until the
/// one command that carries it to the stand-in.
#[derive(Debug, Clone)]
pub struct Master {
    /// The user's name, in the stand-in's `admin` database.
    pub user: String,
    password: Password,
}

impl Master {
    /// `user` with `password`.
    pub fn new(user: &str, password: &str) -> Self {
        Self { user: user.to_owned(), password: Password::new(password.to_owned()) }
    }
}

/// What a call changes on the stand-in once answered.
#[derive(Debug)]
pub enum Change {
    /// Nothing.
    Nothing,
    /// Now, before the call is answered: the cluster `id` is created, with `master` when the call gave its password
    /// (none when Secrets Manager manages it); the cluster is removed again if the stand-in refuses.
    Create {
        /// The cluster, by `DBClusterIdentifier`.
        id: String,
        /// The master user to create, and its password.
        master: Option<Master>,
    },
    /// After the modify delay: `master`'s new password, then the cluster `id` is `available` again.
    Modify {
        /// The cluster, by `DBClusterIdentifier`.
        id: String,
        /// The master user and its new password.
        master: Master,
    },
}

/// Why the stand-in did not take a change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// The master's name is taken: the endpoint never takes over a user it did not create.
    UserExists(String),
    /// The stand-in failed or could not be reached (the driver's words, which never hold a password).
    Failed(String),
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::UserExists(user) => write!(f, "the stand-in already has a user {user}; name a new master"),
            Self::Failed(reason) => f.write_str(reason),
        }
    }
}

/// Creates `master` in `admin` with the role `root` (DocumentDB's master may do everything): refused when the name
/// exists, since a user the endpoint did not create is never taken over.
pub async fn create_master(config: &DocumentDbConfig, master: &Master) -> Result<(), Refusal> {
    bounded(config, async |admin| {
        let found = admin
            .run_command(doc! {"usersInfo": {"user": &master.user, "db": "admin"}})
            .await
            .map_err(|e| failed("usersInfo", &e))?;
        if found.get_array("users").is_ok_and(|users| !users.is_empty()) {
            return Err(Refusal::UserExists(master.user.clone()));
        }
        command(
            &admin,
            "createUser",
            doc! {
                "createUser": &master.user,
                "pwd": master.password.expose(),
                "roles": [{"role": "root", "db": "admin"}],
                "mechanisms": ["SCRAM-SHA-1", "SCRAM-SHA-256"],
            },
        )
        .await
    })
    .await
}

/// Sets the password of `master`, a user the endpoint created with its cluster.
pub async fn set_password(config: &DocumentDbConfig, master: &Master) -> Result<(), Refusal> {
    bounded(config, async |admin| {
        command(&admin, "updateUser", doc! {"updateUser": &master.user, "pwd": master.password.expose()}).await
    })
    .await
}

/// Runs `body` on the stand-in's `admin` database as the root user, within [`CHANGE_TIMEOUT`], then closes the
/// session.
async fn bounded(
    config: &DocumentDbConfig,
    body: impl AsyncFnOnce(Database) -> Result<(), Refusal>,
) -> Result<(), Refusal> {
    let change = async {
        let options =
            ClientOptions::parse(config.admin.clone()).await.map_err(|e| failed("reading the stand-in's URL", &e))?;
        let client = Client::with_options(options).map_err(|e| failed("connecting to the stand-in", &e))?;
        let outcome = body(client.database("admin")).await;
        client.shutdown().await;
        outcome
    };
    tokio::time::timeout(CHANGE_TIMEOUT, change).await.unwrap_or_else(|_| {
        Err(Refusal::Failed(format!("the stand-in did not finish the change within {}s", CHANGE_TIMEOUT.as_secs())))
    })
}

/// Runs `command` (named `name` in errors).
async fn command(admin: &Database, name: &str, command: Document) -> Result<(), Refusal> {
    admin.run_command(command).await.map(drop).map_err(|e| failed(name, &e))
}

/// What failed, in the driver's words: a command the server refused by its code and the code's name only (neither
/// its message nor its response, which are the server's and could quote the command), anything else by its kind.
fn failed(what: &str, error: &Error) -> Refusal {
    let reason = match error.kind.as_ref() {
        ErrorKind::Command(refused) => format!("error {} ({})", refused.code, refused.code_name),
        other => other.to_string(),
    };
    Refusal::Failed(format!("{what} failed: {reason}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    const URL: &str = "mongodb://master:s%40cret-0123@localhost:27999/?authSource=admin&tls=true&tlsCAFile=/tmp/ca.pem";

    #[test]
    fn the_stand_in_is_reached_on_this_machine_as_its_root_user_and_never_shown() {
        let config = DocumentDbConfig::new(URL, Duration::ZERO).unwrap();
        assert_eq!((config.root(), config.port()), ("master", 27999));
        let credential = config.admin.credential.as_ref().unwrap();
        assert_eq!(credential.password.as_deref(), Some("s@cret-0123"), "percent-decoded");
        assert_eq!(config.admin.direct_connection, Some(true));
        assert_eq!(config.admin.connect_timeout, Some(CONNECT_TIMEOUT), "every connection is bounded");
        assert!(!format!("{config:?}").contains("cret-0123"), "{config:?}");
        let default_port = DocumentDbConfig::new("mongodb://master@127.0.0.1/?tls=true", Duration::ZERO).unwrap();
        assert_eq!(default_port.port(), 27017);
    }

    #[test]
    fn a_stand_in_elsewhere_or_without_a_user_is_refused_without_quoting_the_password() {
        for (url, expect) in [
            ("mongodb://master:s3cret@db.example.com:27017/", "must be on this machine"),
            ("mongodb://localhost:27017/", "must name its root user"),
            ("mongodb://master:s3cret@localhost:1,localhost:2/", "one TCP host"),
            ("mongodb://master:s3cret@localhost:99999/", "not a MongoDB URL"),
            ("mongodb://master:s3cret/@localhost:27017/", "not a MongoDB URL"),
            ("not a url s3cret", "not a MongoDB URL"),
        ] {
            let error = DocumentDbConfig::new(url, Duration::ZERO).unwrap_err();
            assert!(error.contains(expect) && !error.contains("s3cret"), "{url}: {error}");
        }
    }

    #[test]
    fn a_refused_command_is_told_by_its_code_never_by_the_servers_words() {
        let refused: mongodb::error::CommandError = mongodb::bson::deserialize_from_document(doc! {
            "code": 11, "codeName": "UserNotFound", "errmsg": "updateUser {pwd: \"New-Passw0rd\"} refused",
        })
        .unwrap();
        let Refusal::Failed(reason) = failed("updateUser", &Error::from(ErrorKind::Command(refused))) else {
            panic!("a refused command is a failure")
        };
        assert_eq!(reason, "updateUser failed: error 11 (UserNotFound)");
    }

    #[test]
    fn a_master_and_a_change_never_show_the_password() {
        let master = Master::new("appMaster", "New-Passw0rd");
        let change = Change::Modify { id: "app".into(), master: master.clone() };
        let shown = format!("{master:?} {change:?}");
        assert!(shown.contains("appMaster") && !shown.contains("Passw0rd"), "{shown}");
        assert_eq!(
            Refusal::UserExists("appMaster".into()).to_string(),
            "the stand-in already has a user appMaster; name a new master"
        );
    }
}
