//! The Parameter Store calls a parameter rotation makes (`aws_sdk_ssm`), in the domain's words: read a parameter
//! and its companion, describe it, list its versions' labels, create the companion (the lock), write the parameter,
//! label and unlabel a version, read a parameter's tags, delete.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use aws_sdk_ssm::Client;
use aws_sdk_ssm::config::http::HttpResponse;
use aws_sdk_ssm::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_ssm::types::{ParameterStringFilter, ParameterTier, ParameterType, ResourceTypeForTagging, Tag};

use crate::aws::failure::AwsFailure;
use crate::error::RotationError;

/// The tag that binds a parameter, and its companion, to the function that rotates it.
pub const FUNCTION_TAG: &str = "rotor:function";

/// One version of a parameter, decrypted.
#[derive(Clone, PartialEq, Eq)]
pub struct Parameter {
    /// Its name.
    pub name: String,
    /// `SecureString`, `String` or `StringList`.
    pub kind: String,
    /// Its version.
    pub version: i64,
    /// Its value. Never in `Debug`.
    pub value: String,
}

impl std::fmt::Debug for Parameter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Parameter")
            .field("name", &self.name)
            .field("kind", &self.kind)
            .field("version", &self.version)
            .finish_non_exhaustive()
    }
}

/// What a rotation keeps of a parameter's settings when it writes: its KMS key and tier.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    /// The KMS key (`alias/aws/ssm` when the parameter uses the AWS-managed key).
    pub key_id: Option<String>,
    /// `Standard`, `Advanced` or `Intelligent-Tiering`.
    pub tier: String,
}

impl Settings {
    /// The largest value the tier holds: 4 KB standard, 8 KB advanced.
    pub fn max_value_bytes(&self) -> usize {
        if self.tier == "Advanced" { 8192 } else { 4096 }
    }
}

/// Whether creating the companion made it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Created {
    /// It did: this rotation holds the lock.
    Now,
    /// It already existed (`ParameterAlreadyExists`).
    Exists,
}

/// The Parameter Store client of a function. Errors never carry a value.
#[derive(Debug, Clone)]
pub struct ParameterStore {
    client: Client,
    calls: Arc<AtomicU64>,
    function: String,
}

impl ParameterStore {
    /// A client of an AWS configuration already loaded (the function's one connector and credentials chain);
    /// `AWS_ENDPOINT_URL_SSM` and `AWS_ENDPOINT_URL` apply as in every AWS tool. `function` is the value of the
    /// `rotor:function` tag this function rotates (and tags its companions with).
    pub fn from_sdk_config(sdk_config: &aws_config::SdkConfig, function: impl Into<String>) -> Self {
        Self { client: Client::new(sdk_config), calls: Arc::default(), function: function.into() }
    }

    /// The value of the `rotor:function` tag of the parameters this function rotates.
    pub fn function(&self) -> &str {
        &self.function
    }

    /// `ListTagsForResource` of a parameter: its tags, or `None` when there is no such parameter.
    pub async fn tags(&self, name: &str) -> Result<Option<Vec<(String, String)>>, RotationError> {
        self.count();
        let result = self
            .client
            .list_tags_for_resource()
            .resource_type(ResourceTypeForTagging::Parameter)
            .resource_id(name)
            .send()
            .await;
        match result {
            Ok(out) => Ok(Some(out.tag_list().iter().map(|t| (t.key().to_owned(), t.value().to_owned())).collect())),
            Err(e) if matches!(e.code(), Some("InvalidResourceId" | "ParameterNotFound")) => Ok(None),
            Err(e) => Err(store_error("ListTagsForResource", name, e)),
        }
    }

    /// How many API calls it has made.
    pub fn calls(&self) -> u64 {
        self.calls.load(Ordering::Relaxed)
    }

    fn count(&self) {
        self.calls.fetch_add(1, Ordering::Relaxed);
    }

    /// `GetParameters` of `names` (names only, no selectors) with decryption, in one call: each one found, or
    /// `None`.
    pub async fn read(&self, names: &[&str]) -> Result<Vec<Option<Parameter>>, RotationError> {
        self.count();
        let out = self
            .client
            .get_parameters()
            .set_names(Some(names.iter().map(|n| (*n).to_owned()).collect()))
            .with_decryption(true)
            .send()
            .await
            .map_err(|e| store_error("GetParameters", names[0], e))?;
        let found = out.parameters();
        Ok(names.iter().map(|wanted| found.iter().find(|p| p.name() == Some(*wanted)).map(parameter)).collect())
    }

    /// `GetParameter` of a name or a selector (`name:label`, `name:version`) with decryption; `None` when there
    /// is no such parameter, version or label.
    pub async fn read_one(&self, selector: &str) -> Result<Option<Parameter>, RotationError> {
        self.count();
        match self.client.get_parameter().name(selector).with_decryption(true).send().await {
            Ok(out) => Ok(out.parameter().map(parameter)),
            Err(e) if matches!(e.code(), Some("ParameterNotFound" | "ParameterVersionNotFound")) => Ok(None),
            Err(e) => Err(store_error("GetParameter", selector, e)),
        }
    }

    /// `DescribeParameters` of one name: its KMS key and tier; `None` when there is no such parameter.
    pub async fn settings(&self, name: &str) -> Result<Option<Settings>, RotationError> {
        self.count();
        let filter = ParameterStringFilter::builder()
            .key("Name")
            .option("Equals")
            .values(name)
            .build()
            .map_err(|e| RotationError::Config { variable: "ParameterName", reason: e.to_string() })?;
        let out = self
            .client
            .describe_parameters()
            .parameter_filters(filter)
            .send()
            .await
            .map_err(|e| store_error("DescribeParameters", name, e))?;
        Ok(out.parameters().iter().find(|p| p.name() == Some(name)).map(|p| Settings {
            key_id: p.key_id().map(str::to_owned),
            tier: p.tier().map_or("Standard", |t| t.as_str()).to_owned(),
        }))
    }

    /// `PutParameter` of a SecureString with `settings`: overwriting (a new newest version, whose number is
    /// returned) or creating only (`Created::Exists` when the name is taken), a created one tagged
    /// `rotor:function=<this function>` (Parameter Store takes tags only on creation).
    pub async fn put(
        &self,
        name: &str,
        value: &str,
        settings: &Settings,
        overwrite: bool,
    ) -> Result<(Created, i64), RotationError> {
        self.count();
        let tag = Tag::builder()
            .key(FUNCTION_TAG)
            .value(&self.function)
            .build()
            .map_err(|e| RotationError::Config { variable: "ROTOR_FUNCTION", reason: e.to_string() })?;
        let result = self
            .client
            .put_parameter()
            .name(name)
            .value(value)
            .r#type(ParameterType::SecureString)
            .set_key_id(settings.key_id.clone())
            .tier(ParameterTier::from(settings.tier.as_str()))
            .overwrite(overwrite)
            .set_tags((!overwrite).then(|| vec![tag]))
            .send()
            .await;
        match result {
            Ok(out) => Ok((Created::Now, out.version())),
            Err(e) if e.code() == Some("ParameterAlreadyExists") && !overwrite => Ok((Created::Exists, 0)),
            Err(e) => Err(store_error("PutParameter", name, e)),
        }
    }

    /// `LabelParameterVersion`: moves each of `labels` to `version` (a label names one version).
    pub async fn label(&self, name: &str, version: i64, labels: &[&str]) -> Result<(), RotationError> {
        self.count();
        let out = self
            .client
            .label_parameter_version()
            .name(name)
            .parameter_version(version)
            .set_labels(Some(labels.iter().map(|l| (*l).to_owned()).collect()))
            .send()
            .await
            .map_err(|e| store_error("LabelParameterVersion", name, e))?;
        match out.invalid_labels() {
            [] => Ok(()),
            invalid => Err(RotationError::ParameterStore {
                operation: "LabelParameterVersion",
                parameter: name.to_owned(),
                reason: format!("refused the labels {invalid:?}"),
                retryable: false,
                source: None,
            }),
        }
    }

    /// `GetParameterHistory` without decryption (no value is read), every page: each version's number and
    /// labels, oldest first.
    pub async fn labels(&self, name: &str) -> Result<Vec<(i64, Vec<String>)>, RotationError> {
        let mut versions = Vec::new();
        let mut next = None;
        loop {
            self.count();
            let out = self
                .client
                .get_parameter_history()
                .name(name)
                .with_decryption(false)
                .max_results(50)
                .set_next_token(next)
                .send()
                .await
                .map_err(|e| store_error("GetParameterHistory", name, e))?;
            versions.extend(out.parameters().iter().map(|p| (p.version(), p.labels().to_vec())));
            next = out.next_token().map(str::to_owned);
            if next.is_none() {
                return Ok(versions);
            }
        }
    }

    /// `UnlabelParameterVersion`: removes `labels` from `version`; a label it no longer carries is fine.
    pub async fn unlabel(&self, name: &str, version: i64, labels: &[String]) -> Result<(), RotationError> {
        for chunk in labels.chunks(10) {
            self.count();
            self.client
                .unlabel_parameter_version()
                .name(name)
                .parameter_version(version)
                .set_labels(Some(chunk.to_vec()))
                .send()
                .await
                .map_err(|e| store_error("UnlabelParameterVersion", name, e))?;
        }
        Ok(())
    }

    /// `DeleteParameter`; a parameter already gone is fine.
    pub async fn delete(&self, name: &str) -> Result<(), RotationError> {
        self.count();
        match self.client.delete_parameter().name(name).send().await {
            Ok(_) => Ok(()),
            Err(e) if e.code() == Some("ParameterNotFound") => Ok(()),
            Err(e) => Err(store_error("DeleteParameter", name, e)),
        }
    }
}

fn parameter(p: &aws_sdk_ssm::types::Parameter) -> Parameter {
    Parameter {
        name: p.name().unwrap_or_default().to_owned(),
        kind: p.r#type().map(|t| t.as_str().to_owned()).unwrap_or_default(),
        version: p.version(),
        value: p.value().unwrap_or_default().to_owned(),
    }
}

fn store_error<E>(operation: &'static str, name: &str, error: SdkError<E, HttpResponse>) -> RotationError
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    let failure = AwsFailure::of(&error);
    let fix = match failure.code().unwrap_or_default() {
        "AccessDeniedException" | "AccessDenied" => {
            "the role opens only parameters tagged rotor:function=<its function> (and creates only companions, <name>.rotor-pending, tagged so): tag the parameter, or grant the function's role this action and kms:Decrypt/kms:Encrypt/kms:GenerateDataKey on the parameter's KMS key"
        }
        "ParameterMaxVersionLimitExceeded" => {
            "the parameter has 100 versions and the oldest carries a label; move or remove that label (aws ssm unlabel-parameter-version)"
        }
        "ParameterLimitExceeded" => "the account's parameter limit for the tier is reached",
        "InvalidKeyId" => "the parameter's KMS key cannot be used; check the key and its policy",
        _ => "",
    };
    let reason = failure
        .unanswered("Parameter Store", "AWS_ENDPOINT_URL_SSM / AWS_ENDPOINT_URL")
        .unwrap_or_else(|| failure.answer_with(fix));
    RotationError::ParameterStore {
        operation,
        parameter: name.to_owned(),
        reason,
        retryable: failure.is_retryable(),
        source: Some(Box::new(error)),
    }
}
