//! Raw inputs as the `raw` table keeps them: zstd-compressed (level 3), by SHA-256.

use sha2::{Digest, Sha256};

use super::error::{PgError, PgResult};

/// The zstd level raw inputs are compressed at (the sled packs' level).
const LEVEL: i32 = 3;

/// A raw input ready for [`super::WriteTxn::insert_raw`]: compressed before the transaction
/// (in the engine's prepare step), so the seq lock is not held while zstd runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct CompressedRaw {
    /// SHA-256 of the uncompressed bytes.
    pub(crate) sha256: [u8; 32],
    /// The uncompressed length.
    pub(crate) size: u64,
    /// One zstd frame of the bytes.
    pub(crate) zstd: Vec<u8>,
}

impl CompressedRaw {
    /// Hashes and compresses `bytes`.
    pub(crate) fn new(bytes: &[u8]) -> CompressedRaw {
        CompressedRaw::with_sha(Sha256::digest(bytes).into(), bytes)
    }

    /// Compresses `bytes` whose SHA-256 the caller already has (the engine hashes every input
    /// first, to look it up).
    pub(crate) fn with_sha(sha256: [u8; 32], bytes: &[u8]) -> CompressedRaw {
        // Compressing from memory into memory fails only on an allocation failure.
        let zstd = zstd::bulk::compress(bytes, LEVEL).expect("zstd compresses a byte slice");
        CompressedRaw {
            sha256,
            size: bytes.len() as u64,
            zstd,
        }
    }
}

/// The largest raw input a row may claim: a `bytea` holds at most 1 GiB.
const MAX_RAW: usize = 1 << 30;

/// Decompresses a stored raw input and checks it: its length must be `size` and its SHA-256
/// `sha256`, else [`PgError::Corrupt`].
pub(crate) fn decompress(sha256: &[u8], size: i64, zstd: &[u8]) -> PgResult<Vec<u8>> {
    let what = || format!("raw input {}", ledger_event::to_hex(sha256));
    let size = usize::try_from(size).map_err(|_| PgError::Corrupt {
        what: what(),
        reason: format!("negative size {size}"),
    })?;
    // The size reserves the output buffer: a damaged row must not make it reserve more than
    // any input the ledger keeps.
    if size > MAX_RAW {
        return Err(PgError::Corrupt {
            what: what(),
            reason: format!("a size of {size} bytes, over the {MAX_RAW}-byte limit of a raw input"),
        });
    }
    let bytes = zstd::bulk::decompress(zstd, size).map_err(|e| PgError::Corrupt {
        what: what(),
        reason: format!("zstd: {e}"),
    })?;
    if bytes.len() != size {
        return Err(PgError::Corrupt {
            what: what(),
            reason: format!("{} bytes, the row says {size}", bytes.len()),
        });
    }
    if Sha256::digest(&bytes).as_slice() != sha256 {
        return Err(PgError::Corrupt {
            what: what(),
            reason: "the bytes do not have this SHA-256".into(),
        });
    }
    Ok(bytes)
}
