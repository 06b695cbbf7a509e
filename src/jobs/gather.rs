//! One step's provider work, overlapped: the pages of up to three keyword lanes and the profile
//! lookups of their new creators share `concurrency` call slots, so the provider always has that many
//! calls of this job in flight (never more) while there is work: a lane asks for its next page while
//! the creators of its previous pages are being looked up. Paging stops once the step has `batch` new
//! creators (or the job what it still needs), its paging time is spent, or the provider refuses; the
//! lookups already queued are then finished, except that none start after a 429 or a refusal. At
//! the hard stop the step ends whatever is in flight: queued lookups are left for a later step and the
//! creators of lookups still running are kept as the search found them, so a step always ends well
//! inside its delivery's timeout with what it has. A shutdown ends its paging once a page is read,
//! and past its deadline (`Budget::shutdown_within`) a step with creators to save stops waiting for
//! its lookups and leaves them to a later step. Nothing is written here:
//! the step decides what to keep (`decision`) and commits it.

use crate::{
    db::{self, jobs::LaneRow},
    providers::{
        enrich::{look_up, Lookup},
        Creator, Lead, ProviderError, Providers, SearchPage, RELATED_SOURCE,
    },
    shared::{similar_progress, Platform},
};
use anyhow::Context;
use futures::{future::BoxFuture, stream::FuturesUnordered, FutureExt, StreamExt};
use std::{
    collections::{HashMap, HashSet, VecDeque},
    sync::{
        atomic::{AtomicBool, Ordering},
        Arc,
    },
    time::{Duration, Instant},
};

/// Keyword lanes paged per step: lanes take turns when there are more, which bounds a step.
pub const MAX_LANES_PER_STEP: usize = 3;

/// What one step is allowed to do.
#[derive(Clone, Debug)]
pub struct Budget {
    /// Provider calls of this job in flight at most.
    pub concurrency: usize,
    /// New creators after which paging stops (the job's remaining need caps it further).
    pub batch: usize,
    /// Time after which paging stops (`SCOUT_STEP_SECS`), so the search saves, and its bar moves,
    /// about this often.
    pub paging: Duration,
    /// Time after which nothing more is waited for (the hard stop, twice `SCOUT_STEP_BUDGET_SECS`),
    /// at least `paging`.
    pub hard_stop: Duration,
    /// Profiles bought by any run at or after this moment (unix ms) are reused; None = never.
    pub cached_since: Option<i64>,
    /// Lanes paged at once (each one page at a time).
    pub lanes: usize,
    /// Set when this instance begins to shut down (SIGTERM): once it has read a page, the step stops
    /// paging as if its time were spent, looks up the creators it has queued (until
    /// `shutdown_within`), and saves, so it ends within the shutdown grace and its next step goes to
    /// an instance that stays, instead of being handed back and done again.
    pub stopping: Arc<AtomicBool>,
    /// Once a shutdown is seen, the step waits at most this long for its lookups, so a slow provider
    /// cannot hold it past the shutdown grace: then, if it has creators to save, it saves them and
    /// leaves the lookups not done (sent or not) to a later step, which looks them up again (never
    /// saved without their profile). With nothing to save it waits on, and the delivery is handed
    /// back at the end of the grace, as before.
    pub shutdown_within: Duration,
}

/// For a similar search: the step shows `processing` on the bar once it has found every creator the
/// job still needs, while the last lookups run (its progress moves as they finish).
#[derive(Clone, Copy, Debug)]
pub struct ProcessingReport {
    pub step: i64,
    /// Creators the job had saved before this step.
    pub saved: usize,
    pub target: usize,
}

/// A step waiting on its calls looks up at least this often (shutdown, cancel, hard stop).
const WAKE_EVERY: Duration = Duration::from_millis(250);

/// How often a step in the `processing` stage moves the bar.
const PROCESSING_REPORT_EVERY: Duration = Duration::from_secs(1);

/// A page read in this step, in its lane's order.
#[derive(Clone, Debug, PartialEq)]
pub struct PageRead {
    pub next_cursor: Option<String>,
    pub exhausted: bool,
    /// Lanes the page points to (a similar search's derived keywords or related profiles).
    pub leads: Vec<Lead>,
}

#[derive(Debug)]
pub struct LanePages {
    pub lane: i64,
    pub pages: Vec<PageRead>,
}

/// Where a creator was found: (index into `Gathered::lanes`, page index in that lane).
pub type Origin = (usize, usize);

#[derive(Debug, Default)]
pub struct Gathered {
    pub lanes: Vec<LanePages>,
    /// Ready to save (enriched, needing no lookup, or vanished), in discovery order, with their origin.
    pub creators: Vec<(Creator, Origin)>,
    /// Lookups that kept failing, or that were not sent after a 429, with the error.
    pub failures: Vec<(Creator, Origin, ProviderError)>,
    /// Lookups not sent because the step ran out of time; a later step looks at them again.
    pub unsent: Vec<(Creator, Origin)>,
    /// Pages some of whose new creators were not taken because the job needed no more.
    pub skipped: Vec<Origin>,
    /// Profile lookups sent.
    pub lookups: usize,
    /// The most decisive error a search page answered (paging stopped there).
    pub page_error: Option<ProviderError>,
    /// What the calls that succeeded cost.
    pub credits: u32,
    /// Profiles reused from a recent run instead of bought.
    pub cache_hits: u32,
    /// A similar search's account id, when this step read the account.
    pub target_id: Option<String>,
    /// A lane had nothing new yet (an Apify run still collecting) and nothing else can be read now:
    /// the next step should come back after this long rather than poll at once.
    pub come_back_after: Option<Duration>,
}

enum Event {
    Page { lane: usize, result: Result<SearchPage, ProviderError> },
    Lookup { order: usize, origin: Origin, lookup: Lookup },
}

struct Lane<'a> {
    row: &'a LaneRow,
    cursor: Option<String>,
    busy: bool,
    done: bool,
}

/// Runs the step's pages and lookups for `job_id` on `platform`, needing at most `needed` creators.
/// `exclude` names a similar search's account (handle and, once known, id): never one of its results.
#[allow(clippy::too_many_arguments)]
pub async fn gather(
    db: &db::Db,
    providers: &Providers,
    job_id: &str,
    platform: Platform,
    lane_rows: &[LaneRow],
    needed: usize,
    exclude: &[&str],
    budget: Budget,
    processing: Option<ProcessingReport>,
) -> anyhow::Result<Gathered> {
    let started = Instant::now();
    let live = select_lanes(lane_rows, budget.lanes);
    let mut lanes: Vec<Lane> = live.iter().map(|row| Lane { row, cursor: row.cursor.clone(), busy: false, done: false }).collect();
    let mut out = Gathered { lanes: live.iter().map(|l| LanePages { lane: l.lane, pages: Vec::new() }).collect(), ..Default::default() };

    let want = needed.min(budget.batch);
    let slots = budget.concurrency;
    let mut taken = 0usize; // new creators accepted from pages (the order they were found in)
    let mut seen: HashSet<String> = HashSet::new();
    let mut queue: VecDeque<(usize, Origin, Creator)> = VecDeque::new();
    let mut ready: Vec<(usize, Creator, Origin)> = Vec::new();
    let mut failed: Vec<(usize, Creator, Origin, ProviderError)> = Vec::new();
    let mut stop_paging = false;
    let mut stop_lookups = false;
    let mut in_flight: FuturesUnordered<BoxFuture<'_, Event>> = FuturesUnordered::new();
    // Nothing runs past the hard stop: lookups neither retry nor start after it, and the ones still
    // running are abandoned (their creators kept as the search found them).
    let hard_stop = started + budget.hard_stop.max(budget.paging);
    let mut out_of_time = false;
    let mut looking_up: HashMap<usize, (Origin, Creator)> = HashMap::new();
    let mut status_checked = Instant::now();
    let mut processing_reported: Option<Instant> = None;
    let mut pages_answered = 0usize;
    let mut shutdown_at: Option<Instant> = None;

    loop {
        // Only once a page is read: a step that arrived while this instance drains still has
        // something to save (an empty step would advance the job for nothing).
        let stopping = budget.stopping.load(Ordering::SeqCst);
        let shutting_down = pages_answered > 0 && stopping;
        // Counted from when the SIGTERM is seen (within WAKE_EVERY of it), page or not.
        if stopping && shutdown_at.is_none() {
            shutdown_at = Some(Instant::now() + budget.shutdown_within);
        }
        // Past the deadline with creators to save: the queued lookups are left for a later step.
        // With none, lookups go on (a step with nothing to save would answer as a failed attempt).
        let past_shutdown = shutdown_at.is_some_and(|at| Instant::now() >= at) && !ready.is_empty();
        if past_shutdown && !stop_lookups {
            stop_lookups = true;
            out_of_time = true;
        }
        if !stop_paging && (taken >= want || started.elapsed() >= budget.paging || shutting_down) {
            stop_paging = true;
        }
        if let Some(report) = processing.filter(|_| taken >= needed && !stop_lookups) {
            if processing_reported.is_none_or(|at| at.elapsed() >= PROCESSING_REPORT_EVERY) {
                processing_reported = Some(Instant::now());
                // Pages have been read by now (runs ≥ 1), so the formula is in its searching range.
                let progress = similar_progress(1, (report.saved + ready.len()) as u32, report.target as u32, false);
                // Display only: a failed write must not cost the step its paid work.
                if let Err(e) = db::jobs::report_processing(db, job_id, report.step, progress as i64).await {
                    tracing::warn!(error = %e, "could not show the processing stage");
                }
            }
        }
        // A cancelled (or otherwise ended) job stops spending at once, not at the end of the step.
        if !(stop_paging && stop_lookups) && status_checked.elapsed() >= Duration::from_secs(1) {
            status_checked = Instant::now();
            if db::jobs::is_finished(db, job_id).await.context("Failed to check the job")? {
                stop_paging = true;
                stop_lookups = true;
                queue.clear();
            }
        }
        // Pages first while the lookup queue is short, so lookups never wait for want of work but
        // the lanes do not run far ahead of them either.
        if !stop_paging {
            for (index, lane) in lanes.iter_mut().enumerate() {
                if in_flight.len() >= slots || queue.len() >= slots {
                    break;
                }
                if lane.busy || lane.done {
                    continue;
                }
                lane.busy = true;
                let (keyword, source, cursor) = (lane.row.keyword.clone(), lane.row.source.clone(), lane.cursor.clone());
                in_flight.push(
                    async move {
                        let result = providers.search_page(platform, &source, &keyword, cursor.as_deref(), needed).await;
                        Event::Page { lane: index, result }
                    }
                    .boxed(),
                );
            }
        }
        if !stop_lookups && Instant::now() >= hard_stop {
            stop_lookups = true;
            out_of_time = true;
        }
        while !stop_lookups && in_flight.len() < slots {
            let Some((order, origin, creator)) = queue.pop_front() else { break };
            out.lookups += 1;
            looking_up.insert(order, (origin, creator.clone()));
            in_flight.push(async move { Event::Lookup { order, origin, lookup: look_up(providers, creator, hard_stop).await } }.boxed());
        }
        // Woken at least every WAKE_EVERY, so a shutdown or a cancel is seen while calls hang.
        let wake = hard_stop.min(Instant::now() + WAKE_EVERY);
        let event = match tokio::time::timeout_at(wake.into(), in_flight.next()).await {
            Ok(Some(event)) => event,
            Ok(None) => break,
            Err(_) if past_shutdown => {
                // Shutting down with creators to save: the lookups still running are left for a
                // later step (their pages are read again); pages in flight are dropped unread.
                tracing::info!(left = looking_up.len(), unsent = queue.len(), "step cut short by the shutdown");
                out.credits += (looking_up.len() + lanes.iter().filter(|l| l.busy).count()) as u32;
                out.unsent.extend(looking_up.drain().map(|(_, (origin, creator))| (creator, origin)));
                break;
            }
            Err(_) if Instant::now() < hard_stop => continue,
            Err(_) => {
                // A lookup still running is abandoned and its creator kept as the search found it:
                // saved whatever the step decides (it is no failure), never bought again (it could
                // hang again). Pages still in flight are dropped unread (their lanes' cursors have
                // not moved). The provider may bill the calls it was answering: each is counted at
                // one credit, the usual price.
                let pages = lanes.iter().filter(|l| l.busy).count();
                tracing::warn!(abandoned = looking_up.len(), pages, unsent = queue.len(), "step reached its hard stop");
                out.credits += (looking_up.len() + pages) as u32;
                ready.extend(looking_up.drain().map(|(order, (origin, creator))| (order, creator, origin)));
                out_of_time = true;
                break;
            }
        };
        match event {
            Event::Page { lane, result } => {
                lanes[lane].busy = false;
                pages_answered += 1;
                match result {
                    Ok(page) if page.wait.is_some() => {
                        // Nothing new yet: this lane is done for the step, its cursor unchanged.
                        out.credits += page.credits;
                        lanes[lane].done = true;
                        out.come_back_after = out.come_back_after.min(page.wait).or(page.wait);
                    }
                    Ok(page) => {
                        out.credits += page.credits;
                        if page.resolved_id.is_some() {
                            out.target_id = page.resolved_id.clone();
                        }
                        // A cursor that does not move would page forever: treat it as the end. A page
                        // whose items are all unusable (ads, user cards) is not the end.
                        let stuck = page.next_cursor.is_none() || page.next_cursor == lanes[lane].cursor;
                        let exhausted = !page.has_more || page.item_count == 0 || stuck;
                        let page_index = out.lanes[lane].pages.len();
                        out.lanes[lane].pages.push(PageRead { next_cursor: page.next_cursor.clone(), exhausted, leads: page.leads });
                        lanes[lane].cursor = page.next_cursor;
                        lanes[lane].done = exhausted;
                        let is_target = |c: &Creator| exclude.iter().any(|t| c.handle.eq_ignore_ascii_case(t) || c.external_id == *t);
                        let fresh: Vec<Creator> =
                            page.creators.into_iter().filter(|c| !is_target(c) && seen.insert(c.external_id.clone())).collect();
                        let ids: Vec<String> = fresh.iter().map(|c| c.external_id.clone()).collect();
                        let known: HashSet<String> = db::creators::known_ids(db, job_id, platform, &ids)
                            .await
                            .context("Failed to look up known creators")?
                            .into_iter()
                            .collect();
                        // No more than the job still needs, so no lookup is paid for past the target.
                        let mut to_look_up: Vec<(usize, Creator)> = Vec::new();
                        for creator in fresh.into_iter().filter(|c| !known.contains(&c.external_id)) {
                            if taken >= needed {
                                out.skipped.push((lane, page_index));
                                break;
                            }
                            if Providers::needs_profile(&creator) {
                                to_look_up.push((taken, creator));
                            } else {
                                ready.push((taken, creator, (lane, page_index)));
                            }
                            taken += 1;
                        }
                        // A profile another run bought recently is reused, not bought again.
                        let mut cached = match budget.cached_since {
                            Some(since) if !to_look_up.is_empty() => {
                                let ids: Vec<String> = to_look_up.iter().map(|(_, c)| c.external_id.clone()).collect();
                                db::creators::cached_profiles(db, platform, &ids, since).await.context("Failed to read cached profiles")?
                            }
                            _ => Vec::new(),
                        };
                        for (order, mut creator) in to_look_up {
                            match cached.iter().position(|p| p.external_id == creator.external_id) {
                                Some(hit) => {
                                    cached.swap_remove(hit).apply_to(&mut creator);
                                    out.cache_hits += 1;
                                    ready.push((order, creator, (lane, page_index)));
                                }
                                None => queue.push_back((order, (lane, page_index), creator)),
                            }
                        }
                    }
                    // A related profile that vanished (or is private) is a dead end of the walk, not a
                    // failure: the lane is done and the walk goes on.
                    Err(ProviderError::NotFound | ProviderError::BadResponse(_)) if lanes[lane].row.source == RELATED_SOURCE => {
                        out.lanes[lane].pages.push(PageRead { next_cursor: None, exhausted: true, leads: Vec::new() });
                        lanes[lane].done = true;
                    }
                    Err(error) => {
                        stop_paging = true;
                        stop_lookups |= error.halts_calls();
                        out.page_error = Some(match out.page_error.take() {
                            Some(current) if current.severity() >= error.severity() => current,
                            _ => error,
                        });
                    }
                }
            }
            Event::Lookup { order, origin, lookup } => {
                looking_up.remove(&order);
                match lookup {
                    Lookup::Done { creator, credits } => {
                        out.credits += credits;
                        ready.push((order, creator, origin));
                    }
                    Lookup::Failed { creator, error } => {
                        if error.halts_calls() {
                            stop_paging = true;
                            stop_lookups = true;
                        }
                        failed.push((order, creator, origin, error));
                    }
                }
            }
        }
    }
    // Lookups never sent: revisited by a later step (after the provider's pause if it said stop).
    if out_of_time {
        out.unsent.extend(queue.into_iter().map(|(_, origin, creator)| (creator, origin)));
    } else {
        for (order, origin, creator) in queue {
            failed.push((order, creator, origin, ProviderError::RateLimited { retry_after: None }));
        }
    }
    // Only worth waiting for when nothing else could be read right now: every lane of the step is
    // done (waiting or exhausted) and no other lane is live.
    let others_live = lane_rows.iter().filter(|l| l.exhausted == 0).count() > lanes.len();
    if others_live || lanes.iter().any(|l| !l.done) {
        out.come_back_after = None;
    }
    ready.sort_by_key(|(order, ..)| *order);
    failed.sort_by_key(|(order, ..)| *order);
    out.creators = ready.into_iter().map(|(_, c, o)| (c, o)).collect();
    out.failures = failed.into_iter().map(|(_, c, o, e)| (c, o, e)).collect();
    Ok(out)
}

/// The lanes a step pages: the (at most `max`) least-paged live ones, so lanes take turns and every
/// keyword is paged.
pub fn select_lanes(lanes: &[LaneRow], max: usize) -> Vec<&LaneRow> {
    let mut live: Vec<&LaneRow> = lanes.iter().filter(|l| l.exhausted == 0).collect();
    live.sort_by_key(|l| (l.runs, l.lane));
    live.truncate(max);
    live
}

impl Gathered {
    /// Per lane, the pages read before the first one with a creator that is not kept (a failed or
    /// unsent lookup): what may be committed when those creators are dropped, so their pages are read
    /// again later and no creator is skipped.
    pub fn clean_pages(&self) -> Vec<(i64, Vec<PageRead>)> {
        let dropped = self
            .failures
            .iter()
            .map(|(_, origin, _)| origin)
            .chain(self.unsent.iter().map(|(_, origin)| origin))
            .chain(self.skipped.iter());
        let mut first_dirty: Vec<usize> = self.lanes.iter().map(|l| l.pages.len()).collect();
        for (lane, page) in dropped {
            first_dirty[*lane] = first_dirty[*lane].min(*page);
        }
        self.lanes.iter().zip(first_dirty).map(|(lane, keep)| (lane.lane, lane.pages[..keep].to_vec())).collect()
    }

    /// Every page read, per lane.
    pub fn all_pages(&self) -> Vec<(i64, Vec<PageRead>)> {
        self.lanes.iter().map(|lane| (lane.lane, lane.pages.clone())).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::providers::Creator;

    fn lane(lane: i64, runs: i64, exhausted: i64) -> LaneRow {
        LaneRow { job_id: "j".into(), lane, keyword: format!("k{lane}"), source: String::new(), cursor: None, runs, exhausted }
    }

    #[test]
    fn the_least_paged_live_lanes_take_turns_three_at_a_time() {
        let lanes = [lane(0, 4, 0), lane(1, 2, 0), lane(2, 2, 1), lane(3, 3, 0), lane(4, 2, 0), lane(5, 9, 0)];
        let picked: Vec<i64> = select_lanes(&lanes, MAX_LANES_PER_STEP).iter().map(|l| l.lane).collect();
        assert_eq!(picked, vec![1, 4, 3], "fewest runs first, exhausted lanes never, at most three");
        assert!(select_lanes(&[lane(0, 0, 1)], 3).is_empty());
    }

    fn page(cursor: &str) -> PageRead {
        PageRead { next_cursor: Some(cursor.into()), exhausted: false, leads: Vec::new() }
    }

    fn creator() -> Creator {
        crate::providers::scrapecreators::tiktok::parse_keyword_page(
            include_bytes!("../../tests/fixtures/v1_tiktok_search_keyword.json"),
            "k",
        )
        .unwrap()
        .creators
        .remove(0)
    }

    #[test]
    fn only_pages_before_a_dropped_creator_are_committed() {
        let gathered = Gathered {
            lanes: vec![
                LanePages { lane: 0, pages: vec![page("20"), page("40"), page("60")] },
                LanePages { lane: 3, pages: vec![page("a"), page("b")] },
            ],
            failures: vec![(creator(), (0, 1), ProviderError::RateLimited { retry_after: None })],
            unsent: vec![(creator(), (1, 1))],
            ..Default::default()
        };
        assert_eq!(gathered.clean_pages(), vec![(0, vec![page("20")]), (3, vec![page("a")])]);
        // Creators left on a page because the job needed no more keep that page unread too.
        let skipping = Gathered {
            lanes: vec![LanePages { lane: 0, pages: vec![page("20"), page("40")] }],
            skipped: vec![(0, 0)],
            ..Default::default()
        };
        assert_eq!(skipping.clean_pages(), vec![(0, vec![])]);
        assert_eq!(gathered.all_pages()[0].1.len(), 3);
        let clean = Gathered { lanes: vec![LanePages { lane: 0, pages: vec![page("20")] }], ..Default::default() };
        assert_eq!(clean.clean_pages(), clean.all_pages());
    }
}
