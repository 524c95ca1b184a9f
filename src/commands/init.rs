//! `ledger init`: an empty ledger, and its trust policy, before the first ingest.

use std::io::Write;
use std::path::{Path, PathBuf};

use ledger::Ledger;
use serde_json::json;

use crate::context::{Context, read_trust_policy, read_trust_policy_text};
use crate::error::{CliError, CliResult, EXIT_OK, PolicyFault};

/// `ledger init`: checks the policy named (or already in the ledger's directory), creates the
/// ledger if it is not there, copies the policy into it, and says what it did.
pub fn run(ctx: &Context) -> CliResult {
    let target = ctx.db.join(ledger::TRUST_POLICY_FILE);
    // Every policy is checked before anything is created: a fault creates nothing.
    let copy = match ctx.explicit_trust_policy() {
        Some(source) => {
            let (text, _) = read_trust_policy_text(source)
                .map_err(|fault| CliError::trust_policy(source, &fault))?;
            match std::fs::read(&target) {
                // Already in place (or `--trust-policy` names the ledger's own file).
                Ok(existing) if existing == text.as_bytes() => None,
                Ok(_) => return Err(CliError::trust_policy_differs(&target, source)),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => Some((source, text)),
                Err(e) => {
                    return Err(CliError::trust_policy(&target, &PolicyFault::Unreadable(e)));
                }
            }
        }
        None if target.is_file() => {
            read_trust_policy(&target).map_err(|fault| CliError::trust_policy(&target, &fault))?;
            None
        }
        None => None,
    };
    let existed = Ledger::exists(&ctx.db);
    drop(ctx.open_or_create(ctx.options())?);
    if let Some((_, text)) = &copy {
        write_policy(&target, text)?;
    }
    let in_force = target.is_file().then_some(&target);
    let copied_from = copy.as_ref().map(|(source, _)| *source);

    let mut out = std::io::stdout().lock();
    if ctx.json {
        crate::output::print_json(
            &mut out,
            &json!({
                "db": ctx.db.display().to_string(),
                "created": !existed,
                "trust_policy": in_force.map(|p| p.display().to_string()),
                "trust_policy_copied_from": copied_from.map(|p| p.display().to_string()),
            }),
        )?;
        return Ok(EXIT_OK);
    }
    if existed {
        writeln!(
            out,
            "a ledger is already at {}: nothing to create",
            ctx.db.display()
        )?;
    } else {
        writeln!(out, "created an empty ledger at {}", ctx.db.display())?;
    }
    match (in_force, copied_from) {
        (Some(policy), Some(source)) => writeln!(
            out,
            "trust policy: {} (copied from {}): mail from other senders is kept as untrusted",
            policy.display(),
            source.display()
        )?,
        (Some(policy), None) => writeln!(out, "trust policy: {}", policy.display())?,
        (None, _) => writeln!(
            out,
            "no trust policy: mail from every sender is accepted (`ledger init --trust-policy \
             FILE` sets one)"
        )?,
    }
    Ok(EXIT_OK)
}

/// Writes the policy into the ledger whole: a draft, synced, renamed into place.
fn write_policy(target: &Path, text: &str) -> Result<(), CliError> {
    let draft = PathBuf::from(format!("{}.{}.draft", target.display(), std::process::id()));
    let written = std::fs::File::create(&draft)
        .and_then(|mut file| {
            file.write_all(text.as_bytes())?;
            file.sync_all()
        })
        .and_then(|()| std::fs::rename(&draft, target));
    if let Err(e) = written {
        let _ = std::fs::remove_file(&draft);
        return Err(CliError::writing_trust_policy(target, e));
    }
    Ok(())
}
