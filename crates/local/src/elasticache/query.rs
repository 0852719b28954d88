//! ElastiCache's Query protocol: a form request with `Name.member.N` lists, XML answers, and faults with the
//! service's codes and HTTP statuses.

use std::collections::BTreeMap;

use crate::identity::Identity;

/// An error answer: the service's code, its HTTP status and message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fault {
    /// The Query protocol's error code (`UserNotFound`).
    pub code: &'static str,
    /// The HTTP status.
    pub status: u16,
    /// The message.
    pub message: String,
}

impl Fault {
    pub(super) fn new(code: &'static str, status: u16, message: impl Into<String>) -> Self {
        Self { code, status, message: message.into() }
    }

    pub(super) fn invalid(message: impl Into<String>) -> Self {
        Self::new("InvalidParameterValue", 400, message)
    }

    pub(super) fn combination(message: impl Into<String>) -> Self {
        Self::new("InvalidParameterCombination", 400, message)
    }

    pub(super) fn user_not_found(id: &str) -> Self {
        Self::new("UserNotFound", 404, format!("User {id} not found."))
    }

    pub(super) fn replication_group_not_found(id: &str) -> Self {
        Self::new("ReplicationGroupNotFoundFault", 404, format!("ReplicationGroup {id} not found."))
    }

    /// The endpoint's own failure.
    pub fn internal(message: impl Into<String>) -> Self {
        Self::new("InternalFailure", 500, message)
    }

    /// The answer for a call the endpoint was not started for.
    pub fn not_configured() -> Self {
        Self::new(
            "InvalidParameterCombination",
            400,
            "the local endpoint serves ElastiCache calls only when started with --elasticache-redis",
        )
    }

    /// The XML error document.
    pub fn to_xml(&self) -> String {
        format!(
            "<ErrorResponse xmlns=\"{NAMESPACE}\"><Error><Type>Sender</Type><Code>{}</Code><Message>{}</Message></Error><RequestId>{}</RequestId></ErrorResponse>",
            self.code,
            escape(&self.message),
            uuid::Uuid::new_v4()
        )
    }
}

pub(super) const NAMESPACE: &str = "http://elasticache.amazonaws.com/doc/2015-02-02/";

/// A Query request: its `Action` and parameters, with `Name.member.N` lists read in order. Its `Debug` shows the
/// parameters' names only: their values hold passwords and AUTH tokens.
#[derive(Clone, Default)]
pub struct Request {
    params: BTreeMap<String, String>,
}

impl std::fmt::Debug for Request {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Request").field("action", &self.action()).field("names", &self.params.keys()).finish()
    }
}

impl Request {
    /// Parses a form body.
    pub fn parse(body: &[u8]) -> Self {
        Self { params: form_urlencoded::parse(body).into_owned().collect() }
    }

    /// `Action`.
    pub fn action(&self) -> &str {
        self.get("Action").unwrap_or_default()
    }

    pub(super) fn get(&self, name: &str) -> Option<&str> {
        self.params.get(name).map(String::as_str)
    }

    pub(super) fn require(&self, name: &str) -> Result<&str, Fault> {
        self.get(name).filter(|v| !v.is_empty()).ok_or_else(|| {
            Fault::new("MissingParameter", 400, format!("The request must contain the parameter {name}."))
        })
    }

    /// The names of the parameters given, `Action` and `Version` included.
    pub(super) fn names(&self) -> impl Iterator<Item = &str> {
        self.params.keys().map(String::as_str)
    }

    pub(super) fn list(&self, name: &str) -> Option<Vec<&str>> {
        let values: Vec<&str> = (1..).map_while(|n| self.get(&format!("{name}.member.{n}"))).collect();
        (!values.is_empty()).then_some(values)
    }

    /// The user id a call names, for the audit log.
    pub fn subject(&self) -> Option<&str> {
        self.get("UserId").or_else(|| self.get("UserGroupId")).or_else(|| self.get("ReplicationGroupId"))
    }
}

pub(super) fn arn(identity: &Identity, kind: &str, id: &str) -> String {
    escape(&format!("arn:aws:elasticache:{}:{}:{kind}:{id}", identity.region, identity.account))
}

pub(super) fn escape(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}
