//! What a secret's ARN says of where it lives: the partition, Region and account an API-managed credential's
//! resource must share with it.

/// The partition, Region and account of a secret's ARN (`arn:<partition>:secretsmanager:<region>:<account>:secret:
/// <name>`); `None` for anything else (a name, another service's ARN). A secret rotates a resource of its own
/// account and Region only: a writer of the secret cannot move the rotation to another.
pub fn secret_home(arn: &str) -> Option<(&str, &str, &str)> {
    let parts: Vec<&str> = arn.splitn(7, ':').collect();
    let ["arn", partition, "secretsmanager", region, account, "secret", name] = parts[..] else { return None };
    let valid = partition.starts_with("aws") && ![region, account, name].contains(&"");
    valid.then_some((partition, region, account))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_secrets_arn_names_a_home() {
        assert_eq!(
            secret_home("arn:aws-us-gov:secretsmanager:us-gov-west-1:123456789012:secret:db-AbCdEf"),
            Some(("aws-us-gov", "us-gov-west-1", "123456789012"))
        );
        for other in [
            "db-admin",
            "arn:aws:ssm:eu-west-1:1:parameter/p",
            "arn:aws:secretsmanager::1:secret:s",
            "arn:aws:secretsmanager:r::secret:s",
            "arn:aws:secretsmanager:r:1:secret:",
            "arn:other:secretsmanager:r:1:secret:s",
        ] {
            assert_eq!(secret_home(other), None, "{other}");
        }
    }
}
