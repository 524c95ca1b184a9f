//! Turning command-line paths into items to ingest: files (one mail each), directories
//! (recursively), mbox files (by content), Maildir folders and standard input.
//!
//! Everything streams: an mbox is read message by message and a line is never held beyond the
//! size limit, so a multi-gigabyte mbox (or line) does not fill memory. An item over the limit
//! is written whole to a temporary file in the spill directory ([`Input::Oversize`]), so it can
//! be kept whole without being held.

use std::collections::VecDeque;
use std::fs::File;
use std::io::{self, BufRead, BufReader, Write};
use std::path::{Path, PathBuf};

/// One item read from the input.
#[derive(Debug)]
pub enum Input {
    /// Bytes to ingest, and where they came from.
    Item {
        /// `PATH`, `PATH#N` for the N-th message of an mbox, `-` for stdin.
        origin: String,
        /// The bytes: all of them, at most the size limit plus one byte.
        bytes: Vec<u8>,
    },
    /// An item over the size limit plus one byte, all of it in a temporary file.
    Oversize {
        /// As for [`Input::Item`].
        origin: String,
        /// The file (removed when this is dropped).
        file: tempfile::TempPath,
        /// Its size in bytes.
        size: u64,
    },
    /// Something that could not be read at all (and so cannot be kept).
    Unreadable {
        /// Where.
        origin: String,
        /// Why.
        reason: String,
    },
}

enum Source {
    Path(PathBuf, bool),
    /// Something found inside a directory that is reported, not read.
    Refused(PathBuf, &'static str),
    Mbox(Box<Mbox<Box<dyn BufRead + Send>>>, String),
}

/// Why a symbolic link found inside a directory is not read.
const SYMLINK_NOT_FOLLOWED: &str = "symbolic link inside a directory: not followed";

/// An iterator over the items under a list of paths.
pub struct Inputs {
    queue: VecDeque<Source>,
    limit: usize,
    spill: PathBuf,
    /// Hidden files (names starting with `.`) skipped inside directories so far.
    pub hidden: u64,
}

impl Inputs {
    /// Items under `paths`: in memory up to `max_size + 1` bytes (the ledger rejects larger
    /// ones), whole in a temporary file in `spill` beyond.
    pub fn new(paths: &[PathBuf], max_size: usize, spill: PathBuf) -> Self {
        Inputs {
            queue: paths
                .iter()
                .map(|p| Source::Path(p.clone(), true))
                .collect(),
            limit: max_size.saturating_add(1),
            spill,
            hidden: 0,
        }
    }

    fn open_path(&mut self, path: PathBuf, top_level: bool) -> Option<Input> {
        let origin = path.display().to_string();
        if path.as_os_str() == "-" {
            return self.open_stream(Box::new(BufReader::new(io::stdin())), "-".into());
        }
        let meta = if top_level {
            path.metadata()
        } else {
            path.symlink_metadata()
        };
        let meta = match meta {
            Ok(meta) => meta,
            Err(e) => return Some(unreadable(origin, &e)),
        };
        if meta.file_type().is_symlink() {
            return Some(Input::Unreadable {
                origin,
                reason: SYMLINK_NOT_FOLLOWED.into(),
            });
        }
        if meta.is_dir() {
            if let Err(e) = self.push_dir(&path) {
                return Some(unreadable(origin, &e));
            }
            return None;
        }
        if !meta.is_file() {
            return Some(Input::Unreadable {
                origin,
                reason: "not a regular file".into(),
            });
        }
        match File::open(&path) {
            Ok(file) => self.open_stream(Box::new(BufReader::new(file)), origin),
            Err(e) => Some(unreadable(origin, &e)),
        }
    }

    /// Queues a directory's entries in name order (before what was queued after it); for a
    /// Maildir, only `cur/` and `new/`.
    fn push_dir(&mut self, dir: &Path) -> io::Result<()> {
        let maildir = dir.join("cur").is_dir() && dir.join("new").is_dir();
        let dirs = if maildir {
            vec![dir.join("cur"), dir.join("new")]
        } else {
            vec![dir.to_path_buf()]
        };
        let mut entries = Vec::new();
        for d in dirs {
            // A Maildir's `cur` or `new` that is a symbolic link may point anywhere: like any
            // link inside a directory, it is reported and not followed.
            if maildir && d.symlink_metadata()?.file_type().is_symlink() {
                self.queue
                    .push_front(Source::Refused(d, SYMLINK_NOT_FOLLOWED));
                continue;
            }
            for entry in std::fs::read_dir(&d)? {
                let entry = entry?;
                // Hidden files (`.gitattributes`, `.DS_Store`, a mail client's state) are not
                // mail: skipped, and counted so the summary can say so.
                if entry.file_name().as_encoded_bytes().starts_with(b".") {
                    self.hidden += 1;
                    continue;
                }
                entries.push(entry.path());
            }
        }
        entries.sort();
        for path in entries.into_iter().rev() {
            self.queue.push_front(Source::Path(path, false));
        }
        Ok(())
    }

    /// A file or stdin: an mbox if it starts with `From `, else one item.
    fn open_stream(
        &mut self,
        mut reader: Box<dyn BufRead + Send>,
        origin: String,
    ) -> Option<Input> {
        let is_mbox = match reader.fill_buf() {
            Ok(head) => head.starts_with(b"From "),
            Err(e) => return Some(unreadable(origin, &e)),
        };
        if is_mbox {
            let mbox = Mbox::new(reader, self.limit).spill_to(self.spill.clone());
            self.queue.push_front(Source::Mbox(Box::new(mbox), origin));
            return None;
        }
        // Grow within the limit: `read_to_end` alone doubles, so an item just over 16 MiB
        // would hold 32 MiB.
        let mut sink = Sink::new(self.limit, Some(&self.spill));
        let read = copy_line(&mut reader, &mut sink, true).and_then(|()| sink.finish());
        match read {
            Ok(message) => Some(message.into_input(origin)),
            Err(e) => Some(unreadable(origin, &e)),
        }
    }
}

fn unreadable(origin: String, error: &io::Error) -> Input {
    let reason = match error.kind() {
        io::ErrorKind::NotFound => "no such file or directory".to_string(),
        io::ErrorKind::PermissionDenied => "permission denied".to_string(),
        _ => error.to_string(),
    };
    Input::Unreadable { origin, reason }
}

impl Iterator for Inputs {
    type Item = Input;

    fn next(&mut self) -> Option<Input> {
        loop {
            match self.queue.pop_front()? {
                Source::Refused(path, reason) => {
                    return Some(Input::Unreadable {
                        origin: path.display().to_string(),
                        reason: reason.into(),
                    });
                }
                Source::Path(path, top) => {
                    if let Some(input) = self.open_path(path, top) {
                        return Some(input);
                    }
                }
                Source::Mbox(mut mbox, origin) => match mbox.next_message() {
                    Ok(Some(message)) => {
                        let n = mbox.count;
                        self.queue.push_front(Source::Mbox(mbox, origin.clone()));
                        return Some(message.into_input(format!("{origin}#{n}")));
                    }
                    Ok(None) => {}
                    Err(e) => {
                        let n = mbox.count + 1;
                        return Some(unreadable(format!("{origin}#{n}"), &e));
                    }
                },
            }
        }
    }
}

/// How much of a line's start is read before it is written on: enough to tell an envelope
/// (`From `) and an escaped line (`>From `, `>>From `…) from the rest.
const LINE_HEAD: usize = 256;

/// A message as read: in memory, or (over the limit, with a spill directory) whole in a
/// temporary file.
#[derive(Debug)]
pub enum Message {
    /// All of it (or, without a spill directory, its first `limit` bytes).
    Bytes(Vec<u8>),
    /// All of it, in a temporary file (removed when dropped).
    Spilled {
        /// The file.
        file: tempfile::TempPath,
        /// Its size in bytes.
        size: u64,
    },
}

impl Message {
    fn into_input(self, origin: String) -> Input {
        match self {
            Message::Bytes(bytes) => Input::Item { origin, bytes },
            Message::Spilled { file, size } => Input::Oversize { origin, file, size },
        }
    }
}

/// Where a message's bytes go: memory up to the limit, then a temporary file holding all of
/// them (with a spill directory), or nowhere (without one: the message is cut at the limit).
enum Sink<'a> {
    Memory {
        bytes: Vec<u8>,
        limit: usize,
        spill: Option<&'a Path>,
    },
    Spill {
        file: io::BufWriter<tempfile::NamedTempFile>,
        size: u64,
    },
}

impl<'a> Sink<'a> {
    fn new(limit: usize, spill: Option<&'a Path>) -> Self {
        Sink::Memory {
            bytes: Vec::new(),
            limit,
            spill,
        }
    }

    fn write(&mut self, chunk: &[u8]) -> io::Result<()> {
        match self {
            Sink::Memory {
                bytes,
                limit,
                spill,
            } => {
                if bytes.len() + chunk.len() <= *limit {
                    extend_bounded(bytes, chunk, *limit);
                    return Ok(());
                }
                let Some(dir) = *spill else {
                    let room = limit.saturating_sub(bytes.len());
                    extend_bounded(bytes, &chunk[..room.min(chunk.len())], *limit);
                    return Ok(());
                };
                std::fs::create_dir_all(dir)?;
                let mut file = io::BufWriter::with_capacity(
                    1 << 20,
                    tempfile::Builder::new()
                        .prefix("oversize-")
                        .tempfile_in(dir)?,
                );
                file.write_all(bytes)?;
                file.write_all(chunk)?;
                let size = (bytes.len() + chunk.len()) as u64;
                *self = Sink::Spill { file, size };
                Ok(())
            }
            Sink::Spill { file, size } => {
                file.write_all(chunk)?;
                *size += chunk.len() as u64;
                Ok(())
            }
        }
    }

    fn finish(self) -> io::Result<Message> {
        match self {
            Sink::Memory { bytes, .. } => Ok(Message::Bytes(bytes)),
            Sink::Spill { file, size } => {
                let file = file.into_inner().map_err(|e| e.into_error())?;
                file.as_file().sync_data()?;
                Ok(Message::Spilled {
                    file: file.into_temp_path(),
                    size,
                })
            }
        }
    }
}

/// A streaming mbox reader (mboxo and mboxrd): a message starts at a `From ` line that opens the
/// file or follows a blank line; `>From ` lines are unescaped.
pub struct Mbox<R> {
    reader: R,
    limit: usize,
    spill: Option<PathBuf>,
    /// Messages returned so far.
    pub count: usize,
    started: bool,
    done: bool,
}

impl<R: BufRead> Mbox<R> {
    /// An mbox over `reader`; each message is cut to `limit` bytes (see [`Mbox::spill_to`]).
    pub fn new(reader: R, limit: usize) -> Self {
        Mbox {
            reader,
            limit,
            spill: None,
            count: 0,
            started: false,
            done: false,
        }
    }

    /// Messages over the limit are written whole to a temporary file in `dir` instead of cut.
    pub fn spill_to(mut self, dir: PathBuf) -> Self {
        self.spill = Some(dir);
        self
    }

    /// The next message, or `None` at the end.
    pub fn next_message(&mut self) -> io::Result<Option<Message>> {
        if self.done {
            return Ok(None);
        }
        if !self.started {
            // Skip the opening `From ` envelope line.
            let mut line = Vec::new();
            read_line_bounded(&mut self.reader, &mut line, 0)?;
            self.started = true;
        }
        // Each line's head is read first (to spot an envelope or an escaped line), then the
        // line goes on to the sink chunk by chunk: no line is held whole. A blank line is held
        // back until the next line shows it is not the separator before an envelope.
        let mut sink = Sink::new(self.limit, self.spill.as_deref());
        let mut head = Vec::with_capacity(LINE_HEAD);
        let mut blank: Option<Vec<u8>> = None;
        let mut any = false;
        loop {
            head.clear();
            let ended = read_head(&mut self.reader, &mut head)?;
            if head.is_empty() {
                self.done = true;
                break;
            }
            any = true;
            if blank.is_some() && head.starts_with(b"From ") {
                if !ended {
                    read_line_bounded(&mut self.reader, &mut Vec::new(), 0)?;
                }
                break;
            }
            if let Some(line) = blank.take() {
                sink.write(&line)?;
            }
            if ended && (head == b"\n" || head == b"\r\n") {
                blank = Some(head.clone());
                continue;
            }
            let escaped = head
                .iter()
                .position(|&b| b != b'>')
                .is_some_and(|i| i > 0 && head[i..].starts_with(b"From "));
            sink.write(if escaped { &head[1..] } else { &head })?;
            if !ended {
                copy_line(&mut self.reader, &mut sink, false)?;
            }
        }
        if !any {
            return Ok(None);
        }
        self.count += 1;
        sink.finish().map(Some)
    }
}

/// Reads the start of a line into `head` (empty: at the end of the input): up to
/// [`LINE_HEAD`] bytes, or through its `\n`. True when the whole line was read.
fn read_head<R: BufRead>(reader: &mut R, head: &mut Vec<u8>) -> io::Result<bool> {
    loop {
        let buf = match reader.fill_buf() {
            Ok(buf) => buf,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        if buf.is_empty() {
            return Ok(false);
        }
        let room = LINE_HEAD - head.len();
        let window = &buf[..buf.len().min(room)];
        if let Some(i) = window.iter().position(|&b| b == b'\n') {
            head.extend_from_slice(&window[..=i]);
            reader.consume(i + 1);
            return Ok(true);
        }
        let used = window.len();
        head.extend_from_slice(window);
        reader.consume(used);
        if head.len() == LINE_HEAD {
            return Ok(false);
        }
    }
}

/// Copies the rest of a line (through its `\n`) into `sink`, or with `whole`, the rest of
/// `reader`.
fn copy_line<R: BufRead>(reader: &mut R, sink: &mut Sink<'_>, whole: bool) -> io::Result<()> {
    loop {
        let buf = match reader.fill_buf() {
            Ok(buf) => buf,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        if buf.is_empty() {
            return Ok(());
        }
        let end = if whole {
            None
        } else {
            buf.iter().position(|&b| b == b'\n')
        };
        let chunk = match end {
            Some(i) => &buf[..=i],
            None => buf,
        };
        let used = chunk.len();
        sink.write(chunk)?;
        reader.consume(used);
        if end.is_some() {
            return Ok(());
        }
    }
}

/// Appends `bytes` to `out`, growing its capacity geometrically but never beyond `limit`
/// (`Vec`'s own doubling would reserve up to twice the limit for an item just over it).
fn extend_bounded(out: &mut Vec<u8>, bytes: &[u8], limit: usize) {
    let needed = out.len().saturating_add(bytes.len());
    if needed > out.capacity() {
        let target = needed
            .max(out.capacity().saturating_mul(2))
            .min(limit.max(needed));
        out.reserve_exact(target - out.len());
    }
    out.extend_from_slice(bytes);
}

/// Reads one line (through `\n`), appending it to `out` until `out` holds `keep` bytes (at
/// least 5) and discarding the rest. Returns the line's full length.
fn read_line_bounded<R: BufRead>(
    reader: &mut R,
    out: &mut Vec<u8>,
    keep: usize,
) -> io::Result<usize> {
    let keep = keep.max(5);
    let mut total = 0;
    loop {
        let buf = match reader.fill_buf() {
            Ok(buf) => buf,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        if buf.is_empty() {
            return Ok(total);
        }
        let (chunk, found) = match buf.iter().position(|&b| b == b'\n') {
            Some(i) => (&buf[..=i], true),
            None => (buf, false),
        };
        let room = keep.saturating_sub(out.len());
        extend_bounded(out, &chunk[..chunk.len().min(room)], keep);
        let used = chunk.len();
        total += used;
        reader.consume(used);
        if found {
            return Ok(total);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bytes(message: Message) -> Vec<u8> {
        match message {
            Message::Bytes(bytes) => bytes,
            Message::Spilled { file, .. } => std::fs::read(&file).expect("the spill file"),
        }
    }

    fn messages(text: &[u8], limit: usize) -> Vec<Vec<u8>> {
        let mut mbox = Mbox::new(text, limit);
        let mut out = Vec::new();
        while let Some(m) = mbox.next_message().expect("reading from memory") {
            out.push(bytes(m));
        }
        out
    }

    #[test]
    fn splits_on_from_lines_after_blank_lines_and_unescapes() {
        let text = b"From a@b Mon Jan  1 00:00:00 2024\nSubject: one\n\nbody\n>From here\nFrom not a separator\n\nFrom b@c Mon Jan  1 00:00:00 2024\nSubject: two\n\nx\n";
        let got = messages(text, 1 << 20);
        assert_eq!(got.len(), 2);
        assert_eq!(
            got[0],
            b"Subject: one\n\nbody\nFrom here\nFrom not a separator\n".to_vec()
        );
        assert_eq!(got[1], b"Subject: two\n\nx\n".to_vec());
    }

    #[test]
    fn cuts_long_messages_and_lines_at_the_limit() {
        let mut text = b"From a Mon Jan  1 00:00:00 2024\n".to_vec();
        text.extend(std::iter::repeat_n(b'x', 10_000));
        text.extend_from_slice(b"\n\nFrom b Mon Jan  1 00:00:00 2024\nshort\n");
        let got = messages(&text, 100);
        assert_eq!(got.len(), 2);
        assert_eq!(got[0].len(), 100);
        assert_eq!(got[1], b"short\n".to_vec());
    }

    #[test]
    fn a_long_line_is_held_once_and_never_beyond_the_limit() {
        let limit = 1 << 20;
        let mut text = b"From a Mon Jan  1 00:00:00 2024\nSubject: long\nX-Long: ".to_vec();
        text.extend(std::iter::repeat_n(b'x', 5 * limit));
        text.extend_from_slice(b"\n\nFrom b Mon Jan  1 00:00:00 2024\n>From here\n");
        let mut mbox = Mbox::new(&text[..], limit);
        let Some(Message::Bytes(first)) = mbox.next_message().expect("memory") else {
            panic!("a message in memory");
        };
        assert_eq!(first.len(), limit);
        assert!(first.starts_with(b"Subject: long\nX-Long: xxx"));
        assert!(
            first.capacity() <= limit + LINE_HEAD,
            "capacity {} for a limit of {limit}",
            first.capacity()
        );
        let second = mbox.next_message().expect("memory").map(bytes);
        assert_eq!(second, Some(b"From here\n".to_vec()));
        assert!(mbox.next_message().expect("memory").is_none());
    }

    /// With a spill directory, a message over the limit is written whole to a file (its long
    /// line, its `>From ` unescaped, the separator's blank line left out), and the next
    /// message is read as usual; a plain file over the limit is spilled whole too.
    #[test]
    fn messages_over_the_limit_are_spilled_whole() {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let limit = 1000;
        let mut big = b"Subject: big\n\n".to_vec();
        big.extend(std::iter::repeat_n(b'y', 5 * limit));
        big.extend_from_slice(b"\nFrom inside\n");
        let mut text = b"From a Mon Jan  1 00:00:00 2024\n".to_vec();
        text.extend_from_slice(&big[..big.len() - 12]);
        text.extend_from_slice(b">From inside\n\nFrom b Mon Jan  1 00:00:00 2024\nsmall\n");
        let mut mbox = Mbox::new(&text[..], limit).spill_to(dir.path().to_path_buf());
        let Some(Message::Spilled { file, size }) = mbox.next_message().expect("reads") else {
            panic!("the first message spilled");
        };
        assert_eq!(std::fs::read(&file).expect("spill file"), big);
        assert_eq!(size, big.len() as u64);
        let second = mbox.next_message().expect("reads").map(bytes);
        assert_eq!(second, Some(b"small\n".to_vec()));

        let path = dir.path().join("plain.eml");
        std::fs::write(&path, &big).expect("write");
        let mut inputs = Inputs::new(&[path], limit - 1, dir.path().join("spill"));
        let Some(Input::Oversize { file, size, .. }) = inputs.next() else {
            panic!("the plain file spilled");
        };
        assert_eq!(
            (std::fs::read(&file).expect("spill file"), size),
            (big.clone(), big.len() as u64)
        );
    }

    #[test]
    fn crlf_mbox() {
        let text = b"From a Mon Jan  1 00:00:00 2024\r\nA: 1\r\n\r\nb\r\n\r\nFrom c Mon Jan  1 00:00:00 2024\r\nA: 2\r\n";
        let got = messages(text, 1 << 20);
        assert_eq!(
            got,
            vec![b"A: 1\r\n\r\nb\r\n".to_vec(), b"A: 2\r\n".to_vec()]
        );
    }
}
