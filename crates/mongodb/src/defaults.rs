//! What the MongoDB engine accepts in a secret, and its defaults (those of AWS's MongoDB rotation functions).

/// The engines this target accepts in the secret's `engine` field: AWS's MongoDB functions accept only `mongo`,
/// which is also what Secrets Manager's console writes for a DocumentDB secret.
pub const ENGINES: &[&str] = &["mongo"];
/// MongoDB's and DocumentDB's default port.
pub const DEFAULT_PORT: u16 = 27017;
/// The user's authentication database when the secret names none (`dbname`), as AWS's functions default it;
/// DocumentDB keeps every user there.
pub const DEFAULT_DBNAME: &str = "admin";
/// testSecret's command when `TEST_QUERY` is unset: a `ping` on the user's database, which every logged-in user
/// may run.
pub const DEFAULT_TEST_COMMAND: &str = r#"{"ping": 1}"#;
/// Characters left out of generated passwords by default: those a MongoDB connection string must percent-encode
/// (`:/?#[]@%$`, so a password pasted into a `mongodb://` URI works as it is), and the quotes and the backslash
/// AWS's functions leave out.
pub const DEFAULT_EXCLUDE_CHARACTERS: &str = ":/?#[]@%$\"'\\";
