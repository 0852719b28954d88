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
#[derive(Clone, Copy)]
pub enum ProofCredential<'a> {
    /// Its password.
    Password(&'a str),
    /// Its keys, from a keytab.
    Keytab(&'a Keytab),
}

impl std::fmt::Debug for ProofCredential<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Password(_) => "Password(..)",
            Self::Keytab(_) => "Keytab(..)",
        })
    }
}

/// What a successful proof learned from the KDC: the key type it took, the account's salt and the key version the
/// KDC's answer names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Authenticated {
    /// The key type of the proof.
    pub enctype: Enctype,
    /// The account's salt, for a password proof only: its success vouches for the salt the key was derived with
    /// (what a keytab of that password is derived with). A keytab proof learns none: the KDC's offer is
    /// unauthenticated, and the keytab's key does not depend on it.
    pub salt: Option<String>,
    /// The key version the AS-REP names. It travels outside the encrypted part, so it is a hint: a keytab's key
    /// version comes from the directory (`msDS-KeyVersionNumber`).
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
                let salt = matches!(credential, ProofCredential::Password(_)).then_some(salt);
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
        tokio::time::timeout(self.timeout, exchange).await.map_err(|_| KerberosError::TimedOut {
            kdc: self.address.clone(),
            milliseconds: self.timeout.as_millis() as u64,
        })?
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

#[cfg(test)]
mod tests {
    //! A fake KDC, for what a real one never does: answer a wrong key with a ticket.

    use picky_asn1::bit_string::BitString;
    use picky_asn1::date::GeneralizedTime;
    use picky_asn1::restricted_string::IA5String;
    use picky_asn1::wrapper::{
        Asn1SequenceOf, ExplicitContextTag0, ExplicitContextTag1, ExplicitContextTag2, ExplicitContextTag3,
        ExplicitContextTag4, ExplicitContextTag5, ExplicitContextTag6, ExplicitContextTag7, ExplicitContextTag9,
        ExplicitContextTag10, ExplicitContextTag12, GeneralizedTimeAsn1, IntegerAsn1, OctetStringAsn1, Optional,
    };
    use picky_krb::constants::key_usages::AS_REP_ENC;
    use picky_krb::constants::types::PA_ETYPE_INFO2_TYPE;
    use picky_krb::data_types::{
        EncryptedData, EncryptionKey, EtypeInfo2, EtypeInfo2Entry, KerberosFlags, KerberosStringAsn1, LastReqInner,
        PaData, PrincipalName, Ticket, TicketInner,
    };
    use picky_krb::messages::{AsRep, AsReq, EncAsRepPart, EncKdcRepPart, KdcRep, KrbError, KrbErrorInner};
    use tokio::net::TcpListener;

    use super::*;

    /// How the fake KDC answers the pre-authenticated request.
    #[derive(Clone, Copy)]
    enum Answer {
        /// An AS-REP encrypted with the password's key, answering the request's nonce.
        Honest,
        /// Encrypted with another password's key.
        OtherKey,
        /// Answering another nonce.
        OtherNonce,
    }

    fn string(value: &str) -> KerberosStringAsn1 {
        KerberosStringAsn1::from(IA5String::from_string(value.to_owned()).unwrap())
    }

    fn integer(value: i64) -> IntegerAsn1 {
        IntegerAsn1::from_bytes_be_signed(value.to_be_bytes().to_vec())
    }

    fn name(kind: i64, parts: &[&str]) -> PrincipalName {
        PrincipalName {
            name_type: ExplicitContextTag0::from(integer(kind)),
            name_string: ExplicitContextTag1::from(Asn1SequenceOf::from(
                parts.iter().map(|p| string(p)).collect::<Vec<_>>(),
            )),
        }
    }

    fn now() -> GeneralizedTimeAsn1 {
        GeneralizedTimeAsn1::from(GeneralizedTime::from(chrono::Utc::now()))
    }

    fn preauth_required(salt: &str) -> Vec<u8> {
        let info: EtypeInfo2 = Asn1SequenceOf::from(vec![EtypeInfo2Entry {
            etype: ExplicitContextTag0::from(integer(18)),
            salt: Optional::from(Some(ExplicitContextTag1::from(string(salt)))),
            s2kparams: Optional::from(None),
        }]);
        let methods: Asn1SequenceOf<PaData> = Asn1SequenceOf::from(vec![PaData {
            padata_type: ExplicitContextTag1::from(IntegerAsn1::from(PA_ETYPE_INFO2_TYPE.to_vec())),
            padata_data: ExplicitContextTag2::from(OctetStringAsn1::from(picky_asn1_der::to_vec(&info).unwrap())),
        }]);
        picky_asn1_der::to_vec(&KrbError::from(KrbErrorInner {
            pvno: ExplicitContextTag0::from(integer(5)),
            msg_type: ExplicitContextTag1::from(integer(30)),
            ctime: Optional::from(None),
            cusec: Optional::from(None),
            stime: ExplicitContextTag4::from(now()),
            susec: ExplicitContextTag5::from(integer(0)),
            error_code: ExplicitContextTag6::from(25),
            crealm: Optional::from(None),
            cname: Optional::from(None),
            realm: ExplicitContextTag9::from(string("ROTOR.TEST")),
            sname: ExplicitContextTag10::from(name(2, &["krbtgt", "ROTOR.TEST"])),
            e_text: Optional::from(None),
            e_data: Optional::from(Some(ExplicitContextTag12::from(OctetStringAsn1::from(
                picky_asn1_der::to_vec(&methods).unwrap(),
            )))),
        }))
        .unwrap()
    }

    fn as_rep(key: &LongTermKey, nonce: i64) -> Vec<u8> {
        let part = EncAsRepPart::from(EncKdcRepPart {
            key: ExplicitContextTag0::from(EncryptionKey {
                key_type: ExplicitContextTag0::from(integer(18)),
                key_value: ExplicitContextTag1::from(OctetStringAsn1::from(vec![7u8; 32])),
            }),
            last_req: ExplicitContextTag1::from(Asn1SequenceOf::from(vec![LastReqInner {
                lr_type: ExplicitContextTag0::from(integer(0)),
                lr_value: ExplicitContextTag1::from(now()),
            }])),
            nonce: ExplicitContextTag2::from(integer(nonce)),
            key_expiration: Optional::from(None),
            flags: ExplicitContextTag4::from(KerberosFlags::from(BitString::with_bytes(vec![0, 0, 0, 0]))),
            auth_time: ExplicitContextTag5::from(now()),
            start_time: Optional::from(None),
            end_time: ExplicitContextTag7::from(now()),
            renew_till: Optional::from(None),
            srealm: ExplicitContextTag9::from(string("ROTOR.TEST")),
            sname: ExplicitContextTag10::from(name(2, &["krbtgt", "ROTOR.TEST"])),
            caddr: Optional::from(None),
            encrypted_pa_data: Optional::from(None),
        });
        let plain = picky_asn1_der::to_vec(&part).unwrap();
        let cipher = key.enctype().suite().cipher().encrypt(key.bytes(), AS_REP_ENC, &plain).unwrap();
        let encrypted = |cipher: Vec<u8>, kvno: i64| EncryptedData {
            etype: ExplicitContextTag0::from(integer(18)),
            kvno: Optional::from(Some(ExplicitContextTag1::from(integer(kvno)))),
            cipher: ExplicitContextTag2::from(OctetStringAsn1::from(cipher)),
        };
        picky_asn1_der::to_vec(&AsRep::from(KdcRep {
            pvno: ExplicitContextTag0::from(integer(5)),
            msg_type: ExplicitContextTag1::from(integer(11)),
            padata: Optional::from(None),
            crealm: ExplicitContextTag3::from(string("ROTOR.TEST")),
            cname: ExplicitContextTag4::from(name(1, &["svc_app"])),
            ticket: ExplicitContextTag5::from(Ticket::from(TicketInner {
                tkt_vno: ExplicitContextTag0::from(integer(5)),
                realm: ExplicitContextTag1::from(string("ROTOR.TEST")),
                sname: ExplicitContextTag2::from(name(2, &["krbtgt", "ROTOR.TEST"])),
                enc_part: ExplicitContextTag3::from(encrypted(vec![1u8; 40], 2)),
            })),
            enc_part: ExplicitContextTag6::from(encrypted(cipher, 3)),
        }))
        .unwrap()
    }

    /// A KDC on a free port that answers two requests as `answer` says; its address.
    async fn fake_kdc(answer: Answer) -> String {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap().to_string();
        tokio::spawn(async move {
            for round in 0..2 {
                let (mut stream, _) = listener.accept().await.unwrap();
                let mut length = [0u8; 4];
                stream.read_exact(&mut length).await.unwrap();
                let mut request = vec![0u8; u32::from_be_bytes(length) as usize];
                stream.read_exact(&mut request).await.unwrap();
                let request: AsReq = picky_asn1_der::from_bytes(&request).unwrap();
                let nonce = messages::value(&request.0.req_body.0.nonce.0);
                let reply = if round == 0 {
                    preauth_required("ROTOR.TESTsvc_app")
                } else {
                    let password =
                        if matches!(answer, Answer::OtherKey) { "Other-Pass-0001" } else { "Right-Pass-0001" };
                    let key = LongTermKey::from_password(Enctype::Aes256CtsHmacSha196, password, "ROTOR.TESTsvc_app")
                        .unwrap();
                    as_rep(&key, if matches!(answer, Answer::OtherNonce) { nonce ^ 1 } else { nonce })
                };
                stream.write_all(&(reply.len() as u32).to_be_bytes()).await.unwrap();
                stream.write_all(&reply).await.unwrap();
            }
        });
        address
    }

    #[tokio::test]
    async fn a_ticket_counts_only_when_it_opens_with_the_key_and_answers_the_request() {
        let principal = Principal::new("svc_app", "ROTOR.TEST").unwrap();
        let proof = |address: String| {
            let principal = principal.clone();
            async move {
                Kdc::new(address, Duration::from_secs(5))
                    .authenticate(&principal, ProofCredential::Password("Right-Pass-0001"))
                    .await
            }
        };
        let honest = proof(fake_kdc(Answer::Honest).await).await.unwrap();
        assert_eq!((honest.salt.as_deref(), honest.kvno), (Some("ROTOR.TESTsvc_app"), Some(3)));
        for (answer, expected) in
            [(Answer::OtherKey, "does not decrypt with the key"), (Answer::OtherNonce, "answers another request")]
        {
            let error = proof(fake_kdc(answer).await).await.unwrap_err();
            assert!(matches!(error, KerberosError::Protocol { .. }), "{error:?}");
            assert!(error.to_string().contains(expected), "{error}");
        }
    }
}
