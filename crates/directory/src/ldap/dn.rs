//! Distinguished names (RFC 4514) and filter values (RFC 4515): parsed, compared and written back escaped, so a
//! name from a secret is never pasted into a DN or a filter as text.

use std::fmt;

/// The characters RFC 4514 escapes anywhere in an attribute value.
const DN_SPECIAL: &[char] = &['"', '+', ',', ';', '<', '>', '\\', '='];

/// A distinguished name: its relative names, leaf first, each one or more `type=value` pairs. Types compare
/// without case; values compare without ASCII case too (the naming attributes of directories, `cn`, `ou`, `dc`,
/// `uid`, match case-insensitively), and other characters exactly: a name that differs only by a character
/// Unicode folds (the Kelvin sign) is another name, which fails closed.
#[derive(Debug, Clone)]
pub struct Dn {
    rdns: Vec<Vec<(String, String)>>,
}

impl Dn {
    /// Parses `text` (RFC 4514: `,` between relative names, `+` inside one, `\` escapes of special characters and
    /// hex pairs; spaces around the separators are tolerated, as directories write them). Refuses an empty DN, a
    /// value in BER form (`#...`), and control characters.
    pub fn parse(text: &str) -> Result<Self, String> {
        let mut rdns = Vec::new();
        let mut rdn = Vec::new();
        let mut chars = text.chars().peekable();
        loop {
            let mut kind = String::new();
            for c in chars.by_ref() {
                if c == '=' {
                    break;
                }
                kind.push(c);
            }
            let kind = kind.trim().to_ascii_lowercase();
            if kind.is_empty() || !kind.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.') {
                return Err(format!("is not a DN: {kind:?} is not an attribute type"));
            }
            while chars.peek() == Some(&' ') {
                chars.next();
            }
            if chars.peek() == Some(&'#') {
                return Err("holds a value in BER form (#...), which rotor does not take".into());
            }
            let mut bytes = Vec::new();
            // Where the value's unescaped trailing spaces start (escaped spaces are kept).
            let mut kept = 0;
            let mut end = None;
            while let Some(c) = chars.next() {
                match c {
                    ',' | '+' => {
                        end = Some(c);
                        break;
                    }
                    '\\' => {
                        let Some(next) = chars.next() else { return Err("ends in a lone backslash".into()) };
                        if next.is_ascii_hexdigit() {
                            let low = chars.next().filter(char::is_ascii_hexdigit).ok_or("has a bad hex escape")?;
                            let pair = format!("{next}{low}");
                            bytes.push(u8::from_str_radix(&pair, 16).map_err(|_| "has a bad hex escape")?);
                        } else if DN_SPECIAL.contains(&next) || next == ' ' || next == '#' {
                            bytes.push(next as u8);
                        } else {
                            return Err(format!("escapes {next:?}, which needs no escape"));
                        }
                        kept = bytes.len();
                    }
                    '"' | ';' | '<' | '>' => return Err(format!("has an unescaped {c:?} in a value")),
                    c => {
                        let mut buffer = [0; 4];
                        bytes.extend_from_slice(c.encode_utf8(&mut buffer).as_bytes());
                        if c != ' ' {
                            kept = bytes.len();
                        }
                    }
                }
            }
            bytes.truncate(kept);
            let value = String::from_utf8(bytes).map_err(|_| "has an escape that is not UTF-8")?;
            if value.is_empty() {
                return Err(format!("has an empty value for {kind}"));
            }
            if value.chars().any(char::is_control) {
                return Err("has a control character in a value".into());
            }
            rdn.push((kind, value));
            match end {
                Some('+') => {}
                Some(_) => rdns.push(std::mem::take(&mut rdn)),
                None => {
                    rdns.push(rdn);
                    return Ok(Self { rdns });
                }
            }
        }
    }

    /// The naming context of the DNS domain `name`: `DC=corp,DC=example` for `corp.example`.
    pub fn of_domain(name: &str) -> Result<Self, String> {
        let text = name.split('.').map(|part| format!("DC={}", escape_dn_value(part))).collect::<Vec<_>>().join(",");
        Self::parse(&text)
    }

    /// Whether this DN is `base` or lies under it.
    pub fn is_within(&self, base: &Dn) -> bool {
        base.rdns.len() <= self.rdns.len()
            && self.rdns[self.rdns.len() - base.rdns.len()..].iter().zip(&base.rdns).all(|(a, b)| same_rdn(a, b))
    }

    /// The DN one level up (the entry's container); `None` for a DN of one relative name.
    pub fn parent(&self) -> Option<Dn> {
        (self.rdns.len() > 1).then(|| Self { rdns: self.rdns[1..].to_vec() })
    }

    /// The value of the leaf's naming attribute, when the leaf has exactly one (`svc` for `CN=svc,OU=...`).
    pub fn leaf_value(&self) -> Option<&str> {
        match self.rdns.first().map(Vec::as_slice) {
            Some([(_, value)]) => Some(value),
            _ => None,
        }
    }

    /// This DN with the leaf's single value replaced by `value`.
    pub fn with_leaf_value(&self, value: &str) -> Option<Dn> {
        let mut rdns = self.rdns.clone();
        match rdns.first_mut().map(Vec::as_mut_slice) {
            Some([(_, old)]) => *old = value.to_owned(),
            _ => return None,
        }
        Some(Self { rdns })
    }
}

fn same_rdn(a: &[(String, String)], b: &[(String, String)]) -> bool {
    let key = |rdn: &[(String, String)]| {
        // ASCII case only: Unicode folding would take the Kelvin sign for a K, where a directory may not.
        let mut pairs: Vec<(String, String)> = rdn.iter().map(|(t, v)| (t.clone(), v.to_ascii_lowercase())).collect();
        pairs.sort();
        pairs
    };
    key(a) == key(b)
}

impl PartialEq for Dn {
    fn eq(&self, other: &Self) -> bool {
        self.rdns.len() == other.rdns.len() && self.rdns.iter().zip(&other.rdns).all(|(a, b)| same_rdn(a, b))
    }
}

impl Eq for Dn {}

/// The DN written back with every value escaped (RFC 4514): what rotor sends, whatever the secret wrote.
impl fmt::Display for Dn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, rdn) in self.rdns.iter().enumerate() {
            if i > 0 {
                f.write_str(",")?;
            }
            for (j, (kind, value)) in rdn.iter().enumerate() {
                if j > 0 {
                    f.write_str("+")?;
                }
                write!(f, "{kind}={}", escape_dn_value(value))?;
            }
        }
        Ok(())
    }
}

/// An attribute value escaped for a DN (RFC 4514): the special characters, a leading `#` or space, a trailing
/// space, and NUL.
pub fn escape_dn_value(value: &str) -> String {
    let last = value.chars().count().saturating_sub(1);
    let mut escaped = String::with_capacity(value.len());
    for (i, c) in value.chars().enumerate() {
        match c {
            '\0' => escaped.push_str("\\00"),
            c if DN_SPECIAL.contains(&c) => {
                escaped.push('\\');
                escaped.push(c);
            }
            '#' if i == 0 => escaped.push_str("\\#"),
            ' ' if i == 0 || i == last => escaped.push_str("\\ "),
            c => escaped.push(c),
        }
    }
    escaped
}

/// An assertion value escaped for a search filter (RFC 4515): `*`, `(`, `)`, `\` and NUL as hex pairs.
pub fn escape_filter_value(value: &str) -> String {
    let mut escaped = String::with_capacity(value.len());
    for c in value.chars() {
        match c {
            '*' => escaped.push_str("\\2a"),
            '(' => escaped.push_str("\\28"),
            ')' => escaped.push_str("\\29"),
            '\\' => escaped.push_str("\\5c"),
            '\0' => escaped.push_str("\\00"),
            c => escaped.push(c),
        }
    }
    escaped
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dn(text: &str) -> Dn {
        Dn::parse(text).unwrap_or_else(|e| panic!("{text}: {e}"))
    }

    #[test]
    fn a_dn_round_trips_with_every_special_character_escaped() {
        let parsed = dn(r"CN=Smith\, John \+ \=Co\\ \#1,OU=Service Accounts, DC=corp,DC=example");
        assert_eq!(parsed.leaf_value(), Some(r"Smith, John + =Co\ #1"));
        assert_eq!(parsed.to_string(), r"cn=Smith\, John \+ \=Co\\ #1,ou=Service Accounts,dc=corp,dc=example");
        assert_eq!(Dn::parse(&parsed.to_string()).unwrap(), parsed);
        assert_eq!(dn(r"cn=\23lead\20,dc=x").leaf_value(), Some("#lead "));
        assert_eq!(dn(r"cn=\23lead\20,dc=x").to_string(), r"cn=\#lead\ ,dc=x");
        assert_eq!(dn(r"cn=caf\C3\A9,dc=x").leaf_value(), Some("café"));
        assert_eq!(dn("cn=Ünïcødé 名前,dc=x").leaf_value(), Some("Ünïcødé 名前"));
        // RFC 4514 lets `=` stand unescaped in a value; rotor writes it escaped.
        assert_eq!(dn("cn=a=b,dc=x").to_string(), r"cn=a\=b,dc=x");
    }

    #[test]
    fn hostile_dns_are_refused_rather_than_read_some_other_way() {
        for text in [
            "",
            "svc",
            "cn=",
            "cn=a,",
            "cn=a,=b",
            "cn=#04024869",
            "cn=a\\",
            "cn=a\\zz",
            "cn=a\\4",
            "cn=a\"b",
            "cn=a;dc=x",
            "cn=a\u{0}b",
            "cn=a\nb",
            "c n=a",
            "cn=\\ff\\fe",
        ] {
            assert!(Dn::parse(text).is_err(), "{text:?} was taken");
        }
    }

    #[test]
    fn containment_compares_whole_relative_names_without_case() {
        let base = dn("OU=Service Accounts,DC=corp,DC=example");
        assert!(dn("cn=svc,ou=service accounts,dc=CORP,dc=example").is_within(&base));
        assert!(base.is_within(&base));
        assert!(!dn("cn=svc,ou=Admins,dc=corp,dc=example").is_within(&base));
        assert!(!dn("cn=svc,dc=example").is_within(&base));
        // A value that merely ends like the base is another entry.
        assert!(!dn(r"cn=x,ou=evil\,OU=Service Accounts,dc=corp,dc=example").is_within(&base));
        assert!(!dn("cn=x,ou=Service Accounts+uid=y,dc=corp,dc=example").is_within(&base));
        assert!(!dn("cn=x,ou=Service Accounts,dc=corp,dc=exampl\u{212A}").is_within(&dn("dc=corp,dc=examplk")));
        assert_eq!(dn("cn=svc,ou=a,dc=x").parent(), Some(dn("ou=a,dc=x")));
        assert_eq!(Dn::of_domain("Corp.Example").unwrap(), dn("DC=corp,DC=example"));
        assert!(Dn::of_domain("corp..example").is_err());
        assert_eq!(dn("cn=svc,dc=x").with_leaf_value("svc_clone"), Some(dn("cn=svc_clone,dc=x")));
        assert_eq!(dn("cn=svc+uid=1,dc=x").with_leaf_value("y"), None);
    }

    #[test]
    fn filter_values_cannot_widen_or_close_the_filter() {
        assert_eq!(escape_filter_value("*)(uid=*))(|(uid=*"), r"\2a\29\28uid=\2a\29\29\28|\28uid=\2a");
        assert_eq!(escape_filter_value("a\\b\0"), r"a\5cb\00");
        assert_eq!(escape_filter_value("ünï"), "ünï");
    }
}
