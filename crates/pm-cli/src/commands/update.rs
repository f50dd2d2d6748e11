//! `pm update <plugin> [-s S] [--offline]` and `pm update --all [--dry-run] [-s S] [--offline]`;
//! the parallel fetching that `pm outdated` shares ([`check_all`]).

use super::{error_message, failure, scope_failure};
use crate::cli::UpdateArgs;
use crate::output::{CliReporter, Printer, object, sanitize};
use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};
use pm_core::id::PluginRef;
use pm_core::scope::Scope;
use pm_marketplace::Environment;
use pm_marketplace::Error;
use pm_marketplace::git::FetchProgress;
use pm_marketplace::reporter::Reporter;
use pm_marketplace::update::{
    self, Change, MarketplaceView, Mode, PlannedUpdate, Target, UpdateOptions, UpdateOutcome,
};
use serde_json::Value;
use std::collections::{HashMap, VecDeque};
use std::process::ExitCode;
use std::sync::{Arc, Mutex};

pub fn run(env: &Environment, printer: Printer, args: UpdateArgs) -> ExitCode {
    let command = "update";
    // Every scope may be named, managed too: the record a Claude session wrote for managed
    // settings is updated like any other (reference-advanced.md §7).
    let scope = match args.scope.as_deref().map(str::parse::<Scope>) {
        None => None,
        Some(Ok(scope)) => Some(scope),
        Some(Err(error)) => {
            let message = format!(
                "Unknown scope `{}`. Use one of: user, project, local, managed",
                error.0
            );
            return scope_failure(printer, command, &message);
        }
    };
    let options = UpdateOptions {
        offline: args.offline,
        mode: if args.dry_run {
            Mode::DryRun
        } else {
            Mode::Apply
        },
    };
    if args.all {
        return run_all(env, printer, scope, options);
    }
    // clap requires the plugin without --all.
    let plugin_arg = args.plugin.unwrap_or_default();
    let reporter = CliReporter::new(printer);
    let plugin = PluginRef::parse(&plugin_arg);
    match update::update(env, &plugin, scope, options, &reporter) {
        Ok(outcome) => {
            report_copy(printer, &outcome);
            let message = message(&outcome);
            if printer.json {
                printer.json_line(&success_line(&plugin_arg, &outcome, &message));
            }
            printer.status(&message);
            ExitCode::SUCCESS
        }
        Err(error) => {
            let mut fields = vec![("plugin", Value::from(plugin_arg.clone()))];
            if let Some(id) = failed_id(&plugin, &error) {
                fields.push(("pluginId", id.into()));
            }
            let reported_scope = match &error {
                Error::NotInstalledAtScope { scope, .. } => Some(*scope),
                _ => scope,
            };
            if let Some(scope) = reported_scope {
                fields.push(("scope", scope.as_str().into()));
            }
            failure(printer, command, fields, &error)
        }
    }
}

/// The `--json` line of a plugin that was (or, with `--dry-run`, would be) updated or is up to
/// date: the reference's keys, then pm's.
fn success_line(plugin_arg: &str, outcome: &UpdateOutcome, message: &str) -> Value {
    let mut pairs: Vec<(&str, Value)> = vec![
        ("command", "update".into()),
        ("outcome", "ok".into()),
        ("plugin", plugin_arg.into()),
        ("pluginId", outcome.id.to_string().into()),
        ("scope", outcome.scope.as_str().into()),
        ("message", message.into()),
        (
            "updateOutcome",
            if outcome.updated() {
                "updated"
            } else {
                "up_to_date"
            }
            .into(),
        ),
        ("oldVersion", outcome.old_version.clone().into()),
        ("newVersion", outcome.new_version.clone().into()),
    ];
    if outcome.planned_only {
        pairs.push(("dryRun", true.into()));
    }
    if outcome.downgrade {
        pairs.push(("downgrade", true.into()));
    }
    if outcome.change == Change::ContentChanged {
        pairs.push(("contentChanged", true.into()));
    }
    if let Some(path) = &outcome.project_path {
        pairs.push(("projectPath", path.clone().into()));
    }
    pairs.push((
        "installPath",
        outcome.install_path.to_string_lossy().into_owned().into(),
    ));
    pairs.push(("marketplaceRefresh", outcome.refresh.as_str().into()));
    if let update::Refresh::Failed(reason) = &outcome.refresh {
        pairs.push(("marketplaceRefreshError", reason.clone().into()));
    }
    object(pairs)
}

/// The warnings of a successful update: the version went down, the content changed under the
/// same version (DEVIATIONS 11), links left out of the copy.
fn report_copy(printer: Printer, outcome: &UpdateOutcome) {
    let id = &outcome.id;
    if outcome.downgrade {
        printer.warn(&format!(
            "`{id}` went down from {} to {}: its marketplace now offers an older version",
            outcome.old_version, outcome.new_version
        ));
    }
    if outcome.change == Change::ContentChanged {
        let commit = outcome
            .new_commit
            .as_deref()
            .map(|c| format!(" (commit {})", &c[..c.len().min(12)]))
            .unwrap_or_default();
        printer.warn(&format!(
            "`{id}` has new content{commit} under the same version {}: pm copied it again, but \
             Claude Code's own update would keep the old copy; its author should bump `version`",
            outcome.new_version
        ));
    }
    for link in &outcome.copy.skipped_links {
        printer.warn(&format!(
            "left out `{}` of `{id}`: the link points to `{}`, outside the marketplace",
            link.path.display(),
            link.target.display()
        ));
    }
}

/// The human result line (also the JSON `message`).
fn message(outcome: &UpdateOutcome) -> String {
    let id = &outcome.id;
    let scope = match &outcome.project_path {
        Some(path) => format!("scope: {}, {path}", outcome.scope),
        None => format!("scope: {}", outcome.scope),
    };
    let in_place = outcome
        .loads_in_place_from
        .as_ref()
        .map(|dir| format!("; Claude Code loads it in place from `{}`", dir.display()))
        .unwrap_or_default();
    let (old, new) = (&outcome.old_version, &outcome.new_version);
    if outcome.planned_only {
        return match outcome.change {
            Change::UpToDate => format!("{id} is up to date ({old}){in_place}"),
            Change::NewVersion if outcome.downgrade => {
                format!("Would update {id} {old} → {new}, a downgrade ({scope}){in_place}")
            }
            Change::NewVersion => format!("Would update {id} {old} → {new} ({scope}){in_place}"),
            Change::ContentChanged => {
                format!("Would update {id} {new}: new content, same version ({scope}){in_place}")
            }
            Change::Refreshed => {
                format!("Would refresh {id} from its source ({new}) ({scope}){in_place}")
            }
            Change::Restored => format!(
                "Would copy {id} {new} into the cache again: it is missing ({scope}){in_place}"
            ),
        };
    }
    match outcome.change {
        Change::UpToDate => format!("{id} is up to date ({old}){in_place}"),
        Change::NewVersion if outcome.downgrade => {
            format!("Updated {id} {old} → {new}, a downgrade ({scope}){in_place}")
        }
        Change::NewVersion => format!("Updated {id} {old} → {new} ({scope}){in_place}"),
        Change::ContentChanged => {
            format!("Updated {id} {new}: new content, same version ({scope}){in_place}")
        }
        Change::Refreshed => format!("Refreshed {id} from its source ({new}) ({scope}){in_place}"),
        Change::Restored => {
            format!("Copied {id} {new} into the cache again: it was missing ({scope}){in_place}")
        }
    }
}

/// The `pluginId` of a failure line: the id the error names or the one typed; none when no
/// installed plugin matched a bare name (as the reference's `not_installed`).
fn failed_id(plugin: &PluginRef, error: &Error) -> Option<String> {
    match error {
        Error::NotInstalled(_) | Error::Ambiguous { .. } => plugin.id().map(|id| id.to_string()),
        Error::NotInstalledAtScope { id, .. }
        | Error::NotInstalledHere { id, .. }
        | Error::ScopeRequired { id, .. }
        | Error::Offline { id, .. } => Some(id.clone()),
        Error::PluginNotFound { name, marketplace }
        | Error::NoLongerListed {
            name, marketplace, ..
        }
        | Error::MarketplaceUnknown {
            name, marketplace, ..
        } => Some(format!("{name}@{marketplace}")),
        _ => plugin.id().map(|id| id.to_string()),
    }
}

// ---- update --all ------------------------------------------------------------------------------

/// `pm update --all`: every record that applies here, marketplaces refreshed once each and in
/// parallel, then each record updated; one JSON line per record and a summary line; exit 1
/// when one failed.
fn run_all(
    env: &Environment,
    printer: Printer,
    scope: Option<Scope>,
    options: UpdateOptions,
) -> ExitCode {
    let command = "update";
    let targets = match update::targets_here(env, scope) {
        Ok(targets) => targets,
        Err(error) => return failure(printer, command, vec![("all", true.into())], &error),
    };
    let checked = match check_all(env, printer, targets, options) {
        Ok(checked) => checked,
        Err(error) => {
            printer.error(&format!("cannot start the update: {error}"), None);
            return ExitCode::from(1);
        }
    };
    let dry_run = options.mode == Mode::DryRun;
    let (mut updated, mut up_to_date, mut failed) = (0usize, 0usize, 0usize);
    for (target, result) in checked.iter() {
        match result {
            Ok(outcome) => {
                let message = message(outcome);
                if outcome.updated() {
                    updated += 1;
                    if !dry_run {
                        report_copy(printer, outcome);
                    }
                    printer.status(&message);
                } else {
                    up_to_date += 1;
                }
                if printer.json {
                    printer.json_line(&success_line(&outcome.id.to_string(), outcome, &message));
                }
            }
            Err(error) => {
                failed += 1;
                report_failure(printer, command, target, error);
            }
        }
    }
    let message = format!(
        "{} {updated}, up to date {up_to_date}, failed {failed}",
        if dry_run { "Would update" } else { "Updated" }
    );
    if printer.json {
        let mut pairs: Vec<(&str, Value)> = vec![
            ("command", command.into()),
            ("all", true.into()),
            ("outcome", if failed > 0 { "failed" } else { "ok" }.into()),
            ("updated", updated.into()),
            ("upToDate", up_to_date.into()),
            ("failed", failed.into()),
            ("message", message.clone().into()),
        ];
        if dry_run {
            pairs.push(("dryRun", true.into()));
        }
        printer.json_line(&object(pairs));
    }
    printer.status(&message);
    if failed > 0 {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}

/// One record that could not be updated (or checked): a `failed` JSON line with the record's
/// id and scope, and the error naming the plugin on stderr.
pub(super) fn report_failure(printer: Printer, command: &str, target: &Target, error: &Error) {
    let id = target.id.to_string();
    let message = error_message(error);
    if printer.json {
        let mut pairs: Vec<(&str, Value)> =
            vec![("command", command.into()), ("outcome", "failed".into())];
        if command == "update" {
            pairs.push(("plugin", id.clone().into()));
        }
        pairs.push(("pluginId", id.clone().into()));
        pairs.push(("scope", target.scope().as_str().into()));
        if let Some(path) = &target.record.project_path {
            pairs.push(("projectPath", path.clone().into()));
        }
        pairs.push(("message", message.clone().into()));
        pairs.push(("failureCode", error.failure_code().into()));
        printer.json_line(&object(pairs));
    }
    printer.error(
        &format!("{} ({}): {message}", sanitize(&id), target.scope()),
        error.hint().as_deref(),
    );
}

/// At most this many jobs (a marketplace's refresh, or a plugin's copy) run at once. A refresh
/// mostly waits on the network, so the bound is above the CPU count: with 4, a fifth
/// marketplace would wait for a whole fetch before it starts (measured: docs/benchmarks.md).
const MAX_PARALLEL: usize = 8;

/// What [`check_all`] found for each record, in the order of the records.
pub(super) struct Checked {
    results: Vec<(Target, std::result::Result<UpdateOutcome, Failure>)>,
}

/// Why a record was not updated.
enum Failure {
    /// Its own error.
    Own(Error),
    /// An error shared with other records: its marketplace could not be refreshed or read, or
    /// the one state write failed.
    Shared(Arc<Error>),
}

impl Checked {
    /// Every record with its outcome or error.
    pub(super) fn iter(
        &self,
    ) -> impl Iterator<Item = (&Target, std::result::Result<&UpdateOutcome, &Error>)> {
        self.results.iter().map(|(target, result)| {
            let result = match result {
                Ok(outcome) => Ok(outcome),
                Err(Failure::Own(error)) => Err(error),
                Err(Failure::Shared(error)) => Err(&**error),
            };
            (target, result)
        })
    }
}

/// A marketplace's refresh, shared by the tasks of its plugins.
type View = Arc<std::result::Result<Option<MarketplaceView>, Arc<Error>>>;

/// One unit of blocking work.
enum Job {
    /// Refresh this marketplace.
    Refresh(String),
    /// Plan these records (one plugin's, in turn) against their marketplace.
    Plan(View, Vec<(usize, Target)>),
}

/// What a [`Job`] produced.
enum Done {
    Refreshed(String, View),
    Planned(Vec<(usize, Target, std::result::Result<PlannedUpdate, Error>)>),
}

/// Refreshes each distinct marketplace of `targets` once and plans every record against it
/// ([`update::plan_target`]), at most [`MAX_PARALLEL`] jobs at a time: a marketplace's plugins
/// are queued (behind the refreshes still waiting) as soon as it is refreshed, so copies
/// overlap with other fetches; a plugin's records run one after another. With
/// [`Mode::Apply`], [`update::apply_planned`] then moves every planned record in one state
/// write; the other modes only preview.
///
/// The work is blocking (git2, file copies), so it runs on tokio's blocking pool: a
/// current-thread runtime whose only job is to hand out `spawn_blocking` tasks and collect them
/// through a `JoinSet` that never holds more than `MAX_PARALLEL` (the pool is capped at the
/// same number). The issue asks for tokio, and it leaves room for async HTTP later;
/// `std::thread::scope` with the same bound would do today's job as well. The runtime lives
/// only in pm-cli: pm-marketplace stays synchronous.
pub(super) fn check_all(
    env: &Environment,
    printer: Printer,
    targets: Vec<Target>,
    options: UpdateOptions,
) -> std::io::Result<Checked> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .max_blocking_threads(MAX_PARALLEL)
        .build()?;
    let shared_env = Arc::new(env.clone());
    let reporters = Arc::new(Reporters {
        printer,
        progress: printer
            .progress
            .then(|| MultiProgress::with_draw_target(ProgressDrawTarget::stderr())),
    });

    // Each marketplace's plugins, grouped by plugin, in the order of the records.
    let mut marketplaces: Vec<String> = Vec::new();
    let mut groups: HashMap<String, Vec<Vec<(usize, Target)>>> = HashMap::new();
    let mut group_of: HashMap<String, (String, usize)> = HashMap::new();
    let count = targets.len();
    for (index, target) in targets.into_iter().enumerate() {
        let marketplace = target.id.marketplace.clone();
        if !marketplaces.contains(&marketplace) {
            marketplaces.push(marketplace.clone());
        }
        let list = groups.entry(marketplace.clone()).or_default();
        let (_, slot) = group_of
            .entry(target.id.to_string())
            .or_insert_with(|| {
                list.push(Vec::new());
                (marketplace, list.len() - 1)
            })
            .clone();
        list[slot].push((index, target));
    }
    if count > 0 {
        printer.status(&format!(
            "Checking {count} plugin record{} from {} marketplace{}",
            if count == 1 { "" } else { "s" },
            marketplaces.len(),
            if marketplaces.len() == 1 { "" } else { "s" },
        ));
    }

    let planned = runtime.block_on(async {
        let mut queue: VecDeque<Job> = marketplaces.into_iter().map(Job::Refresh).collect();
        let mut running = tokio::task::JoinSet::new();
        let mut planned: Vec<(usize, Target, std::result::Result<PlannedUpdate, Failure>)> =
            Vec::with_capacity(count);
        loop {
            while running.len() < MAX_PARALLEL {
                let Some(job) = queue.pop_front() else {
                    break;
                };
                let env = Arc::clone(&shared_env);
                let reporters = Arc::clone(&reporters);
                running.spawn_blocking(move || run_job(&env, &reporters, job, options));
            }
            match running.join_next().await {
                None => break,
                Some(Ok(Done::Refreshed(name, view))) => {
                    let jobs = groups.remove(&name).unwrap_or_default();
                    if let Err(error) = view.as_ref() {
                        for (index, target) in jobs.into_iter().flatten() {
                            planned.push((index, target, Err(Failure::Shared(Arc::clone(error)))));
                        }
                    } else {
                        // Behind the refreshes still queued: every fetch starts as early as
                        // possible, copies fill the gaps.
                        for group in jobs {
                            queue.push_back(Job::Plan(Arc::clone(&view), group));
                        }
                    }
                }
                Some(Ok(Done::Planned(done))) => {
                    planned.extend(done.into_iter().map(|(index, target, result)| {
                        (index, target, result.map_err(Failure::Own))
                    }))
                }
                Some(Err(error)) => {
                    if error.is_panic() {
                        std::panic::resume_unwind(error.into_panic());
                    }
                }
            }
        }
        planned
    });

    let mut results: Vec<(usize, Target, std::result::Result<UpdateOutcome, Failure>)> =
        Vec::with_capacity(count);
    let mut to_apply: Vec<(usize, Target)> = Vec::new();
    let mut plans: Vec<PlannedUpdate> = Vec::new();
    for (index, target, result) in planned {
        match result {
            Ok(plan) if options.mode.writes() => {
                to_apply.push((index, target));
                plans.push(plan);
            }
            Ok(plan) => results.push((index, target, Ok(plan.preview()))),
            Err(failure) => results.push((index, target, Err(failure))),
        }
    }
    if !plans.is_empty() {
        match update::apply_planned(env, plans, &CliReporter::new(printer)) {
            Ok(applied) => {
                for ((index, target), result) in to_apply.into_iter().zip(applied) {
                    results.push((index, target, result.map_err(Failure::Own)));
                }
            }
            Err(error) => {
                let error = Arc::new(error);
                for (index, target) in to_apply {
                    results.push((index, target, Err(Failure::Shared(Arc::clone(&error)))));
                }
            }
        }
    }
    results.sort_by_key(|(index, _, _)| *index);
    Ok(Checked {
        results: results
            .into_iter()
            .map(|(_, target, result)| (target, result))
            .collect(),
    })
}

/// Runs one [`Job`] (on the blocking pool).
fn run_job(env: &Environment, reporters: &Reporters, job: Job, options: UpdateOptions) -> Done {
    match job {
        Job::Refresh(name) => {
            let reporter = reporters.task(&name);
            let view = update::refresh_marketplace(env, &name, options, &reporter);
            Done::Refreshed(name, Arc::new(view.map_err(Arc::new)))
        }
        Job::Plan(view, group) => {
            let view = match view.as_ref() {
                Ok(view) => view.as_ref(),
                // Not queued for a failed refresh.
                Err(_) => None,
            };
            let done = group
                .into_iter()
                .map(|(index, target)| {
                    let reporter = reporters.task(&target.id.to_string());
                    let result = update::plan_target(env, &target, view, options, &reporter);
                    (index, target, result)
                })
                .collect();
            Done::Planned(done)
        }
    }
}

/// Hands out a [`TaskReporter`] per task, sharing one `MultiProgress` (on a terminal only).
struct Reporters {
    printer: Printer,
    progress: Option<MultiProgress>,
}

impl Reporters {
    fn task(&self, label: &str) -> TaskReporter {
        TaskReporter {
            printer: self.printer,
            multi: self.progress.clone(),
            label: label.to_string(),
            bar: Mutex::new(None),
        }
    }
}

/// The reporter of one parallel task: its clone gets a progress bar of its own (labelled with
/// the marketplace or plugin) in the shared `MultiProgress` on a terminal; status lines are
/// left out (parallel tasks would interleave them); warnings are printed above the bars.
struct TaskReporter {
    printer: Printer,
    multi: Option<MultiProgress>,
    label: String,
    bar: Mutex<Option<ProgressBar>>,
}

impl Reporter for TaskReporter {
    fn status(&self, message: &str) {
        if let Ok(guard) = self.bar.lock()
            && let Some(bar) = guard.as_ref()
        {
            bar.set_message(sanitize(message));
        }
    }

    fn warn(&self, message: &str) {
        match &self.multi {
            Some(multi) => multi.suspend(|| self.printer.warn(message)),
            None => self.printer.warn(message),
        }
    }

    fn fetch_progress(&self, progress: FetchProgress) {
        let Some(multi) = &self.multi else {
            return;
        };
        let Ok(mut guard) = self.bar.lock() else {
            return;
        };
        let bar = guard.get_or_insert_with(|| {
            let bar = multi.add(ProgressBar::new(progress.total_objects as u64));
            if let Ok(style) = ProgressStyle::with_template(
                "  {prefix:.bold} [{bar:30}] {pos}/{len} objects {msg}",
            ) {
                bar.set_style(style.progress_chars("=> "));
            }
            bar.set_prefix(sanitize(&self.label));
            bar
        });
        bar.set_length(progress.total_objects as u64);
        bar.set_position(progress.received_objects as u64);
        bar.set_message(format!("({} KiB)", progress.received_bytes / 1024));
    }

    fn fetch_finished(&self) {
        if let Ok(mut guard) = self.bar.lock()
            && let Some(bar) = guard.take()
        {
            bar.finish_and_clear();
            if let Some(multi) = &self.multi {
                multi.remove(&bar);
            }
        }
    }
}
