//! [`classify`]: which fact a notification records. TODO(ledger helper).
use ledger_parser::Notification;

use crate::EventKind;

/// Decides the kind of a notification from its codes (task, status, notices, event type,
/// `kk_answer`) and, for a CentralNic response, the command it answers.
pub fn classify(notification: &Notification, command: Option<&str>) -> EventKind {
    let _ = (notification, command);
    todo!()
}
