//! The AS exchange's messages (RFC 4120): the AS-REQ, its encrypted-timestamp pre-authentication, and the KDC's
//! AS-REP or KRB-ERROR, on picky-krb's ASN.1 types and RFC 3961/3962 crypto.

use picky_asn1::bit_string::BitString;
use picky_asn1::date::GeneralizedTime;
use picky_asn1::restricted_string::IA5String;
use picky_asn1::wrapper::{
    Asn1SequenceOf, ExplicitContextTag0, ExplicitContextTag1, ExplicitContextTag2, ExplicitContextTag3,
    ExplicitContextTag4, ExplicitContextTag5, ExplicitContextTag7, ExplicitContextTag8, GeneralizedTimeAsn1,
    IntegerAsn1, OctetStringAsn1, Optional,
};
use picky_krb::constants::key_usages::{AS_REP_ENC, AS_REQ_TIMESTAMP};
use picky_krb::constants::types::{AS_REQ_MSG_TYPE, NT_PRINCIPAL, NT_SRV_INST, PA_ENC_TIMESTAMP, PA_ETYPE_INFO2_TYPE};
use picky_krb::data_types::{
    EncryptedData, EtypeInfo2, KerberosFlags, KerberosStringAsn1, KerberosTime, PaData, PaEncTsEnc, PrincipalName,
};
use picky_krb::messages::{AsRep, AsReq, EncAsRepPart, EncTgsRepPart, KdcReq, KdcReqBody, KrbError};

use super::key::{Enctype, LongTermKey};
use super::principal::Principal;

/// A message could not be built or read; the reason names the part, never a key.
pub(crate) type Malformed = String;

fn string(value: &str) -> Result<KerberosStringAsn1, Malformed> {
    IA5String::from_string(value.to_owned()).map(KerberosStringAsn1::from).map_err(|_| "a name outside IA5".into())
}

fn integer(value: i64) -> IntegerAsn1 {
    // The shortest two's-complement big-endian form, as DER wants it.
    let bytes = value.to_be_bytes();
    let mut start = 0;
    while start < 7
        && ((bytes[start] == 0 && bytes[start + 1] & 0x80 == 0)
            || (bytes[start] == 0xff && bytes[start + 1] & 0x80 != 0))
    {
        start += 1;
    }
    IntegerAsn1::from_bytes_be_signed(bytes[start..].to_vec())
}

pub(crate) fn value(integer: &IntegerAsn1) -> i64 {
    let bytes = integer.as_signed_bytes_be();
    let negative = bytes.first().is_some_and(|byte| byte & 0x80 != 0);
    bytes.iter().fold(if negative { -1 } else { 0 }, |value, byte| (value << 8) | i64::from(*byte))
}

fn name(kind: u8, parts: &[&str]) -> Result<PrincipalName, Malformed> {
    Ok(PrincipalName {
        name_type: ExplicitContextTag0::from(integer(i64::from(kind))),
        name_string: ExplicitContextTag1::from(Asn1SequenceOf::from(
            parts.iter().map(|part| string(part)).collect::<Result<Vec<_>, _>>()?,
        )),
    })
}

/// An AS-REQ for a ticket to `krbtgt/REALM` as `principal`, asking for `enctypes`, with `padata`.
pub(crate) fn as_req(
    principal: &Principal,
    nonce: u32,
    enctypes: &[Enctype],
    padata: Option<PaData>,
) -> Result<Vec<u8>, Malformed> {
    let till = chrono::Utc::now() + chrono::Duration::minutes(10);
    let body = KdcReqBody {
        kdc_options: ExplicitContextTag0::from(KerberosFlags::from(BitString::with_bytes(vec![0, 0, 0, 0]))),
        cname: Optional::from(Some(ExplicitContextTag1::from(name(NT_PRINCIPAL, &[principal.name()])?))),
        realm: ExplicitContextTag2::from(string(principal.realm())?),
        sname: Optional::from(Some(ExplicitContextTag3::from(name(NT_SRV_INST, &["krbtgt", principal.realm()])?))),
        from: Optional::from(None),
        till: ExplicitContextTag5::from(GeneralizedTimeAsn1::from(GeneralizedTime::from(till))),
        rtime: Optional::from(None),
        nonce: ExplicitContextTag7::from(integer(i64::from(nonce & 0x7fff_ffff))),
        etype: ExplicitContextTag8::from(Asn1SequenceOf::from(
            enctypes.iter().map(|enctype| integer(i64::from(enctype.number()))).collect::<Vec<_>>(),
        )),
        addresses: Optional::from(None),
        enc_authorization_data: Optional::from(None),
        additional_tickets: Optional::from(None),
    };
    let request = AsReq::from(KdcReq {
        pvno: ExplicitContextTag1::from(integer(5)),
        msg_type: ExplicitContextTag2::from(integer(i64::from(AS_REQ_MSG_TYPE))),
        padata: Optional::from(padata.map(|padata| ExplicitContextTag3::from(Asn1SequenceOf::from(vec![padata])))),
        req_body: ExplicitContextTag4::from(body),
    });
    picky_asn1_der::to_vec(&request).map_err(|_| "the AS-REQ could not be encoded".into())
}

/// PA-ENC-TIMESTAMP: the current time encrypted with the long-term key (key usage 1), which proves the key to the
/// KDC.
pub(crate) fn encrypted_timestamp(key: &LongTermKey) -> Result<PaData, Malformed> {
    let now = chrono::Utc::now();
    let timestamp = PaEncTsEnc {
        patimestamp: ExplicitContextTag0::from(KerberosTime::from(GeneralizedTime::from(now))),
        pausec: Optional::from(Some(ExplicitContextTag1::from(integer(i64::from(
            now.timestamp_subsec_micros().min(999_999),
        ))))),
    };
    let plain = picky_asn1_der::to_vec(&timestamp).map_err(|_| "the timestamp could not be encoded")?;
    let cipher = key
        .enctype()
        .suite()
        .cipher()
        .encrypt(key.bytes(), AS_REQ_TIMESTAMP, &plain)
        .map_err(|_| "the timestamp could not be encrypted")?;
    let encrypted = EncryptedData {
        etype: ExplicitContextTag0::from(integer(i64::from(key.enctype().number()))),
        kvno: Optional::from(None),
        cipher: ExplicitContextTag2::from(OctetStringAsn1::from(cipher)),
    };
    Ok(PaData {
        padata_type: ExplicitContextTag1::from(IntegerAsn1::from(PA_ENC_TIMESTAMP.to_vec())),
        padata_data: ExplicitContextTag2::from(OctetStringAsn1::from(
            picky_asn1_der::to_vec(&encrypted).map_err(|_| "the timestamp could not be encoded")?,
        )),
    })
}

/// The KDC's answer.
pub(crate) enum Reply {
    /// A ticket: the credential was good (once its enc-part decrypts).
    AsRep(Box<AsRep>),
    /// An error, with its code and, for PREAUTH_REQUIRED, the key types and salts the KDC offers.
    Error { code: i32, offered: Vec<Offer> },
}

/// A key type the KDC offers for the principal (ETYPE-INFO2), with its salt and string-to-key parameters.
#[derive(Debug, Clone)]
pub(crate) struct Offer {
    pub(crate) enctype: Option<Enctype>,
    pub(crate) salt: Option<String>,
    pub(crate) s2kparams: Option<Vec<u8>>,
}

/// Reads an AS-REP ([APPLICATION 11]) or a KRB-ERROR ([APPLICATION 30]).
pub(crate) fn reply(bytes: &[u8]) -> Result<Reply, Malformed> {
    match bytes.first() {
        Some(0x6b) => Ok(Reply::AsRep(Box::new(picky_asn1_der::from_bytes(bytes).map_err(|_| "a malformed AS-REP")?))),
        Some(0x7e) => {
            let error: KrbError = picky_asn1_der::from_bytes(bytes).map_err(|_| "a malformed KRB-ERROR")?;
            let code = i32::try_from(error.0.error_code.0).unwrap_or(i32::MAX);
            Ok(Reply::Error { code, offered: offers(&error) })
        }
        _ => Err("neither an AS-REP nor a KRB-ERROR".into()),
    }
}

/// The ETYPE-INFO2 entries of a KRB-ERROR's e-data (METHOD-DATA); none when it has none.
fn offers(error: &KrbError) -> Vec<Offer> {
    let Some(data) = error.0.e_data.0.as_ref() else { return Vec::new() };
    let Ok(methods) = picky_asn1_der::from_bytes::<Asn1SequenceOf<PaData>>(&data.0.0) else { return Vec::new() };
    methods
        .0
        .iter()
        .filter(|method| method.padata_type.0.0 == PA_ETYPE_INFO2_TYPE)
        .filter_map(|method| picky_asn1_der::from_bytes::<EtypeInfo2>(&method.padata_data.0.0).ok())
        .flat_map(|info| info.0)
        .map(|entry| Offer {
            enctype: i32::try_from(value(&entry.etype.0)).ok().and_then(Enctype::from_number),
            salt: entry.salt.0.as_ref().map(|salt| salt.0.to_string()),
            s2kparams: entry.s2kparams.0.as_ref().map(|params| params.0.0.clone()),
        })
        .collect()
}

/// Decrypts the AS-REP's enc-part with the long-term key (key usage 3: its checksum fails with any other key) and
/// checks it answers `nonce`; returns the key version the KDC names for the client's key.
pub(crate) fn open(reply: &AsRep, key: &LongTermKey, nonce: u32) -> Result<Option<u32>, Malformed> {
    let enc_part = &reply.0.enc_part.0;
    if value(&enc_part.etype.0) != i64::from(key.enctype().number()) {
        return Err("the AS-REP is encrypted with another key type than the one proved".into());
    }
    let plain = key
        .enctype()
        .suite()
        .cipher()
        .decrypt(key.bytes(), AS_REP_ENC, &enc_part.cipher.0.0)
        .map_err(|_| "the AS-REP does not decrypt with the key")?;
    // RFC 4120 5.4.2: EncASRepPart, though some KDCs send EncTGSRepPart.
    let part = match picky_asn1_der::from_bytes::<EncAsRepPart>(&plain) {
        Ok(part) => part.0,
        Err(_) => picky_asn1_der::from_bytes::<EncTgsRepPart>(&plain).map_err(|_| "a malformed enc-part")?.0,
    };
    if value(&part.nonce.0) != i64::from(nonce & 0x7fff_ffff) {
        return Err("the AS-REP answers another request (nonce)".into());
    }
    Ok(enc_part.kvno.0.as_ref().and_then(|kvno| u32::try_from(value(&kvno.0)).ok()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integers_are_encoded_in_their_shortest_form_and_read_back() {
        for number in [0i64, 1, 5, 127, 128, 255, 256, 0x7fff_ffff, -1, -128, -129] {
            assert_eq!(value(&integer(number)), number, "{number}");
        }
        assert_eq!(integer(5).as_signed_bytes_be(), [5]);
        assert_eq!(integer(128).as_signed_bytes_be(), [0, 128]);
    }

    #[test]
    fn an_as_req_names_the_principal_and_the_ticket_granting_service() {
        let principal = Principal::new("svc_app", "rotor.test").unwrap();
        let bytes = as_req(&principal, 0x1234_5678, &Enctype::ALL, None).unwrap();
        assert_eq!(bytes[0], 0x6a, "[APPLICATION 10] AS-REQ");
        let request: AsReq = picky_asn1_der::from_bytes(&bytes).unwrap();
        let body = &request.0.req_body.0;
        assert_eq!(body.realm.0.0.to_string(), "ROTOR.TEST");
        assert_eq!(value(&body.nonce.0), 0x1234_5678);
        let asked: Vec<i64> = body.etype.0.0.iter().map(value).collect();
        assert_eq!(asked, [18, 17]);
        assert!(reply(&bytes).is_err(), "an AS-REQ is no reply");
    }
}
