//! DocumentDB's rules for what `CreateDBCluster` and `ModifyDBCluster` name (a cluster, its master user) and for a
//! master password, as the service states them. Each answers in words that never quote the password, for the
//! call's fault to carry.

/// DocumentDB's rules for a master password: 8 to 100 printable ASCII characters but `/`, `"` and `@`. `None` when
/// it keeps them.
pub fn password_problem(password: &str) -> Option<&'static str> {
    if !(8..=100).contains(&password.chars().count()) {
        return Some("must be 8 to 100 characters long");
    }
    if password.chars().any(|c| !(c == ' ' || c.is_ascii_graphic()) || matches!(c, '/' | '"' | '@')) {
        return Some("may hold printable ASCII characters only, and none of / \" @");
    }
    None
}

/// DocumentDB's rules for a master user's name: 1 to 63 letters or digits, a letter first; and never `root`, the
/// stand-in's own user the endpoint works as, whose password a call would otherwise replace. `None` when it keeps
/// them.
pub fn username_problem(name: &str, root: &str) -> Option<String> {
    let valid = (1..=63).contains(&name.len())
        && name.starts_with(|c: char| c.is_ascii_alphabetic())
        && name.chars().all(|c| c.is_ascii_alphanumeric());
    if !valid {
        return Some(format!("{name:?} must be 1 to 63 letters or digits, beginning with a letter"));
    }
    if name == root {
        return Some(format!("{name} is the local endpoint's own user on the server that stands in for DocumentDB"));
    }
    None
}

/// DocumentDB's rules for `DBClusterIdentifier`, stored in lower case: 1 to 63 letters, digits or hyphens, a letter
/// first, no hyphen last or twice in a row. The lower-case form, or what is wrong.
pub fn cluster_id(id: &str) -> Result<String, String> {
    let id = id.to_ascii_lowercase();
    let valid = (1..=63).contains(&id.len())
        && id.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        && id.starts_with(|c: char| c.is_ascii_lowercase())
        && !id.ends_with('-')
        && !id.contains("--");
    if valid {
        Ok(id)
    } else {
        Err("must be 1 to 63 letters, digits or hyphens, begin with a letter, and neither end with a hyphen nor \
             contain two in a row"
            .to_owned())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_keep_documentdbs_rules_and_no_problem_quotes_one() {
        assert_eq!(password_problem("valid pass-word"), None, "no class of character is required");
        assert_eq!(password_problem(&"x".repeat(100)), None);
        for bad in ["Short-1", &"x".repeat(101)] {
            assert!(password_problem(bad).is_some(), "{bad}");
        }
        for refused in ['/', '"', '@', '\t', 'é'] {
            let problem = password_problem(&format!("Valid{refused}Passw0rd")).unwrap();
            assert!(!problem.contains("Valid"), "{problem}");
        }
    }

    #[test]
    fn names_keep_the_services_rules_and_never_the_endpoints_own_user() {
        assert_eq!(username_problem("appMaster1", "root"), None);
        for bad in ["", "1master", "app_master", "app-master", "has space", &"a".repeat(64)] {
            assert!(username_problem(bad, "root").is_some(), "{bad}");
        }
        assert!(username_problem("root", "root").unwrap().contains("own user"));
        assert_eq!(cluster_id("App-Cluster-1").unwrap(), "app-cluster-1");
        for bad in ["1app", "app-", "a--b", "a_b", "", &"a".repeat(64)] {
            assert!(cluster_id(bad).is_err(), "{bad}");
        }
    }
}
