//! Turning command-line paths into items to ingest: files (one mail each), directories
//! (recursively), mbox files (by content), Maildir folders and standard input.
//!
//! Everything streams: an mbox is read message by message and a line is never held beyond the
//! size limit, so a multi-gigabyte mbox (or line) does not fill memory.

use std::collections::VecDeque;
use std::fs::File;
use std::io::{self, BufRead, BufReader};
use std::path::{Path, PathBuf};

/// One item read from the input.
#[derive(Debug)]
pub enum Input {
    /// Bytes to ingest, and where they came from.
    Item {
        /// `PATH`, `PATH#N` for the N-th message of an mbox, `-` for stdin.
        origin: String,
        /// The bytes, cut to the size limit plus one byte.
        bytes: Vec<u8>,
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
    Mbox(Mbox<Box<dyn BufRead + Send>>, String),
}

/// Why a symbolic link found inside a directory is not read.
const SYMLINK_NOT_FOLLOWED: &str = "symbolic link inside a directory: not followed";

/// An iterator over the items under a list of paths.
pub struct Inputs {
    queue: VecDeque<Source>,
    limit: usize,
    /// Hidden files (names starting with `.`) skipped inside directories so far.
    pub hidden: u64,
}

impl Inputs {
    /// Items under `paths`, each cut to `max_size + 1` bytes (the ledger rejects larger ones).
    pub fn new(paths: &[PathBuf], max_size: usize) -> Self {
        Inputs {
            queue: paths
                .iter()
                .map(|p| Source::Path(p.clone(), true))
                .collect(),
            limit: max_size.saturating_add(1),
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
            self.queue
                .push_front(Source::Mbox(Mbox::new(reader, self.limit), origin));
            return None;
        }
        // Grow within the limit: `read_to_end` alone doubles, so an item just over 16 MiB
        // would hold 32 MiB.
        let mut bytes = Vec::new();
        match read_bounded(&mut reader, &mut bytes, self.limit) {
            Ok(_) => Some(Input::Item { origin, bytes }),
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
                    Ok(Some(bytes)) => {
                        let n = mbox.count;
                        self.queue.push_front(Source::Mbox(mbox, origin.clone()));
                        return Some(Input::Item {
                            origin: format!("{origin}#{n}"),
                            bytes,
                        });
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

/// How much of a line past the size limit is still read: enough to spot `>From ` and `From `.
const LINE_HEAD: usize = 8;

/// A streaming mbox reader (mboxo and mboxrd): a message starts at a `From ` line that opens the
/// file or follows a blank line; `>From ` lines are unescaped.
pub struct Mbox<R> {
    reader: R,
    limit: usize,
    /// Messages returned so far.
    pub count: usize,
    started: bool,
    done: bool,
}

impl<R: BufRead> Mbox<R> {
    /// An mbox over `reader`; each message is cut to `limit` bytes.
    pub fn new(reader: R, limit: usize) -> Self {
        Mbox {
            reader,
            limit,
            count: 0,
            started: false,
            done: false,
        }
    }

    /// The next message, or `None` at the end.
    pub fn next_message(&mut self) -> io::Result<Option<Vec<u8>>> {
        if self.done {
            return Ok(None);
        }
        if !self.started {
            // Skip the opening `From ` envelope line.
            let mut line = Vec::new();
            read_line_bounded(&mut self.reader, &mut line, 0)?;
            self.started = true;
        }
        // Lines are read straight into the message (no second copy of a long line), keeping at
        // most `limit` bytes of it, plus enough of each further line to spot the next envelope.
        let mut message = Vec::new();
        let mut previous_blank = false;
        let mut any = false;
        loop {
            let start = message.len();
            let keep = self.limit.max(start + LINE_HEAD);
            let n = read_line_bounded(&mut self.reader, &mut message, keep)?;
            if n == 0 {
                self.done = true;
                break;
            }
            any = true;
            let line = &message[start..];
            if previous_blank && line.starts_with(b"From ") {
                message.truncate(start);
                break;
            }
            previous_blank = line == b"\n" || line == b"\r\n";
            let escaped = line
                .iter()
                .position(|&b| b != b'>')
                .is_some_and(|i| i > 0 && line[i..].starts_with(b"From "));
            if escaped {
                message.remove(start);
            }
            message.truncate(self.limit);
        }
        if !any {
            return Ok(None);
        }
        // The blank line before the next envelope (or closing the file) belongs to the separator.
        if message.ends_with(b"\r\n\r\n") {
            message.truncate(message.len() - 2);
        } else if message.ends_with(b"\n\n") {
            message.truncate(message.len() - 1);
        }
        self.count += 1;
        Ok(Some(message))
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

/// Reads `reader` to its end or to `limit` bytes, whichever comes first, into `out` (with
/// [`extend_bounded`]'s growth).
fn read_bounded<R: BufRead>(reader: &mut R, out: &mut Vec<u8>, limit: usize) -> io::Result<()> {
    loop {
        let buf = match reader.fill_buf() {
            Ok(buf) => buf,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        let room = limit.saturating_sub(out.len());
        if buf.is_empty() || room == 0 {
            return Ok(());
        }
        let used = buf.len().min(room);
        extend_bounded(out, &buf[..used], limit);
        reader.consume(used);
    }
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

    fn messages(text: &[u8], limit: usize) -> Vec<Vec<u8>> {
        let mut mbox = Mbox::new(text, limit);
        let mut out = Vec::new();
        while let Some(m) = mbox.next_message().expect("reading from memory") {
            out.push(m);
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
        let first = mbox.next_message().expect("memory").expect("a message");
        assert_eq!(first.len(), limit);
        assert!(first.starts_with(b"Subject: long\nX-Long: xxx"));
        assert!(
            first.capacity() <= limit + LINE_HEAD,
            "capacity {} for a limit of {limit}",
            first.capacity()
        );
        let second = mbox.next_message().expect("memory").expect("a message");
        assert_eq!(second, b"From here\n".to_vec());
        assert_eq!(mbox.next_message().expect("memory"), None);

        let mut plain = Vec::new();
        read_bounded(&mut &text[..], &mut plain, limit + 1).expect("memory");
        assert_eq!(plain.len(), limit + 1);
        assert!(
            plain.capacity() <= limit + 1,
            "capacity {}",
            plain.capacity()
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
