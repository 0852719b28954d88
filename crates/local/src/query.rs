//! The AWS Query protocol, as every service that speaks it (ElastiCache, provisioned Redshift) does: a form
//! request (`Action`, `Version`, `Name.member.N` lists), XML answers in the service's namespace, and faults with
//! the service's codes and HTTP statuses. A service brings only its own words ([`Service`]) and codes.

use std::collections::BTreeMap;

use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};

use crate::store::Store;

/// What one Query-protocol service says differently from another: the rest of the protocol is the same.
#[derive(Debug, Clone, Copy)]
pub struct Service {
    /// The XML namespace of its answers and error documents.
    pub namespace: &'static str,
    /// The message of every call when the endpoint was started without what plays the service (it names the
    /// command-line option that would have started it).
    pub not_configured: &'static str,
    /// The parameters that name a call's subject for the audit log, the first given wins.
    pub subjects: &'static [&'static str],
}

impl Service {
    /// The answer to `action`: `result` in its `<Action>Result>`, with a request id.
    pub fn answer(&self, action: &str, result: &str) -> String {
        format!(
            "<{action}Response xmlns=\"{}\"><{action}Result>{result}</{action}Result><ResponseMetadata><RequestId>{}</RequestId></ResponseMetadata></{action}Response>",
            self.namespace,
            uuid::Uuid::new_v4()
        )
    }

    /// The fault of a call the endpoint was not started for.
    pub fn not_configured(&self) -> Fault {
        Fault::combination(self.not_configured)
    }

    /// The HTTP answer to `request`, once its outcome is recorded in the audit log at `now` (its code, never a
    /// parameter's value).
    pub fn respond(
        &self,
        store: &Store,
        now: DateTime<Utc>,
        request: &Request,
        result: Result<String, Fault>,
    ) -> Response {
        let outcome = result.as_ref().map_or_else(|fault| fault.code, |_| "ok");
        let subject = self.subjects.iter().find_map(|name| request.get(name));
        store.audit(now, request.action(), subject, outcome);
        let (status, xml) = match result {
            Ok(xml) => (StatusCode::OK, xml),
            Err(fault) => {
                (StatusCode::from_u16(fault.status).unwrap_or(StatusCode::BAD_REQUEST), fault.to_xml(self.namespace))
            }
        };
        let mut response = (status, xml).into_response();
        response.headers_mut().insert("content-type", HeaderValue::from_static("text/xml"));
        response
    }
}

/// An error answer: the service's code, its HTTP status and message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fault {
    /// The Query protocol's error code (`UserNotFound`, `ClusterNotFound`).
    pub code: &'static str,
    /// The HTTP status.
    pub status: u16,
    /// The message.
    pub message: String,
}

impl Fault {
    /// A fault with the service's own `code`.
    pub fn new(code: &'static str, status: u16, message: impl Into<String>) -> Self {
        Self { code, status, message: message.into() }
    }

    /// A parameter's value the service refuses.
    pub fn invalid(message: impl Into<String>) -> Self {
        Self::new("InvalidParameterValue", 400, message)
    }

    /// Parameters the service refuses together (or a call it does not serve here).
    pub fn combination(message: impl Into<String>) -> Self {
        Self::new("InvalidParameterCombination", 400, message)
    }

    /// An `Action` the endpoint does not serve.
    pub fn invalid_action(action: &str) -> Self {
        Self::new("InvalidAction", 400, format!("The action {action} is not valid for this endpoint."))
    }

    /// The endpoint's own failure, or that of what plays the service.
    pub fn internal(message: impl Into<String>) -> Self {
        Self::new("InternalFailure", 500, message)
    }

    /// The XML error document, in the service's `namespace`.
    pub fn to_xml(&self, namespace: &str) -> String {
        format!(
            "<ErrorResponse xmlns=\"{namespace}\"><Error><Type>Sender</Type><Code>{}</Code><Message>{}</Message></Error><RequestId>{}</RequestId></ErrorResponse>",
            self.code,
            escape(&self.message),
            uuid::Uuid::new_v4()
        )
    }
}

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

    /// A parameter, if given.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.params.get(name).map(String::as_str)
    }

    /// A parameter that must be given, and not empty.
    pub fn require(&self, name: &str) -> Result<&str, Fault> {
        self.get(name).filter(|v| !v.is_empty()).ok_or_else(|| {
            Fault::new("MissingParameter", 400, format!("The request must contain the parameter {name}."))
        })
    }

    /// The names of the parameters given, `Action` and `Version` included.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.params.keys().map(String::as_str)
    }

    /// The list `name` (`name.member.1`, `name.member.2`, ...), if it has a member.
    pub fn list(&self, name: &str) -> Option<Vec<&str>> {
        let values: Vec<&str> = (1..).map_while(|n| self.get(&format!("{name}.member.{n}"))).collect();
        (!values.is_empty()).then_some(values)
    }
}

/// `text` as XML character data.
pub fn escape(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

#[cfg(test)]
mod tests {
    use super::*;

    const SERVICE: Service =
        Service { namespace: "http://example.com/doc/", not_configured: "not started", subjects: &["A", "B"] };

    #[test]
    fn a_request_reads_lists_in_order_and_never_shows_its_values() {
        let request = Request::parse(b"Action=Do&Passwords.member.2=Second-secret&Passwords.member.1=First-secret");
        assert_eq!(request.list("Passwords"), Some(vec!["First-secret", "Second-secret"]));
        assert_eq!(request.list("UserIds"), None);
        assert_eq!(request.require("UserId").unwrap_err().code, "MissingParameter");
        assert!(!format!("{request:?}").contains("secret"), "{request:?}");
    }

    #[test]
    fn answers_and_faults_are_in_the_services_namespace() {
        let answer = SERVICE.answer("Do", "<X/>");
        assert!(
            answer.starts_with("<DoResponse xmlns=\"http://example.com/doc/\"><DoResult><X/></DoResult>"),
            "{answer}"
        );
        let fault = Fault::invalid("a <b> & \"c\"");
        let xml = fault.to_xml(SERVICE.namespace);
        assert!(
            xml.starts_with("<ErrorResponse xmlns=\"http://example.com/doc/\"><Error><Type>Sender</Type><Code>InvalidParameterValue</Code><Message>a &lt;b&gt; &amp; &quot;c&quot;</Message></Error><RequestId>"),
            "{xml}"
        );
        assert_eq!(SERVICE.not_configured(), Fault::combination("not started"));
    }
}
