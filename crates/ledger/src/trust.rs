//! [`TrustPolicy`]: which senders a notification may come from. Anyone who can mail the
//! reseller can forge a notification; with a policy set, a mail from another sender (or without
//! the authentication the policy asks for) is quarantined instead of becoming an event.

use ledger_parser::MailMeta;

/// The name of the trust policy file inside a ledger's directory (`PATH/trust.conf`): the
/// policy a caller applies when it names no other.
pub const TRUST_POLICY_FILE: &str = "trust.conf";

/// Which senders are trusted, and whether their mail must show a passing DKIM or SPF check.
///
/// ```
/// use ledger::TrustPolicy;
///
/// let policy = TrustPolicy::parse(
///     "# AutoDNS robots\n\
///      sender autodns.example\n\
///      require-authentication\n\
///      authserv-id mail.reseller.example\n",
/// )?;
/// assert_eq!(policy.senders, ["autodns.example"]);
/// assert!(policy.require_authentication);
/// assert!(policy.check(None).is_err(), "a bare body has no sender to check");
/// # Ok::<(), ledger::TrustPolicyError>(())
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TrustPolicy {
    /// Trusted senders: addresses (`robot@autodns.example`, exact, case-insensitive) or domains
    /// (`autodns.example`: the From address's domain or any subdomain of it).
    pub senders: Vec<String>,
    /// Also require an `Authentication-Results` header showing `dkim=pass` with `header.d=` a
    /// trusted domain, or `spf=pass` with `smtp.mailfrom=` in a trusted domain.
    pub require_authentication: bool,
    /// When not empty, only `Authentication-Results` headers whose authserv-id (the first token,
    /// before `;`) is listed count: the receiving server's own id is the one to trust, since
    /// anyone upstream can add such a header.
    pub authserv_ids: Vec<String>,
}

/// Why a trust policy's text could not be read: where (line and column, both from 1; the
/// column counts characters) and what is wrong there.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}, column {column}: {reason}")]
pub struct TrustPolicyError {
    /// The line of the fault.
    pub line: usize,
    /// The column where the faulty directive or value starts.
    pub column: usize,
    /// What is wrong, as one line.
    pub reason: String,
}

/// The 1-based column (in characters) where `part`, a slice of `line`, starts.
fn column_of(line: &str, part: &str) -> usize {
    let offset = (part.as_ptr() as usize)
        .saturating_sub(line.as_ptr() as usize)
        .min(line.len());
    line.get(..offset)
        .map_or(offset, |before| before.chars().count())
        + 1
}

impl TrustPolicy {
    /// Reads a policy, one directive a line (`#` starts a comment):
    /// `sender ADDRESS-OR-DOMAIN`, `require-authentication`, `authserv-id ID`.
    /// The error names the line and the column of the fault (both from 1, the column in
    /// characters).
    ///
    /// ```
    /// use ledger::TrustPolicy;
    ///
    /// let error = TrustPolicy::parse("sender autodns.example\n  sendr robot@autodns.example\n")
    ///     .unwrap_err();
    /// assert_eq!((error.line, error.column), (2, 3));
    /// assert!(error.to_string().starts_with("line 2, column 3: unknown directive \"sendr\""));
    /// ```
    pub fn parse(text: &str) -> Result<TrustPolicy, TrustPolicyError> {
        let mut policy = TrustPolicy::default();
        for (number, raw) in text.lines().enumerate() {
            let line = raw.split('#').next().unwrap_or("").trim();
            if line.is_empty() {
                continue;
            }
            let (directive, value) = match line.split_once(char::is_whitespace) {
                Some((d, v)) => (d, v.trim()),
                None => (line, ""),
            };
            let fault = |at: &str, reason: String| TrustPolicyError {
                line: number + 1,
                column: column_of(raw, at),
                reason,
            };
            match (directive, value.is_empty()) {
                ("sender", false) => {
                    if value.contains(char::is_whitespace) || value.ends_with('@') {
                        return Err(fault(
                            value,
                            format!("{value:?} is not an address or domain"),
                        ));
                    }
                    policy.senders.push(value.to_lowercase());
                }
                ("authserv-id", false) => {
                    if value.contains(char::is_whitespace) {
                        return Err(fault(
                            value,
                            format!("{value:?} is not one authserv-id (no spaces)"),
                        ));
                    }
                    policy.authserv_ids.push(value.to_lowercase())
                }
                ("require-authentication", true) => policy.require_authentication = true,
                ("require-authentication", false) => {
                    return Err(fault(
                        value,
                        format!("require-authentication takes no value (found {value:?})"),
                    ));
                }
                ("sender" | "authserv-id", true) => {
                    return Err(fault(directive, format!("{directive} needs a value")));
                }
                _ => {
                    return Err(fault(
                        directive,
                        format!(
                            "unknown directive {directive:?} (expected sender, \
                             require-authentication, authserv-id)"
                        ),
                    ));
                }
            }
        }
        Ok(policy)
    }

    /// Checks a mail's headers against the policy; `Err` says why it is not trusted. A bare
    /// body (`None`: no mail headers) is never trusted.
    pub fn check(&self, mail: Option<&MailMeta>) -> Result<(), String> {
        let mail = mail.ok_or("a bare body without mail headers has no sender to check")?;
        let from = mail
            .from
            .as_deref()
            .ok_or("the mail has no From address")?
            .to_lowercase();
        if !self.sender_trusted(&from) {
            return Err(format!("sender {from} is not trusted"));
        }
        if self.require_authentication && !self.authenticated(&mail.authentication_results) {
            return Err(format!(
                "sender {from} is not authenticated: no Authentication-Results{} shows \
                 dkim=pass or spf=pass for a trusted domain",
                if self.authserv_ids.is_empty() {
                    String::new()
                } else {
                    format!(" from {}", self.authserv_ids.join(", "))
                }
            ));
        }
        Ok(())
    }

    fn sender_trusted(&self, address: &str) -> bool {
        let domain = address.rsplit_once('@').map_or("", |(_, d)| d);
        self.senders.iter().any(|sender| {
            if sender.contains('@') {
                sender.eq_ignore_ascii_case(address)
            } else {
                in_domain(domain, sender)
            }
        })
    }

    /// True when `domain` is (a subdomain of) a trusted sender's domain.
    fn domain_trusted(&self, domain: &str) -> bool {
        self.senders.iter().any(|sender| {
            let trusted = sender.rsplit_once('@').map_or(sender.as_str(), |(_, d)| d);
            in_domain(domain, trusted)
        })
    }

    fn authenticated(&self, headers: &[String]) -> bool {
        headers.iter().any(|header| {
            let header = strip_comments(header);
            let mut parts = header.split(';');
            let authserv_id = parts
                .next()
                .and_then(|id| id.split_whitespace().next())
                .unwrap_or("");
            if !self.authserv_ids.is_empty()
                && !self
                    .authserv_ids
                    .iter()
                    .any(|id| id.eq_ignore_ascii_case(authserv_id))
            {
                return false;
            }
            parts.any(|clause| self.clause_passes(clause))
        })
    }

    /// One `method=result prop=value…` clause: dkim=pass with a trusted `header.d`, or
    /// spf=pass with a trusted `smtp.mailfrom`.
    fn clause_passes(&self, clause: &str) -> bool {
        let mut tokens = clause.split_whitespace();
        let Some((method, result)) = tokens.next().and_then(|t| t.split_once('=')) else {
            return false;
        };
        if !result.eq_ignore_ascii_case("pass") {
            return false;
        }
        let wanted = if method.eq_ignore_ascii_case("dkim") {
            "header.d"
        } else if method.eq_ignore_ascii_case("spf") {
            "smtp.mailfrom"
        } else {
            return false;
        };
        tokens.any(|token| {
            token.split_once('=').is_some_and(|(name, value)| {
                let value = value.trim_matches('"').to_lowercase();
                let domain = value.rsplit_once('@').map_or(value.as_str(), |(_, d)| d);
                name.eq_ignore_ascii_case(wanted) && self.domain_trusted(domain)
            })
        })
    }
}

/// True when `domain` is `parent` or one of its subdomains (case-insensitive).
fn in_domain(domain: &str, parent: &str) -> bool {
    let domain = domain.trim_end_matches('.').to_lowercase();
    let parent = parent.trim_end_matches('.').to_lowercase();
    !parent.is_empty()
        && (domain == parent
            || domain
                .strip_suffix(parent.as_str())
                .is_some_and(|rest| rest.ends_with('.')))
}

/// Removes RFC 5322 comments (`(…)`, nested) from a header value.
fn strip_comments(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    let mut depth = 0usize;
    for c in value.chars() {
        match c {
            '(' => depth += 1,
            ')' if depth > 0 => depth -= 1,
            _ if depth == 0 => out.push(c),
            _ => {}
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn meta(from: &str, auth: &[&str]) -> MailMeta {
        MailMeta {
            message_id: None,
            date: None,
            from: Some(from.to_string()),
            subject: None,
            received: Vec::new(),
            authentication_results: auth.iter().map(|s| s.to_string()).collect(),
        }
    }

    const SEED_AUTH: &str = "mail.reseller.example; spf=pass smtp.mailfrom=autodns.example; \
                             dkim=pass header.d=autodns.example";

    #[test]
    fn senders_match_addresses_exactly_and_domains_with_their_subdomains() {
        let by_address = TrustPolicy {
            senders: vec!["robot@autodns.example".into()],
            ..TrustPolicy::default()
        };
        assert_eq!(
            by_address.check(Some(&meta("Robot@AutoDNS.example", &[]))),
            Ok(())
        );
        assert_eq!(
            by_address.check(Some(&meta("other@autodns.example", &[]))),
            Err("sender other@autodns.example is not trusted".into())
        );
        let by_domain = TrustPolicy::parse("sender AutoDNS.example").unwrap();
        assert!(
            by_domain
                .check(Some(&meta("robot@autodns.example", &[])))
                .is_ok()
        );
        assert!(
            by_domain
                .check(Some(&meta("robot@mx.autodns.example", &[])))
                .is_ok()
        );
        assert!(
            by_domain
                .check(Some(&meta("robot@evilautodns.example", &[])))
                .is_err()
        );
        assert!(
            by_domain
                .check(Some(&meta("robot@autodns.example.evil", &[])))
                .is_err()
        );
        assert!(by_domain.check(None).is_err());
        let mut no_from = meta("x@autodns.example", &[]);
        no_from.from = None;
        assert!(by_domain.check(Some(&no_from)).is_err());
    }

    #[test]
    fn authentication_needs_a_pass_for_a_trusted_domain_from_a_listed_server() {
        let policy = TrustPolicy::parse(
            "sender robot@autodns.example\nrequire-authentication\nauthserv-id mail.reseller.example\n",
        )
        .unwrap();
        let from = "robot@autodns.example";
        assert_eq!(policy.check(Some(&meta(from, &[SEED_AUTH]))), Ok(()));
        // No header, a failing check, a pass for another domain, a pass from an unlisted server.
        assert!(policy.check(Some(&meta(from, &[]))).is_err());
        assert!(
            policy
                .check(Some(&meta(
                    from,
                    &["mail.reseller.example; spf=fail smtp.mailfrom=autodns.example; dkim=none"]
                )))
                .is_err()
        );
        assert!(
            policy
                .check(Some(&meta(
                    from,
                    &["mail.reseller.example; dkim=pass header.d=evil.example"]
                )))
                .is_err()
        );
        let forged_upstream = "mx.evil.example; dkim=pass header.d=autodns.example";
        assert!(policy.check(Some(&meta(from, &[forged_upstream]))).is_err());
        // Without authserv-ids, any server's header counts.
        let open = TrustPolicy {
            authserv_ids: Vec::new(),
            ..policy.clone()
        };
        assert!(open.check(Some(&meta(from, &[forged_upstream]))).is_ok());
        // SPF alone, with an address, a version number and comments.
        assert!(
            policy
                .check(Some(&meta(
                    from,
                    &["mail.reseller.example 1; spf=pass (sender ok) smtp.mailfrom=bounce@mx.autodns.example"]
                )))
                .is_ok()
        );
    }

    #[test]
    fn parse_rejects_unknown_directives_and_missing_values() {
        let unknown = TrustPolicy::parse("trust everyone").unwrap_err();
        assert_eq!((unknown.line, unknown.column), (1, 1));
        assert!(
            unknown.reason.contains("unknown directive \"trust\""),
            "{unknown}"
        );
        let missing = TrustPolicy::parse("# x\n  sender # none\n").unwrap_err();
        assert_eq!((missing.line, missing.column), (2, 3));
        assert_eq!(missing.reason, "sender needs a value");
        let bad = TrustPolicy::parse("sender  robot@\n").unwrap_err();
        assert_eq!((bad.line, bad.column), (1, 9), "{bad}");
        let extra = TrustPolicy::parse("\trequire-authentication yes\n").unwrap_err();
        assert_eq!((extra.line, extra.column), (1, 25), "{extra}");
        // Columns count characters, not bytes.
        let wide = TrustPolicy::parse("sender müller.example\nsendér x\n").unwrap_err();
        assert_eq!((wide.line, wide.column), (2, 1), "{wide}");
        assert_eq!(
            TrustPolicy::parse("# nothing\n\n"),
            Ok(TrustPolicy::default())
        );
    }
}
