//! The templates as written. `template.yaml`'s roles, invoke permissions and log groups, evaluated as
//! CloudFormation would evaluate them (read with cfn-lint's decoder, the intrinsic functions resolved for chosen
//! parameters); and the example stacks' wiring: every secret they schedule, in the shape the stack gives it, goes
//! through the createSecret of the function its schedule names, configured as `template.yaml` configures it,
//! against the real servers. Nothing is deployed: what IAM itself decides (the condition keys' values at request
//! time) is AWS's to prove, and is not proven here.

use std::collections::HashMap;
use std::fs;
use std::process::Command;

use aws_sdk_secretsmanager::types::Tag;
use mysql_async::prelude::Queryable;
use serde_json::{Map, Value, json};

use crate::harness::{Function, Harness, repo_root};
use crate::mariadb_server::MariaDbServer;
use crate::mysql::{identified, literal};
use crate::postgres_server::PgServer;

const ACCOUNT: &str = "123456789012";
const REGION: &str = "us-east-1";
/// The replication groups `rotate-elasticache-auth-token` is deployed for.
const CACHE_GROUPS: &str = "arn:aws:elasticache:us-east-1:123456789012:replicationgroup:app-*";
/// The provisioned clusters `rotate-redshift-admin` is deployed for.
const REDSHIFT_CLUSTERS: &str = "arn:aws:redshift:us-east-1:123456789012:cluster:warehouse-*";
/// The Serverless namespaces `rotate-redshift-admin` is deployed for (named by name, as the function reads them).
const REDSHIFT_NAMESPACES: &str = "arn:aws:redshift-serverless:us-east-1:123456789012:namespace/analytics";
/// The DocumentDB clusters `rotate-documentdb-admin` is deployed for (RDS ARNs: DocumentDB's API is RDS's).
const DOCDB_CLUSTERS: &str = "arn:aws:rds:us-east-1:123456789012:cluster:docs-*";
/// What `!Ref AWS::NoValue` evaluates to until its container drops it.
const NO_VALUE: &str = "\u{0}NoValue";

/// A template as cfn-lint decodes it: short-form tags in their long form.
fn decode(path: &str) -> Value {
    let venv = repo_root().join(".venv/bin/python");
    let output = Command::new(venv)
        .arg(repo_root().join("tests/python/cfn_json.py"))
        .arg(repo_root().join(path))
        .output()
        .expect("the venv's python runs (make test installs cfn-lint into .venv)");
    assert!(output.status.success(), "{path}: {}", String::from_utf8_lossy(&output.stderr));
    serde_json::from_slice(&output.stdout).unwrap()
}

/// A template with its parameters chosen, evaluated as CloudFormation would (the intrinsic functions the
/// templates use). `attrs` holds what other resources answer to `Ref` and `Fn::GetAtt` (`Name`, `Name.Attr`).
struct Stack {
    template: Value,
    name: String,
    params: HashMap<String, Value>,
    attrs: HashMap<String, Value>,
}

impl Stack {
    fn new(path: &str, name: &str, chosen: &[(&str, Value)]) -> Self {
        let template = decode(path);
        let mut params = HashMap::new();
        for (key, spec) in template["Parameters"].as_object().into_iter().flatten() {
            let value = chosen.iter().find(|(k, _)| k == key).map(|(_, v)| v.clone()).or_else(|| {
                let default = spec.get("Default")?;
                Some(if spec["Type"] == "CommaDelimitedList" {
                    json!(text(default).split(',').collect::<Vec<_>>())
                } else {
                    json!(text(default))
                })
            });
            params.insert(key.clone(), value.unwrap_or_else(|| panic!("{path}: parameter {key} needs a value")));
        }
        for (key, _) in chosen {
            assert!(params.contains_key(*key), "{path} has no parameter {key}");
        }
        Self { template, name: name.to_owned(), params, attrs: HashMap::new() }
    }

    fn reference(&self, name: &str) -> Value {
        match name {
            "AWS::NoValue" => json!(NO_VALUE),
            "AWS::Partition" => json!("aws"),
            "AWS::Region" => json!(REGION),
            "AWS::AccountId" => json!(ACCOUNT),
            "AWS::StackName" => json!(self.name),
            "AWS::URLSuffix" => json!("amazonaws.com"),
            _ => self
                .params
                .get(name)
                .or_else(|| self.attrs.get(name))
                .cloned()
                .unwrap_or_else(|| json!(format!("ref:{name}"))),
        }
    }

    fn attribute(&self, name: &str) -> Value {
        self.attrs.get(name).cloned().unwrap_or_else(|| json!(format!("getatt:{name}")))
    }

    fn eval(&self, value: &Value) -> Value {
        match value {
            Value::Object(map) if map.len() == 1 => {
                let (key, arg) = map.iter().next().unwrap();
                match key.as_str() {
                    "Ref" => self.reference(arg.as_str().unwrap()),
                    "Fn::GetAtt" => match arg {
                        Value::Array(parts) => self.attribute(&format!("{}.{}", text(&parts[0]), text(&parts[1]))),
                        other => self.attribute(other.as_str().unwrap()),
                    },
                    "Fn::Sub" => {
                        let (pattern, vars) = match arg {
                            Value::Array(parts) => (text(&parts[0]), self.eval(&parts[1])),
                            other => (text(other), json!({})),
                        };
                        json!(self.substitute(&pattern, &vars))
                    }
                    "Fn::Split" => {
                        let whole = text(&self.eval(&arg[1]));
                        json!(whole.split(text(&arg[0]).as_str()).collect::<Vec<_>>())
                    }
                    "Fn::Select" => self.eval(&arg[1])[text(&self.eval(&arg[0])).parse::<usize>().unwrap()].clone(),
                    "Fn::Join" => {
                        let parts = self.eval(&arg[1]);
                        let parts: Vec<String> = parts.as_array().unwrap().iter().map(text).collect();
                        json!(parts.join(&text(&arg[0])))
                    }
                    "Fn::If" => {
                        let branch = if self.condition(arg[0].as_str().unwrap()) { &arg[1] } else { &arg[2] };
                        self.eval(branch)
                    }
                    "Fn::Equals" => json!(text(&self.eval(&arg[0])) == text(&self.eval(&arg[1]))),
                    "Fn::Contains" => {
                        let wanted = text(&self.eval(&arg[1]));
                        json!(strings(&self.eval(&arg[0])).contains(&wanted))
                    }
                    "Fn::Not" => json!(!self.eval(&arg[0]).as_bool().unwrap()),
                    "Fn::And" => json!(arg.as_array().unwrap().iter().all(|c| self.eval(c).as_bool().unwrap())),
                    "Fn::Or" => json!(arg.as_array().unwrap().iter().any(|c| self.eval(c).as_bool().unwrap())),
                    "Condition" => json!(self.condition(arg.as_str().unwrap())),
                    _ => self.eval_object(map),
                }
            }
            Value::Object(map) => self.eval_object(map),
            Value::Array(items) => Value::Array(items.iter().map(|v| self.eval(v)).filter(|v| v != NO_VALUE).collect()),
            other => other.clone(),
        }
    }

    fn eval_object(&self, map: &Map<String, Value>) -> Value {
        Value::Object(map.iter().map(|(k, v)| (k.clone(), self.eval(v))).filter(|(_, v)| v != NO_VALUE).collect())
    }

    fn substitute(&self, pattern: &str, vars: &Value) -> String {
        let mut out = String::new();
        let mut rest = pattern;
        while let Some(start) = rest.find("${") {
            out.push_str(&rest[..start]);
            let end = rest[start..].find('}').unwrap() + start;
            let name = &rest[start + 2..end];
            let value = match vars.get(name) {
                Some(v) => v.clone(),
                None if name.contains('.') && !name.starts_with("AWS::") => self.attribute(name),
                None => self.reference(name),
            };
            out.push_str(&text(&value));
            rest = &rest[end + 1..];
        }
        out.push_str(rest);
        out
    }

    fn condition(&self, name: &str) -> bool {
        let spec = &self.template["Conditions"][name];
        assert!(!spec.is_null(), "no condition {name}");
        self.eval(spec).as_bool().unwrap()
    }

    /// The resources of a type that this choice of parameters deploys: (logical id, evaluated properties).
    fn resources(&self, kind: &str) -> Vec<(String, Value)> {
        let mut found: Vec<(String, Value)> = self.template["Resources"]
            .as_object()
            .unwrap()
            .iter()
            .filter(|(_, r)| r["Type"] == kind)
            .filter(|(_, r)| r["Condition"].as_str().is_none_or(|c| self.condition(c)))
            .map(|(id, r)| (id.clone(), self.eval(&r["Properties"])))
            .collect();
        found.sort_by(|a, b| a.0.cmp(&b.0));
        found
    }

    fn resource(&self, id: &str) -> Value {
        let raw = &self.template["Resources"][id];
        assert!(!raw.is_null(), "no resource {id}");
        self.eval(&raw["Properties"])
    }
}

fn text(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// One rotation function of `template.yaml`, as deployed.
struct Deployed {
    logical: String,
    binary: String,
    arn: String,
    /// The `rotor:function` tag its role requires of the secrets it rotates.
    tag: String,
    env: Vec<(String, String)>,
}

fn deployed_functions(rotor: &mut Stack) -> Vec<Deployed> {
    let globals = rotor.eval(&rotor.template["Globals"]["Function"]["Environment"]["Variables"]);
    let mut functions = Vec::new();
    for (logical, properties) in rotor.resources("AWS::Serverless::Function") {
        let binary = text(&rotor.template["Resources"][&logical]["Metadata"]["BuildProperties"]["Binary"]);
        let name = text(&properties["FunctionName"]);
        let arn = format!("arn:aws:lambda:{REGION}:{ACCOUNT}:function:{name}");
        let mut env: Vec<(String, String)> = Vec::new();
        for (key, value) in
            globals.as_object().unwrap().iter().chain(properties["Environment"]["Variables"].as_object().unwrap())
        {
            env.retain(|(k, _)| k != key);
            env.push((key.clone(), text(value)));
        }
        env.retain(|(_, v)| !v.is_empty());
        rotor.attrs.insert(format!("{logical}.Arn"), json!(arn));
        let tag = binary.strip_prefix("rotate-").unwrap().to_owned();
        functions.push(Deployed { logical, binary, arn, tag, env });
    }
    functions
}

/// The statements of a role's inline policies (a policy document may be a JSON string, as IAM takes it).
fn statements(role: &Value) -> Vec<Value> {
    role["Policies"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|p| {
            let document = match &p["PolicyDocument"] {
                Value::String(json) => serde_json::from_str(json).expect("a policy document string is JSON"),
                document => document.clone(),
            };
            document["Statement"].as_array().unwrap().clone()
        })
        .collect()
}

fn strings(value: &Value) -> Vec<String> {
    match value {
        Value::Array(items) => items.iter().map(text).collect(),
        other => vec![text(other)],
    }
}

/// The statement by which a function's role rotates secrets opens only those tagged for the function whose
/// rotation is configured on the function itself, under no other (weaker) condition.
fn assert_opens_only_its_own_secrets(f: &Deployed, statement: &Value) {
    let condition = &statement["Condition"];
    assert_eq!(condition["StringEquals"]["secretsmanager:ResourceTag/rotor:function"], f.tag, "{}", f.binary);
    assert_eq!(
        strings(&condition["ArnLike"]["secretsmanager:resource/AllowRotationLambdaArn"]),
        [f.arn.clone(), format!("{}:*", f.arn)],
        "{}: the role opens only the secrets whose rotation function is this function",
        f.binary
    );
    assert_eq!(condition.as_object().unwrap().len(), 2, "{}: no other (weaker) condition", f.binary);
}

#[test]
fn each_role_opens_a_secret_only_with_its_tag_and_its_own_function_as_the_rotation_function() {
    let admin = "arn:aws:secretsmanager:us-east-1:123456789012:secret:db-master-??????";
    let kms = "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab";
    let cache_users = "arn:aws:elasticache:us-east-1:123456789012:user:app-*";
    let secrets = format!("arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:*");
    let mut rotor = Stack::new(
        "template.yaml",
        "rotor",
        &[
            ("AdminSecretArns", json!([admin])),
            ("KmsKeyArn", json!(kms)),
            ("ReservedConcurrency", json!("5")),
            ("ElastiCacheUserArns", json!([cache_users])),
            ("ElastiCacheReplicationGroupArns", json!([CACHE_GROUPS])),
            ("RedshiftClusterArns", json!([REDSHIFT_CLUSTERS])),
            ("RedshiftNamespaceArns", json!([REDSHIFT_NAMESPACES])),
            ("DocumentDbClusterArns", json!([DOCDB_CLUSTERS])),
            ("IamUserPath", json!("/rotor/")),
            ("LdapUserBaseDn", json!("OU=Service Accounts,DC=corp,DC=example")),
            ("DirectoryArns", json!(["arn:aws:ds:us-east-1:123456789012:directory/d-1234567890"])),
        ],
    );
    let functions = deployed_functions(&mut rotor);
    let binaries: Vec<&str> = functions.iter().map(|f| f.binary.as_str()).collect();
    assert_eq!(
        binaries,
        [
            "rotate-custom",
            "rotate-directory",
            "rotate-documentdb-admin",
            "rotate-elasticache-auth-token",
            "rotate-elasticache",
            "rotate-iam-access-key",
            "rotate-ldap",
            "rotate-mongodb-alternating",
            "rotate-mongodb",
            "rotate-mysql-alternating",
            "rotate-mysql",
            "rotate-postgres-alternating",
            "rotate-postgres",
            "rotate-redis",
            "rotate-redshift-admin",
            "rotate-redshift-alternating",
            "rotate-redshift"
        ]
    );
    let globals = rotor.eval(&rotor.template["Globals"]["Function"]);
    assert_eq!(
        globals["ReservedConcurrentExecutions"], "5",
        "the reserved concurrency parameter reaches every function"
    );

    for f in &functions {
        let properties = rotor.resource(&f.logical);
        let role_id =
            properties["Role"].as_str().unwrap().strip_prefix("getatt:").unwrap().strip_suffix(".Arn").unwrap();
        let role = rotor.resource(role_id);
        let mut rotates = 0;
        for statement in statements(&role) {
            let actions = strings(&statement["Action"]);
            let secret_actions: Vec<&String> = actions
                .iter()
                .filter(|a| a.starts_with("secretsmanager:") && *a != "secretsmanager:GetRandomPassword")
                .collect();
            if secret_actions.is_empty() {
                continue;
            }
            let resources = strings(&statement["Resource"]);
            if resources == [secrets.clone()] {
                rotates += 1;
                assert_opens_only_its_own_secrets(f, &statement);
            } else {
                assert_eq!(resources, [admin], "{}: any other secret it reads is a pinned admin secret", f.binary);
                assert!(
                    actions
                        .iter()
                        .all(|a| a == "secretsmanager:GetSecretValue" || a == "secretsmanager:DescribeSecret")
                );
                assert!(f.env.iter().any(|(k, v)| k == "ADMIN_SECRET_ARNS" && v == admin), "{}", f.binary);
            }
        }
        assert_eq!(rotates, 1, "{}: one statement rotates secrets", f.binary);
        let mut modifies_users = false;
        for statement in statements(&role) {
            let actions = strings(&statement["Action"]);
            if actions.iter().any(|a| a == "elasticache:ModifyUser") {
                modifies_users = true;
                assert_eq!(f.binary, "rotate-elasticache", "only the ElastiCache function changes users");
                assert_eq!(strings(&statement["Resource"]), [cache_users], "it changes only the named users");
                assert!(f.env.iter().any(|(k, v)| k == "ELASTICACHE_USER_ARNS" && v == cache_users));
            }
        }
        assert_eq!(modifies_users, f.binary == "rotate-elasticache", "{}", f.binary);
        let mut modifies_groups = false;
        for statement in statements(&role) {
            let actions = strings(&statement["Action"]);
            if actions.iter().any(|a| a == "elasticache:ModifyReplicationGroup") {
                modifies_groups = true;
                assert_eq!(f.binary, "rotate-elasticache-auth-token", "only the AUTH token function changes groups");
                assert_eq!(strings(&statement["Resource"]), [CACHE_GROUPS], "it changes only the named groups");
                assert!(f.env.iter().any(|(k, v)| k == "ELASTICACHE_REPLICATION_GROUP_ARNS" && v == CACHE_GROUPS));
                assert!(
                    f.env.iter().all(|(k, _)| k != "EXCLUDE_CHARACTERS"),
                    "its own default keeps tokens to the characters ElastiCache takes"
                );
            }
        }
        assert_eq!(modifies_groups, f.binary == "rotate-elasticache-auth-token", "{}", f.binary);
        let mut manages_keys = false;
        for statement in statements(&role) {
            let actions = strings(&statement["Action"]);
            if actions.iter().any(|a| a.starts_with("iam:")) {
                manages_keys = true;
                assert_eq!(f.binary, "rotate-iam-access-key", "only the IAM function touches IAM");
                assert_eq!(statement["Effect"], "Allow", "no tag configured: no deny");
                assert_eq!(
                    strings(&statement["Resource"]),
                    [format!("arn:aws:iam::{ACCOUNT}:user/rotor/*")],
                    "it manages the keys of the users under the path only"
                );
                if actions == ["iam:TagUser"] {
                    assert_eq!(
                        statement["Condition"],
                        json!({"ForAllValues:StringLike": {"aws:TagKeys": "rotor-minting:*"}}),
                        "it writes its minting records only"
                    );
                } else {
                    assert!(actions.iter().all(|a| IAM_KEY_ACTIONS.contains(&a.as_str())), "{actions:?}");
                }
                assert!(f.env.iter().any(|(k, v)| k == "IAM_USER_PATH" && v == "/rotor/"));
            }
        }
        assert_eq!(manages_keys, f.binary == "rotate-iam-access-key", "{}", f.binary);

        let permissions: Vec<Value> = rotor
            .resources("AWS::Lambda::Permission")
            .into_iter()
            .map(|(_, p)| p)
            .filter(|p| p["FunctionName"] == format!("ref:{}", f.logical))
            .collect();
        assert_eq!(permissions.len(), 1, "{}", f.binary);
        assert_eq!(permissions[0]["Principal"], "secretsmanager.amazonaws.com");
        assert_eq!(permissions[0]["SourceAccount"], ACCOUNT);
        assert_eq!(permissions[0]["SourceArn"], secrets, "{}: only the account's secrets may invoke it", f.binary);

        let log_group =
            rotor.resource(properties["LoggingConfig"]["LogGroup"].as_str().unwrap().strip_prefix("ref:").unwrap());
        assert_eq!(log_group["KmsKeyId"], kms, "{}: its logs are encrypted with the key", f.binary);
        assert_eq!(log_group["LogGroupName"], format!("/aws/lambda/{}", f.arn.rsplit(':').next().unwrap()));
    }

    // Without admin secrets, no alternating function, no admin secret read, no reservation, no log key.
    let mut plain = Stack::new("template.yaml", "rotor", &[]);
    let functions = deployed_functions(&mut plain);
    assert_eq!(
        functions.iter().map(|f| f.binary.as_str()).collect::<Vec<_>>(),
        ["rotate-custom", "rotate-mongodb", "rotate-mysql", "rotate-postgres", "rotate-redshift"]
    );
    assert!(plain.eval(&plain.template["Globals"]["Function"]).get("ReservedConcurrentExecutions").is_none());
    for (_, role) in plain.resources("AWS::IAM::Role") {
        for statement in statements(&role) {
            assert_eq!(
                strings(&statement["Resource"]).iter().filter(|r| r.contains(":secret:") && **r != secrets).count(),
                0
            );
        }
    }
    for (_, group) in plain.resources("AWS::Logs::LogGroup") {
        assert!(group.get("KmsKeyId").is_none());
    }
}

#[test]
fn documentdb_masters_change_through_the_rds_api_on_the_pinned_clusters_only() {
    let ledger = "arn:aws:rds:us-east-1:123456789012:cluster:ledger";
    let mut rotor = Stack::new(
        "template.yaml",
        "rotor",
        &[
            ("AdminSecretArns", json!(["arn:aws:secretsmanager:us-east-1:123456789012:secret:db-master-??????"])),
            ("KmsKeyArn", json!("arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab")),
            ("ElastiCacheUserArns", json!(["arn:aws:elasticache:us-east-1:123456789012:user:app-*"])),
            ("ElastiCacheReplicationGroupArns", json!([CACHE_GROUPS])),
            ("RedshiftClusterArns", json!([REDSHIFT_CLUSTERS])),
            ("RedshiftNamespaceArns", json!([REDSHIFT_NAMESPACES])),
            ("DocumentDbClusterArns", json!([DOCDB_CLUSTERS, ledger])),
            ("IamUserPath", json!("/rotor/")),
            ("RotatedParameterPath", json!("/rotor/")),
            ("RotationEventBus", json!("rotor-rotations")),
        ],
    );
    let functions = deployed_functions(&mut rotor);

    // DocumentDB's API is the RDS API: IAM has no docdb: action, so a statement naming one grants nothing, and a
    // wildcard would grant every RDS change. No role, nor a policy attached to one, has either.
    let mut every_statement: Vec<(String, Value)> = Vec::new();
    for (id, role) in rotor.resources("AWS::IAM::Role") {
        every_statement.extend(statements(&role).into_iter().map(|s| (id.clone(), s)));
    }
    for (id, policy) in rotor.resources("AWS::IAM::ManagedPolicy") {
        let granted = policy["PolicyDocument"]["Statement"].as_array().unwrap().clone();
        every_statement.extend(granted.into_iter().map(|s| (id.clone(), s)));
    }
    for (id, statement) in &every_statement {
        for action in strings(&statement["Action"]) {
            let lower = action.to_ascii_lowercase();
            assert!(!lower.starts_with("docdb:") && !lower.starts_with("docdb-elastic:"), "{id} grants {action}");
            assert!(action != "*" && !action.ends_with(":*"), "{id} grants {action}");
        }
        assert!(statement.get("NotAction").is_none(), "{id}: a NotAction would grant what it does not name");
    }

    let admin = functions
        .iter()
        .find(|f| f.binary == "rotate-documentdb-admin")
        .expect("rotate-documentdb-admin is deployed when DocumentDbClusterArns is set");
    let pinned = format!("{DOCDB_CLUSTERS},{ledger}");
    assert!(admin.env.contains(&("DOCDB_CLUSTER_ARNS".to_owned(), pinned)), "{:?}", admin.env);
    assert!(admin.env.iter().all(|(k, _)| k != "ADMIN_SECRET_ARNS" && k != "ROTATION_STRATEGY"));
    let role_id = text(&rotor.resource(&admin.logical)["Role"]).replace("getatt:", "").replace(".Arn", "");
    let mut rds_actions: Vec<String> = Vec::new();
    for statement in statements(&rotor.resource(&role_id)) {
        let actions: Vec<String> =
            strings(&statement["Action"]).into_iter().filter(|a| a.starts_with("rds:")).collect();
        if actions.is_empty() {
            continue;
        }
        assert_eq!(statement["Effect"], "Allow");
        assert_eq!(strings(&statement["Resource"]), [DOCDB_CLUSTERS, ledger], "{actions:?}: the pinned clusters only");
        assert!(statement.get("Condition").is_none());
        rds_actions.extend(actions);
    }
    rds_actions.sort();
    assert_eq!(rds_actions, ["rds:DescribeDBClusters", "rds:ModifyDBCluster"]);

    // No other role changes a cluster: the DocumentDB and MongoDB user functions only look one up, as the
    // PostgreSQL function does (an admin secret DocumentDB manages names no host).
    for f in functions.iter().filter(|f| f.binary != "rotate-documentdb-admin") {
        let role_id = text(&rotor.resource(&f.logical)["Role"]).replace("getatt:", "").replace(".Arn", "");
        for statement in statements(&rotor.resource(&role_id)) {
            for action in strings(&statement["Action"]).iter().filter(|a| a.starts_with("rds:")) {
                assert!(action.starts_with("rds:Describe"), "{}: {action}", f.binary);
            }
        }
    }
    let role_of = |binary: &str| {
        let f = functions.iter().find(|f| f.binary == binary).unwrap();
        let id = text(&rotor.resource(&f.logical)["Role"]).replace("getatt:", "").replace(".Arn", "");
        statements(&rotor.resource(&id))
    };
    for (mongo, postgres) in
        [("rotate-mongodb", "rotate-postgres"), ("rotate-mongodb-alternating", "rotate-postgres-alternating")]
    {
        let expected = serde_json::to_string(&role_of(postgres))
            .unwrap()
            .replace("postgres", "mongodb")
            .replace("Postgres", "MongoDb");
        assert_eq!(serde_json::to_string(&role_of(mongo)).unwrap(), expected, "{mongo} is permitted as {postgres}");
    }

    // Without clusters, neither the function nor its role.
    let mut plain = Stack::new("template.yaml", "rotor", &[]);
    assert!(deployed_functions(&mut plain).iter().all(|f| f.binary != "rotate-documentdb-admin"));
    assert!(plain.resources("AWS::IAM::Role").iter().all(|(id, _)| id != "DocumentDbAdminRole"));
}

/// What the IAM function's role may do to the keys of a user under its path.
const IAM_KEY_ACTIONS: &[&str] =
    &["iam:GetUser", "iam:ListAccessKeys", "iam:CreateAccessKey", "iam:UpdateAccessKey", "iam:DeleteAccessKey"];

#[test]
fn with_a_user_tag_the_iam_role_is_denied_every_user_without_it() {
    let mut rotor = Stack::new(
        "template.yaml",
        "rotor",
        &[("IamUserPath", json!("/")), ("IamUserTag", json!("rotor-managed=ci keys"))],
    );
    let function = deployed_functions(&mut rotor).into_iter().find(|f| f.binary == "rotate-iam-access-key").unwrap();
    assert!(function.env.contains(&("IAM_USER_TAG".to_owned(), "rotor-managed=ci keys".to_owned())));
    let role = rotor.resource("IamAccessKeyRole");
    let iam: Vec<Value> =
        statements(&role).into_iter().filter(|s| strings(&s["Action"]).iter().any(|a| a.starts_with("iam:"))).collect();
    let denies: Vec<&Value> = iam.iter().filter(|s| s["Effect"] == "Deny").collect();
    assert_eq!(denies.len(), 1, "{iam:?}");
    let deny = denies[0];
    assert_eq!(deny["Condition"], json!({"StringNotEquals": {"iam:ResourceTag/rotor-managed": "ci keys"}}));
    assert_eq!(strings(&deny["Resource"]), [format!("arn:aws:iam::{ACCOUNT}:user/*")]);
    let denied = strings(&deny["Action"]);
    for allowed in iam.iter().filter(|s| s["Effect"] == "Allow") {
        for action in strings(&allowed["Action"]) {
            assert!(denied.contains(&action), "{action} is denied on a user without the tag too");
        }
    }

    // The parameters refuse the path of every user without a tag, at deployment (the function at cold start).
    let rule = &rotor.template["Rules"]["IamUserPathNarrowedByATag"]["Assertions"][0]["Assert"];
    assert_eq!(rotor.eval(rule), json!(true));
    for (path, tag, allowed) in [("/", "none", false), ("/rotor/", "none", true), ("/", "team=ci", true)] {
        let stack = Stack::new("template.yaml", "rotor", &[("IamUserPath", json!(path)), ("IamUserTag", json!(tag))]);
        assert_eq!(stack.eval(rule), json!(allowed), "{path} {tag}");
    }
    let pattern = text(&rotor.template["Parameters"]["IamUserTag"]["AllowedPattern"]);
    assert!(
        pattern.contains("[a-zA-Z0-9_.:/+@ -]") && !pattern.contains('"'),
        "key and value exclude =, quotes and backslashes: {pattern}"
    );
}

#[test]
fn no_template_or_policy_names_the_aws_partition_literally() {
    let mut files = vec![repo_root().join("template.yaml")];
    for dir in ["infra/stacks", "infra/iam"] {
        files.extend(fs::read_dir(repo_root().join(dir)).unwrap().map(|e| e.unwrap().path()));
    }
    for path in files.iter().filter(|p| p.extension().is_some_and(|e| e == "yaml" || e == "json")) {
        let body = fs::read_to_string(path).unwrap();
        assert!(
            !body.contains("arn:aws:"),
            "{} names the aws partition; use ${{AWS::Partition}} (PARTITION in infra/iam)",
            path.display()
        );
    }
}

#[test]
fn the_iam_example_stack_holds_its_key_in_the_shape_the_function_reads_and_rotates_it_there() {
    let function = "arn:aws:lambda:us-east-1:123456789012:function:rotor-rotate-iam-access-key";
    let stack = Stack::new(
        "infra/stacks/iam-access-key.yaml",
        "ci",
        &[("IamAccessKeyFunctionArn", json!(function)), ("IamUserPath", json!("/rotor/"))],
    );
    assert_eq!(stack.resource("CiUser")["Path"], "/rotor/", "the user sits under the function's path");
    let secret = stack.resource("CiUserSecret");
    let value = rotation_core::Secret::parse("ci", secret["SecretString"].as_str().unwrap());
    let key = rotation_iam::KeySecret::parse(&value).unwrap();
    assert_eq!(key.user_name, "ref:CiUser");
    assert_eq!(key.access_key_id, "ref:CiUserKey");
    assert_eq!(key.secret_access_key(), "getatt:CiUserKey.SecretAccessKey");
    assert_eq!(secret["Tags"], json!([{"Key": "rotor:function", "Value": "iam-access-key"}]));
    let schedule = stack.resource("CiUserRotation");
    assert_eq!((&schedule["SecretId"], &schedule["RotationLambdaARN"]), (&json!("ref:CiUserSecret"), &json!(function)));
}

/// IAM's `StringLike`: `*` any run of characters, `?` one.
fn string_like(pattern: &str, value: &str) -> bool {
    match pattern.chars().next() {
        None => value.is_empty(),
        Some('*') => {
            (0..=value.len()).filter(|i| value.is_char_boundary(*i)).any(|i| string_like(&pattern[1..], &value[i..]))
        }
        Some('?') => value.chars().next().is_some_and(|v| string_like(&pattern[1..], &value[v.len_utf8()..])),
        Some(c) => value.starts_with(c) && string_like(&pattern[c.len_utf8()..], &value[c.len_utf8()..]),
    }
}

/// Whether the tag guard SCP denies `principal` the `action` on `resource` with a tag `key` (the placeholders of
/// the document filled in: partition `aws`, account `1`, admin role `admins`, stack `rotor`).
fn tag_guard_denies(action: &str, resource: &str, principal: &str, key: &str) -> bool {
    let body = fs::read_to_string(repo_root().join("infra/iam/protect-rotor-tag-scp.json")).unwrap();
    let body = body
        .replace("PARTITION", "aws")
        .replace("ACCOUNT", "1")
        .replace("ROTOR_ADMIN_ROLE", "admins")
        .replace("ROTOR_STACK", "rotor");
    let policy: Value = serde_json::from_str(&body).unwrap();
    let strings = |v: &Value| -> Vec<String> {
        match v {
            Value::String(s) => vec![s.clone()],
            Value::Array(a) => a.iter().map(|x| x.as_str().unwrap().to_owned()).collect(),
            _ => Vec::new(),
        }
    };
    policy["Statement"].as_array().unwrap().iter().any(|statement| {
        assert_eq!(statement["Effect"], "Deny");
        let acts = strings(&statement["Action"]).iter().any(|a| a == action);
        let on = match (&statement["Resource"], &statement["NotResource"]) {
            (Value::Null, not) => !strings(not).iter().any(|p| string_like(p, resource)),
            (only, _) => strings(only).iter().any(|p| string_like(p, resource)),
        };
        let condition = &statement["Condition"];
        let tagged = strings(&condition["ForAnyValue:StringLike"]["aws:TagKeys"]).iter().any(|p| string_like(p, key));
        let exempt = strings(&condition["ArnNotLike"]["aws:PrincipalArn"]).iter().any(|p| string_like(p, principal));
        acts && on && tagged && !exempt && condition["ArnLike"].is_null()
    })
}

#[test]
fn the_tag_guard_denies_every_rotor_tag_to_all_but_the_admins() {
    let (admin, someone) = ("arn:aws:iam::1:role/admins", "arn:aws:iam::1:role/app-team");
    let function = "arn:aws:iam::1:role/rotor-PostgresRole-AbC123";
    let secret = "arn:aws:secretsmanager:us-east-1:1:secret:db-AbCdEf";
    let (parameter, companion) = (
        "arn:aws:ssm:us-east-1:1:parameter/rotor/prod/db",
        "arn:aws:ssm:us-east-1:1:parameter/rotor/prod/db.rotor-pending",
    );
    for key in ["rotor:function", "rotor:password-preset", "rotor:exclude-characters", "rotor:strategy", "rotor:user"] {
        for (action, resource) in [
            ("secretsmanager:TagResource", secret),
            ("secretsmanager:UntagResource", secret),
            ("secretsmanager:CreateSecret", secret),
            ("ssm:AddTagsToResource", parameter),
            ("ssm:RemoveTagsFromResource", parameter),
            ("ssm:PutParameter", parameter),
            ("ssm:AddTagsToResource", companion),
            ("ssm:PutParameter", companion),
        ] {
            assert!(tag_guard_denies(action, resource, someone, key), "{action} {key} on {resource} by someone");
            assert!(!tag_guard_denies(action, resource, admin, key), "{action} {key} on {resource} by the admins");
        }
        // rotor's own functions tag the companions they create, and nothing else.
        for action in ["ssm:PutParameter", "ssm:AddTagsToResource"] {
            assert!(!tag_guard_denies(action, companion, function, key), "{action} of a companion by a function");
            assert!(tag_guard_denies(action, parameter, function, key), "{action} of a parameter by a function");
        }
        assert!(tag_guard_denies("ssm:RemoveTagsFromResource", companion, function, key));
        assert!(tag_guard_denies("secretsmanager:TagResource", secret, function, key));
    }
    for key in ["team", "rotorx"] {
        assert!(!tag_guard_denies("secretsmanager:TagResource", secret, someone, key), "other tags stay free");
    }
}

/// The example stack at `path`, named `example`, with placeholder network parameters and its function
/// parameters given the values of the `rotor` deployment's outputs they are named after.
fn example_stack(path: &str, example: &str, rotor: &Stack) -> Stack {
    let mut chosen: Vec<(&str, Value)> = vec![
        ("VpcId", json!("vpc-1")),
        ("SubnetIds", json!(["subnet-1", "subnet-2"])),
        ("FunctionSecurityGroupId", json!("sg-1")),
        ("RotorFunctionRoleArns", json!(["role-1", "role-2"])),
        ("AppUserCreated", json!("true")),
    ];
    let raw = decode(path);
    let mut outputs = Vec::new();
    for key in raw["Parameters"].as_object().unwrap().keys().filter(|k| k.ends_with("FunctionArn")) {
        let output = &rotor.template["Outputs"][key];
        assert!(!output.is_null(), "{path}: parameter {key} is not an output of template.yaml");
        outputs.push((key.clone(), rotor.eval(&output["Value"])));
    }
    chosen.extend(outputs.iter().map(|(k, v)| (k.as_str(), v.clone())));
    Stack::new(path, example, &chosen)
}

/// Runs the example stack's wiring: the scheduled secrets, in the shape the stack creates them (the generated
/// password, then the connection fields the `SecretTargetAttachment` adds), each through the createSecret of the
/// function its schedule names, configured as `template.yaml` deploys it with the `AdminSecretArns` (and, for a
/// DocumentDB cluster, the `DocumentDbClusterArns`) the stack's description asks for. The database is the test
/// server: the master user is created as RDS would, the application user as the stack's instructions say.
async fn check_stack(path: &str, engine: &str, host_port: u16, ca: &str) {
    let example = format!("example-{engine}");
    let admin_pattern = format!("arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:{example}-master-??????");
    let cluster_pattern = format!("arn:aws:rds:{REGION}:{ACCOUNT}:cluster:{example}-database");
    let mut rotor = Stack::new(
        "template.yaml",
        "rotor",
        &[
            ("AdminSecretArns", json!([admin_pattern])),
            ("DocumentDbClusterArns", json!([cluster_pattern])),
            ("TlsCaBundle", json!(ca)),
        ],
    );
    let functions = deployed_functions(&mut rotor);
    let mut stack = example_stack(path, &example, &rotor);
    stack.attrs.insert("Database.Endpoint.Address".into(), json!("127.0.0.1"));
    stack.attrs.insert("Database.Endpoint.Port".into(), json!(host_port.to_string()));
    // A DocumentDB cluster names its endpoint's parts as attributes of their own.
    stack.attrs.insert("Database.Endpoint".into(), json!("127.0.0.1"));
    stack.attrs.insert("Database.Port".into(), json!(host_port.to_string()));

    let mut h = Harness::start(vec![]).await;
    let created = create_stack_secrets(&h, &mut stack, engine, host_port, path).await;
    check_schedules(&mut h, &stack, &functions, &created, path).await;
}

/// Creates the stack's secrets on the harness's endpoint, each after those it names, in the shape the stack gives
/// them (the generated password, then the connection fields a `SecretTargetAttachment` adds), and, on MariaDB, their
/// users as the stack's instructions say. Each secret's ARN becomes what its logical id answers to `Ref`.
async fn create_stack_secrets(
    h: &Harness,
    stack: &mut Stack,
    engine: &str,
    host_port: u16,
    path: &str,
) -> Vec<(String, Value)> {
    let example = format!("example-{engine}");
    // The secrets, each after those it names.
    let mut pending: Vec<String> =
        stack.resources("AWS::SecretsManager::Secret").into_iter().map(|(id, _)| id).collect();
    let mut created: Vec<(String, Value)> = Vec::new();
    while !pending.is_empty() {
        let raw_text = |id: &str| stack.template["Resources"][id].to_string();
        let ready = pending
            .iter()
            .position(|id| {
                pending.iter().all(|other| {
                    other == id
                        || !raw_text(id).contains(&format!("\"{other}\""))
                            && !raw_text(id).contains(&format!("${{{other}}}"))
                })
            })
            .expect("secrets name each other in a cycle");
        let id = pending.remove(ready);
        let properties = stack.resource(&id);
        let mut value: Value = match properties.get("SecretString") {
            Some(s) => serde_json::from_str(s.as_str().unwrap()).unwrap(),
            None => {
                let generate = &properties["GenerateSecretString"];
                let mut value: Value =
                    serde_json::from_str(generate["SecretStringTemplate"].as_str().unwrap()).unwrap();
                let length: usize = text(&generate["PasswordLength"]).parse().unwrap();
                let password: String = uuid::Uuid::new_v4().simple().to_string().chars().cycle().take(length).collect();
                value[text(&generate["GenerateStringKey"])] = json!(password);
                value
            }
        };
        assert!(value.get("password").is_some(), "{id} has a password");
        let name = properties.get("Name").map(text).unwrap_or_else(|| format!("{example}-{id}"));
        let mut request = h.client.create_secret().name(&name).secret_string(value.to_string());
        for tag in properties["Tags"].as_array().into_iter().flatten() {
            request = request.tags(Tag::builder().key(text(&tag["Key"])).value(text(&tag["Value"])).build());
        }
        let arn = request.send().await.unwrap().arn().unwrap().to_owned();
        stack.attrs.insert(id.clone(), json!(arn));
        // The attachment adds the instance's connection fields, as Secrets Manager does.
        for (_, attachment) in stack.resources("AWS::SecretsManager::SecretTargetAttachment") {
            if attachment["SecretId"] == json!(arn) {
                value["host"] = json!("127.0.0.1");
                value["port"] = json!(host_port);
                // What Secrets Manager adds for each kind of target: an RDS instance names its engine and
                // identifier; a Redshift cluster is always `redshift`, and a DocumentDB cluster `mongo`, each with
                // its cluster identifier.
                match attachment["TargetType"].as_str() {
                    Some("AWS::RDS::DBInstance") => {
                        value["engine"] = stack.resource("Database")["Engine"].clone();
                        value["dbInstanceIdentifier"] = json!(format!("{example}-database"));
                    }
                    Some("AWS::Redshift::Cluster") => {
                        value["engine"] = json!("redshift");
                        value["dbClusterIdentifier"] = json!(format!("{example}-database"));
                    }
                    Some("AWS::DocDB::DBCluster") => {
                        value["engine"] = json!("mongo");
                        value["dbClusterIdentifier"] = json!(format!("{example}-database"));
                    }
                    other => panic!("{path}: an attachment to {other:?}"),
                }
                h.client.put_secret_value().secret_id(&arn).secret_string(value.to_string()).send().await.unwrap();
            }
        }
        created.push((id, value));
    }
    if engine == "mysql" {
        let root = MariaDbServer::get().await;
        let mut root = root.root().await;
        for (id, value) in &created {
            let user = literal(value["username"].as_str().unwrap());
            let password = value["password"].as_str().unwrap();
            root.query_drop(format!("DROP USER IF EXISTS {user}@'%'")).await.unwrap();
            root.query_drop(format!("CREATE USER {user}@'%' {}", identified(password))).await.unwrap();
            if id == "MasterSecret" {
                root.query_drop(format!("GRANT ALL PRIVILEGES ON *.* TO {user}@'%' WITH GRANT OPTION")).await.unwrap();
            }
        }
    }
    created
}

/// Each rotation schedule of the stack names a function of rotor whose role opens its secret (the `rotor:function`
/// tag) and whose createSecret, configured as deployed, takes the secret as created.
async fn check_schedules(
    h: &mut Harness,
    stack: &Stack,
    functions: &[Deployed],
    created: &[(String, Value)],
    path: &str,
) {
    let schedules = stack.resources("AWS::SecretsManager::RotationSchedule");
    assert_eq!(schedules.len(), created.len(), "{path}: every secret is scheduled");
    for (id, schedule) in schedules {
        let secret = text(&schedule["SecretId"]);
        let (secret_id, value) = created
            .iter()
            .find(|(sid, _)| stack.attrs[sid] == json!(secret))
            .expect("the schedule names a secret of the stack");
        let lambda = text(&schedule["RotationLambdaARN"]);
        let f = functions
            .iter()
            .find(|f| f.arn == lambda)
            .unwrap_or_else(|| panic!("{id}: {lambda} is no function of template.yaml"));
        let tags = &stack.resource(secret_id)["Tags"];
        assert!(
            tags.as_array().unwrap().iter().any(|t| t["Key"] == "rotor:function" && t["Value"] == f.tag),
            "{id}: {secret_id} is tagged for {}, whose role would not open it otherwise",
            f.binary
        );
        if !h.dir.path().join(format!("{}.log", f.binary)).exists() {
            h.start_function(Function { name: Box::leak(f.binary.clone().into_boxed_str()), env: f.env.clone() });
        }
        // The service's side of a rotation (AWSPENDING on a value-less version) without running the other steps,
        // which would change the shared test server's superuser: a rotation on an undeployed function.
        let token = h.rotate(&secret, "rotate-not-deployed").await;
        assert_eq!(h.wait_rotation(&secret).await["state"], "failed");
        let event = json!({"Step": "createSecret", "SecretId": secret, "ClientRequestToken": token});
        if let Err((kind, message)) = h.invoke(&f.binary, &event).await {
            panic!("{path}: {secret_id}'s createSecret on {} failed: {kind}: {message}\n{}", f.binary, h.all_logs());
        }
        let pending: Value = serde_json::from_str(&h.value(&secret, "AWSPENDING").await).unwrap();
        let user = value["username"].as_str().unwrap();
        let expected = if f.binary.ends_with("-alternating") { format!("{user}_clone") } else { user.to_owned() };
        assert_eq!(pending["username"], expected, "{path}: {secret_id} on {}", f.binary);
        assert_ne!(pending["password"], value["password"]);
    }
}

#[tokio::test]
async fn the_postgres_example_stack_schedules_each_secret_on_a_function_whose_create_secret_takes_it() {
    let db = PgServer::get();
    check_stack("infra/stacks/postgres-rds.yaml", "postgres", db.port, &db.ca().display().to_string()).await;
}

#[tokio::test]
async fn the_redshift_example_stack_schedules_each_secret_on_a_function_whose_create_secret_takes_it() {
    let db = PgServer::redshift_stand_in();
    check_stack("infra/stacks/redshift.yaml", "redshift", db.port, &db.ca().display().to_string()).await;
}

#[tokio::test]
async fn the_mysql_example_stack_schedules_each_secret_on_a_function_whose_create_secret_takes_it() {
    let db = MariaDbServer::get().await;
    check_stack("infra/stacks/mysql-rds.yaml", "mysql", db.port, &db.ca().display().to_string()).await;
}

/// The CDK construct library's example app (`infra/cdk/bin/example.ts`: rotor, a PostgreSQL master secret rotated
/// single-user, an application user rotated as alternating users with the master as admin), synthesized by the
/// construct against the test server, with the workspace's own binaries as the functions' code: the roles it
/// deploys open secrets only by their tag and rotation function and read only the admin secret the one-liner pinned,
/// CDK adds no grant of its own, and each schedule's function takes its secret at createSecret.
#[tokio::test]
async fn the_cdk_example_app_binds_each_secret_to_a_function_whose_role_opens_it_and_whose_create_secret_takes_it() {
    let db = PgServer::get();
    let cdk = repo_root().join("infra/cdk");
    let app = cdk.join("dist/bin/example.js");
    assert!(app.exists(), "{} is not built: make test (or make cdk) compiles the construct library", app.display());
    let work = tempfile::tempdir().unwrap();
    let code = work.path().join("code");
    let template = decode("template.yaml");
    for (_, resource) in template["Resources"].as_object().unwrap() {
        if resource["Type"] == "AWS::Serverless::Function" {
            let binary = text(&resource["Metadata"]["BuildProperties"]["Binary"]);
            fs::create_dir_all(code.join(&binary)).unwrap();
            std::os::unix::fs::symlink(crate::harness::binary(&binary), code.join(&binary).join("bootstrap")).unwrap();
        }
    }
    let out = work.path().join("cdk.out");
    let context = json!({
        "codeDir": code, "dbHost": "127.0.0.1", "dbPort": db.port.to_string(), "tlsCaBundle": db.ca(),
        "aws:cdk:disable-asset-staging": true,
    });
    let synth = Command::new("node")
        .arg(&app)
        .current_dir(&cdk)
        .env("CDK_OUTDIR", &out)
        .env("CDK_CONTEXT_JSON", context.to_string())
        .output()
        .expect("node runs (Debian's nodejs)");
    assert!(synth.status.success(), "cdk synth: {}", String::from_utf8_lossy(&synth.stderr));
    // The cloud assembly `cdk deploy` reads names the app's stack and nothing else the construct made.
    let manifest: Value = serde_json::from_str(&fs::read_to_string(out.join("manifest.json")).unwrap()).unwrap();
    let stacks: Vec<&String> = manifest["artifacts"]
        .as_object()
        .unwrap()
        .iter()
        .filter(|(_, a)| a["type"] == "aws:cloudformation:stack")
        .map(|(name, _)| name)
        .collect();
    assert_eq!(stacks, ["RotorExample"], "the assembly's stacks");
    let path = out.join("RotorExample.template.json").display().to_string();
    let mut stack = Stack::new(&path, "RotorExample", &[]);

    let mut h = Harness::start(vec![]).await;
    let created = create_stack_secrets(&h, &mut stack, "postgres", db.port, &path).await;
    let functions = deployed_functions(&mut stack);
    let master = stack.attrs.iter().find(|(k, _)| k.starts_with("MasterSecret")).map(|(_, v)| text(v)).unwrap();
    let secrets = format!("arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:*");
    assert!(stack.resources("AWS::IAM::Policy").is_empty(), "CDK grants no role a secret by name");
    for f in &functions {
        let role_id = text(&stack.resource(&f.logical)["Role"]);
        let role = stack.resource(role_id.strip_prefix("getatt:").unwrap().strip_suffix(".Arn").unwrap());
        let mut rotates = 0;
        for statement in statements(&role) {
            let actions = strings(&statement["Action"]);
            if !actions.iter().any(|a| a.starts_with("secretsmanager:") && a != "secretsmanager:GetRandomPassword") {
                continue;
            }
            if strings(&statement["Resource"]) == [secrets.clone()] {
                rotates += 1;
                assert_opens_only_its_own_secrets(f, &statement);
            } else {
                assert_eq!(
                    strings(&statement["Resource"]),
                    std::slice::from_ref(&master),
                    "{}: reads only the pinned admin",
                    f.binary
                );
                assert_eq!(statement["Sid"], "ReadAdminSecrets", "{}", f.binary);
            }
        }
        assert_eq!(rotates, 1, "{}: one statement rotates secrets", f.binary);
    }
    let alternating = functions.iter().find(|f| f.binary == "rotate-postgres-alternating").expect("deployed");
    assert!(alternating.env.iter().any(|(k, v)| k == "ADMIN_SECRET_ARNS" && *v == master));
    check_schedules(&mut h, &stack, &functions, &created, &path).await;
}

/// The DocumentDB example stack's wiring, read from the templates alone (no MongoDB-wire server here yet to run
/// [`check_stack`] against): rotor deployed with the `AdminSecretArns` and `DocumentDbClusterArns` the stack's
/// description asks for reaches the stack's cluster and master secret, and each secret is scheduled on the function
/// its tag lets open it.
#[test]
fn the_documentdb_example_stack_rotates_its_master_through_the_rds_api_and_its_user_with_the_master_as_admin() {
    let path = "infra/stacks/documentdb.yaml";
    let example = "example-documentdb";
    let admin_pattern = format!("arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:{example}-master-??????");
    let cluster_pattern = format!("arn:aws:rds:{REGION}:{ACCOUNT}:cluster:{example}-database");
    let description = text(&decode(path)["Description"]);
    assert!(description.contains("secret:<this stack's name>-master-??????"), "{description}");
    assert!(description.contains("cluster:<this stack's name>-database"), "{description}");
    let mut rotor = Stack::new(
        "template.yaml",
        "rotor",
        &[("AdminSecretArns", json!([admin_pattern])), ("DocumentDbClusterArns", json!([cluster_pattern]))],
    );
    let functions = deployed_functions(&mut rotor);
    let mut stack = example_stack(path, example, &rotor);
    // What CloudFormation answers: a secret's ARN (its name and six characters), a DocumentDB cluster's identifier
    // and endpoint.
    let master_arn = format!("arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:{example}-master-AbCdEf");
    let app_arn = format!("arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:{example}-AppUserSecret-GhIjKl");
    let host = format!("{example}-database.cluster-c0ffee.{REGION}.docdb.amazonaws.com");
    stack.attrs.insert("MasterSecret".into(), json!(master_arn));
    stack.attrs.insert("AppUserSecret".into(), json!(app_arn));
    stack.attrs.insert("Database.Endpoint".into(), json!(host));
    stack.attrs.insert("Database.Port".into(), json!("27017"));
    let cluster = stack.resource("Database");
    let identifier = text(&cluster["DBClusterIdentifier"]);
    stack.attrs.insert("Database".into(), json!(identifier));
    let cluster = stack.resource("Database");
    let cluster_arn = format!("arn:aws:rds:{REGION}:{ACCOUNT}:cluster:{identifier}");

    // The master: AWS's MongoDB shape, its password generated in what DocumentDB takes, the cluster's master.
    let master = stack.resource("MasterSecret");
    assert_eq!(master["Name"], format!("{example}-master"), "a name AdminSecretArns can pin before it exists");
    assert!(string_like(&admin_pattern, &master_arn), "the ARN Secrets Manager gives that name is pinned");
    let generate = &master["GenerateSecretString"];
    let shape: Value = serde_json::from_str(generate["SecretStringTemplate"].as_str().unwrap()).unwrap();
    assert_eq!(
        (&shape["engine"], &shape["port"], &shape["dbname"], &shape["ssl"]),
        (&json!("mongo"), &json!(27017), &json!("admin"), &json!(true))
    );
    assert_ne!(shape["username"], "admin", "DocumentDB reserves the name admin");
    assert_eq!(generate["GenerateStringKey"], "password");
    let excluded = text(&generate["ExcludeCharacters"]);
    assert!(
        ['/', '"', '@'].iter().all(|c| excluded.contains(*c)),
        "DocumentDB refuses / \" @ in a password: {excluded}"
    );
    let length: usize = text(&generate["PasswordLength"]).parse().unwrap();
    assert!((8..=100).contains(&length), "DocumentDB takes 8 to 100 characters");
    assert_eq!(cluster["MasterUsername"], format!("{{{{resolve:secretsmanager:{master_arn}:SecretString:username}}}}"));
    assert_eq!(
        cluster["MasterUserPassword"],
        format!("{{{{resolve:secretsmanager:{master_arn}:SecretString:password}}}}")
    );
    let attachments = stack.resources("AWS::SecretsManager::SecretTargetAttachment");
    assert_eq!(attachments.len(), 1);
    let attachment = &attachments[0].1;
    assert_eq!(
        (&attachment["SecretId"], &attachment["TargetId"], &attachment["TargetType"]),
        (&json!(master_arn), &json!(identifier), &json!("AWS::DocDB::DBCluster"))
    );

    // The application user: its master is the admin secret rotor pins, on the cluster's endpoint.
    let app = stack.resource("AppUserSecret");
    let generate = &app["GenerateSecretString"];
    let user: Value = serde_json::from_str(generate["SecretStringTemplate"].as_str().unwrap()).unwrap();
    assert_eq!(
        user,
        json!({"engine": "mongo", "host": host, "port": 27017, "username": "app", "dbname": "admin", "masterarn": master_arn, "ssl": true})
    );

    // Each schedule: the function named, deployed, whose tag the secret carries and whose pins reach it.
    let schedules = stack.resources("AWS::SecretsManager::RotationSchedule");
    assert_eq!(schedules.len(), 2, "every secret is scheduled");
    let mut rotated = Vec::new();
    for (id, schedule) in schedules {
        let lambda = text(&schedule["RotationLambdaARN"]);
        let f = functions.iter().find(|f| f.arn == lambda).unwrap_or_else(|| panic!("{id}: {lambda} is no function"));
        let secret = text(&schedule["SecretId"]);
        let secret_id = if secret == master_arn { "MasterSecret" } else { "AppUserSecret" };
        assert!(
            stack.resource(secret_id)["Tags"]
                .as_array()
                .unwrap()
                .iter()
                .any(|t| t["Key"] == "rotor:function" && t["Value"] == f.tag),
            "{id}: {secret_id} is tagged for {}",
            f.binary
        );
        let role_id = text(&rotor.resource(&f.logical)["Role"]).replace("getatt:", "").replace(".Arn", "");
        let role = statements(&rotor.resource(&role_id));
        let pinned = |variable: &str| {
            let value =
                &f.env.iter().find(|(k, _)| k == variable).unwrap_or_else(|| panic!("{}: {variable}", f.binary)).1;
            value.split(',').map(str::to_owned).collect::<Vec<_>>()
        };
        match f.binary.as_str() {
            "rotate-documentdb-admin" => {
                assert!(pinned("DOCDB_CLUSTER_ARNS").iter().any(|p| string_like(p, &cluster_arn)), "{cluster_arn}");
                let modify = role.iter().find(|s| strings(&s["Action"]).contains(&"rds:ModifyDBCluster".to_owned()));
                let resources = strings(&modify.expect("the role changes the cluster")["Resource"]);
                assert!(resources.iter().any(|p| string_like(p, &cluster_arn)), "{resources:?}");
            }
            "rotate-mongodb-alternating" => {
                assert!(pinned("ADMIN_SECRET_ARNS").iter().any(|p| string_like(p, &master_arn)));
                let read = role.iter().find(|s| s["Sid"] == "ReadAdminSecrets").expect("the role reads its admin");
                assert!(strings(&read["Resource"]).iter().any(|p| string_like(p, &master_arn)));
            }
            other => panic!("{id}: {other} rotates no secret of this stack"),
        }
        rotated.push((secret_id, f.binary.clone()));
    }
    rotated.sort();
    assert_eq!(
        rotated,
        [
            ("AppUserSecret", "rotate-mongodb-alternating".to_owned()),
            ("MasterSecret", "rotate-documentdb-admin".to_owned())
        ]
    );

    // TLS on the functions' side and on the cluster's; only the functions reach it, on its port.
    let parameters = stack.resource("DatabaseParameters");
    assert_eq!(parameters["Parameters"]["tls"], "enabled");
    assert_eq!(cluster["DBClusterParameterGroupName"], "ref:DatabaseParameters");
    let ingress = &stack.resource("DatabaseSecurityGroup")["SecurityGroupIngress"];
    assert_eq!(ingress.as_array().unwrap().len(), 1);
    assert_eq!((&ingress[0]["FromPort"], &ingress[0]["ToPort"]), (&cluster["Port"], &cluster["Port"]));
    assert_eq!(ingress[0]["SourceSecurityGroupId"], "sg-1");
    let admin = functions.iter().find(|f| f.binary == "rotate-documentdb-admin").unwrap();
    assert!(admin.env.contains(&("TLS_MODE".to_owned(), "verify-full".to_owned())));
    // The master rotates through the RDS API, from inside the VPC.
    let endpoints: Vec<String> =
        stack.resources("AWS::EC2::VPCEndpoint").iter().map(|(_, e)| text(&e["ServiceName"])).collect();
    assert_eq!(endpoints, [format!("com.amazonaws.{REGION}.rds"), format!("com.amazonaws.{REGION}.secretsmanager")]);
}

#[test]
fn parameters_are_rotated_only_under_the_path_and_a_schedule_may_only_invoke_its_function() {
    let kms = "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab";
    let admin = "arn:aws:secretsmanager:us-east-1:123456789012:secret:db-master-??????";
    let mut rotor = Stack::new(
        "template.yaml",
        "rotor",
        &[
            ("RotatedParameterPath", json!("/rotor/prod/")),
            ("KmsKeyArn", json!(kms)),
            ("AdminSecretArns", json!([admin])),
            ("ElastiCacheUserArns", json!(["arn:aws:elasticache:us-east-1:123456789012:user:app-*"])),
            ("ElastiCacheReplicationGroupArns", json!([CACHE_GROUPS])),
            ("RedshiftClusterArns", json!([REDSHIFT_CLUSTERS])),
            ("RedshiftNamespaceArns", json!([REDSHIFT_NAMESPACES])),
            ("DocumentDbClusterArns", json!([DOCDB_CLUSTERS])),
        ],
    );
    let functions = deployed_functions(&mut rotor);
    let policies = rotor.resources("AWS::IAM::ManagedPolicy");
    assert_eq!(policies.len(), 1);
    let policy = &policies[0].1;
    let mut roles: Vec<String> = strings(&policy["Roles"]);
    roles.sort();
    let mut function_roles: Vec<String> = functions
        .iter()
        .map(|f| text(&rotor.resource(&f.logical)["Role"]).replace("getatt:", "ref:").replace(".Arn", ""))
        .collect();
    function_roles.sort();
    assert_eq!(roles, function_roles, "every function may rotate parameters under the path");
    let granted = policy["PolicyDocument"]["Statement"].as_array().unwrap();
    for statement in granted {
        let actions = strings(&statement["Action"]);
        let resources = strings(&statement["Resource"]);
        if actions.iter().any(|a| a.starts_with("kms:")) {
            assert_eq!(resources, [kms]);
            assert_eq!(statement["Condition"]["StringEquals"]["kms:ViaService"], "ssm.us-east-1.amazonaws.com");
        } else {
            assert_eq!(actions, ["ssm:DescribeParameters"], "the only action every role shares on parameters");
        }
    }
    assert_eq!(granted.len(), 2);
    // A parameter is bound to its function as a secret is: each role opens only the parameters tagged with its
    // function's value (the one the function reads from ROTOR_FUNCTION), and creates only companions tagged so.
    let parameters = "arn:aws:ssm:us-east-1:123456789012:parameter/rotor/prod/*";
    for f in &functions {
        assert!(f.env.iter().any(|(k, v)| k == "ROTOR_FUNCTION" && *v == f.tag), "{}", f.binary);
        let role =
            rotor.resource(&text(&rotor.resource(&f.logical)["Role"]).replace("getatt:", "").replace(".Arn", ""));
        let parameter_statements: Vec<Value> = statements(&role)
            .into_iter()
            .filter(|s| strings(&s["Action"]).iter().any(|a| a.starts_with("ssm:")))
            .collect();
        assert_eq!(parameter_statements.len(), 3, "{}", f.binary);
        for statement in parameter_statements {
            let resources = strings(&statement["Resource"]);
            if statement["Sid"] == "FindUntaggedCompanions" {
                // A companion not yet created has no tag: reading it (absent, or an untagged one the function then
                // refuses) needs no tag, and opens no companion another function created.
                assert_eq!(resources, [format!("{parameters}.rotor-pending")], "{}", f.binary);
                assert_eq!(
                    strings(&statement["Action"]),
                    ["ssm:GetParameter", "ssm:GetParameters", "ssm:ListTagsForResource"]
                );
                assert_eq!(statement["Condition"], json!({"Null": {"ssm:resourceTag/rotor:function": "true"}}));
            } else if resources == [parameters] {
                assert_eq!(
                    statement["Condition"],
                    json!({"StringEquals": {"ssm:resourceTag/rotor:function": f.tag}}),
                    "{}: only its own parameters, and no weaker condition",
                    f.binary
                );
            } else {
                assert_eq!(resources, [format!("{parameters}.rotor-pending")], "{}", f.binary);
                assert_eq!(strings(&statement["Action"]), ["ssm:PutParameter", "ssm:AddTagsToResource"]);
                assert_eq!(
                    statement["Condition"],
                    json!({
                        "StringEquals": {"aws:RequestTag/rotor:function": f.tag},
                        "ForAllValues:StringEquals": {"aws:TagKeys": ["rotor:function"]},
                        "Null": {"ssm:resourceTag/rotor:function": "true"},
                    }),
                    "{}: a companion is created only tagged for this function, and no parameter is retagged",
                    f.binary
                );
            }
        }
    }
    let plain = Stack::new("template.yaml", "rotor", &[]);
    assert!(plain.resources("AWS::IAM::ManagedPolicy").is_empty(), "no parameter access without a path");
    for (_, role) in plain.resources("AWS::IAM::Role") {
        assert!(
            statements(&role).iter().all(|s| strings(&s["Action"]).iter().all(|a| !a.starts_with("ssm:"))),
            "no parameter access without a path"
        );
    }

    let stack = Stack::new(
        "infra/stacks/parameter-rotation.yaml",
        "app-db",
        &[
            ("ParameterName", json!("/rotor/prod/db/app")),
            ("FunctionArn", json!("arn:aws:lambda:us-east-1:123456789012:function:rotor-rotate-postgres")),
        ],
    );
    let schedule = stack.resource("RotationSchedule");
    let target = &schedule["Target"];
    assert_eq!(target["Arn"], "arn:aws:lambda:us-east-1:123456789012:function:rotor-rotate-postgres");
    let input: Value = serde_json::from_str(target["Input"].as_str().unwrap()).unwrap();
    assert_eq!(input, json!({"ParameterName": "/rotor/prod/db/app", "RotationId": "<aws.scheduler.scheduled-time>"}));
    // What the scheduler sends once it replaced its context attribute: an event the functions take.
    let sent = target["Input"].as_str().unwrap().replace("<aws.scheduler.scheduled-time>", "2026-11-25T06:00:00Z");
    let event = rotation_core::ParameterEvent::from_value(&serde_json::from_str(&sent).unwrap()).unwrap();
    assert_eq!(event.label(), "rotation-2026-11-25T06-00-00Z", "a label Parameter Store takes");
    assert_eq!(schedule["FlexibleTimeWindow"]["Mode"], "FLEXIBLE");
    assert!(target["RetryPolicy"]["MaximumRetryAttempts"].as_u64().unwrap() > 0);
    assert_eq!(target["DeadLetterConfig"]["Arn"], "getatt:DeadLetterQueue.Arn");
    let role = stack.resource("SchedulerRole");
    let granted: Vec<(Vec<String>, Vec<String>)> =
        statements(&role).iter().map(|s| (strings(&s["Action"]), strings(&s["Resource"]))).collect();
    assert_eq!(
        granted,
        [
            (
                vec!["lambda:InvokeFunction".to_owned()],
                vec!["arn:aws:lambda:us-east-1:123456789012:function:rotor-rotate-postgres".to_owned()]
            ),
            (vec!["sqs:SendMessage".to_owned()], vec!["getatt:DeadLetterQueue.Arn".to_owned()]),
        ],
        "the scheduler may invoke its function and write dead letters, nothing else"
    );
}

#[tokio::test]
async fn the_alarms_and_the_dashboard_watch_what_a_function_emits_and_every_alert_reaches_the_topic() {
    let admin = "arn:aws:secretsmanager:us-east-1:123456789012:secret:db-master-??????";
    let mut rotor = Stack::new(
        "template.yaml",
        "rotor",
        &[
            ("CreateAlertTopic", json!("true")),
            ("AdminSecretArns", json!([admin])),
            ("ElastiCacheUserArns", json!(["arn:aws:elasticache:us-east-1:123456789012:user:app-*"])),
            ("ElastiCacheReplicationGroupArns", json!([CACHE_GROUPS])),
            ("RedshiftClusterArns", json!([REDSHIFT_CLUSTERS])),
            ("RedshiftNamespaceArns", json!([REDSHIFT_NAMESPACES])),
            ("DocumentDbClusterArns", json!([DOCDB_CLUSTERS])),
            ("LdapUserBaseDn", json!("ou=people,dc=example,dc=com")),
            ("DirectoryArns", json!(["arn:aws:ds:us-east-1:123456789012:directory/d-0123456789"])),
            ("SubnetIds", json!(["subnet-1"])),
            ("IamUserPath", json!("/rotor/")),
            ("EnableConfigRules", json!("true")),
        ],
    );
    let functions = deployed_functions(&mut rotor);

    // One EMF line as rotate-custom emits it, deployed under the name the template gives it, and the log line of
    // a step that failed (a secret whose password-length tag is no number).
    let custom = functions.iter().find(|f| f.binary == "rotate-custom").unwrap();
    let deployed_name = text(&rotor.resource(&custom.logical)["FunctionName"]);
    let env = vec![("AWS_LAMBDA_FUNCTION_NAME".to_string(), deployed_name.clone())];
    let h = crate::harness::Harness::start(vec![crate::harness::Function { name: "rotate-custom", env }]).await;
    let arn = h.create_secret(&crate::harness::unique("emf"), r#"{"password":"x"}"#).await;
    h.rotate(&arn, "rotate-custom").await;
    h.wait_rotation(&arn).await;
    let log = std::fs::read_to_string(h.dir.path().join("rotate-custom.log")).unwrap();
    let line: Value = log
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .find(|l| l.get("_aws").is_some())
        .expect("the function emits EMF lines");
    let emitted = &line["_aws"]["CloudWatchMetrics"][0];
    assert_eq!(line["Function"], deployed_name.as_str());
    let broken = h
        .client
        .create_secret()
        .name(crate::harness::unique("emf-failed"))
        .secret_string(r#"{"password":"x"}"#)
        .tags(Tag::builder().key("rotor:password-length").value("many").build())
        .send()
        .await
        .unwrap()
        .arn()
        .unwrap()
        .to_owned();
    h.rotate(&broken, "rotate-custom").await;
    let failed_line = || {
        let log = std::fs::read_to_string(h.dir.path().join("rotate-custom.log")).unwrap();
        log.lines().filter_map(|l| serde_json::from_str::<Value>(l).ok()).find(|l| l["outcome"] == "failed")
    };
    let mut failed = failed_line();
    for _ in 0..100 {
        if failed.is_some() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        failed = failed_line();
    }
    let failed = failed.expect("a failed step logs outcome=failed");
    check_dashboard(&rotor, &functions, emitted, &failed);

    let alarms = rotor.resources("AWS::CloudWatch::Alarm");
    assert_eq!(alarms.len(), functions.len(), "one alarm per deployed function");
    for f in &functions {
        let id = format!("{}FailureAlarm", f.logical.strip_suffix("Function").unwrap());
        let alarm = &alarms.iter().find(|(logical, _)| *logical == id).unwrap_or_else(|| panic!("no {id}")).1;
        assert_eq!(alarm["AlarmActions"], json!(["ref:AlertTopic"]), "{id}");
        let metric = |wanted: &str| {
            alarm["Metrics"].as_array().unwrap().iter().find(|m| m["Id"] == wanted).unwrap()["MetricStat"]["Metric"]
                .clone()
        };
        let steps = metric("steps");
        assert_eq!(steps["Namespace"], emitted["Namespace"], "{id}: the namespace the functions write");
        let names: Vec<&Value> = emitted["Metrics"].as_array().unwrap().iter().map(|m| &m["Name"]).collect();
        assert!(names.contains(&&steps["MetricName"]), "{id}: a metric the functions write");
        let keys: Vec<Value> = steps["Dimensions"].as_array().unwrap().iter().map(|d| d["Name"].clone()).collect();
        assert!(emitted["Dimensions"].as_array().unwrap().contains(&json!(keys)), "{id}: a dimension set written");
        let function = text(&rotor.resource(&f.logical)["FunctionName"]);
        assert_eq!(steps["Dimensions"][0]["Value"], function.as_str(), "{id}: its own function's metric");
        assert_eq!(metric("errors")["Dimensions"][0]["Value"], format!("ref:{}", f.logical), "{id}: Lambda's Errors");
    }
    let rule = rotor.resource("RotationFailureRule");
    assert_eq!(
        rule["EventPattern"]["detail"]["eventName"],
        json!(["RotationFailed", "RotationAbandoned", "TestRotationFailed"])
    );
    assert_eq!(rule["Targets"][0]["Arn"], "ref:AlertTopic");
    let policy = rotor.resource("AlertTopicPolicy");
    let statement = &policy["PolicyDocument"]["Statement"][0];
    assert_eq!(statement["Principal"]["Service"], json!(["events.amazonaws.com", "cloudwatch.amazonaws.com"]));

    let mut quiet = Stack::new("template.yaml", "rotor", &[]);
    assert!(quiet.resources("AWS::CloudWatch::Alarm").is_empty() && quiet.resources("AWS::Events::Rule").is_empty());
    let quiet_functions = deployed_functions(&mut quiet);
    check_dashboard(&quiet, &quiet_functions, emitted, &failed);
    let given =
        Stack::new("template.yaml", "rotor", &[("AlertTopicArn", json!("arn:aws:sns:us-east-1:123456789012:ops"))]);
    for (_, alarm) in given.resources("AWS::CloudWatch::Alarm") {
        assert_eq!(alarm["AlarmActions"], json!(["arn:aws:sns:us-east-1:123456789012:ops"]));
    }
}

/// The dashboard of a stack: every rotor metric it graphs is one the functions write (namespace, name, a dimension
/// set of the EMF line), each per-function graph has exactly the deployed functions, the Logs Insights widgets read
/// exactly their log groups and fields a failed step's log line has, and the Config widget reads the log group the
/// compliance rule fills (only when the Config rules are on).
fn check_dashboard(rotor: &Stack, functions: &[Deployed], emitted: &Value, failed: &Value) {
    let body = text(&rotor.resource("RotationDashboard")["DashboardBody"]);
    let dashboard: Value = serde_json::from_str(&body).unwrap_or_else(|e| panic!("the dashboard body is JSON: {e}"));
    let widgets = dashboard["widgets"].as_array().unwrap();
    let names: Vec<String> = functions.iter().map(|f| text(&rotor.resource(&f.logical)["FunctionName"])).collect();
    let emitted_metrics: Vec<&Value> = emitted["Metrics"].as_array().unwrap().iter().map(|m| &m["Name"]).collect();
    let mut graphs = 0;
    for widget in widgets.iter().filter(|w| w["type"] == "metric") {
        let title = text(&widget["properties"]["title"]);
        let lines = widget["properties"]["metrics"].as_array().unwrap();
        let mut graphed = Vec::new();
        for line in lines {
            let parts = line.as_array().unwrap();
            let (namespace, metric) = (text(&parts[0]), &parts[1]);
            let dimensions: Vec<&Value> = parts[2..].iter().filter(|p| p.is_string()).collect();
            if namespace == "AWS/Usage" {
                assert_eq!(metric, "ThrottleCount", "{title}");
                continue;
            }
            assert_eq!(namespace, text(&emitted["Namespace"]), "{title}: rotor's namespace");
            assert!(emitted_metrics.contains(&metric), "{title}: {metric} is a metric the functions write");
            let keys: Vec<Value> = dimensions.iter().step_by(2).map(|k| (*k).clone()).collect();
            assert!(emitted["Dimensions"].as_array().unwrap().contains(&json!(keys)), "{title}: {keys:?} is written");
            let function = dimensions.iter().position(|d| *d == "Function").map(|i| text(dimensions[i + 1]));
            graphed.push(function.expect("a per-function line"));
        }
        if !graphed.is_empty() {
            graphs += 1;
            graphed.sort();
            let mut wanted = names.clone();
            wanted.sort();
            assert_eq!(graphed, wanted, "{title}: one line per deployed function, no other");
        }
    }
    assert_eq!(graphs, 5, "rotations, failed steps, p50, p99, Secrets Manager calls");
    let stats: Vec<String> = widgets.iter().map(|w| text(&w["properties"]["stat"])).collect();
    assert!(stats.contains(&"p50".into()) && stats.contains(&"p99".into()), "step durations at p50 and p99");

    let log_groups: Vec<String> = functions
        .iter()
        .map(|f| text(&rotor.resource(&format!("{}LogGroup", f.logical.trim_end_matches("Function")))["LogGroupName"]))
        .collect();
    let queries: Vec<String> =
        widgets.iter().filter(|w| w["type"] == "log").map(|w| text(&w["properties"]["query"])).collect();
    let config_on = rotor.condition("ConfigRulesOn");
    assert_eq!(queries.len(), if config_on { 3 } else { 2 }, "failures by error type, throttling, Config");
    for query in &queries {
        let sources: Vec<String> = query
            .split('|')
            .filter_map(|part| part.trim().strip_prefix("SOURCE '").and_then(|rest| rest.strip_suffix('\'')))
            .map(str::to_owned)
            .collect();
        if query.contains("configRuleName") {
            let group = text(&rotor.resource("ConfigComplianceLogGroup")["LogGroupName"]);
            assert_eq!(sources, vec![group.clone()], "the Config widget reads the compliance log group");
            let rule = rotor.resource("ConfigComplianceRule");
            assert_eq!(rule["Targets"][0]["Arn"], rotor.attribute("ConfigComplianceLogGroup.Arn"));
            assert_eq!(
                rule["EventPattern"]["detail"]["configRuleName"],
                json!(["ref:ScheduledRotationSuccessRule", "ref:PeriodicRotationRule"])
            );
            continue;
        }
        let mut sorted = sources.clone();
        sorted.sort();
        let mut wanted = log_groups.clone();
        wanted.sort();
        assert_eq!(sorted, wanted, "{query}: every deployed function's log group, no other");
        for field in ["outcome", "error_type", "target", "step", "error"] {
            if query.contains(field) {
                assert!(failed.get(field).is_some(), "a failed step's log line has `{field}` for: {query}");
            }
        }
        assert!(query.contains("outcome = \"failed\""), "{query}");
    }
    assert!(failed["outcome"] == "failed" && failed["error_type"].is_string());
}

#[test]
fn with_an_event_bus_every_function_publishes_there_and_only_rotor_events() {
    let mut rotor = Stack::new("template.yaml", "rotor", &[("RotationEventBus", json!("rotor-rotations"))]);
    let functions = deployed_functions(&mut rotor);
    for f in &functions {
        assert!(f.env.iter().any(|(k, v)| k == "ROTATION_EVENT_BUS" && v == "rotor-rotations"), "{}", f.binary);
    }
    let policies = rotor.resources("AWS::IAM::ManagedPolicy");
    let (_, policy) = policies.iter().find(|(id, _)| id == "NotificationPolicy").unwrap();
    let mut roles = strings(&policy["Roles"]);
    roles.sort();
    let mut expected: Vec<String> = functions
        .iter()
        .map(|f| text(&rotor.resource(&f.logical)["Role"]).replace("getatt:", "ref:").replace(".Arn", ""))
        .collect();
    expected.sort();
    assert_eq!(roles, expected);
    let statement = &policy["PolicyDocument"]["Statement"][0];
    assert_eq!(strings(&statement["Action"]), ["events:PutEvents"]);
    assert_eq!(strings(&statement["Resource"]), ["arn:aws:events:us-east-1:123456789012:event-bus/rotor-rotations"]);
    assert_eq!(statement["Condition"]["StringEquals"]["events:source"], rotation_core::EVENT_SOURCE);
    let mut quiet = Stack::new("template.yaml", "rotor", &[]);
    assert!(deployed_functions(&mut quiet).iter().all(|f| f.env.iter().all(|(k, _)| k != "ROTATION_EVENT_BUS")));
}

#[test]
fn the_ecs_wiring_redeploys_one_service_on_the_event_rotor_publishes_for_its_secret() {
    let secret = "arn:aws:secretsmanager:us-east-1:123456789012:secret:app-db-AbCdEf";
    let stack = Stack::new(
        "infra/stacks/ecs-redeploy-on-rotation.yaml",
        "redeploy",
        &[
            ("EventBusName", json!("rotor-rotations")),
            ("SecretArn", json!(secret)),
            ("ClusterName", json!("prod")),
            ("ServiceName", json!("app")),
        ],
    );
    let rule = stack.resource("SecretRotatedRule");
    assert_eq!(rule["EventBusName"], "rotor-rotations");
    // The event as a function publishes it (notify.rs), as EventBridge delivers it.
    let event = json!({"source": rotation_core::EVENT_SOURCE, "detail-type": rotation_core::DETAIL_TYPE, "resources": [secret]});
    let matches = |event: &Value| {
        rule["EventPattern"].as_object().unwrap().iter().all(|(key, allowed)| {
            let values = match &event[key] {
                Value::Array(items) => items.clone(),
                other => vec![other.clone()],
            };
            values.iter().any(|v| allowed.as_array().unwrap().contains(v))
        })
    };
    assert!(matches(&event), "the rule matches rotor's event for the secret");
    let mut other = event.clone();
    other["resources"] = json!(["arn:aws:secretsmanager:us-east-1:123456789012:secret:other-AbCdEf"]);
    assert!(!matches(&other), "not another secret's");
    assert_eq!(rule["Targets"][0]["Arn"], "ref:RedeployStateMachine");

    let machine = stack.resource("RedeployStateMachine");
    let definition: Value = serde_json::from_str(machine["DefinitionString"].as_str().unwrap()).unwrap();
    let task = &definition["States"]["ForceNewDeployment"];
    assert_eq!(task["Resource"], "arn:aws:states:::aws-sdk:ecs:updateService");
    assert_eq!(task["Parameters"], json!({"Cluster": "prod", "Service": "app", "ForceNewDeployment": true}));
    let role = stack.resource("RedeployRole");
    let redeploy = &statements(&role)[0];
    assert_eq!(strings(&redeploy["Action"]), ["ecs:DescribeServices", "ecs:UpdateService"]);
    assert_eq!(strings(&redeploy["Resource"]), ["arn:aws:ecs:us-east-1:123456789012:service/prod/app"]);
    let starts = &statements(&stack.resource("RuleRole"))[0];
    assert_eq!(
        (strings(&starts["Action"]), strings(&starts["Resource"])),
        (vec!["states:StartExecution".to_owned()], vec!["ref:RedeployStateMachine".to_owned()])
    );
}

#[test]
fn the_example_secrets_replicate_to_the_chosen_region_and_rotate_at_the_primary() {
    for path in [
        "infra/stacks/postgres-rds.yaml",
        "infra/stacks/mysql-rds.yaml",
        "infra/stacks/redshift.yaml",
        "infra/stacks/documentdb.yaml",
    ] {
        let template = decode(path);
        let mut chosen: Vec<(&str, Value)> = Vec::new();
        for (key, spec) in template["Parameters"].as_object().unwrap() {
            if spec.get("Default").is_none() {
                let kind = spec["Type"].as_str().unwrap();
                let value =
                    if kind.starts_with("List") || kind == "CommaDelimitedList" { json!(["x"]) } else { json!("x") };
                chosen.push((key.as_str(), value));
            }
        }
        chosen.push(("AppUserCreated", json!("true")));
        let plain = Stack::new(path, "example", &chosen);
        chosen.push(("ReplicaRegion", json!("eu-west-1")));
        let replicated = Stack::new(path, "example", &chosen);
        let secrets = replicated.resources("AWS::SecretsManager::Secret");
        assert_eq!(secrets.len(), 2, "{path}");
        for (id, secret) in &secrets {
            assert_eq!(secret["ReplicaRegions"], json!([{"Region": "eu-west-1"}]), "{path} {id}");
        }
        for (id, secret) in plain.resources("AWS::SecretsManager::Secret") {
            assert!(secret.get("ReplicaRegions").is_none(), "{path} {id}: no replica unless asked");
        }
        // Rotation stays in the stack's (primary) Region: one schedule per secret, on the primary's secrets.
        assert_eq!(replicated.resources("AWS::SecretsManager::RotationSchedule").len(), 2, "{path}");
    }
}

/// Whether a template's `Rules` accept this choice of parameters, as CloudFormation checks them before any change.
fn rules_accept(stack: &Stack) -> bool {
    stack.template["Rules"].as_object().into_iter().flatten().all(|(_, rule)| {
        // A rule whose condition does not hold asserts nothing.
        let applies = rule.get("RuleCondition").is_none_or(|condition| stack.eval(condition).as_bool().unwrap());
        !applies || rule["Assertions"].as_array().unwrap().iter().all(|a| stack.eval(&a["Assert"]).as_bool().unwrap())
    })
}

#[test]
fn only_rotors_roles_may_put_an_event_on_the_bus_consumers_trust() {
    let every_function = [
        ("AdminSecretArns", json!(["arn:aws:secretsmanager:us-east-1:123456789012:secret:db-master-??????"])),
        ("ElastiCacheUserArns", json!(["arn:aws:elasticache:us-east-1:123456789012:user:app-*"])),
        ("ElastiCacheReplicationGroupArns", json!([CACHE_GROUPS])),
        ("RedshiftClusterArns", json!([REDSHIFT_CLUSTERS])),
        ("RedshiftNamespaceArns", json!([REDSHIFT_NAMESPACES])),
        ("DocumentDbClusterArns", json!([DOCDB_CLUSTERS])),
        ("IamUserPath", json!("/rotor/")),
    ];
    for chosen in [&every_function[..], &[]] {
        let mut with_bus = chosen.to_vec();
        with_bus.push(("RotationEventBus", json!("rotor-rotations")));
        let mut rotor = Stack::new("template.yaml", "rotor", &with_bus);
        assert!(rules_accept(&rotor));
        let functions = deployed_functions(&mut rotor);
        let buses = rotor.resources("AWS::Events::EventBus");
        assert_eq!(buses.len(), 1, "the stack creates rotor's bus");
        let bus = &buses[0].1;
        assert_eq!(bus["Name"], "rotor-rotations");
        let statements = bus["Policy"]["Statement"].as_array().unwrap();
        assert_eq!(statements.len(), 1, "nothing but the Deny: {statements:?}");
        let deny = &statements[0];
        assert_eq!(
            (&deny["Effect"], &deny["Principal"], strings(&deny["Action"])),
            (&json!("Deny"), &json!("*"), vec!["events:PutEvents".to_owned()])
        );
        assert_eq!(strings(&deny["Resource"]), ["arn:aws:events:us-east-1:123456789012:event-bus/rotor-rotations"]);
        let conditions = deny["Condition"].as_object().unwrap();
        assert_eq!(conditions.keys().collect::<Vec<_>>(), ["ArnNotEquals"], "no other condition lets a caller through");
        let mut exempt = strings(&conditions["ArnNotEquals"]["aws:PrincipalArn"]);
        exempt.sort();
        let mut roles: Vec<String> = functions.iter().map(|f| text(&rotor.resource(&f.logical)["Role"])).collect();
        roles.sort();
        assert_eq!(exempt, roles, "exactly the deployed functions' roles may publish");
        // What the Deny decides for a caller: everyone else, an administrator of the account included, is refused.
        let denied = |principal: &str| !exempt.iter().any(|arn| arn == principal);
        assert!(denied("arn:aws:iam::123456789012:role/Admin"));
        assert!(roles.iter().all(|r| !denied(r)));
    }
    let on_default = Stack::new("template.yaml", "rotor", &[("RotationEventBus", json!("default"))]);
    assert!(!rules_accept(&on_default), "the default bus, where anyone may PutEvents, is refused");
    let quiet = Stack::new("template.yaml", "rotor", &[]);
    assert!(rules_accept(&quiet) && quiet.resources("AWS::Events::EventBus").is_empty());
}

/// Runs the redeploy state machine once against an ECS service whose deployments are `deployments` (what
/// DescribeServices lists); a redeploy adds a PRIMARY deployment that rolls out alongside the previous one. Returns
/// whether it redeployed.
fn run_redeploy(definition: &Value, deployments: &mut Vec<&'static str>) -> bool {
    let mut name = text(&definition["StartAt"]);
    let mut data = json!({});
    loop {
        let state = &definition["States"][&name];
        assert!(!state.is_null(), "no state {name}");
        let next = match text(&state["Type"]).as_str() {
            "Task" => {
                match text(&state["Resource"]).rsplit(':').next().unwrap() {
                    "describeServices" => {
                        let answer = json!({"Services": [{"Deployments": deployments
                            .iter()
                            .map(|status| json!({"Status": status}))
                            .collect::<Vec<_>>()}]});
                        let (key, path) = state["ResultSelector"].as_object().unwrap().iter().next().unwrap();
                        assert_eq!((key.as_str(), text(path).as_str()), ("Deployments.$", "$.Services[0].Deployments"));
                        data = json!({"Deployments": answer["Services"][0]["Deployments"]});
                    }
                    "updateService" => {
                        assert_eq!(state["Parameters"]["ForceNewDeployment"], true);
                        deployments.iter_mut().for_each(|status| *status = "ACTIVE");
                        deployments.insert(0, "PRIMARY");
                        return true;
                    }
                    other => panic!("an unexpected call {other}"),
                }
                state["Next"].clone()
            }
            "Choice" => {
                let chosen = state["Choices"].as_array().unwrap().iter().find(|choice| {
                    let variable = text(&choice["Variable"]);
                    let index: usize = variable
                        .strip_prefix("$.Deployments[")
                        .and_then(|rest| rest.strip_suffix(']'))
                        .unwrap_or_else(|| panic!("an unexpected choice {variable}"))
                        .parse()
                        .unwrap();
                    assert_eq!(choice["IsPresent"], true);
                    data["Deployments"].get(index).is_some()
                });
                chosen.map_or_else(|| state["Default"].clone(), |c| c["Next"].clone())
            }
            "Succeed" => return false,
            other => panic!("an unexpected state type {other}"),
        };
        name = text(&next);
    }
}

#[test]
fn a_burst_of_rotated_events_redeploys_the_service_once_and_only_from_rotors_bus() {
    let chosen = |bus: &str| {
        Stack::new(
            "infra/stacks/ecs-redeploy-on-rotation.yaml",
            "redeploy",
            &[
                ("EventBusName", json!(bus)),
                ("SecretArn", json!("arn:aws:secretsmanager:us-east-1:123456789012:secret:app-db-AbCdEf")),
                ("ClusterName", json!("prod")),
                ("ServiceName", json!("app")),
            ],
        )
    };
    assert!(!rules_accept(&chosen("default")), "events from the default bus, which anyone may forge, are refused");
    assert!(chosen("default").template["Parameters"]["EventBusName"].get("Default").is_none());
    let stack = chosen("rotor-rotations");
    assert!(rules_accept(&stack));
    let machine = stack.resource("RedeployStateMachine");
    let definition: Value = serde_json::from_str(machine["DefinitionString"].as_str().unwrap()).unwrap();

    // A settled service: one PRIMARY deployment. Ten events before its rollout ends: one redeploy.
    let mut deployments = vec!["PRIMARY"];
    let redeploys = (0..10).filter(|_| run_redeploy(&definition, &mut deployments)).count();
    assert_eq!(redeploys, 1, "a burst of events redeploys once");
    // The rollout ended (the old deployment drained): the next rotation redeploys again.
    deployments.truncate(1);
    assert!(run_redeploy(&definition, &mut deployments), "a later rotation still redeploys");

    let role = statements(&stack.resource("RedeployRole"));
    let service = &role[0];
    let mut actions = strings(&service["Action"]);
    actions.sort();
    assert_eq!(actions, ["ecs:DescribeServices", "ecs:UpdateService"]);
    assert_eq!(strings(&service["Resource"]), ["arn:aws:ecs:us-east-1:123456789012:service/prod/app"]);
}

/// A document of `infra/iam/` (for deployments without SAM): its statements.
fn iam_document(name: &str) -> Vec<Value> {
    let path = repo_root().join("infra/iam").join(name);
    let document: Value = serde_json::from_str(&fs::read_to_string(&path).unwrap()).unwrap();
    document["Statement"].as_array().unwrap().clone()
}

/// A statement's condition as operator -> the keys it tests (the values are placeholders in the documents).
fn condition_keys(statement: &Value) -> Vec<(String, Vec<String>)> {
    let mut keys: Vec<(String, Vec<String>)> = statement["Condition"]
        .as_object()
        .into_iter()
        .flatten()
        .map(|(operator, tests)| {
            let mut names: Vec<String> = tests.as_object().unwrap().keys().cloned().collect();
            names.sort();
            (operator.clone(), names)
        })
        .collect();
    keys.sort();
    keys
}

#[test]
fn each_iam_document_grants_what_the_template_grants_the_matching_role() {
    let mut rotor = Stack::new(
        "template.yaml",
        "rotor",
        &[
            ("AdminSecretArns", json!(["arn:aws:secretsmanager:us-east-1:123456789012:secret:db-master-??????"])),
            ("KmsKeyArn", json!("arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab")),
            ("ElastiCacheUserArns", json!(["arn:aws:elasticache:us-east-1:123456789012:user:app-*"])),
            ("ElastiCacheReplicationGroupArns", json!([CACHE_GROUPS])),
            ("RedshiftClusterArns", json!([REDSHIFT_CLUSTERS])),
            ("RedshiftNamespaceArns", json!([REDSHIFT_NAMESPACES])),
            ("DocumentDbClusterArns", json!([DOCDB_CLUSTERS])),
            ("IamUserPath", json!("/rotor/")),
            // The documents' placeholders, so the tag's key (part of a condition key's name) reads the same.
            ("IamUserTag", json!("IAM_USER_TAG_KEY=IAM_USER_TAG_VALUE")),
            ("RotatedParameterPath", json!("/rotor/")),
            ("RotationEventBus", json!("rotor-rotations")),
        ],
    );
    let functions = deployed_functions(&mut rotor);
    let managed = rotor.resources("AWS::IAM::ManagedPolicy");
    // Sid -> (document, the actions every role mapped to that document is granted under it).
    let mut granted: HashMap<(String, String), Vec<String>> = HashMap::new();
    for f in &functions {
        let role = text(&rotor.resource(&f.logical)["Role"]).replace("getatt:", "").replace(".Arn", "");
        let mut documents =
            vec!["rotation-function-policy.json", "parameter-store-policy.json", "event-publisher-policy.json"];
        match f.tag.as_str() {
            "elasticache" => documents.push("elasticache-function-policy.json"),
            "elasticache-auth-token" => documents.push("elasticache-auth-token-function-policy.json"),
            "redshift-admin" => documents.push("redshift-admin-function-policy.json"),
            "documentdb-admin" => documents.push("documentdb-admin-function-policy.json"),
            "redshift" | "redshift-alternating" => documents.push("redshift-function-policy.json"),
            "iam-access-key" => documents.push("iam-access-key-function-policy.json"),
            _ => {}
        }
        let documented: Vec<(&str, Value)> =
            documents.iter().flat_map(|d| iam_document(d).into_iter().map(move |s| (*d, s))).collect();
        let mut template = statements(&rotor.resource(&role));
        for (_, policy) in &managed {
            if strings(&policy["Roles"]).contains(&format!("ref:{role}")) {
                template.extend(policy["PolicyDocument"]["Statement"].as_array().unwrap().iter().cloned());
            }
        }
        for statement in template {
            let sid = text(&statement["Sid"]);
            let (document, doc) = documented
                .iter()
                .find(|(_, s)| s["Sid"] == sid)
                .unwrap_or_else(|| panic!("{role}: no infra/iam document of {documents:?} has the statement {sid}"));
            assert_eq!(doc["Effect"], statement["Effect"], "{document} {sid}");
            let listed = strings(&doc["Action"]);
            for action in strings(&statement["Action"]) {
                assert!(listed.contains(&action), "{role}: {document} {sid} lacks {action}");
            }
            assert_eq!(condition_keys(doc), condition_keys(&statement), "{role}: {document} {sid}'s condition");
            granted.entry((document.to_string(), sid)).or_default().extend(strings(&statement["Action"]));
        }
    }
    // Nothing more than the template grants: no statement or action the template dropped stays documented.
    for document in [
        "rotation-function-policy.json",
        "parameter-store-policy.json",
        "event-publisher-policy.json",
        "elasticache-function-policy.json",
        "elasticache-auth-token-function-policy.json",
        "redshift-admin-function-policy.json",
        "redshift-function-policy.json",
        "documentdb-admin-function-policy.json",
        "iam-access-key-function-policy.json",
    ] {
        for statement in iam_document(document) {
            let sid = text(&statement["Sid"]);
            let actions = granted
                .get(&(document.to_owned(), sid.clone()))
                .unwrap_or_else(|| panic!("{document} {sid}: no role of the template has it"));
            for action in strings(&statement["Action"]) {
                assert!(actions.contains(&action), "{document} {sid} grants {action}, which the template does not");
            }
        }
    }
    // The bus's resource policy, as the template writes it.
    let bus = &rotor.resources("AWS::Events::EventBus")[0].1["Policy"]["Statement"];
    let documented = iam_document("rotation-event-bus-policy.json");
    assert_eq!(bus.as_array().unwrap().len(), documented.len());
    for (template, doc) in bus.as_array().unwrap().iter().zip(&documented) {
        for key in ["Sid", "Effect", "Principal", "Action"] {
            assert_eq!(template[key], doc[key], "rotation-event-bus-policy.json {key}");
        }
        assert_eq!(condition_keys(template), condition_keys(doc));
    }
}

#[test]
fn the_directory_function_is_deployed_only_inside_a_vpc_and_resets_only_the_named_directories() {
    let arn = "arn:aws:ds:us-east-1:123456789012:directory/d-1234567890";
    let outside = Stack::new("template.yaml", "rotor", &[("DirectoryArns", json!([arn]))]);
    assert!(!rules_accept(&outside), "DirectoryArns without SubnetIds is refused before any change");
    let mut rotor = Stack::new(
        "template.yaml",
        "rotor",
        &[
            ("DirectoryArns", json!([arn])),
            ("SubnetIds", json!(["subnet-0123"])),
            ("SecurityGroupId", json!("sg-0123")),
        ],
    );
    assert!(rules_accept(&rotor));
    let functions = deployed_functions(&mut rotor);
    let directory = functions.iter().find(|f| f.binary == "rotate-directory").expect("deployed");
    assert!(directory.env.contains(&("DIRECTORY_IDS".to_owned(), arn.to_owned())), "{:?}", directory.env);
    let role = rotor.resource("DirectoryRole");
    let resets: Vec<Value> = statements(&role)
        .into_iter()
        .filter(|statement| strings(&statement["Action"]).iter().any(|action| action == "ds:ResetUserPassword"))
        .collect();
    assert_eq!(resets.len(), 1, "{resets:?}");
    assert_eq!(strings(&resets[0]["Resource"]), [arn], "ResetUserPassword on the named directories only");
}

/// The workspace's `[workspace.package]` value of `key` (`version`, `license`).
fn workspace_package(key: &str) -> String {
    let manifest = std::fs::read_to_string(repo_root().join("Cargo.toml")).unwrap();
    let line = manifest.lines().find(|line| line.starts_with(&format!("{key} = "))).unwrap();
    line.split('"').nth(1).unwrap().to_owned()
}

#[test]
fn the_serverless_application_repository_metadata_is_what_sam_publish_takes() {
    let template = decode("template.yaml");
    let app = &template["Metadata"]["AWS::ServerlessRepo::Application"];
    let field = |name: &str| app[name].as_str().unwrap_or_else(|| panic!("{name} is a plain string: {app}")).to_owned();
    // The limits and patterns of the Serverless Application Repository's CreateApplication.
    let name = field("Name");
    assert!(!name.is_empty() && name.len() <= 140 && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-'));
    let description = field("Description");
    assert!((1..=256).contains(&description.len()), "{} characters", description.len());
    let author = field("Author");
    let author_ok = author.len() <= 127
        && author.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        && !author.starts_with('-')
        && !author.ends_with('-')
        && !author.contains("--");
    assert!(author_ok, "{author}");
    let labels = app["Labels"].as_array().unwrap();
    assert!(labels.len() <= 10);
    for label in labels.iter().map(|l| l.as_str().unwrap()) {
        assert!(
            label.len() <= 127 && label.chars().all(|c| c.is_ascii_alphanumeric() || "+-_:/@".contains(c)),
            "{label}"
        );
    }
    // What the repository's own files say: the licence, the version, the readme.
    assert_eq!(field("SpdxLicenseId"), workspace_package("license"));
    assert_eq!(field("SemanticVersion"), workspace_package("version"), "the application's version is the crates'");
    let license = std::fs::read_to_string(repo_root().join(field("LicenseUrl"))).unwrap();
    assert!(license.contains("Apache License") && license.contains("Version 2.0"), "LICENSE is the Apache-2.0 text");
    let readme = std::fs::metadata(repo_root().join(field("ReadmeUrl"))).unwrap();
    assert!(readme.len() < 5 * 1024 * 1024, "the repository takes a readme of at most 5 MB");
    for url in ["HomePageUrl", "SourceCodeUrl"] {
        assert!(field(url).starts_with("https://"), "{url}");
    }

    // `make package` (sam build) writes the template into .aws-sam/build, moving its local paths as SAM's
    // move_template does; `sam package` then uploads the licence and the readme those paths name.
    let built = tempfile::tempdir_in(repo_root().join("target")).unwrap();
    let moved = built.path().join("build/template.yaml");
    let script = "import sys\nfrom samcli.commands._utils.template import get_template_data, move_template\n\
                  move_template(sys.argv[1], sys.argv[2], get_template_data(sys.argv[1]))";
    let run = Command::new(repo_root().join(".venv/bin/python"))
        .args(["-c", script])
        .arg(repo_root().join("template.yaml"))
        .arg(&moved)
        .output()
        .unwrap();
    assert!(run.status.success(), "{}", String::from_utf8_lossy(&run.stderr));
    let moved_app = decode(moved.to_str().unwrap())["Metadata"]["AWS::ServerlessRepo::Application"].clone();
    for path in ["LicenseUrl", "ReadmeUrl"] {
        let relative = moved_app[path].as_str().unwrap();
        let file = moved.parent().unwrap().join(relative);
        assert!(file.is_file(), "{path} {relative} resolves beside the built template: {}", file.display());
    }
}
