//! Redshift's rules for what both APIs name (users, databases) and for an admin password, as the service states
//! them. Each answers in words that never quote the password, for the API's own fault to carry.

/// Redshift's rules for an admin password: 8 to 64 printable ASCII characters (codes 33 to 126) but `'`, `"`, `\`,
/// `/` and `@`, with an uppercase letter, a lowercase letter and a digit. `None` when it keeps them.
pub fn password_problem(password: &str) -> Option<&'static str> {
    let length = password.chars().count();
    if !(8..=64).contains(&length) {
        return Some("must be 8 to 64 characters long");
    }
    if password.chars().any(|c| !c.is_ascii_graphic() || matches!(c, '\'' | '"' | '\\' | '/' | '@')) {
        return Some("may hold printable ASCII characters only, and none of ' \" \\ / @ or a space");
    }
    let has = |class: fn(&char) -> bool| password.chars().any(|c| class(&c));
    if !(has(char::is_ascii_uppercase) && has(char::is_ascii_lowercase) && has(char::is_ascii_digit)) {
        return Some("must hold an uppercase letter, a lowercase letter and a digit");
    }
    None
}

/// Redshift's rules for an admin user's name: 1 to 128 lowercase letters, digits, `_`, `+`, `.`, `@` or `-`, a
/// letter first, not `public`; and never `superuser`, the stand-in's own superuser the endpoint works as, whose
/// password a call would otherwise replace. `None` when it keeps them.
pub fn username_problem(name: &str, superuser: &str) -> Option<String> {
    let valid = (1..=128).contains(&name.len())
        && name.starts_with(|c: char| c.is_ascii_lowercase())
        && name.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "_+.@-".contains(c));
    if !valid {
        return Some(format!(
            "{name:?} must be 1 to 128 lowercase letters, digits or _ + . @ -, beginning with a letter"
        ));
    }
    if name == "public" {
        return Some("public is a reserved word".to_owned());
    }
    if name == superuser {
        return Some(format!("{name} is the local endpoint's own superuser on the server that stands in for Redshift"));
    }
    None
}

/// The rules for a database's name: 1 to 64 letters, digits or `_`, `+`, `.`, `@`, `-`, a letter first (Redshift
/// Serverless's pattern, which provisioned names keep too). `None` when it keeps them.
pub fn database_problem(name: &str) -> Option<String> {
    let valid = (1..=64).contains(&name.len())
        && name.starts_with(|c: char| c.is_ascii_alphabetic())
        && name.chars().all(|c| c.is_ascii_alphanumeric() || "_+.@-".contains(c));
    (!valid).then(|| format!("{name:?} must be 1 to 64 letters, digits or _ + . @ -, beginning with a letter"))
}

/// The rules for an identifier the service stores in lower case (`ClusterIdentifier`, a namespace's or workgroup's
/// name): `min` to `max` letters, digits or hyphens; `letter_first`: a letter first, no hyphen last or twice in a
/// row. The lower-case form, or what is wrong.
pub fn identifier(id: &str, min: usize, max: usize, letter_first: bool) -> Result<String, String> {
    let id = id.to_ascii_lowercase();
    let valid = (min..=max).contains(&id.len())
        && id.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        && (!letter_first
            || (id.starts_with(|c: char| c.is_ascii_lowercase()) && !id.ends_with('-') && !id.contains("--")));
    if valid {
        Ok(id)
    } else if letter_first {
        Err(format!(
            "must be {min} to {max} letters, digits or hyphens, begin with a letter, and neither end with a hyphen nor \
             contain two in a row"
        ))
    } else {
        Err(format!("must be {min} to {max} lowercase letters, digits or hyphens"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_keep_redshifts_rules_and_no_problem_quotes_one() {
        assert_eq!(password_problem("Valid-Passw0rd"), None);
        for bad in ["Sh0rt", &format!("Aa1{}", "x".repeat(62)), "no-upper-0123", "NO-LOWER-0123", "No-Digits-Here"] {
            assert!(password_problem(bad).is_some(), "{bad}");
        }
        for refused in ['\'', '"', '\\', '/', '@', ' ', 'é'] {
            let password = format!("Valid{refused}Passw0rd");
            let problem = password_problem(&password).unwrap();
            assert!(!problem.contains("Valid"), "{problem}");
        }
    }

    #[test]
    fn names_keep_the_services_rules_and_never_the_endpoints_own_superuser() {
        assert_eq!(username_problem("app-admin_1", "postgres"), None);
        for bad in ["", "1admin", "Admin", "has space", "has:colon", &"a".repeat(129)] {
            assert!(username_problem(bad, "postgres").is_some(), "{bad}");
        }
        assert!(username_problem("public", "postgres").unwrap().contains("reserved"));
        assert!(username_problem("postgres", "postgres").unwrap().contains("own superuser"));
        assert_eq!(database_problem("dev"), None);
        assert!(database_problem("1db").is_some() && database_problem("a;b").is_some());
        assert_eq!(identifier("App-Cluster", 1, 63, true).unwrap(), "app-cluster");
        for bad in ["1app", "app-", "a--b", "a_b", ""] {
            assert!(identifier(bad, 1, 63, true).is_err(), "{bad}");
        }
        assert_eq!(identifier("0-ns", 3, 64, false).unwrap(), "0-ns");
        assert!(identifier("ns", 3, 64, false).is_err());
    }
}
