//! The two users of the alternating-users strategy: `<username>` and `<username>_clone`.

/// The suffix of the second user in the alternating-users strategy, as in AWS's functions.
pub const CLONE_SUFFIX: &str = "_clone";

/// The base user of an alternating pair: `app` for both `app` and `app_clone`.
pub fn base_username(username: &str) -> &str {
    username.strip_suffix(CLONE_SUFFIX).unwrap_or(username)
}

/// The other user of an alternating pair.
pub fn other_username(username: &str) -> String {
    match username.strip_suffix(CLONE_SUFFIX) {
        Some(base) => base.to_owned(),
        None => format!("{username}{CLONE_SUFFIX}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_user_of_a_pair_names_the_other() {
        assert_eq!(other_username("app"), "app_clone");
        assert_eq!(other_username("app_clone"), "app");
    }
}
