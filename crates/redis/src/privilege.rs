//! Which ACL rules make a Redis or Valkey user an administrator, read one way from `ACL GETUSER` and from an
//! ElastiCache access string: the user's command rules are applied in order over the few commands that let a user
//! take over other users or the server ([`DANGEROUS`]), its root rules and each selector on its own (a selector
//! grants on its own), categories expanded by the server (`ACL CAT <category>`) or, with no server to ask, by a
//! table of Redis 7's ([`Categories::redis7`]).

use std::collections::{BTreeMap, BTreeSet};

use redis::Value;

use crate::acl::{Rules, pairs, text};

/// A command (or one subcommand of a container command) that lets its holder take over other users or the server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Dangerous {
    command: &'static str,
    sub: Option<&'static str>,
    /// What completes it for `ACL DRYRUN`: no argument names a key, so the user's key patterns do not matter.
    args: &'static [&'static str],
}

impl Dangerous {
    const fn new(command: &'static str, sub: Option<&'static str>, args: &'static [&'static str]) -> Self {
        Self { command, sub, args }
    }

    /// As messages name it: `ACL SETUSER`.
    pub(crate) fn name(&self) -> String {
        match self.sub {
            Some(sub) => format!("{} {}", self.command, sub).to_ascii_uppercase(),
            None => self.command.to_ascii_uppercase(),
        }
    }

    /// The command's words after `ACL DRYRUN <user>`.
    pub(crate) fn dryrun(&self) -> Vec<&'static str> {
        let mut words = vec![self.command];
        words.extend(self.sub);
        words.extend(self.args);
        words
    }

    /// Whether this is `command`'s `sub` (`("acl", Some("setuser"))`).
    pub(crate) fn is(&self, command: &str, sub: Option<&str>) -> bool {
        self.command == command && self.sub == sub
    }

    /// Whether a `+cmd` / `+cmd|sub` rule grants it. A `|` after a command that is no container is Redis's
    /// first-argument rule (`+debug|reload`): it grants part of the command, which counts.
    fn granted_by(&self, command: &str, sub: Option<&str>) -> bool {
        self.command == command && (sub.is_none() || self.sub.is_none() || self.sub == sub)
    }

    /// Whether a `-cmd` / `-cmd|sub` rule takes it away (a first-argument rule takes only part of the command).
    fn removed_by(&self, command: &str, sub: Option<&str>) -> bool {
        self.command == command && (sub.is_none() || self.sub == sub)
    }
}

/// What lets a user take over other users or the server: a user that may run any of these is privileged, and the
/// admin does not hand its credentials out from a user secret.
///
/// - `ACL SETUSER`, `ACL DELUSER`: change or remove any user, the admin included. `ACL LOAD`: replaces every user
///   with the ACL file's, passwords rotated since then coming back. `ACL GETUSER`, `ACL LIST`: every user's
///   password hashes, unsalted SHA-256, so a guessable password falls to an offline search.
/// - `CONFIG SET`: `dir` and `dbfilename` with a save write a file anywhere the server may (the known Redis
///   takeover), `aclfile` then `ACL LOAD` replaces the users, `requirepass` is the `default` user's password.
///   `CONFIG GET` reads `requirepass` and `masterauth` in the clear.
/// - `MODULE LOAD`, `MODULE LOADEX`: run a shared library of the caller's choosing inside the server.
/// - `DEBUG`: reloads, corrupts or crashes the server and changes its internals (Redis 7 disables it by default).
/// - `REPLICAOF`, `SLAVEOF`: make the server copy a master of the caller's choosing, which replaces its whole
///   dataset; a rogue master is the first step of the known module-loading takeover.
///
/// Left out on purpose:
/// - `EVAL`, `FCALL`, `SCRIPT`, `FUNCTION`: a script runs as its caller and each `redis.call` in it is checked
///   against the caller's rules, so it grants nothing the user lacks. A library another user calls runs as that
///   user, but rotor's admin calls none, and `FUNCTION LOAD` is in `@write`: counting it would refuse every
///   application user with `+@write`.
/// - `SHUTDOWN`, `FLUSHALL`, `FLUSHDB`, `CLIENT KILL`, `FAILOVER`: they stop or empty the server; they take nothing
///   over, and rotating the user's password gives it no more of them.
/// - `CONFIG REWRITE`, `ACL SAVE`: they write what is already set to the server's own files.
pub(crate) const DANGEROUS: &[Dangerous] = &[
    Dangerous::new("acl", Some("setuser"), &["rotor-probe"]),
    Dangerous::new("acl", Some("deluser"), &["rotor-probe"]),
    Dangerous::new("acl", Some("load"), &[]),
    Dangerous::new("acl", Some("getuser"), &["rotor-probe"]),
    Dangerous::new("acl", Some("list"), &[]),
    Dangerous::new("config", Some("set"), &["maxmemory", "0"]),
    Dangerous::new("config", Some("get"), &["requirepass"]),
    Dangerous::new("module", Some("load"), &["rotor-probe"]),
    Dangerous::new("module", Some("loadex"), &["rotor-probe"]),
    Dangerous::new("debug", None, &["help"]),
    Dangerous::new("replicaof", None, &["no", "one"]),
    Dangerous::new("slaveof", None, &["no", "one"]),
];

/// Whether the server answering `HELLO` is Redis 7 or later, or Valkey: those answer `ACL DRYRUN` and list
/// subcommands in `ACL CAT` (`acl|setuser`), where Redis 6 answers neither way. Decided from the version the server
/// reports, never from an error's text. Valkey reports Redis's compatible version (7.2.4) or its own (8 and
/// later), both past 7.
pub(crate) fn since_redis_7(hello: &Value) -> bool {
    let Some(fields) = pairs(hello) else { return false };
    let field = |name: &str| fields.iter().find(|(key, _)| key == name).and_then(|(_, value)| text(value));
    if field("server").is_some_and(|server| server.eq_ignore_ascii_case("valkey")) {
        return true;
    }
    let major = field("version").and_then(|version| version.split('.').next()?.parse::<u32>().ok());
    major.is_some_and(|major| major >= 7)
}

/// What each category holds of [`DANGEROUS`] (indices into it).
#[derive(Debug, Clone, Default)]
pub(crate) struct Categories(BTreeMap<String, Vec<usize>>);

impl Categories {
    /// Redis 7's categories (Valkey's are the same), for access strings no server is asked about: `@admin`,
    /// `@dangerous` and `@slow` hold every command of [`DANGEROUS`], the others none (as `ACL CAT <category>` on
    /// Redis 7.0 answers). A category not in the table counts as holding them all.
    pub(crate) fn redis7() -> Self {
        const HOLDING_ALL: &[&str] = &["admin", "dangerous", "slow"];
        const HOLDING_NONE: &[&str] = &[
            "keyspace",
            "read",
            "write",
            "set",
            "sortedset",
            "list",
            "hash",
            "string",
            "bitmap",
            "hyperloglog",
            "geo",
            "stream",
            "pubsub",
            "fast",
            "blocking",
            "connection",
            "transaction",
            "scripting",
        ];
        let all: Vec<usize> = (0..DANGEROUS.len()).collect();
        let mut categories = BTreeMap::new();
        categories.extend(HOLDING_ALL.iter().map(|c| (c.to_string(), all.clone())));
        categories.extend(HOLDING_NONE.iter().map(|c| (c.to_string(), Vec::new())));
        Self(categories)
    }

    /// Learns `category` from the server's `ACL CAT <category>` answer. `subcommands`: the server lists
    /// subcommands in categories (Redis 7+, Valkey: see [`since_redis_7`]), where a container listed alone (`acl`
    /// in `@slow`) grants none of its subcommands; before Redis 7 a category holds whole commands, all their
    /// subcommands with them.
    pub(crate) fn learn(&mut self, category: &str, members: &[String], subcommands: bool) {
        let members: BTreeSet<String> = members.iter().map(|m| m.to_ascii_lowercase()).collect();
        let holds = |d: &Dangerous| match d.sub {
            Some(sub) => {
                members.contains(&format!("{}|{sub}", d.command)) || (!subcommands && members.contains(d.command))
            }
            None => members.contains(d.command),
        };
        let held = DANGEROUS.iter().enumerate().filter(|(_, d)| holds(d)).map(|(i, _)| i).collect();
        self.0.insert(category.to_ascii_lowercase(), held);
    }

    fn members(&self, category: &str) -> Option<&[usize]> {
        self.0.get(category).map(Vec::as_slice)
    }
}

/// One command of [`DANGEROUS`] a user may run, and the rule that lets it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Grant {
    /// The command.
    pub(crate) command: &'static Dangerous,
    /// What lets the user run it (`+@slow`, `+acl in the selector (+acl ~*)`, `the server's ACL DRYRUN`).
    pub(crate) by: String,
}

/// A user's command rules: its root rules and each selector's, applied on their own.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct CommandRules {
    root: Vec<String>,
    selectors: Vec<Vec<String>>,
}

impl CommandRules {
    /// The command rules `ACL GETUSER` reports (Redis 6's `allcommands` flag included).
    pub(crate) fn of(rules: &Rules) -> Self {
        let allcommands = rules.flags.iter().filter(|f| f.eq_ignore_ascii_case("allcommands")).cloned();
        Self {
            root: allcommands.chain(rules.commands.iter().cloned()).collect(),
            selectors: rules.selectors.iter().map(|s| s.commands.clone()).collect(),
        }
    }

    /// An access string (ElastiCache's `AccessString`, `ACL SETUSER`'s rules joined by spaces), in order as Redis
    /// applies them: `(...)` is a selector, `reset` and `clearselectors` drop the selectors before them.
    pub(crate) fn parse(access: &str) -> Self {
        let mut rules = Self::default();
        let mut words = access.split_whitespace();
        while let Some(word) = words.next() {
            let Some(mut part) = word.strip_prefix('(') else {
                rules.push_root(word);
                continue;
            };
            let mut selector = Vec::new();
            loop {
                let closed = part.strip_suffix(')');
                let rule = closed.unwrap_or(part);
                if !rule.is_empty() {
                    selector.push(rule.to_owned());
                }
                if closed.is_some() {
                    break;
                }
                match words.next() {
                    Some(next) => part = next,
                    None => break,
                }
            }
            rules.selectors.push(selector);
        }
        rules
    }

    fn push_root(&mut self, word: &str) {
        if word.eq_ignore_ascii_case("reset") || word.eq_ignore_ascii_case("clearselectors") {
            self.selectors.clear();
        }
        self.root.push(word.to_owned());
    }

    /// The categories the rules name (`+@slow` -> `slow`), `all` aside: what `ACL CAT` expands.
    pub(crate) fn categories(&self) -> BTreeSet<String> {
        self.root
            .iter()
            .chain(self.selectors.iter().flatten())
            .filter_map(|rule| rule.strip_prefix("+@").or_else(|| rule.strip_prefix("-@")))
            .map(str::to_ascii_lowercase)
            .filter(|category| category != "all")
            .collect()
    }

    /// The commands of [`DANGEROUS`] these rules let the user run, each once, with the rule that lets it.
    pub(crate) fn grants(&self, categories: &Categories) -> Vec<Grant> {
        let mut grants: Vec<Grant> = Vec::new();
        let scopes = std::iter::once((&self.root, None))
            .chain(self.selectors.iter().map(|s| (s, Some(format!("({})", s.join(" "))))));
        for (rules, selector) in scopes {
            for (index, rule) in apply(rules, categories).into_iter().enumerate() {
                let Some(rule) = rule else { continue };
                let command = &DANGEROUS[index];
                if grants.iter().any(|g| g.command == command) {
                    continue;
                }
                let by = match &selector {
                    Some(selector) => format!("{rule} in the selector {selector}"),
                    None => rule,
                };
                grants.push(Grant { command, by });
            }
        }
        grants
    }
}

/// Applies one scope's command rules in order, from no command at all: for each command of [`DANGEROUS`], the rule
/// that lets the user run it, or `None`.
fn apply(rules: &[String], categories: &Categories) -> Vec<Option<String>> {
    let mut allowed: Vec<Option<String>> = vec![None; DANGEROUS.len()];
    for rule in rules {
        let lower = rule.to_ascii_lowercase();
        let (grant, what) = match lower.as_str() {
            "allcommands" | "+@all" => (true, None),
            "nocommands" | "-@all" | "reset" => (false, None),
            other => match other.split_at_checked(1) {
                Some(("+", what)) => (true, Some(what)),
                Some(("-", what)) => (false, Some(what)),
                _ => continue,
            },
        };
        let hit = |index: usize| -> bool {
            let Some(what) = what else { return true };
            if let Some(category) = what.strip_prefix('@') {
                // A category rotor cannot expand counts as holding everything it grants, and nothing it takes.
                return categories.members(category).map_or(grant, |members| members.contains(&index));
            }
            let (command, sub) = match what.split_once('|') {
                Some((command, sub)) => (command, Some(sub)),
                None => (what, None),
            };
            let dangerous = &DANGEROUS[index];
            if grant { dangerous.granted_by(command, sub) } else { dangerous.removed_by(command, sub) }
        };
        for (index, slot) in allowed.iter_mut().enumerate() {
            if hit(index) {
                *slot = grant.then(|| rule.clone());
            }
        }
    }
    allowed
}

/// Grants as the rights an error names: one per rule, with the commands it lets the user run
/// (`ACL SETUSER/CONFIG SET by +@slow`).
pub(crate) fn describe(grants: &[Grant]) -> Vec<String> {
    let mut rules: Vec<(&str, Vec<String>)> = Vec::new();
    for grant in grants {
        match rules.iter_mut().find(|(by, _)| *by == grant.by) {
            Some((_, names)) => names.push(grant.command.name()),
            None => rules.push((&grant.by, vec![grant.command.name()])),
        }
    }
    rules.into_iter().map(|(by, names)| format!("{} by {by}", names.join("/"))).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::acl::Selector;

    fn bulk(s: &str) -> Value {
        Value::BulkString(s.as_bytes().to_vec())
    }

    /// The commands an access string lets a user run, with the built-in table.
    fn names(access: &str) -> Vec<String> {
        CommandRules::parse(access).grants(&Categories::redis7()).iter().map(|g| g.command.name()).collect()
    }

    fn all() -> Vec<String> {
        DANGEROUS.iter().map(Dangerous::name).collect()
    }

    #[test]
    fn every_rule_that_grants_a_dangerous_command_is_seen_in_order() {
        let cases: &[(&str, &[&str])] = &[
            ("on ~* &* +@all", &[]),
            ("on ~* allcommands", &[]),
            ("on +@slow", &[]),
            ("on -@all +@slow", &[]),
            ("on +@admin", &[]),
            ("on +@dangerous", &[]),
            ("on +@all -@dangerous", &["-"]),
            ("on +@all -@admin", &["-"]),
            ("on +@all -@slow", &["-"]),
            ("on -@all +@read +@write +@scripting +@fast +@keyspace +@pubsub +@connection", &["-"]),
            ("on +acl|setuser", &["ACL SETUSER"]),
            ("on +ACL|SETUSER", &["ACL SETUSER"]),
            ("on +acl", &["ACL SETUSER", "ACL DELUSER", "ACL LOAD", "ACL GETUSER", "ACL LIST"]),
            ("on +acl -acl|getuser -acl|list -acl|load -acl|deluser", &["ACL SETUSER"]),
            ("on +acl|whoami +acl|cat", &["-"]),
            ("on +config|set", &["CONFIG SET"]),
            ("on +config|get", &["CONFIG GET"]),
            ("on +config|rewrite +config|resetstat", &["-"]),
            ("on +module|load", &["MODULE LOAD"]),
            ("on +module|loadex", &["MODULE LOADEX"]),
            ("on +module|list", &["-"]),
            ("on +debug", &["DEBUG"]),
            ("on +debug|reload", &["DEBUG"]),
            ("on +debug -debug|reload", &["DEBUG"]),
            ("on +replicaof +slaveof", &["REPLICAOF", "SLAVEOF"]),
            ("on +eval +function|load +shutdown +flushall", &["-"]),
            ("on +@all -acl -config -module -debug -replicaof -slaveof", &["-"]),
            (
                "on +@all -acl",
                &["CONFIG SET", "CONFIG GET", "MODULE LOAD", "MODULE LOADEX", "DEBUG", "REPLICAOF", "SLAVEOF"],
            ),
            ("on +@slow nocommands", &["-"]),
            ("on +@slow reset on ~*", &["-"]),
            ("on -@all +@read (+acl ~*)", &["ACL SETUSER", "ACL DELUSER", "ACL LOAD", "ACL GETUSER", "ACL LIST"]),
            ("on (~* +acl|setuser)", &["ACL SETUSER"]),
            ("on (+get ~*) (+config|set)", &["CONFIG SET"]),
            ("on (+@slow)", &[]),
            ("on (+acl) clearselectors", &["-"]),
            ("on (+acl) reset on", &["-"]),
            ("on (+get) +config|set", &["CONFIG SET"]),
            ("on (-@all) +@read", &["-"]),
            ("on +@nosuchcategory", &[]),
            ("on +@all -@nosuchcategory", &[]),
        ];
        for (access, expected) in cases {
            let expected: Vec<String> = match expected {
                [] => all(),
                ["-"] => Vec::new(),
                some => some.iter().map(|s| s.to_string()).collect(),
            };
            assert_eq!(names(access), expected, "{access}");
        }
    }

    #[test]
    fn each_grant_names_the_rule_that_gives_it() {
        let grants = CommandRules::parse("on -@all +@read +config|set (+acl|setuser ~*)").grants(&Categories::redis7());
        assert_eq!(
            describe(&grants),
            ["CONFIG SET by +config|set", "ACL SETUSER by +acl|setuser in the selector (+acl|setuser ~*)"]
        );
        let grants = CommandRules::parse("on -@all +@slow").grants(&Categories::redis7());
        assert_eq!(describe(&grants).len(), 1);
        assert!(
            describe(&grants)[0].starts_with("ACL SETUSER/ACL DELUSER/")
                && describe(&grants)[0].ends_with(" by +@slow")
        );
        let grants = CommandRules::parse("+@mystery").grants(&Categories::redis7());
        assert_eq!(grants.len(), DANGEROUS.len(), "a category rotor cannot expand counts as holding all");
    }

    #[test]
    fn categories_are_learned_from_the_servers_answer_by_its_version() {
        let rules = CommandRules::parse("-@all +@slow");
        assert_eq!(rules.categories(), BTreeSet::from(["slow".to_owned()]));
        assert_eq!(CommandRules::parse("+@all -@Dangerous (+@read)").categories().len(), 2);
        // Redis 7 lists containers beside their subcommands: the container alone grants none of them.
        let redis7: Vec<String> = ["acl", "acl|whoami", "config", "get"].iter().map(|s| s.to_string()).collect();
        let mut categories = Categories::default();
        categories.learn("slow", &redis7, true);
        assert!(rules.grants(&categories).is_empty());
        // Redis 6 lists whole commands: `acl` in a category is every ACL subcommand.
        let mut categories = Categories::default();
        categories.learn("slow", &redis7, false);
        let names: Vec<String> = rules.grants(&categories).iter().map(|g| g.command.name()).collect();
        assert_eq!(
            names,
            ["ACL SETUSER", "ACL DELUSER", "ACL LOAD", "ACL GETUSER", "ACL LIST", "CONFIG SET", "CONFIG GET"]
        );
        let members: Vec<String> = ["ACL|SETUSER", "debug"].iter().map(|s| s.to_string()).collect();
        let mut categories = Categories::default();
        categories.learn("Slow", &members, true);
        let names: Vec<String> = rules.grants(&categories).iter().map(|g| g.command.name()).collect();
        assert_eq!(names, ["ACL SETUSER", "DEBUG"]);
    }

    #[test]
    fn a_users_rules_are_read_with_its_selectors_and_redis_6_flags() {
        let rules = Rules {
            flags: vec!["on".into(), "allcommands".into()],
            commands: vec!["-debug".into()],
            selectors: vec![Selector {
                commands: vec!["-@all".into()],
                keys: vec!["~a -@all".into()],
                ..Default::default()
            }],
            ..Rules::default()
        };
        let names: Vec<String> =
            CommandRules::of(&rules).grants(&Categories::redis7()).iter().map(|g| g.command.name()).collect();
        assert!(!names.contains(&"DEBUG".to_owned()) && names.contains(&"ACL SETUSER".to_owned()), "{names:?}");
        // A key pattern never reads as a command rule.
        let rules = Rules {
            selectors: vec![Selector {
                commands: vec!["-@all".into(), "+acl|setuser".into()],
                keys: vec!["~x -@all".into()],
                ..Default::default()
            }],
            ..Rules::default()
        };
        let names: Vec<String> =
            CommandRules::of(&rules).grants(&Categories::redis7()).iter().map(|g| g.command.name()).collect();
        assert_eq!(names, ["ACL SETUSER"]);
    }

    #[test]
    fn dryrun_support_is_decided_from_the_version() {
        let hello = |server: &str, version: &str| {
            Value::Array(vec![
                bulk("server"),
                bulk(server),
                bulk("version"),
                bulk(version),
                bulk("proto"),
                Value::Int(2),
            ])
        };
        assert!(!since_redis_7(&hello("redis", "6.2.14")));
        assert!(!since_redis_7(&hello("redis", "6.0.20")));
        assert!(since_redis_7(&hello("redis", "7.0.15")));
        assert!(since_redis_7(&hello("redis", "7.2.4")));
        assert!(since_redis_7(&hello("valkey", "8.0.1")));
        assert!(since_redis_7(&hello("redis", "10.0.0")));
        assert!(!since_redis_7(&hello("redis", "unknown")));
        assert!(!since_redis_7(&Value::Nil));
        let map = Value::Map(vec![(bulk("server"), bulk("Valkey")), (bulk("version"), bulk("7.2.5"))]);
        assert!(since_redis_7(&map));
    }

    #[test]
    fn every_dangerous_command_has_its_dryrun_words() {
        assert_eq!(DANGEROUS[0].dryrun(), ["acl", "setuser", "rotor-probe"]);
        assert_eq!(DANGEROUS[0].name(), "ACL SETUSER");
        assert!(DANGEROUS.iter().any(|d| d.is("debug", None)));
    }
}
