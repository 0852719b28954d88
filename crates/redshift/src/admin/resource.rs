//! What a Redshift admin secret names: a provisioned cluster (`dbClusterIdentifier`) or a Redshift Serverless
//! namespace (`namespaceName`), in the secret's own Region and account, with the admin's user name.

use rotation_core::{RotationError, Secret, TargetErrorKind};
pub use rotation_database::AdminEndpoint;

use crate::ENGINES;

/// The field naming a provisioned cluster: the one the Secrets Manager console stores for a Redshift secret.
pub(super) const CLUSTER_FIELD: &str = "dbClusterIdentifier";
/// The field naming a Redshift Serverless namespace.
pub(super) const NAMESPACE_FIELD: &str = "namespaceName";

/// What the API says of the resource a secret names, read the same way for a cluster and a namespace.
pub(super) struct Described<'a> {
    /// Its name as the API gives it (`ClusterIdentifier`, `namespaceName`).
    pub name: &'a str,
    /// An ARN the API gives for it (`ClusterNamespaceArn`, `namespaceArn`), when any.
    pub arn: Option<&'a str>,
    /// Whether Redshift manages its admin password itself (`MasterPasswordSecretArn`, `adminPasswordSecretArn`).
    pub managed_by_redshift: bool,
    /// Its admin user (`MasterUsername`, `adminUsername`).
    pub admin: Option<&'a str>,
}

impl RedshiftAdminResource {
    /// The admin user of `described`, once it is the resource this secret names, in its Region and account, with
    /// a password Redshift does not manage itself, and the secret's own admin: the identity checks a secret must
    /// pass before any wait, so a secret naming another admin fails at once.
    pub(super) fn admin_of<'a>(&self, described: &Described<'a>) -> Result<&'a str, RotationError> {
        let (noun, what, field, manager, admin_field) = match self.kind {
            AdminResourceKind::Cluster => {
                ("cluster", "Redshift describes the cluster", CLUSTER_FIELD, "ManageMasterPassword", "MasterUsername")
            }
            AdminResourceKind::Namespace => (
                "namespace",
                "Redshift Serverless describes the namespace",
                NAMESPACE_FIELD,
                "manageAdminPassword",
                "adminUsername",
            ),
        };
        let refuse = |kind, why: String| Err(RotationError::target(kind, self.arn(), why));
        if !described.name.eq_ignore_ascii_case(self.name()) {
            let why = format!("{what} {:?}, not the secret's {field}", described.name);
            return refuse(TargetErrorKind::ConfusedDeputy, why);
        }
        if described.arn.is_some_and(|arn| !self.is_home_of(arn)) {
            let why = format!(
                "the function's role reaches a {noun} of another account or Region than the secret's; rotate it with a function of its own account"
            );
            return refuse(TargetErrorKind::ConfusedDeputy, why);
        }
        if described.managed_by_redshift {
            let why = format!(
                "Redshift manages this admin password in Secrets Manager itself ({manager}); rotate it there, or turn that off to rotate it with this function"
            );
            return refuse(TargetErrorKind::Rejected, why);
        }
        let Some(admin) = described.admin else {
            return refuse(TargetErrorKind::Rejected, format!("{what} but names no {admin_field}"));
        };
        if !admin.eq_ignore_ascii_case(self.username()) {
            let why = format!("the {noun}'s admin is {admin:?}, not the secret's username; fix the secret");
            return refuse(TargetErrorKind::ConfusedDeputy, why);
        }
        Ok(admin)
    }
}

/// Which kind of Redshift holds the admin.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AdminResourceKind {
    /// A provisioned cluster: its master user, changed with `ModifyCluster`.
    Cluster,
    /// A Redshift Serverless namespace: its admin user, changed with `UpdateNamespace`.
    Namespace,
}

/// The cluster or namespace a secret names, and the admin's user name: never the password. Two secrets name the
/// same resource only when all of it is the same, so a pending secret cannot move the rotation to another admin.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RedshiftAdminResource {
    kind: AdminResourceKind,
    arn: String,
    region: String,
    account: String,
    name: String,
    username: String,
}

impl RedshiftAdminResource {
    /// Reads the secret: `engine` (`redshift` when present), `username`, and exactly one of `dbClusterIdentifier`
    /// and `namespaceName`; the Region and account are the secret's own, read from its ARN (a secret rotates a
    /// resource of its own account and Region only). `host` and `port` are the clients' and never read: logins go
    /// where the API says the resource is.
    pub(super) fn parse(secret: &Secret) -> Result<Self, RotationError> {
        if let Some(engine) = secret.optional_str("engine")?
            && !ENGINES.iter().any(|known| engine.eq_ignore_ascii_case(known))
        {
            return Err(secret.invalid("engine", format!("is {engine:?}; this function rotates Redshift admins only")));
        }
        let username = secret.require_str("username")?.to_owned();
        let (kind, field) = match (secret.optional_str(CLUSTER_FIELD)?, secret.optional_str(NAMESPACE_FIELD)?) {
            (Some(_), Some(_)) => {
                return Err(secret.invalid(
                    NAMESPACE_FIELD,
                    format!("is set beside {CLUSTER_FIELD}; name either the provisioned cluster or the Serverless namespace, not both"),
                ));
            }
            (Some(_), None) => (AdminResourceKind::Cluster, CLUSTER_FIELD),
            (None, Some(_)) => (AdminResourceKind::Namespace, NAMESPACE_FIELD),
            (None, None) => {
                return Err(secret.invalid(
                    CLUSTER_FIELD,
                    format!("is missing: name the provisioned cluster (or set {NAMESPACE_FIELD} for a Redshift Serverless namespace)"),
                ));
            }
        };
        // Redshift keeps both names in lower case and reads them without case: the ARN is written as it does.
        let name = secret.require_str(field)?.to_ascii_lowercase();
        if let Some(rule) = refuse_name(kind, &name) {
            return Err(secret.invalid(field, rule));
        }
        let Some((partition, region, account)) = rotation_core::secret_home(secret.origin()) else {
            return Err(secret.invalid(
                field,
                "names no Region or account: the secret must be read by its ARN (arn:<partition>:secretsmanager:<region>:<account>:secret:<name>), whose Region and account are the resource's",
            ));
        };
        let arn = match kind {
            AdminResourceKind::Cluster => cluster_arn(partition, region, account, &name),
            AdminResourceKind::Namespace => namespace_arn(partition, region, account, &name),
        };
        Ok(Self { kind, arn, region: region.to_owned(), account: account.to_owned(), name, username })
    }

    /// A cluster or a namespace.
    pub fn kind(&self) -> AdminResourceKind {
        self.kind
    }

    /// The ARN the function's configuration allows and a `rotor:user` tag pins (see [`namespace_arn`] for a
    /// namespace's).
    pub fn arn(&self) -> &str {
        &self.arn
    }

    /// The cluster's identifier or the namespace's name, in lower case.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The admin's user name, as the secret says it.
    pub fn username(&self) -> &str {
        &self.username
    }

    /// The Region the API is asked in: the secret's own.
    pub(super) fn region(&self) -> &str {
        &self.region
    }

    /// Whether an ARN the API returned (a cluster's namespace, a Serverless namespace) is of this resource's Region
    /// and account: the API answers for the function's account, which a secret of another account must not reach.
    pub(super) fn is_home_of(&self, api_arn: &str) -> bool {
        is_home(api_arn, &self.region, &self.account)
    }
}

/// Whether `api_arn` (an ARN an API returned) is of `region` and `account`.
pub(super) fn is_home(api_arn: &str, region: &str, account: &str) -> bool {
    let parts: Vec<&str> = api_arn.splitn(6, ':').collect();
    matches!(parts[..], ["arn", _, _, home_region, home_account, _] if home_region == region && home_account == account)
}

/// Why Redshift would not take `name` as a cluster identifier or namespace name (lower-case letters, digits and
/// hyphens, a cluster's 1 to 63 starting with a letter, a namespace's 3 to 64): nothing else may enter an ARN.
fn refuse_name(kind: AdminResourceKind, name: &str) -> Option<&'static str> {
    let valid = name.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
    match kind {
        AdminResourceKind::Cluster => {
            let valid = valid && (1..=63).contains(&name.len()) && name.starts_with(|c: char| c.is_ascii_lowercase());
            (!valid)
                .then_some("must be a cluster identifier: 1 to 63 letters, digits or hyphens, starting with a letter")
        }
        AdminResourceKind::Namespace => {
            let valid = valid && (3..=64).contains(&name.len());
            (!valid).then_some("must be a namespace name: 3 to 64 letters, digits or hyphens")
        }
    }
}

/// A provisioned cluster's ARN: `arn:<partition>:redshift:<region>:<account>:cluster:<identifier>`.
pub fn cluster_arn(partition: &str, region: &str, account: &str, identifier: &str) -> String {
    format!("arn:{partition}:redshift:{region}:{account}:cluster:{identifier}")
}

/// The ARN a Redshift Serverless namespace is allowed and pinned by:
/// `arn:<partition>:redshift-serverless:<region>:<account>:namespace/<name>`. Redshift Serverless's own ARNs name
/// a namespace by its id (`namespace/<uuid>`), which a secret does not hold; this one names it by its name, so
/// `REDSHIFT_NAMESPACE_ARNS` patterns and `rotor:user` tags are written with the name where AWS writes the id.
pub fn namespace_arn(partition: &str, region: &str, account: &str, name: &str) -> String {
    format!("arn:{partition}:redshift-serverless:{region}:{account}:namespace/{name}")
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET_ARN: &str = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:warehouse-admin-AbCdEf";

    fn secret(fields: &str) -> Secret {
        Secret::parse(SECRET_ARN, &format!(r#"{{"username":"awsuser","password":"p",{fields}}}"#))
    }

    #[test]
    fn a_cluster_is_named_by_its_identifier_in_the_secrets_region_and_account() {
        let admin = RedshiftAdminResource::parse(&secret(r#""engine":"redshift","dbClusterIdentifier":"Warehouse-1""#))
            .unwrap();
        assert_eq!(admin.kind(), AdminResourceKind::Cluster);
        assert_eq!(admin.arn(), "arn:aws:redshift:eu-west-1:123456789012:cluster:warehouse-1");
        assert_eq!((admin.name(), admin.username(), admin.region()), ("warehouse-1", "awsuser", "eu-west-1"));
    }

    #[test]
    fn a_namespace_is_named_by_its_name_where_aws_writes_its_id() {
        let admin = RedshiftAdminResource::parse(&secret(r#""namespaceName":"analytics""#)).unwrap();
        assert_eq!(admin.kind(), AdminResourceKind::Namespace);
        assert_eq!(admin.arn(), "arn:aws:redshift-serverless:eu-west-1:123456789012:namespace/analytics");
        let gov = Secret::parse(
            "arn:aws-us-gov:secretsmanager:us-gov-west-1:1:secret:s",
            r#"{"username":"admin","namespaceName":"ns1"}"#,
        );
        let admin = RedshiftAdminResource::parse(&gov).unwrap();
        assert_eq!(admin.arn(), "arn:aws-us-gov:redshift-serverless:us-gov-west-1:1:namespace/ns1");
    }

    #[test]
    fn a_secret_names_exactly_one_resource_an_arn_can_hold() {
        for (fields, expected) in [
            (r#""engine":"x""#, "`engine` is \"x\""),
            (r#""port":5439"#, "`dbClusterIdentifier` is missing"),
            (r#""dbClusterIdentifier":"c","namespaceName":"n""#, "`namespaceName` is set beside"),
            (r#""dbClusterIdentifier":"1cluster""#, "`dbClusterIdentifier` must be a cluster identifier"),
            (r#""dbClusterIdentifier":"c:x""#, "`dbClusterIdentifier` must be a cluster identifier"),
            (r#""dbClusterIdentifier":"c/*""#, "`dbClusterIdentifier` must be a cluster identifier"),
            (r#""namespaceName":"ns""#, "`namespaceName` must be a namespace name"),
            (r#""namespaceName":"a/b?c""#, "`namespaceName` must be a namespace name"),
            (r#""dbClusterIdentifier":"""#, "`dbClusterIdentifier` is empty"),
        ] {
            let error = RedshiftAdminResource::parse(&secret(fields)).unwrap_err().to_string();
            assert!(error.contains(expected), "{fields}: {error}");
        }
        let nameless = Secret::parse("warehouse-admin", r#"{"username":"u","dbClusterIdentifier":"c"}"#);
        let error = RedshiftAdminResource::parse(&nameless).unwrap_err().to_string();
        assert!(error.contains("names no Region or account"), "{error}");
        let no_user = Secret::parse(SECRET_ARN, r#"{"dbClusterIdentifier":"c"}"#);
        assert!(RedshiftAdminResource::parse(&no_user).unwrap_err().to_string().contains("`username` is missing"));
    }

    #[test]
    fn an_api_arn_is_home_only_in_the_secrets_region_and_account() {
        let admin = RedshiftAdminResource::parse(&secret(r#""dbClusterIdentifier":"c""#)).unwrap();
        assert!(admin.is_home_of("arn:aws:redshift:eu-west-1:123456789012:namespace:0f3c-uuid"));
        assert!(!admin.is_home_of("arn:aws:redshift:eu-west-1:210987654321:namespace:0f3c-uuid"));
        assert!(!admin.is_home_of("arn:aws:redshift:us-east-1:123456789012:namespace:0f3c-uuid"));
        assert!(!admin.is_home_of("not-an-arn"));
    }
}
