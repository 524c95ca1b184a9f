//! [`content_key`]: de-duplication on content. TODO(ledger helper).
use ledger_parser::Notification;

/// The de-duplication key of a notification: a hash of its content (format and every field as
/// read), not of the mail's bytes, headers or Message-ID, so a parent-notify copy with other
/// headers is recognised as the same notification.
pub fn content_key(notification: &Notification) -> [u8; 32] {
    let _ = notification;
    todo!()
}
