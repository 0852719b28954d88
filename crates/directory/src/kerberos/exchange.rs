//! The AS exchange that proves a credential: ask the KDC for a ticket as the account, pre-authenticated with the
//! password's or keytab's key, and read the answer with that key.

use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use super::error::{KerberosError, meaning};
use super::key::{Enctype, LongTermKey};
use super::keytab::Keytab;
use super::messages::{self, Offer, Reply};
use super::principal::Principal;

/// KDC_ERR_PREAUTH_FAILED: the pre-authentication (the key) is wrong.
const PREAUTH_FAILED: i32 = 24;
/// KDC_ERR_PREAUTH_REQUIRED: the KDC wants proof of the key, and says which key types and salts it has.
const PREAUTH_REQUIRED: i32 = 25;
/// The largest answer read from a KDC.
const MAX_REPLY: usize = 1 << 20;
/// RFC 3962's default string-to-key parameter: 4096 iterations.
const DEFAULT_S2KPARAMS: [u8; 4] = [0, 0, 0x10, 0];

/// What proves an account to the KDC.
#[derive(Debug, Clone, Copy)]
pub enum ProofCredential<'a> {
    /// Its password.
    Password(&'a str),
    /// Its keys, from a keytab.
    Keytab(&'a Keytab),
}

/// What a successful proof learned from the KDC: the key type it took, the account's salt (what a keytab's keys
/// are derived with) and its key version number.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Authenticated {
    /// The key type of the proof.
    pub enctype: Enctype,
    /// The account's salt, as the KDC names it (or the default where it names none).
    pub salt: String,
    /// The account's key version, as the KDC's answer names it.
    pub kvno: Option<u32>,
}

/// A KDC reached over TCP (RFC 4120 7.2.2), every exchange bounded.
#[derive(Debug, Clone)]
pub struct Kdc {
    address: String,
    timeout: Duration,
}

impl Kdc {
    /// The KDC at `address` (`host:port`, port 88 by convention); each request and its answer within `timeout`.
    pub fn new(address: impl Into<String>, timeout: Duration) -> Self {
        Self { address: address.into(), timeout }
    }

    /// Proves `credential` for `principal` with an AS exchange: a ticket-granting ticket is asked for, the KDC
    /// names the key types and salt it holds, the request is pre-authenticated with the credential's key
    /// (PA-ENC-TIMESTAMP), and the KDC's answer must decrypt with that key and answer the request. AES only.
    pub async fn authenticate(
        &self,
        principal: &Principal,
        credential: ProofCredential<'_>,
    ) -> Result<Authenticated, KerberosError> {
        let protocol = |reason: String| KerberosError::Protocol { principal: principal.to_string(), reason };
        let enctypes: Vec<Enctype> = match credential {
            ProofCredential::Password(_) => Enctype::ALL.to_vec(),
            ProofCredential::Keytab(keytab) => {
                Enctype::ALL.into_iter().filter(|enctype| key_in(keytab, principal, *enctype).is_some()).collect()
            }
        };
        if enctypes.is_empty() {
            return Err(KerberosError::InvalidKeytab { reason: format!("it holds no AES key of {principal}") });
        }
        let nonce = nonce()?;
        let first = self.send(&messages::as_req(principal, nonce, &enctypes, None).map_err(protocol)?).await?;
        let offered = match messages::reply(&first).map_err(protocol)? {
            Reply::Error { code: PREAUTH_REQUIRED, offered } => offered,
            Reply::Error { code, .. } => return Err(refused(principal, code)),
            // An account without pre-authentication (DONT_REQUIRE_PREAUTH) gets its answer at once; it is read with
            // the credential's key all the same.
            Reply::AsRep(_) => Vec::new(),
        };
        let (enctype, salt) = choose(principal, &enctypes, &offered).map_err(protocol)?;
        let key = match credential {
            ProofCredential::Password(password) => LongTermKey::from_password(enctype, password, &salt)?,
            ProofCredential::Keytab(keytab) => key_in(keytab, principal, enctype).cloned().ok_or_else(|| {
                KerberosError::InvalidKeytab { reason: format!("it holds no {enctype:?} key of {principal}") }
            })?,
        };
        let padata = messages::encrypted_timestamp(&key).map_err(protocol)?;
        let nonce = self::nonce()?;
        let second =
            self.send(&messages::as_req(principal, nonce, &[enctype], Some(padata)).map_err(protocol)?).await?;
        match messages::reply(&second).map_err(protocol)? {
            Reply::AsRep(reply) => {
                let kvno = messages::open(&reply, &key, nonce).map_err(protocol)?;
                Ok(Authenticated { enctype, salt, kvno })
            }
            Reply::Error { code: PREAUTH_FAILED, .. } => {
                Err(KerberosError::WrongCredential { principal: principal.to_string() })
            }
            Reply::Error { code, .. } => Err(refused(principal, code)),
        }
    }

    /// One request and its answer, length-prefixed, within the bound.
    async fn send(&self, request: &[u8]) -> Result<Vec<u8>, KerberosError> {
        let unreachable =
            |e: std::io::Error| KerberosError::Unreachable { kdc: self.address.clone(), reason: e.kind().to_string() };
        let exchange = async {
            let mut stream = TcpStream::connect(&self.address).await.map_err(unreachable)?;
            let length = u32::try_from(request.len()).expect("an AS-REQ is small");
            stream.write_all(&length.to_be_bytes()).await.map_err(unreachable)?;
            stream.write_all(request).await.map_err(unreachable)?;
            let mut length = [0u8; 4];
            stream.read_exact(&mut length).await.map_err(unreachable)?;
            let length = u32::from_be_bytes(length) as usize;
            if length > MAX_REPLY {
                return Err(KerberosError::Unreachable {
                    kdc: self.address.clone(),
                    reason: format!("an answer of {length} bytes, over the {MAX_REPLY} read"),
                });
            }
            let mut reply = vec![0u8; length];
            stream.read_exact(&mut reply).await.map_err(unreachable)?;
            Ok(reply)
        };
        tokio::time::timeout(self.timeout, exchange)
            .await
            .map_err(|_| KerberosError::TimedOut { kdc: self.address.clone(), seconds: self.timeout.as_secs() })?
    }
}

/// A request's nonce, from the process's DRBG (AWS-LC's; the FIPS module's in the FIPS build).
fn nonce() -> Result<u32, KerberosError> {
    let bytes = rotation_core::random_bytes(4).map_err(|_| KerberosError::Protocol {
        principal: String::new(),
        reason: "no random nonce could be drawn".into(),
    })?;
    Ok(u32::from_be_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]) & 0x7fff_ffff)
}

/// The key type to prove with (the strongest the credential has and the KDC offers) and its salt.
fn choose(principal: &Principal, usable: &[Enctype], offered: &[Offer]) -> Result<(Enctype, String), String> {
    if offered.is_empty() {
        return Ok((usable[0], principal.default_salt()));
    }
    let offer = usable
        .iter()
        .find_map(|enctype| offered.iter().find(|offer| offer.enctype == Some(*enctype)))
        .ok_or("the KDC offers no AES key type for the account (set its password again, or allow AES for it)")?;
    if offer.s2kparams.as_deref().is_some_and(|params| params != DEFAULT_S2KPARAMS) {
        return Err("the KDC asks for a string-to-key iteration count other than 4096".into());
    }
    let enctype = offer.enctype.expect("found by its key type");
    Ok((enctype, offer.salt.clone().unwrap_or_else(|| principal.default_salt())))
}

/// `principal`'s key of `enctype` in the keytab, the newest version first.
fn key_in<'k>(keytab: &'k Keytab, principal: &Principal, enctype: Enctype) -> Option<&'k LongTermKey> {
    keytab
        .entries()
        .iter()
        .filter(|entry| &entry.principal == principal && entry.key.enctype() == enctype)
        .max_by_key(|entry| entry.kvno)
        .map(|entry| &entry.key)
}

fn refused(principal: &Principal, code: i32) -> KerberosError {
    KerberosError::Refused { principal: principal.to_string(), code, reason: meaning(code) }
}
