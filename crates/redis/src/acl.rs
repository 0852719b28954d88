//! Redis ACL users: the SHA-256 form a password is sent in, the rules `ACL GETUSER` reports, and the `ACL SETUSER`
//! arguments that make one user alike another.

use aws_lc_rs::digest;
use redis::Value;

/// The ACL's hash form of a password, `#<64 lowercase hex digits>`: what `ACL SETUSER` adds without the plaintext
/// ever being in a command (`>password` would be, in `MONITOR` on servers that do not redact it).
pub fn password_hash(password: &str) -> String {
    let sum = digest::digest(&digest::SHA256, password.as_bytes());
    let mut hash = String::with_capacity(65);
    hash.push('#');
    for byte in sum.as_ref() {
        hash.push_str(&format!("{byte:02x}"));
    }
    hash
}

/// Why Redis would refuse `name` as a user name (`ACL SETUSER` takes no spaces and no NUL), `None` when it takes it.
pub fn refuse_name(name: &str) -> Option<&'static str> {
    if name.is_empty() {
        Some("is empty")
    } else if name.chars().any(|c| c.is_ascii_whitespace() || c == '\0') {
        Some("holds a space or a NUL, which Redis does not allow in user names")
    } else {
        None
    }
}

/// What `ACL GETUSER` says about a user, kept as the `ACL SETUSER` rules that rebuild it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Rules {
    /// `on` or `off`, `allkeys`, `nopass`, `sanitize-payload`... (flags that are rules themselves).
    pub flags: Vec<String>,
    /// The password hashes (hex, without `#`).
    pub passwords: Vec<String>,
    /// The command rules (`+@all -debug`), one rule per item.
    pub commands: Vec<String>,
    /// The key patterns (`~app:*`, `%R~cache:*`).
    pub keys: Vec<String>,
    /// The channel patterns (`&*`).
    pub channels: Vec<String>,
    /// Redis 7 selectors.
    pub selectors: Vec<Selector>,
}

/// A Redis 7 selector: command rules, key and channel patterns that grant on their own, beside the user's root
/// rules.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Selector {
    /// The command rules (`-@all +get`).
    pub commands: Vec<String>,
    /// The key patterns.
    pub keys: Vec<String>,
    /// The channel patterns.
    pub channels: Vec<String>,
}

impl Selector {
    /// Its `(...)` rule for `ACL SETUSER`.
    pub fn rule(&self) -> String {
        let parts: Vec<&str> =
            self.commands.iter().chain(&self.keys).chain(&self.channels).map(String::as_str).collect();
        format!("({})", parts.join(" "))
    }
}

impl Rules {
    /// Reads `ACL GETUSER`'s answer (RESP2 array of pairs or RESP3 map; Redis 6.2's lists or Redis 7's strings);
    /// `None` when the user does not exist.
    pub fn from_getuser(value: &Value) -> Option<Self> {
        let pairs = pairs(value)?;
        let mut rules = Self::default();
        for (key, value) in pairs {
            match key.as_str() {
                "flags" => rules.flags = strings(value),
                "passwords" => rules.passwords = strings(value),
                "commands" => rules.commands = words(value),
                "keys" => rules.keys = patterns(value, '~'),
                "channels" => rules.channels = patterns(value, '&'),
                "selectors" => {
                    if let Value::Array(selectors) = value {
                        rules.selectors = selectors.iter().filter_map(selector).collect();
                    }
                }
                _ => {}
            }
        }
        Some(rules)
    }

    /// Whether the user is enabled (`on`).
    pub fn enabled(&self) -> bool {
        self.flags.iter().any(|f| f == "on")
    }

    /// Whether the user holds the password whose ACL hash is `hash` (`#<hex>`, as [`password_hash`] gives it).
    pub fn holds(&self, hash: &str) -> bool {
        let hex = hash.trim_start_matches('#');
        self.passwords.iter().any(|held| held.eq_ignore_ascii_case(hex))
    }

    /// The `ACL SETUSER` arguments (after the name) that make a user hold exactly these rules, `on`, with only
    /// `password`'s hash: `reset` first, all in one command, so the change is atomic.
    pub fn setuser_args(&self, password_hash: &str) -> Vec<String> {
        // `reset` leaves the channels `acl-pubsub-default` says (all of them under `allchannels`, after which a
        // channel pattern is refused): `resetchannels` makes the source's channels all there is, on every server.
        let mut args = vec!["reset".to_owned(), "resetchannels".to_owned(), "on".to_owned()];
        // Flags that are rules; `on`/`off` are decided here, `nopass` never copied (the user gets a password).
        args.extend(
            self.flags
                .iter()
                .filter(|f| {
                    matches!(
                        f.as_str(),
                        "allkeys" | "allchannels" | "allcommands" | "sanitize-payload" | "skip-sanitize-payload"
                    )
                })
                .cloned(),
        );
        args.extend(self.commands.iter().cloned());
        args.extend(self.keys.iter().cloned());
        args.extend(self.channels.iter().cloned());
        args.extend(self.selectors.iter().map(Selector::rule));
        args.push(password_hash.to_owned());
        args
    }
}

pub(crate) fn text(value: &Value) -> Option<String> {
    match value {
        Value::BulkString(bytes) => Some(String::from_utf8_lossy(bytes).into_owned()),
        Value::SimpleString(s) => Some(s.clone()),
        Value::VerbatimString { text, .. } => Some(text.clone()),
        Value::Okay => Some("OK".to_owned()),
        _ => None,
    }
}

pub(crate) fn pairs(value: &Value) -> Option<Vec<(String, &Value)>> {
    match value {
        Value::Nil => None,
        Value::Map(map) => Some(map.iter().filter_map(|(k, v)| Some((text(k)?, v))).collect()),
        Value::Array(items) => {
            Some(items.chunks(2).filter_map(|pair| Some((text(pair.first()?)?, pair.get(1)?))).collect())
        }
        _ => None,
    }
}

fn strings(value: &Value) -> Vec<String> {
    match value {
        Value::Array(items) | Value::Set(items) => items.iter().filter_map(text).collect(),
        other => text(other).into_iter().collect(),
    }
}

/// A space-separated rule string (`+@all -debug`) as rules.
fn words(value: &Value) -> Vec<String> {
    strings(value).iter().flat_map(|s| s.split_whitespace().map(str::to_owned).collect::<Vec<_>>()).collect()
}

/// Key or channel patterns: Redis 7 gives one string of rules (`~a* %R~b*`), Redis 6.2 a list of bare patterns.
fn patterns(value: &Value, prefix: char) -> Vec<String> {
    match value {
        Value::Array(items) | Value::Set(items) => items
            .iter()
            .filter_map(text)
            .map(|p| if p.starts_with(prefix) { p } else { format!("{prefix}{p}") })
            .collect(),
        other => text(other).map(|s| s.split_whitespace().map(str::to_owned).collect()).unwrap_or_default(),
    }
}

/// A Redis 7 selector (`commands`, `keys`, `channels`).
fn selector(value: &Value) -> Option<Selector> {
    let mut selector = Selector::default();
    for (key, value) in pairs(value)? {
        match key.as_str() {
            "commands" => selector.commands = words(value),
            "keys" => selector.keys = patterns(value, '~'),
            "channels" => selector.channels = patterns(value, '&'),
            _ => {}
        }
    }
    Some(selector)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bulk(s: &str) -> Value {
        Value::BulkString(s.as_bytes().to_vec())
    }

    #[test]
    fn the_hash_is_the_acls_sha256_form() {
        // `echo -n 'p4ssw0rd' | sha256sum`
        assert_eq!(password_hash("p4ssw0rd"), "#48d2a5bbcf422ccd1b69e2a82fb90bafb52384953e77e304bef856084be052b6");
        let hash = password_hash("p4ssw0rd");
        assert_eq!(hash.len(), 65);
        assert!(hash.starts_with('#') && hash[1..].chars().all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase()));
        assert_ne!(hash, password_hash("p4ssw0rD"));
    }

    #[test]
    fn names_redis_refuses_are_refused() {
        assert!(refuse_name("app user").is_some());
        assert!(refuse_name("").is_some());
        assert_eq!(refuse_name("app'\"ü-üser"), None);
    }

    #[test]
    fn a_redis_7_user_is_rebuilt_exactly() {
        let value = Value::Array(vec![
            bulk("flags"),
            Value::Array(vec![bulk("on"), bulk("sanitize-payload")]),
            bulk("passwords"),
            Value::Array(vec![bulk("ab"), bulk("cd")]),
            bulk("commands"),
            bulk("+@read +set -debug"),
            bulk("keys"),
            bulk("~app:* %R~cache:*"),
            bulk("channels"),
            bulk("&events:*"),
            bulk("selectors"),
            Value::Array(vec![Value::Array(vec![
                bulk("commands"),
                bulk("+get"),
                bulk("keys"),
                bulk("~other:*"),
                bulk("channels"),
                bulk(""),
            ])]),
        ]);
        let rules = Rules::from_getuser(&value).unwrap();
        assert!(rules.enabled());
        assert_eq!(rules.passwords, ["ab", "cd"]);
        assert!(rules.holds("#ab") && rules.holds("#CD") && !rules.holds("#abc") && !rules.holds("#"));
        assert_eq!(
            rules.setuser_args("#00"),
            [
                "reset",
                "resetchannels",
                "on",
                "sanitize-payload",
                "+@read",
                "+set",
                "-debug",
                "~app:*",
                "%R~cache:*",
                "&events:*",
                "(+get ~other:*)",
                "#00"
            ]
        );
        assert_eq!(Rules::from_getuser(&Value::Nil), None);
    }

    #[test]
    fn a_redis_6_user_is_rebuilt_from_its_lists() {
        let value = Value::Array(vec![
            bulk("flags"),
            Value::Array(vec![bulk("on"), bulk("allchannels")]),
            bulk("passwords"),
            Value::Array(vec![]),
            bulk("commands"),
            bulk("+@all"),
            bulk("keys"),
            Value::Array(vec![bulk("app:*")]),
            bulk("channels"),
            Value::Array(vec![bulk("*")]),
        ]);
        let rules = Rules::from_getuser(&value).unwrap();
        assert_eq!(
            rules.setuser_args("#00"),
            ["reset", "resetchannels", "on", "allchannels", "+@all", "~app:*", "&*", "#00"]
        );
    }
}
