//! What to copy and what to let go: each configured strategy (everything, recently added, most
//! viewed) fills its own share of the space with the videos it values most, keeps every copy
//! for its minimum lifetime, and gives up the least useful copies first when it runs out.
//!
//! The planning itself is a pure function over what is held and what could be copied, so the
//! rules are tested without a network; `run` feeds it from the database and carries it out.

use serde::{Deserialize, Serialize};

use crate::{
    config::{MirrorStrategy, StrategyKind},
    db::{
        self,
        mirrors::{Candidate, Held},
    },
    error::Result,
    jobs::{JobError, JobHandler, JobRun},
    state::AppState,
};

#[derive(Debug, Default, PartialEq, Eq)]
pub struct Plan {
    /// Status ids to copy, and the strategy each is copied for.
    pub copy: Vec<(String, StrategyKind)>,
    /// Copies to drop, and why.
    pub drop: Vec<(String, &'static str)>,
}

/// Higher is more worth keeping.
fn worth(kind: StrategyKind, published_at: i64, views: i64) -> (i64, i64) {
    match kind {
        StrategyKind::All | StrategyKind::RecentlyAdded => (published_at, views),
        StrategyKind::MostViewed => (views, published_at),
    }
}

fn wants(strategy: &MirrorStrategy, candidate: &Candidate, now: i64) -> bool {
    match strategy.strategy {
        StrategyKind::All => true,
        StrategyKind::RecentlyAdded => candidate.published_at >= now - max_age_ms(strategy),
        // A video nobody has watched is not "most viewed", however empty the quota.
        StrategyKind::MostViewed => candidate.views > 0,
    }
}

fn max_age_ms(strategy: &MirrorStrategy) -> i64 {
    i64::try_from(strategy.max_age_seconds.saturating_mul(1000)).unwrap_or(i64::MAX)
}

/// Decides, for every strategy in order, which copies go and which videos to copy next.
/// `global_quota` caps all strategies together.
pub fn plan(
    strategies: &[MirrorStrategy],
    global_quota: i64,
    held: &[Held],
    candidates: &[Candidate],
    now: i64,
) -> Plan {
    let mut out = Plan::default();
    let mut taken: Vec<&str> = Vec::new();
    let mut kept_all: Vec<&Held> = Vec::new();
    for strategy in strategies {
        let kind = strategy.strategy;
        let quota = i64::try_from(strategy.quota_bytes).unwrap_or(i64::MAX);
        let lifetime = i64::try_from(strategy.min_lifetime_seconds.saturating_mul(1000)).unwrap_or(i64::MAX);
        let protected = |h: &Held| !h.verified || now - h.created_at < lifetime;
        let mut mine: Vec<&Held> = held.iter().filter(|h| h.strategy == kind.as_str()).collect();
        // Most useful first: what is dropped comes off the end.
        mine.sort_by_key(|h| std::cmp::Reverse(worth(kind, h.published_at, h.views)));
        if kind == StrategyKind::RecentlyAdded {
            let oldest = now - max_age_ms(strategy);
            mine.retain(|h| {
                let stale = h.published_at < oldest && !protected(h);
                if stale {
                    out.drop.push((h.mirror_id.clone(), "no longer recently added"));
                }
                !stale
            });
        }
        let mut total: i64 = mine.iter().map(|h| h.size_bytes).sum();
        // The most useful copy stays even alone over the quota: a small quota still mirrors.
        while total > quota && mine.len() > 1 {
            let Some(at) = mine.iter().rposition(|h| !protected(h)) else {
                break;
            };
            if at == 0 {
                break;
            }
            let gone = mine.remove(at);
            total -= gone.size_bytes;
            out.drop
                .push((gone.mirror_id.clone(), "over its strategy's quota"));
        }
        let least_useful = mine
            .iter()
            .rev()
            .find(|h| !protected(h))
            .map(|h| worth(kind, h.published_at, h.views));
        // One copy at a time per strategy: sizes are known only once copied, so each round
        // starts the next copy after the last one is weighed (every finished copy plans again).
        let busy = mine.iter().any(|h| h.copying);
        let best = candidates
            .iter()
            .filter(|c| !taken.contains(&c.status_id.as_str()) && wants(strategy, c, now))
            .max_by_key(|c| worth(kind, c.published_at, c.views));
        if let (Some(best), false) = (best, busy) {
            // Without room, only what beats a copy that may go (it goes once the new copy is
            // verified, on the next round). Room is judged by a typical copy's size; a video
            // this strategy let go comes back only when it beats a held copy, else a copy that
            // does not fit would be made, dropped and made again forever.
            let better = least_useful.is_some_and(|w| worth(kind, best.published_at, best.views) > w);
            let verified: Vec<i64> = mine.iter().filter(|h| h.verified).map(|h| h.size_bytes).collect();
            let typical = if verified.is_empty() {
                0
            } else {
                verified.iter().sum::<i64>() / verified.len() as i64
            };
            let room = total.saturating_add(typical) <= quota && total < quota && !best.dropped_before;
            if room || better {
                out.copy.push((best.status_id.clone(), kind));
                taken.push(&best.status_id);
            }
        }
        kept_all.extend(mine);
    }
    // Copies of a strategy no longer configured have no quota to stay in.
    for h in held {
        if !strategies.iter().any(|s| s.strategy.as_str() == h.strategy) && h.verified {
            out.drop
                .push((h.mirror_id.clone(), "its strategy is no longer configured"));
        }
    }
    // The global quota over everything kept: the oldest unprotected copies go first.
    kept_all.sort_by_key(|h| std::cmp::Reverse(h.created_at));
    let mut total: i64 = kept_all.iter().map(|h| h.size_bytes).sum();
    while total > global_quota && kept_all.len() > 1 {
        let Some(gone) = kept_all.pop() else { break };
        total -= gone.size_bytes;
        out.drop
            .push((gone.mirror_id.clone(), "over mirroring.quota_bytes"));
    }
    out
}

/// Plans from the database and carries the plan out: drops copies (files deleted, Undo sent)
/// and queues copies.
pub async fn run(state: &AppState) -> Result<Plan> {
    let now = db::now_ms();
    let held = db::mirrors::held(&state.db).await?;
    let followed = db::mirrors::followed_actors(&state.db).await?;
    let candidates: Vec<Candidate> = db::mirrors::candidates(&state.db, 500)
        .await?
        .into_iter()
        .filter(|(author, _)| {
            followed
                .iter()
                .any(|actor| crate::federation::parse::same_host(actor, author))
        })
        .map(|(_, c)| c)
        .collect();
    let global = i64::try_from(state.config.mirroring.quota_bytes).unwrap_or(i64::MAX);
    let plan = plan(
        &state.config.mirroring.effective_strategies(),
        global,
        &held,
        &candidates,
        now,
    );
    for (mirror_id, reason) in &plan.drop {
        super::copy::drop_copy(state, mirror_id, reason).await?;
    }
    for (status_id, strategy) in &plan.copy {
        super::copy::queue(state, status_id, *strategy).await?;
    }
    Ok(plan)
}

pub const PLAN: &str = "mirror.plan";

#[derive(Serialize, Deserialize)]
pub struct PlanPayload {}

/// Queues one planning round; rounds asked for at the same moment collapse into one.
pub async fn schedule(state: &AppState) -> Result<()> {
    let job = state.queue.prepare(PLAN, &PlanPayload {})?;
    db::jobs::enqueue(&state.db.pool, &job).await?;
    state.queue.wake();
    Ok(())
}

pub struct Planner {
    pub state: AppState,
}

#[async_trait::async_trait]
impl JobHandler for Planner {
    async fn run(&self, _job: &JobRun) -> Result<(), JobError> {
        let plan = run(&self.state).await?;
        if !plan.copy.is_empty() || !plan.drop.is_empty() {
            tracing::info!(
                copies = plan.copy.len(),
                drops = plan.drop.len(),
                "mirroring planned"
            );
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DAY: i64 = 24 * 3600 * 1000;
    const NOW: i64 = 100 * DAY;

    fn strategy(kind: StrategyKind, quota: u64, lifetime_s: u64) -> MirrorStrategy {
        MirrorStrategy {
            strategy: kind,
            quota_bytes: quota,
            min_lifetime_seconds: lifetime_s,
            max_age_seconds: 7 * 24 * 3600,
        }
    }

    fn held(
        id: &str,
        kind: StrategyKind,
        size: i64,
        age_days: i64,
        published_days_ago: i64,
        views: i64,
    ) -> Held {
        Held {
            mirror_id: id.into(),
            status_id: format!("s-{id}"),
            strategy: kind.as_str().into(),
            size_bytes: size,
            created_at: NOW - age_days * DAY,
            published_at: NOW - published_days_ago * DAY,
            views,
            verified: true,
            copying: false,
        }
    }

    fn candidate(id: &str, published_days_ago: i64, views: i64) -> Candidate {
        Candidate {
            status_id: id.into(),
            published_at: NOW - published_days_ago * DAY,
            views,
            dropped_before: false,
        }
    }

    #[test]
    fn a_copy_that_does_not_fit_is_not_made_dropped_and_made_again() {
        let s = [strategy(StrategyKind::All, 100, 0)];
        let h = [held("new", StrategyKind::All, 60, 1, 1, 0)];
        // 40 bytes free, but a typical copy is 60: an older video is not started.
        let p = plan(&s, i64::MAX, &h, &[candidate("old", 9, 0)], NOW);
        assert!(p.copy.is_empty(), "{p:?}");
        // Made anyway (the quota was larger then) and let go: not taken back for room alone.
        let dropped = Candidate {
            dropped_before: true,
            ..candidate("old", 9, 0)
        };
        let p = plan(
            &[strategy(StrategyKind::All, 1000, 0)],
            i64::MAX,
            &h,
            std::slice::from_ref(&dropped),
            NOW,
        );
        assert!(p.copy.is_empty(), "{p:?}");
        // Unless it beats a held copy.
        let p = plan(
            &[strategy(StrategyKind::All, 1000, 0)],
            i64::MAX,
            &h,
            &[Candidate {
                published_at: NOW,
                ..dropped
            }],
            NOW,
        );
        assert_eq!(p.copy.len(), 1);
    }

    #[test]
    fn everything_keeps_the_newest_within_its_quota() {
        let s = [strategy(StrategyKind::All, 250, 0)];
        let h = [
            held("old", StrategyKind::All, 100, 3, 30, 0),
            held("mid", StrategyKind::All, 100, 2, 20, 0),
            held("new", StrategyKind::All, 100, 1, 10, 0),
        ];
        let p = plan(&s, i64::MAX, &h, &[candidate("c", 1, 0)], NOW);
        assert_eq!(p.drop, vec![("old".into(), "over its strategy's quota")]);
        // Room is left (200 of 250) and the candidate is newer than anything held.
        assert_eq!(p.copy, vec![("c".into(), StrategyKind::All)]);
    }

    #[test]
    fn a_single_copy_stays_even_over_a_tiny_quota() {
        let s = [strategy(StrategyKind::All, 1, 0)];
        let h = [
            held("a", StrategyKind::All, 100, 2, 2, 0),
            held("b", StrategyKind::All, 100, 1, 1, 0),
        ];
        let p = plan(&s, i64::MAX, &h, &[], NOW);
        assert_eq!(p.drop, vec![("a".into(), "over its strategy's quota")]);
    }

    #[test]
    fn most_viewed_replaces_the_least_watched_but_not_before_its_lifetime() {
        let s = [strategy(StrategyKind::MostViewed, 100, 3600)];
        let young = [held("v", StrategyKind::MostViewed, 100, 0, 5, 3)];
        let hot = [candidate("hot", 9, 10), candidate("cold", 1, 1)];
        let p = plan(&s, i64::MAX, &young, &hot, NOW);
        assert_eq!(p, Plan::default(), "the held copy is younger than its lifetime");
        let old = [held("v", StrategyKind::MostViewed, 100, 1, 5, 3)];
        let p = plan(&s, i64::MAX, &old, &hot, NOW);
        assert_eq!(p.copy, vec![("hot".into(), StrategyKind::MostViewed)]);
        assert!(
            p.drop.is_empty(),
            "the old copy goes once the new one is verified"
        );
        // Next round, both held: the quota lets the least watched go.
        let both = [
            held("v", StrategyKind::MostViewed, 100, 1, 5, 3),
            held("h", StrategyKind::MostViewed, 100, 0, 9, 10),
        ];
        let p = plan(&s, i64::MAX, &both, &[candidate("cold", 1, 1)], NOW);
        assert_eq!(p.drop, vec![("v".into(), "over its strategy's quota")]);
        assert!(p.copy.is_empty(), "one view does not beat three");
    }

    #[test]
    fn unwatched_videos_are_not_most_viewed() {
        let s = [strategy(StrategyKind::MostViewed, 1000, 0)];
        let p = plan(&s, i64::MAX, &[], &[candidate("c", 1, 0)], NOW);
        assert!(p.copy.is_empty());
    }

    #[test]
    fn recently_added_lets_old_videos_go_and_takes_only_recent_ones() {
        let s = [strategy(StrategyKind::RecentlyAdded, 1000, 0)];
        let h = [
            held("stale", StrategyKind::RecentlyAdded, 10, 9, 9, 0),
            held("fresh", StrategyKind::RecentlyAdded, 10, 1, 1, 0),
        ];
        let p = plan(
            &s,
            i64::MAX,
            &h,
            &[candidate("old", 8, 99), candidate("new", 2, 0)],
            NOW,
        );
        assert_eq!(p.drop, vec![("stale".into(), "no longer recently added")]);
        assert_eq!(p.copy, vec![("new".into(), StrategyKind::RecentlyAdded)]);
    }

    #[test]
    fn strategies_share_candidates_in_order_and_the_global_quota_caps_them_all() {
        let s = [
            strategy(StrategyKind::MostViewed, 1000, 0),
            strategy(StrategyKind::All, 1000, 0),
        ];
        let p = plan(
            &s,
            i64::MAX,
            &[],
            &[candidate("watched", 3, 5), candidate("other", 1, 0)],
            NOW,
        );
        assert_eq!(
            p.copy,
            vec![
                ("watched".into(), StrategyKind::MostViewed),
                ("other".into(), StrategyKind::All)
            ]
        );
        let h = [
            held("a", StrategyKind::MostViewed, 100, 5, 5, 5),
            held("b", StrategyKind::All, 100, 1, 1, 0),
        ];
        let p = plan(&s, 150, &h, &[], NOW);
        assert_eq!(p.drop, vec![("a".into(), "over mirroring.quota_bytes")]);
    }

    #[test]
    fn copies_of_a_removed_strategy_go() {
        let s = [strategy(StrategyKind::All, 1000, 0)];
        let h = [held("x", StrategyKind::MostViewed, 10, 1, 1, 1)];
        let p = plan(&s, i64::MAX, &h, &[], NOW);
        assert_eq!(p.drop, vec![("x".into(), "its strategy is no longer configured")]);
    }
}
