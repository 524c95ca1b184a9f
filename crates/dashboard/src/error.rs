//! What keeps the page from being rendered.

/// Why the dashboard could not be rendered.
#[derive(Debug, thiserror::Error)]
pub enum DashboardError {
    /// A parameter of the request is wrong (`at=`, `from=`): the message says which and how
    /// to write it.
    #[error("{0}")]
    BadRequest(String),
    /// The ledger did not answer.
    #[error(transparent)]
    Ledger(#[from] ledger::LedgerError),
    /// A template failed to render (a bug: every value it shows is a string or a number).
    #[error("rendering the dashboard: {0}")]
    Render(#[from] askama::Error),
}
