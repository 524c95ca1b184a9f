//! SCRAM channel binding's `tls-server-end-point` (RFC 5929): a hash of the server's
//! certificate, by the hash of the certificate's signature algorithm (SHA-256 for MD5 and
//! SHA-1), as PostgreSQL's server computes it. With it, SCRAM-SHA-256-PLUS proves that the
//! TLS session ends at the server that holds the password's verifier, even when the
//! certificate itself was not verified.

use sha2::{Digest, Sha256, Sha384, Sha512};

/// The binding data for a DER certificate, or `None` when its signature algorithm names no
/// hash this knows (RSASSA-PSS, Ed25519, …): SCRAM then runs without channel binding.
pub(crate) fn tls_server_end_point(certificate: &[u8]) -> Option<Vec<u8>> {
    let hash = signature_hash(certificate)?;
    Some(match hash {
        Hash::Sha256 => Sha256::digest(certificate).to_vec(),
        Hash::Sha384 => Sha384::digest(certificate).to_vec(),
        Hash::Sha512 => Sha512::digest(certificate).to_vec(),
    })
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Hash {
    Sha256,
    Sha384,
    Sha512,
}

/// The hash of `Certificate.signatureAlgorithm` (the second element of the outer SEQUENCE).
fn signature_hash(certificate: &[u8]) -> Option<Hash> {
    let (tag, certificate, _) = element(certificate)?;
    if tag != 0x30 {
        return None;
    }
    let (_, _tbs, rest) = element(certificate)?;
    let (tag, algorithm, _) = element(rest)?;
    if tag != 0x30 {
        return None;
    }
    let (tag, oid, _) = element(algorithm)?;
    if tag != 0x06 {
        return None;
    }
    const RSA: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01];
    const ECDSA_SHA1: &[u8] = &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x01];
    const ECDSA_SHA2: &[u8] = &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03];
    match oid {
        // md5WithRSAEncryption, sha1WithRSAEncryption: SHA-256 (RFC 5929 §4.1).
        [prefix @ .., 4 | 5] if prefix == RSA => Some(Hash::Sha256),
        [prefix @ .., 11] if prefix == RSA => Some(Hash::Sha256),
        [prefix @ .., 12] if prefix == RSA => Some(Hash::Sha384),
        [prefix @ .., 13] if prefix == RSA => Some(Hash::Sha512),
        oid if oid == ECDSA_SHA1 => Some(Hash::Sha256),
        [prefix @ .., 2] if prefix == ECDSA_SHA2 => Some(Hash::Sha256),
        [prefix @ .., 3] if prefix == ECDSA_SHA2 => Some(Hash::Sha384),
        [prefix @ .., 4] if prefix == ECDSA_SHA2 => Some(Hash::Sha512),
        _ => None,
    }
}

/// One DER element at the start of `der`: its tag, its content, and what follows it.
fn element(der: &[u8]) -> Option<(u8, &[u8], &[u8])> {
    let (&tag, rest) = der.split_first()?;
    let (&first, rest) = rest.split_first()?;
    let (length, rest) = if first < 0x80 {
        (usize::from(first), rest)
    } else {
        let count = usize::from(first & 0x7f);
        if count == 0 || count > 4 || rest.len() < count {
            return None;
        }
        let (bytes, rest) = rest.split_at(count);
        let length = bytes
            .iter()
            .fold(0usize, |length, &byte| (length << 8) | usize::from(byte));
        (length, rest)
    };
    if rest.len() < length {
        return None;
    }
    let (content, rest) = rest.split_at(length);
    Some((tag, content, rest))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A DER SEQUENCE around `parts`.
    fn sequence(parts: &[&[u8]]) -> Vec<u8> {
        let content = parts.concat();
        let mut der = vec![0x30];
        if content.len() < 0x80 {
            der.push(content.len() as u8);
        } else {
            der.extend([0x82, (content.len() >> 8) as u8, content.len() as u8]);
        }
        der.extend(content);
        der
    }

    fn certificate(oid: &[u8]) -> Vec<u8> {
        let tbs = sequence(&[&[0x02, 0x01, 0x01], &[0x04, 0x81, 0x90], &[0u8; 0x90]]);
        let mut algorithm_oid = vec![0x06, oid.len() as u8];
        algorithm_oid.extend(oid);
        let algorithm = sequence(&[&algorithm_oid, &[0x05, 0x00]]);
        sequence(&[&tbs, &algorithm, &[0x03, 0x02, 0x00, 0xff]])
    }

    #[test]
    fn the_hash_follows_the_signature_algorithm() {
        let rsa = |n: u8| certificate(&[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, n]);
        let ecdsa = |n: u8| certificate(&[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, n]);
        for (cert, hash) in [
            (rsa(4), Some(Hash::Sha256)),
            (rsa(5), Some(Hash::Sha256)),
            (rsa(11), Some(Hash::Sha256)),
            (rsa(12), Some(Hash::Sha384)),
            (rsa(13), Some(Hash::Sha512)),
            (rsa(10), None), // RSASSA-PSS: the hash is in its parameters
            (ecdsa(2), Some(Hash::Sha256)),
            (ecdsa(3), Some(Hash::Sha384)),
            (ecdsa(4), Some(Hash::Sha512)),
            (certificate(&[0x2b, 0x65, 0x70]), None), // Ed25519
        ] {
            assert_eq!(signature_hash(&cert), hash);
        }
        let cert = rsa(12);
        assert_eq!(
            tls_server_end_point(&cert),
            Some(Sha384::digest(&cert).to_vec())
        );
    }

    #[test]
    fn broken_der_gives_no_binding() {
        let cert = certificate(&[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 11]);
        for cut in [0, 1, 2, 10, cert.len() - 1] {
            assert_eq!(signature_hash(&cert[..cut]), None, "cut at {cut}");
        }
        assert_eq!(signature_hash(&[0x31, 0x00]), None);
    }
}
