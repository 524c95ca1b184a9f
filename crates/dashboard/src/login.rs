//! The page that asks for the API token when the dashboard is served on a non-loopback address.

use askama::Template;

use crate::DashboardError;

#[derive(Template)]
#[template(path = "login.html")]
struct LoginTemplate<'a> {
    message: &'a str,
    next: &'a str,
}

/// The sign-in page: a form posting `token` and `next` (where to go after) to `/login`;
/// `message` says why it is shown again (a wrong token), or is empty.
///
/// ```
/// let html = ledger_dashboard::login_page("wrong token", "/?q=<x>")?;
/// assert!(html.contains("wrong token"));
/// assert!(html.contains("/?q=&#60;x&#62;"));
/// # Ok::<(), ledger_dashboard::DashboardError>(())
/// ```
pub fn login_page(message: &str, next: &str) -> Result<String, DashboardError> {
    Ok(LoginTemplate { message, next }.render()?)
}
