//! Packs: the inputs as received and (layout 2) the stored events, append-only,
//! zstd-compressed.
//!
//! `raw/pack-000001.zst`, `raw/pack-000002.zst`… hold two kinds of entries:
//!
//! * a block (written since layout 2): `BLOCK_MAGIC (4) ++ compressed length u32 LE ++ record
//!   count u32 LE ++ zstd frame` of up to [`BLOCK_RECORDS`] records, each `sha256 (32) ++
//!   length u32 LE ++ bytes`. A [`PackRef`] to a record in a block is (pack, the block's
//!   offset, the record's index in the block). Records compressed together compress far
//!   better than alone: an event is written right after its raw bytes, whose text it repeats;
//! * a single record (layout 1): `RAW_MAGIC (4) ++ sha256 (32) ++ compressed length u32 LE ++
//!   zstd frame`, referenced as (pack, offset, compressed length).
//!
//! On read the magic, the lengths and the SHA-256 of the record's bytes are checked. Entries are
//! only appended at the pack's current end, so a torn tail left by a crash is never referenced
//! and never in the way.

use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use crate::error::io;
use crate::{LedgerError, Result};

/// Where a record is in the packs: an item's raw bytes, or an event's stored record. The
/// ledger's own (the domain [`ledger_event::Event`] does not know where it is kept).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) struct PackRef {
    /// The pack file number.
    pub(crate) pack: u32,
    /// The byte offset of the block (or, layout 1, the single record) in the pack.
    pub(crate) offset: u64,
    /// The record's index in its block (layout 1: the single record's compressed length).
    pub(crate) len: u32,
}

impl From<ledger_event::stored::v1::StoredRawRefV1> for PackRef {
    fn from(r: ledger_event::stored::v1::StoredRawRefV1) -> Self {
        PackRef {
            pack: r.pack,
            offset: r.offset,
            len: r.len,
        }
    }
}

/// The magic bytes at the start of a single record (layout 1).
const RAW_MAGIC: &[u8; 4] = b"LRW1";
/// The magic bytes at the start of a block.
const BLOCK_MAGIC: &[u8; 4] = b"LBK1";
/// A block's header: magic, compressed length, record count.
const BLOCK_HEADER: usize = 4 + 4 + 4;
/// Records per block at most (an item's raw bytes and its event are two). 128 items' mails
/// compress together far better than 16 (the 1M corpus, zstd level 3: 296 B per event in the
/// packs, where 16 items at level 1 took 424 B and 64 items 333 B); reading one event
/// decompresses its whole block (a few hundred µs at most), which a read of the log in order
/// pays once per block.
pub(crate) const BLOCK_RECORDS: u32 = 256;
/// A block is sealed once its records reach this many bytes.
const BLOCK_BYTES: usize = 512 * 1024;
/// The header: magic, sha256, length.
const HEADER: usize = 4 + 32 + 4;
/// A pack is rolled over once it reaches this size.
pub(crate) const PACK_LIMIT: u64 = 256 * 1024 * 1024;
/// The zstd level: 3 packs the 1M corpus about 4 % smaller than 1, and the preparing thread
/// of a pipelined ingest, which compresses, has the time.
const LEVEL: i32 = 3;

/// SHA-256 of raw bytes.
pub(crate) fn sha256(bytes: &[u8]) -> [u8; 32] {
    Sha256::digest(bytes).into()
}

/// The file name of pack `n`.
fn pack_path(dir: &Path, pack: u32) -> PathBuf {
    dir.join(format!("pack-{pack:06}.zst"))
}

/// The writer of the current pack.
pub(crate) struct PackWriter {
    dir: PathBuf,
    pack: u32,
    file: File,
    end: u64,
    /// Set when a write failed part-way: `end` is read from the file before the next batch.
    end_unknown: bool,
    compressor: zstd::bulk::Compressor<'static>,
    /// Buffers kept from one batch to the next (see [`PackWriter::begin`]): the sealed blocks,
    /// the open block, and one compressed block.
    buffer: Vec<u8>,
    block: Vec<u8>,
    compressed: Vec<u8>,
}

impl PackWriter {
    /// Opens the newest pack in `dir` (creating `dir` and pack 1 if needed) for appending.
    pub(crate) fn open(dir: &Path) -> Result<Self> {
        std::fs::create_dir_all(dir).map_err(io("creating", dir))?;
        let mut newest = 0u32;
        for entry in std::fs::read_dir(dir).map_err(io("listing", dir))? {
            let entry = entry.map_err(io("listing", dir))?;
            let name = entry.file_name();
            let number = name
                .to_str()
                .and_then(|n| n.strip_prefix("pack-"))
                .and_then(|n| n.strip_suffix(".zst"))
                .and_then(|n| n.parse::<u32>().ok());
            if let Some(number) = number {
                newest = newest.max(number);
            }
        }
        let compressor =
            zstd::bulk::Compressor::new(LEVEL).map_err(io("starting zstd for", dir))?;
        let (pack, file, end) = Self::open_pack(dir, newest.max(1))?;
        Ok(PackWriter {
            dir: dir.to_path_buf(),
            pack,
            file,
            end,
            end_unknown: false,
            compressor,
            buffer: Vec::new(),
            block: Vec::new(),
            compressed: Vec::new(),
        })
    }

    fn open_pack(dir: &Path, pack: u32) -> Result<(u32, File, u64)> {
        let path = pack_path(dir, pack);
        let file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .map_err(io("opening raw pack", &path))?;
        let end = file.metadata().map_err(io("reading size of", &path))?.len();
        Ok((pack, file, end))
    }

    /// Starts a batch of records, written in one go by [`PackBatch::commit`].
    pub(crate) fn begin(&mut self) -> Result<PackBatch<'_>> {
        if self.end_unknown {
            let path = pack_path(&self.dir, self.pack);
            self.end = self
                .file
                .metadata()
                .map_err(io("reading size of", &path))?
                .len();
            self.end_unknown = false;
        }
        if self.end >= PACK_LIMIT {
            let (pack, file, end) = Self::open_pack(&self.dir, self.pack + 1)?;
            (self.pack, self.file, self.end) = (pack, file, end);
        }
        // The buffers of the last batch are reused: a batch's blocks are hundreds of KiB, and
        // growing fresh ones each time was a measurable share of ingest (page faults).
        let mut buffer = std::mem::take(&mut self.buffer);
        buffer.clear();
        let mut block = std::mem::take(&mut self.block);
        block.clear();
        Ok(PackBatch {
            writer: self,
            buffer,
            block,
            count: 0,
        })
    }

    /// Appends one record of `size` bytes read from `input` as a single (layout 1) record,
    /// streamed: compressed as it is read, never held whole. For an input over the size limit,
    /// kept whole so a later larger limit can admit it. Returns its reference and the SHA-256
    /// of all its bytes, once the pack is synced.
    ///
    /// The header (which holds the SHA-256 and the compressed length, known only at the end) is
    /// written as a placeholder and filled in afterwards, through a second handle at the pack's
    /// end; this process is the only writer (sled's lock). A crash part-way leaves an
    /// unreferenced tail, as any torn write does.
    pub(crate) fn append_stream(
        &mut self,
        input: &mut dyn Read,
        size: u64,
    ) -> Result<(PackRef, [u8; 32])> {
        // Counts from where the file really ends, and starts a new pack past the pack limit.
        self.end_unknown = true;
        drop(self.begin()?);
        let path = pack_path(&self.dir, self.pack);
        let start = self.end;
        self.end_unknown = true;
        let mut file = OpenOptions::new()
            .write(true)
            .open(&path)
            .map_err(io("opening raw pack", &path))?;
        file.seek(SeekFrom::Start(start))
            .map_err(io("seeking in pack", &path))?;
        let mut placeholder = [0u8; HEADER];
        placeholder[..4].copy_from_slice(RAW_MAGIC);
        file.write_all(&placeholder)
            .map_err(io("writing pack", &path))?;
        let mut encoder = zstd::stream::write::Encoder::new(
            Counted {
                inner: &mut file,
                count: 0,
            },
            LEVEL,
        )
        .map_err(io("starting zstd for", &path))?;
        encoder
            .set_pledged_src_size(Some(size))
            .and_then(|()| encoder.include_contentsize(true))
            .map_err(io("starting zstd for", &path))?;
        let mut hasher = Sha256::new();
        let mut chunk = vec![0u8; 1 << 20];
        let mut read = 0u64;
        loop {
            let n = match input.read(&mut chunk) {
                Ok(0) => break,
                Ok(n) => n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(io("reading the input kept whole for", &path)(e)),
            };
            read += n as u64;
            hasher.update(&chunk[..n]);
            encoder
                .write_all(&chunk[..n])
                .map_err(io("writing pack", &path))?;
        }
        if read != size {
            return Err(LedgerError::InvalidArgument(format!(
                "the input to keep was {size} bytes and {read} were read"
            )));
        }
        let written = encoder.finish().map_err(io("writing pack", &path))?;
        let compressed = u32::try_from(written.count).map_err(|_| {
            LedgerError::InvalidArgument(format!(
                "an input of {size} bytes compresses to {} bytes, over the pack record limit",
                written.count
            ))
        })?;
        let sha: [u8; 32] = hasher.finalize().into();
        let mut header = [0u8; HEADER - 4];
        header[..32].copy_from_slice(&sha);
        header[32..].copy_from_slice(&compressed.to_le_bytes());
        file.seek(SeekFrom::Start(start + 4))
            .and_then(|_| file.write_all(&header))
            .map_err(io("writing pack", &path))?;
        file.sync_data().map_err(io("syncing pack", &path))?;
        self.end = start + HEADER as u64 + u64::from(compressed);
        self.end_unknown = false;
        let place = PackRef {
            pack: self.pack,
            offset: start,
            len: compressed,
        };
        Ok((place, sha))
    }

    /// Compresses the items and appends them in one write, then syncs the pack to disk.
    /// Returns each item's reference, in order.
    #[cfg(test)]
    pub(crate) fn append(&mut self, items: &[(&[u8], [u8; 32])]) -> Result<Vec<PackRef>> {
        let mut batch = self.begin()?;
        let mut refs = Vec::with_capacity(items.len());
        for (raw, sha) in items {
            refs.push(batch.add(raw, sha)?);
        }
        batch.commit()?;
        Ok(refs)
    }
}

/// A writer that counts the bytes written through it.
struct Counted<W> {
    inner: W,
    count: u64,
}

impl<W: Write> Write for Counted<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.count += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

/// Records being added to the current pack: their references are known at once, the bytes are
/// compressed per block and written and synced by [`PackBatch::commit`]. Dropped without a
/// commit, nothing is written.
pub(crate) struct PackBatch<'a> {
    writer: &'a mut PackWriter,
    /// Sealed (compressed) blocks, ready to write.
    buffer: Vec<u8>,
    /// The open block's records, uncompressed.
    block: Vec<u8>,
    count: u32,
}

impl PackBatch<'_> {
    /// Adds one record to the open block and returns where it will be.
    pub(crate) fn add(&mut self, bytes: &[u8], sha: &[u8; 32]) -> Result<PackRef> {
        if self.count == BLOCK_RECORDS || self.block.len() >= BLOCK_BYTES {
            self.seal()?;
        }
        let len = u32::try_from(bytes.len()).map_err(|_| {
            LedgerError::InvalidArgument(format!(
                "a record of {} bytes is over the pack record limit",
                bytes.len()
            ))
        })?;
        let place = PackRef {
            pack: self.writer.pack,
            offset: self.writer.end + self.buffer.len() as u64,
            len: self.count,
        };
        self.block.extend_from_slice(sha);
        self.block.extend_from_slice(&len.to_le_bytes());
        self.block.extend_from_slice(bytes);
        self.count += 1;
        Ok(place)
    }

    /// Compresses the open block into the buffer.
    fn seal(&mut self) -> Result<()> {
        if self.count == 0 {
            return Ok(());
        }
        let writer = &mut *self.writer;
        let compressed = &mut writer.compressed;
        compressed.clear();
        compressed.reserve(zstd::zstd_safe::compress_bound(self.block.len()));
        writer
            .compressor
            .compress_to_buffer(&self.block, compressed)
            .map_err(io(
                "compressing a block for",
                &pack_path(&writer.dir, writer.pack),
            ))?;
        let len = u32::try_from(compressed.len()).map_err(|_| {
            LedgerError::InvalidArgument(format!(
                "a block compresses to {} bytes, over the pack record limit",
                compressed.len()
            ))
        })?;
        self.buffer.extend_from_slice(BLOCK_MAGIC);
        self.buffer.extend_from_slice(&len.to_le_bytes());
        self.buffer.extend_from_slice(&self.count.to_le_bytes());
        self.buffer.extend_from_slice(compressed);
        self.block.clear();
        self.count = 0;
        Ok(())
    }

    /// Appends the blocks in one write and syncs the pack to disk.
    pub(crate) fn commit(mut self) -> Result<()> {
        self.seal()?;
        if self.buffer.is_empty() {
            return Ok(());
        }
        let writer = self.writer;
        let path = pack_path(&writer.dir, writer.pack);
        let written = writer
            .file
            .write_all(&self.buffer)
            .map_err(io("writing pack", &path))
            .and_then(|()| writer.file.sync_data().map_err(io("syncing pack", &path)));
        if let Err(error) = written {
            // Part of the batch may be in the file: the next batch's references must count
            // from where the file really ends (it is opened for appending).
            writer.end_unknown = true;
            return Err(error);
        }
        writer.end += self.buffer.len() as u64;
        writer.buffer = std::mem::take(&mut self.buffer);
        writer.block = std::mem::take(&mut self.block);
        Ok(())
    }
}

/// Reads many records, mostly in file order (a rebuild, an export): keeps the pack open, a
/// window of it in memory, the last block decompressed, and one zstd context.
pub(crate) struct PackReader {
    dir: PathBuf,
    limit: usize,
    /// Bytes read ahead ([`WINDOW`] for file-order reading, 0 for scattered reads).
    read_ahead: usize,
    file: Option<(u32, File)>,
    window_pack: u32,
    window_start: u64,
    window: Vec<u8>,
    /// The last block decompressed: (pack, offset) and its records.
    block: Option<((u32, u64), Vec<u8>)>,
    decompressor: zstd::bulk::Decompressor<'static>,
}

/// Bytes read at a time by a [`PackReader`].
const WINDOW: usize = 1024 * 1024;

impl PackReader {
    /// A reader of the packs in `dir` in file order; records of more than `limit` bytes are
    /// refused.
    pub(crate) fn new(dir: &Path, limit: usize) -> Result<Self> {
        Self::with_read_ahead(dir, limit, WINDOW)
    }

    /// A reader for scattered reads (queries): reads only the bytes it needs.
    pub(crate) fn scattered(dir: &Path, limit: usize) -> Result<Self> {
        Self::with_read_ahead(dir, limit, 0)
    }

    fn with_read_ahead(dir: &Path, limit: usize, read_ahead: usize) -> Result<Self> {
        Ok(PackReader {
            dir: dir.to_path_buf(),
            limit,
            read_ahead,
            file: None,
            window_pack: 0,
            window_start: 0,
            window: Vec::new(),
            block: None,
            decompressor: zstd::bulk::Decompressor::new().map_err(io("starting zstd for", dir))?,
        })
    }

    /// `len` bytes of pack `pack` from `offset`, through the window.
    fn bytes(&mut self, pack: u32, offset: u64, len: usize) -> Result<&[u8]> {
        let path = pack_path(&self.dir, pack);
        let inside = self.window_pack == pack
            && offset >= self.window_start
            && offset.saturating_add(len as u64) <= self.window_start + self.window.len() as u64;
        if !inside {
            if self.file.as_ref().is_none_or(|(open, _)| *open != pack) {
                let file = File::open(&path).map_err(io("opening pack", &path))?;
                self.file = Some((pack, file));
            }
            let (_, file) = self.file.as_mut().expect("the pack was opened just above");
            file.seek(SeekFrom::Start(offset))
                .map_err(io("seeking in pack", &path))?;
            self.window.clear();
            file.take(self.read_ahead.max(len) as u64)
                .read_to_end(&mut self.window)
                .map_err(io("reading pack", &path))?;
            self.window_pack = pack;
            self.window_start = offset;
        }
        let at = (offset - self.window_start) as usize;
        self.window
            .get(at..at + len)
            .ok_or_else(|| LedgerError::Corrupt {
                what: format!("pack record at {}:{offset}", path.display()),
                reason: "the pack ends inside the record".into(),
            })
    }

    /// The bytes a reference points at, checked (magic, lengths, SHA-256).
    pub(crate) fn read(&mut self, raw: PackRef) -> Result<Vec<u8>> {
        let path = pack_path(&self.dir, raw.pack);
        let corrupt = |reason: String| LedgerError::Corrupt {
            what: format!("pack record at {}:{}", path.display(), raw.offset),
            reason,
        };
        let limit = self.limit;
        let magic: [u8; 4] = self
            .bytes(raw.pack, raw.offset, 4)?
            .try_into()
            .expect("four bytes were asked for");
        if &magic == BLOCK_MAGIC {
            return self.read_from_block(raw);
        }
        if &magic != RAW_MAGIC {
            return Err(corrupt("bad magic".into()));
        }
        if raw.len as usize > limit.saturating_add(limit / 8).saturating_add(1024) {
            return Err(corrupt(format!("stated length {} is implausible", raw.len)));
        }
        let record = self.bytes(raw.pack, raw.offset, HEADER + raw.len as usize)?;
        let (header, payload) = record.split_at(HEADER);
        let mut stated_len = [0u8; 4];
        stated_len.copy_from_slice(&header[36..40]);
        if u32::from_le_bytes(stated_len) != raw.len {
            return Err(corrupt("length differs from the reference".into()));
        }
        let mut sha = [0u8; 32];
        sha.copy_from_slice(&header[4..36]);
        let payload = payload.to_vec();
        let bytes = self.decompress(&payload, limit).map_err(corrupt)?;
        if sha256(&bytes) != sha {
            return Err(corrupt(
                "SHA-256 of the content differs from the record's".into(),
            ));
        }
        Ok(bytes)
    }

    fn decompress(&mut self, frame: &[u8], limit: usize) -> std::result::Result<Vec<u8>, String> {
        let size = match zstd::zstd_safe::get_frame_content_size(frame) {
            Ok(Some(size)) if size <= limit as u64 => size as usize,
            Ok(Some(size)) => return Err(format!("decompresses to {size} bytes, over {limit}")),
            _ => return Err("zstd frame without a content size".into()),
        };
        self.decompressor
            .decompress(frame, size)
            .map_err(|e| format!("zstd: {e}"))
    }

    fn read_from_block(&mut self, raw: PackRef) -> Result<Vec<u8>> {
        let path = pack_path(&self.dir, raw.pack);
        let corrupt = |reason: String| LedgerError::Corrupt {
            what: format!(
                "record {} of the block at {}:{}",
                raw.len,
                path.display(),
                raw.offset
            ),
            reason,
        };
        let key = (raw.pack, raw.offset);
        if self.block.as_ref().is_none_or(|(at, _)| *at != key) {
            let header = self.bytes(raw.pack, raw.offset, BLOCK_HEADER)?;
            let mut word = [0u8; 4];
            word.copy_from_slice(&header[4..8]);
            let compressed = u32::from_le_bytes(word) as usize;
            let limit = self.limit.saturating_add(BLOCK_BYTES * 2);
            if compressed > limit {
                return Err(corrupt(format!("block length {compressed} is implausible")));
            }
            let frame = self
                .bytes(
                    raw.pack,
                    raw.offset.saturating_add(BLOCK_HEADER as u64),
                    compressed,
                )?
                .to_vec();
            let records = self.decompress(&frame, limit).map_err(corrupt)?;
            self.block = Some((key, records));
        }
        let (_, records) = self.block.as_ref().expect("the block was read just above");
        let mut at = 0usize;
        for index in 0.. {
            let header = records
                .get(at..at + 36)
                .ok_or_else(|| corrupt("the block has fewer records".into()))?;
            let mut word = [0u8; 4];
            word.copy_from_slice(&header[32..36]);
            let len = u32::from_le_bytes(word) as usize;
            let bytes = records
                .get(at + 36..at + 36 + len)
                .ok_or_else(|| corrupt("the block ends inside a record".into()))?;
            if index == raw.len {
                if sha256(bytes)[..] != header[..32] {
                    return Err(corrupt(
                        "SHA-256 of the content differs from the record's".into(),
                    ));
                }
                return Ok(bytes.to_vec());
            }
            at += 36 + len;
        }
        unreachable!("the loop returns or fails")
    }
}

/// Reads the bytes a reference points at, checking magic, lengths and SHA-256.
pub(crate) fn read(dir: &Path, raw: PackRef, limit: usize) -> Result<Vec<u8>> {
    PackReader::scattered(dir, limit)?.read(raw)
}

/// The stored form of a reference (in a locator bucket, a quarantine record, an event record):
/// pack u32 BE ++ offset u64 BE ++ len u32 BE.
pub(crate) fn encode_ref(raw: PackRef) -> [u8; 16] {
    let mut out = [0u8; 16];
    out[..4].copy_from_slice(&raw.pack.to_be_bytes());
    out[4..12].copy_from_slice(&raw.offset.to_be_bytes());
    out[12..].copy_from_slice(&raw.len.to_be_bytes());
    out
}

/// Reads a stored reference.
pub(crate) fn decode_ref(bytes: &[u8]) -> Result<PackRef> {
    let bytes: &[u8; 16] = bytes.try_into().map_err(|_| LedgerError::Corrupt {
        what: "raw reference".into(),
        reason: format!("expected 16 bytes, found {}", bytes.len()),
    })?;
    let (pack, rest) = bytes.split_at(4);
    let (offset, len) = rest.split_at(8);
    Ok(PackRef {
        pack: u32::from_be_bytes(pack.try_into().expect("4 bytes")),
        offset: u64::from_be_bytes(offset.try_into().expect("8 bytes")),
        len: u32::from_be_bytes(len.try_into().expect("4 bytes")),
    })
}

/// Bytes used by the packs.
pub(crate) fn disk_bytes(dir: &Path) -> u64 {
    std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .flatten()
                .filter_map(|e| e.metadata().ok())
                .map(|m| m.len())
                .sum()
        })
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A record streamed in (an input over the size limit, kept whole) reads back whole with a
    /// limit at its size, is refused under a smaller one, and the blocks written before and
    /// after it stay readable: the writer counts its end right.
    #[test]
    fn a_streamed_record_reads_back_whole_between_blocks() {
        let dir = tempfile::tempdir().unwrap();
        let mut writer = PackWriter::open(dir.path()).unwrap();
        let before = b"before".to_vec();
        let first = writer.append(&[(&before, sha256(&before))]).unwrap();
        let big: Vec<u8> = (0..3_000_000u32).map(|i| (i * 7 % 251) as u8).collect();
        let (place, sha) = writer
            .append_stream(&mut &big[..], big.len() as u64)
            .unwrap();
        assert_eq!(sha, sha256(&big));
        let after = b"after".to_vec();
        let last = writer.append(&[(&after, sha256(&after))]).unwrap();
        assert_eq!(read(dir.path(), place, big.len()).unwrap(), big);
        assert!(read(dir.path(), place, big.len() - 1).is_err());
        assert_eq!(read(dir.path(), first[0], 1 << 20).unwrap(), before);
        assert_eq!(read(dir.path(), last[0], 1 << 20).unwrap(), after);
        // A size that is not the input's is refused, and leaves nothing referenced.
        assert!(writer.append_stream(&mut &big[..10], 11).is_err());
        let again = writer.append(&[(&after, sha256(&after))]).unwrap();
        assert_eq!(read(dir.path(), again[0], 1 << 20).unwrap(), after);
    }

    /// After a write that failed part-way (some of its bytes may be in the file), the next
    /// batch's references count from where the file really ends, not from where the writer
    /// thought it did.
    #[test]
    fn after_a_failed_write_references_follow_the_file_end() {
        let dir = tempfile::tempdir().unwrap();
        let mut writer = PackWriter::open(dir.path()).unwrap();
        let first = b"first".to_vec();
        writer.append(&[(&first, sha256(&first))]).unwrap();
        // A write that fails: the pack open for reading only.
        let path = pack_path(dir.path(), 1);
        let appending = std::mem::replace(&mut writer.file, File::open(&path).unwrap());
        let lost = b"lost".to_vec();
        assert!(writer.append(&[(&lost, sha256(&lost))]).is_err());
        // What a write that failed part-way leaves: bytes the writer did not count.
        writer.file = appending;
        writer
            .file
            .write_all(b"torn tail of a failed write")
            .unwrap();
        let second = b"second".to_vec();
        let refs = writer.append(&[(&second, sha256(&second))]).unwrap();
        let file_len = std::fs::metadata(pack_path(dir.path(), 1)).unwrap().len();
        assert_eq!(writer.end, file_len);
        assert_eq!(read(dir.path(), refs[0], 1 << 20).unwrap(), second);
    }

    #[test]
    fn append_then_read_round_trips_and_detects_corruption() {
        let dir = tempfile::tempdir().unwrap();
        let mut writer = PackWriter::open(dir.path()).unwrap();
        let a = b"<system>\ntask: 0101\nstatus: S0101\n</system>\n".to_vec();
        let b = vec![b'x'; 10_000];
        let refs = writer
            .append(&[(&a, sha256(&a)), (&b, sha256(&b))])
            .unwrap();
        assert_eq!(refs[0].pack, 1);
        assert_eq!((refs[0].offset, refs[0].len), (0, 0));
        assert_eq!(
            (refs[1].offset, refs[1].len),
            (0, 1),
            "one block, second record"
        );
        assert_eq!(read(dir.path(), refs[0], 1 << 20).unwrap(), a);
        assert_eq!(read(dir.path(), refs[1], 1 << 20).unwrap(), b);
        let mut reader = PackReader::new(dir.path(), 1 << 20).unwrap();
        assert_eq!(reader.read(refs[1]).unwrap(), b);
        assert_eq!(reader.read(refs[0]).unwrap(), a);

        // A reopened writer appends after a torn tail instead of overwriting it.
        drop(writer);
        let pack = dir.path().join("pack-000001.zst");
        let mut f = OpenOptions::new().append(true).open(&pack).unwrap();
        f.write_all(b"LRW1 torn").unwrap();
        let mut writer = PackWriter::open(dir.path()).unwrap();
        let c = b"third".to_vec();
        let r = writer.append(&[(&c, sha256(&c))]).unwrap();
        assert_eq!(read(dir.path(), r[0], 1 << 20).unwrap(), c);
        assert_eq!(read(dir.path(), refs[1], 1 << 20).unwrap(), b);

        // Flipping a byte of the payload is caught.
        let mut bytes = std::fs::read(&pack).unwrap();
        let last = bytes.len() - 1;
        bytes[last] ^= 0xff;
        std::fs::write(&pack, bytes).unwrap();
        assert!(matches!(
            read(dir.path(), r[0], 1 << 20),
            Err(LedgerError::Corrupt { .. })
        ));
        let mut reader = PackReader::new(dir.path(), 1 << 20).unwrap();
        assert!(matches!(
            reader.read(r[0]),
            Err(LedgerError::Corrupt { .. })
        ));
        // A batch dropped without a commit writes nothing.
        let size = std::fs::metadata(&pack).unwrap().len();
        let mut writer = PackWriter::open(dir.path()).unwrap();
        let mut batch = writer.begin().unwrap();
        batch.add(b"lost", &sha256(b"lost")).unwrap();
        drop(batch);
        assert_eq!(std::fs::metadata(&pack).unwrap().len(), size);
    }

    #[test]
    fn many_records_span_blocks_and_read_back_in_any_order() {
        let dir = tempfile::tempdir().unwrap();
        let mut writer = PackWriter::open(dir.path()).unwrap();
        let records: Vec<Vec<u8>> = (0..100u32)
            .map(|i| {
                format!("record {i} ")
                    .repeat(1 + (i as usize * 37) % 3000)
                    .into_bytes()
            })
            .collect();
        let mut batch = writer.begin().unwrap();
        let refs: Vec<PackRef> = records
            .iter()
            .map(|r| batch.add(r, &sha256(r)).unwrap())
            .collect();
        batch.commit().unwrap();
        assert!(refs.iter().all(|r| r.len < BLOCK_RECORDS));
        assert!(refs.last().unwrap().offset > 0, "more than one block");
        let mut reader = PackReader::new(dir.path(), 1 << 20).unwrap();
        for (r, want) in refs.iter().zip(&records) {
            assert_eq!(&reader.read(*r).unwrap(), want);
        }
        for (r, want) in refs.iter().zip(&records).rev() {
            assert_eq!(&read(dir.path(), *r, 1 << 20).unwrap(), want);
        }
        let past = PackRef {
            len: BLOCK_RECORDS + 1,
            ..refs[0]
        };
        assert!(matches!(
            reader.read(past),
            Err(LedgerError::Corrupt { .. })
        ));
    }
}
