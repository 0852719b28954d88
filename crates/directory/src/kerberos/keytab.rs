//! Keytabs in MIT's file format, version 0x0502 (what `ktutil`, `kinit -k` and Java read): every integer
//! big-endian; an entry is its length, then the principal, a timestamp, the key version and the key.

use super::error::KerberosError;
use super::key::{Enctype, LongTermKey};
use super::principal::Principal;

/// KRB5_NT_PRINCIPAL: a user's or service's name.
const NT_PRINCIPAL: u32 = 1;

/// One key of a principal in a keytab.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeytabEntry {
    /// Whose key.
    pub principal: Principal,
    /// When it was written (seconds since 1970), as `klist -kt` shows it.
    pub timestamp: u32,
    /// The key version number (the directory's `msDS-KeyVersionNumber`).
    pub kvno: u32,
    /// The key.
    pub key: LongTermKey,
}

/// A keytab: the keys a client authenticates with instead of a password.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Keytab {
    entries: Vec<KeytabEntry>,
}

impl Keytab {
    /// The keys of `principal` at version `kvno` derived from `password` with `salt` (the KDC's, see
    /// [`Authenticated`](super::Authenticated)), one entry per AES type, strongest first.
    pub fn from_password(
        principal: &Principal,
        password: &str,
        salt: &str,
        kvno: u32,
        timestamp: u32,
    ) -> Result<Self, KerberosError> {
        let entries = Enctype::ALL
            .into_iter()
            .map(|enctype| {
                Ok(KeytabEntry {
                    principal: principal.clone(),
                    timestamp,
                    kvno,
                    key: LongTermKey::from_password(enctype, password, salt)?,
                })
            })
            .collect::<Result<_, KerberosError>>()?;
        Ok(Self { entries })
    }

    /// The entries, in file order.
    pub fn entries(&self) -> &[KeytabEntry] {
        &self.entries
    }

    /// The keytab's bytes (format 0x0502).
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = vec![0x05, 0x02];
        for entry in &self.entries {
            let mut record = Vec::new();
            record.extend_from_slice(&1u16.to_be_bytes()); // one name component
            counted(&mut record, entry.principal.realm().as_bytes());
            counted(&mut record, entry.principal.name().as_bytes());
            record.extend_from_slice(&NT_PRINCIPAL.to_be_bytes());
            record.extend_from_slice(&entry.timestamp.to_be_bytes());
            record.push(entry.kvno as u8); // the 8-bit version; the 32-bit one follows the key
            record.extend_from_slice(&(entry.key.enctype().number() as u16).to_be_bytes());
            counted(&mut record, entry.key.bytes());
            record.extend_from_slice(&entry.kvno.to_be_bytes());
            out.extend_from_slice(&(record.len() as i32).to_be_bytes());
            out.extend_from_slice(&record);
        }
        out
    }

    /// Reads a keytab (format 0x0502). Entries rotor does not use are skipped: other key types (RC4, DES), deleted
    /// slots (a negative length), service principals of several components (`HTTP/web`, which an account's keytab
    /// may also hold) and names outside printable ASCII; a zero length ends the keytab, as MIT's reader has it. A
    /// keytab with no usable AES entry is refused.
    pub fn parse(bytes: &[u8]) -> Result<Self, KerberosError> {
        let invalid = |reason: &str| KerberosError::InvalidKeytab { reason: reason.to_owned() };
        let mut reader = Reader { bytes, at: 0 };
        if reader.take(2).ok_or_else(|| invalid("empty"))? != [0x05, 0x02] {
            return Err(invalid("not a keytab of format 0x0502"));
        }
        let mut entries = Vec::new();
        while reader.at < bytes.len() {
            let length = i32::from_be_bytes(reader.array().ok_or_else(|| invalid("truncated entry length"))?);
            if length == 0 {
                break;
            }
            let record = reader.take(length.unsigned_abs() as usize).ok_or_else(|| invalid("truncated entry"))?;
            if length <= 0 {
                continue;
            }
            if let Some(entry) = entry(record)? {
                entries.push(entry);
            }
        }
        if entries.is_empty() {
            return Err(invalid("it holds no AES key"));
        }
        Ok(Self { entries })
    }
}

/// One entry's record; `None` for a key type rotor does not use.
fn entry(record: &[u8]) -> Result<Option<KeytabEntry>, KerberosError> {
    let invalid = |reason: &str| KerberosError::InvalidKeytab { reason: reason.to_owned() };
    let mut reader = Reader { bytes: record, at: 0 };
    let components = u16::from_be_bytes(reader.array().ok_or_else(|| invalid("truncated principal"))?);
    let realm = reader.counted().ok_or_else(|| invalid("truncated realm"))?;
    let mut names = Vec::new();
    for _ in 0..components {
        names.push(reader.counted().ok_or_else(|| invalid("truncated name"))?);
    }
    let _name_type = reader.array::<4>().ok_or_else(|| invalid("truncated name type"))?;
    let timestamp = u32::from_be_bytes(reader.array().ok_or_else(|| invalid("truncated timestamp"))?);
    let kvno8 = reader.take(1).ok_or_else(|| invalid("truncated key version"))?[0];
    let enctype = u16::from_be_bytes(reader.array().ok_or_else(|| invalid("truncated key type"))?);
    let key = reader.counted().ok_or_else(|| invalid("truncated key"))?;
    // The 32-bit version where the entry has one that is not zero (MIT's reader), else the 8-bit one.
    let kvno = reader.array().map(u32::from_be_bytes).filter(|kvno| *kvno != 0).unwrap_or(u32::from(kvno8));
    let Some(enctype) = Enctype::from_number(i32::from(enctype)) else { return Ok(None) };
    let [name] = names.as_slice() else { return Ok(None) };
    let (Ok(name), Ok(realm)) = (std::str::from_utf8(name), std::str::from_utf8(realm)) else { return Ok(None) };
    let Ok(principal) = Principal::new(name, realm) else { return Ok(None) };
    Ok(Some(KeytabEntry { principal, timestamp, kvno, key: LongTermKey::from_bytes(enctype, key.to_vec())? }))
}

/// `bytes` with its 16-bit length before them.
fn counted(out: &mut Vec<u8>, bytes: &[u8]) {
    out.extend_from_slice(&(bytes.len() as u16).to_be_bytes());
    out.extend_from_slice(bytes);
}

struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        let taken = self.bytes.get(self.at..self.at.checked_add(n)?)?;
        self.at += n;
        Some(taken)
    }

    fn array<const N: usize>(&mut self) -> Option<[u8; N]> {
        self.take(N)?.try_into().ok()
    }

    fn counted(&mut self) -> Option<&'a [u8]> {
        let n = u16::from_be_bytes(self.array()?);
        self.take(usize::from(n))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What MIT Kerberos 1.20's `ktutil` writes for `raeburn@ATHENA.MIT.EDU`, "password", key version 1 (`addent
    /// -password` for aes256 then aes128, `wkt`), at timestamp 0x6b163a30.
    const MIT_KEYTAB: &str = "05020000004c0001000e415448454e412e4d49542e45445500077261656275726e000000016b163a30010012002001b897121d933ab44b47eb5494db15e50eb74530dbdae9b634d65020ff5d88c1000000010000003c0001000e415448454e412e4d49542e45445500077261656275726e000000016b163a300100110010fca822951813fb252154c883f5ee1cf400000001";

    fn unhex(text: &str) -> Vec<u8> {
        (0..text.len()).step_by(2).map(|i| u8::from_str_radix(&text[i..i + 2], 16).unwrap()).collect()
    }

    #[test]
    fn a_keytab_is_written_byte_for_byte_as_mit_kerberos_writes_it_and_read_back() {
        let principal = Principal::new("raeburn", "ATHENA.MIT.EDU").unwrap();
        let keytab = Keytab::from_password(&principal, "password", &principal.default_salt(), 1, 0x6b16_3a30).unwrap();
        assert_eq!(keytab.to_bytes(), unhex(MIT_KEYTAB));
        assert_eq!(Keytab::parse(&unhex(MIT_KEYTAB)).unwrap(), keytab);
    }

    #[test]
    fn entries_rotor_does_not_use_are_skipped_and_a_zero_length_ends_the_keytab() {
        let mut bytes = unhex(MIT_KEYTAB);
        // A service principal of two components (HTTP/web), as an account's keytab may also hold.
        let mut record = 2u16.to_be_bytes().to_vec();
        for part in ["ATHENA.MIT.EDU", "HTTP", "web"] {
            counted(&mut record, part.as_bytes());
        }
        record.extend_from_slice(&[0, 0, 0, 1, 0, 0, 0, 0, 7, 0, 18]);
        counted(&mut record, &[9; 32]);
        record.extend_from_slice(&7u32.to_be_bytes());
        bytes.extend_from_slice(&(record.len() as i32).to_be_bytes());
        bytes.extend_from_slice(&record);
        // A zero length, then what MIT's reader never reads.
        bytes.extend_from_slice(&[0, 0, 0, 0, 0xff, 0xff]);
        let keytab = Keytab::parse(&bytes).unwrap();
        assert_eq!(keytab.entries().len(), 2, "raeburn's two AES keys");
        assert!(keytab.entries().iter().all(|entry| entry.principal.name() == "raeburn" && entry.kvno == 1));
    }

    #[test]
    fn a_malformed_or_keyless_keytab_is_refused() {
        let bytes = unhex(MIT_KEYTAB);
        for cut in [0, 1, 2, 5, 40, bytes.len() - 1] {
            let error = Keytab::parse(&bytes[..cut]).unwrap_err().to_string();
            assert!(error.starts_with("invalid keytab"), "{cut}: {error}");
        }
        assert!(Keytab::parse(&[0x05, 0x01]).unwrap_err().to_string().contains("format 0x0502"));
        // An RC4 entry alone (type 23) holds no key rotor uses.
        let mut rc4 = bytes[..2 + 4 + 0x4c].to_vec();
        rc4[6 + 37] = 23; // the low byte of the entry's key type
        assert!(Keytab::parse(&rc4).unwrap_err().to_string().contains("no AES key"), "{rc4:?}");
    }
}
