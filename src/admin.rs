//! What moderators do to accounts (approve, reject, silence, suspend, delete and undo) and to
//! reports; every action is written to the audit log in the same call.

use crate::{
    db::{self, audit::NewEntry},
    domain::account::Account,
    error::{Error, Kind, Result},
    federation::outbox,
    profiles,
    state::AppState,
};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Approve,
    Reject,
    Silence,
    Unsilence,
    Suspend,
    Unsuspend,
    Delete,
    /// Resolve a report without acting on the account.
    None,
}

impl Action {
    pub fn parse(raw: &str) -> Option<Action> {
        Some(match raw {
            "approve" => Action::Approve,
            "reject" => Action::Reject,
            "silence" => Action::Silence,
            "unsilence" => Action::Unsilence,
            "suspend" => Action::Suspend,
            "unsuspend" => Action::Unsuspend,
            "delete" => Action::Delete,
            "none" => Action::None,
            _ => return None,
        })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Action::Approve => "approve",
            Action::Reject => "reject",
            Action::Silence => "silence",
            Action::Unsilence => "unsilence",
            Action::Suspend => "suspend",
            Action::Unsuspend => "unsuspend",
            Action::Delete => "delete",
            Action::None => "none",
        }
    }
}

fn not_admin() -> Error {
    Error::new(Kind::Forbidden, "forbidden", "this needs an admin account")
}

/// Does `action` to the account `target_id` as `moderator`, and logs it with `note`.
pub async fn act(
    state: &AppState,
    moderator: &Account,
    target_id: &str,
    action: Action,
    note: &str,
) -> Result<Account> {
    if !moderator.is_admin {
        return Err(not_admin());
    }
    let target = db::accounts::by_id(&state.db, target_id)
        .await?
        .ok_or_else(|| Error::not_found("account"))?;
    if target.id == moderator.id && !matches!(action, Action::None) {
        return Err(Error::unprocessable("moderators do not act on their own account"));
    }
    let now = db::now_ms();
    match action {
        Action::Approve => {
            if !db::accounts::approve(&state.db, &target.id).await? {
                return Err(Error::unprocessable("this account is not waiting for approval"));
            }
        }
        Action::Reject => {
            if !db::accounts::reject(&state.db, &target.id).await? {
                return Err(Error::unprocessable(
                    "only sign-ups waiting for approval can be rejected",
                ));
            }
        }
        Action::Silence => db::accounts::set_silenced(&state.db, &target.id, Some(now)).await?,
        Action::Unsilence => db::accounts::set_silenced(&state.db, &target.id, None).await?,
        Action::Suspend => {
            if target.standing.suspended_at.is_none() {
                db::accounts::set_suspended(&state.db, &target.id, Some(now)).await?;
                // Other servers drop the account and its posts, as they would a deleted one;
                // its data stays here until an admin deletes it or lifts the suspension.
                if target.is_local() {
                    outbox::actor_deleted(state, &target).await?;
                }
            }
        }
        Action::Unsuspend => {
            db::accounts::set_suspended(&state.db, &target.id, None).await?;
            if target.is_local()
                && let Some(back) = db::accounts::by_id(&state.db, &target.id).await?
            {
                outbox::actor_updated(state, &back).await?;
            }
        }
        Action::Delete => {
            // Deleting cannot be undone: it is always the second, deliberate step after a
            // suspension, as in Mastodon.
            if target.standing.suspended_at.is_none() {
                return Err(Error::new(
                    Kind::Forbidden,
                    "not_suspended",
                    "suspend the account before deleting it",
                ));
            }
            if target.is_local() {
                profiles::delete(state, &target).await?;
            } else {
                db::accounts::delete_remote(&state.db, &target.id).await?;
            }
        }
        Action::None => {}
    }
    db::audit::record(
        &state.db,
        &NewEntry {
            account_id: &moderator.id,
            action: action.as_str(),
            target_type: "account",
            target_id: &target.id,
            target_name: &format!("@{}", target.acct()),
            note,
        },
    )
    .await?;
    // A rejected sign-up's row is gone: what it was is what the caller gets back.
    Ok(db::accounts::by_id(&state.db, &target.id)
        .await?
        .unwrap_or(target))
}

/// Resolves a report with an action on the reported account and a note.
pub async fn resolve_report(
    state: &AppState,
    moderator: &Account,
    report_id: &str,
    action: Action,
    note: &str,
) -> Result<()> {
    if !moderator.is_admin {
        return Err(not_admin());
    }
    let (report, resolved, _) = db::moderation::report(&state.db, report_id)
        .await?
        .ok_or_else(|| Error::not_found("report"))?;
    if resolved.is_some() {
        return Err(Error::new(
            Kind::Conflict,
            "already_resolved",
            "this report was resolved already",
        ));
    }
    if action == Action::Delete {
        act(state, moderator, &report.target_id, Action::Suspend, note).await?;
    }
    if action != Action::None {
        act(state, moderator, &report.target_id, action, note).await?;
    }
    db::moderation::resolve_report(&state.db, &report.id, &moderator.id, action.as_str()).await?;
    db::audit::record(
        &state.db,
        &NewEntry {
            account_id: &moderator.id,
            action: "resolve_report",
            target_type: "report",
            target_id: &report.id,
            target_name: action.as_str(),
            note,
        },
    )
    .await?;
    Ok(())
}

/// Gives an account quotas of its own (None: the instance's defaults), logged like any action.
pub async fn set_quotas(
    state: &AppState,
    moderator: &Account,
    target_id: &str,
    storage: Option<i64>,
    daily: Option<i64>,
) -> Result<Account> {
    if !moderator.is_admin {
        return Err(not_admin());
    }
    if storage.is_some_and(|q| q < 0) || daily.is_some_and(|q| q < 0) {
        return Err(Error::unprocessable("a quota is a number of bytes, 0 or more"));
    }
    let account = db::accounts::by_id(&state.db, target_id)
        .await?
        .ok_or_else(|| Error::not_found("account"))?;
    db::accounts::set_quotas(&state.db, &account.id, storage, daily).await?;
    db::audit::record(
        &state.db,
        &NewEntry {
            account_id: &moderator.id,
            action: "set_quota",
            target_type: "account",
            target_id: &account.id,
            target_name: &format!("@{}", account.acct()),
            note: &format!("storage {storage:?} bytes, daily {daily:?} bytes"),
        },
    )
    .await?;
    Ok(account)
}
