//! `pm tag [path] [--dry-run] [-f] [-m MSG] [--push] [--remote NAME]`: the release tag
//! `{name}--v{version}` of a plugin directory (reference-advanced.md §4; the checks are listed
//! in `pm_marketplace::tag`).
//!
//! Output (house style; the reference prints everything, errors included, on stdout —
//! DEVIATIONS 17): the summary (`Plugin:`, `Version:`, `Marketplace entry:`, `Tag:`), the git
//! commands of a dry run and the push hint are data on stdout; "Created tag …", "Pushed …"
//! and the dry run's "would create" line are status lines on stderr; errors and hints on
//! stderr.
//!
//! `--json` (DEVIATIONS 16; the reference has none for `tag`): one result line,
//! `{"command":"tag","outcome":"created"|"dry_run"|"failed","plugin","version",
//! "versionSource":"pluginJson"|"marketplaceEntry","tag","tagMessage","repository","commit",
//! "branch":…|null,"marketplaceEntry":{"path","index","name","version"?}|null,"forced",
//! "replaced"?,"tagObject"?,"pushed","remote"?,"message"?,"failureCode"?}`. `replaced` is the
//! object an existing tag named before `--force` moved it; `tagObject` the annotated tag
//! written; `remote` is given with `--push`. A failure before the plan is complete carries
//! `path` and what was found so far (`plugin`, `version`, `tag`, `repository`), plus `files` for
//! `uncommitted_changes`.
//!
//! `failureCode`s: `path_not_found`, `not_a_directory`, `manifest_missing`,
//! `manifest_invalid`, `not_a_git_repository`, `version_mismatch`, `version_missing`,
//! `version_invalid`, `tag_name_invalid`, `uncommitted_changes`, `tag_exists`, `no_commit`,
//! `identity_missing`, `git_error`, `push_failed` (the tag was created and stays),
//! `error_unknown` (I/O).

use super::error_message;
use crate::cli::TagArgs;
use crate::output::{CliReporter, Printer, sanitize};
use pm_marketplace::Environment;
use pm_marketplace::tag::{self, CreatedTag, PlanFailure, TagError, TagPlan, TagRequest};
use serde_json::{Map, Value};
use std::path::Path;
use std::process::ExitCode;

/// Runs `pm tag`.
pub fn run(env: &Environment, printer: Printer, args: TagArgs) -> ExitCode {
    let reporter = CliReporter::new(printer);
    let plugin_dir = match &args.path {
        Some(path) if path.is_absolute() => path.clone(),
        Some(path) => env.locations.cwd.join(path),
        None => env.locations.cwd.clone(),
    };
    let request = TagRequest {
        plugin_dir: &plugin_dir,
        force: args.force,
        message: args.message.as_deref(),
    };
    let plan = match tag::plan(&request, &reporter) {
        Ok(plan) => plan,
        Err(failure) => return plan_failure(printer, &plugin_dir, &failure),
    };
    if !printer.json {
        printer.data(&summary(&plan));
    }
    if args.dry_run {
        return dry_run(printer, &plan, &args);
    }
    let created = match tag::create(&plan) {
        Ok(created) => created,
        Err(error) => {
            return failed(printer, result_fields(&plan, None, &args, false), &error);
        }
    };
    let commit = short(&plan.commit);
    let moved = match created.replaced.as_deref() {
        Some(old) if old == plan.commit => " (replacing the existing tag)".to_owned(),
        Some(old) => format!(" (moved from `{}`)", short(old)),
        None => String::new(),
    };
    printer.status(&format!(
        "Created tag `{}` at `{commit}` in `{}`{moved}",
        sanitize(&plan.tag),
        plan.repository.display()
    ));
    if args.push {
        if let Err(error) = tag::push(&plan, &args.remote, &env.git, &reporter) {
            return failed(
                printer,
                result_fields(&plan, Some(&created), &args, false),
                &error,
            );
        }
        printer.status(&format!(
            "Pushed tag `{}` to `{}`",
            sanitize(&plan.tag),
            sanitize(&args.remote)
        ));
    } else if !printer.json {
        printer.data(&format!(
            "\nPush with: {}\n",
            push_command(&plan, &args.remote)
        ));
    }
    if printer.json {
        let mut fields = result_fields(&plan, Some(&created), &args, args.push);
        fields.insert("outcome".into(), "created".into());
        printer.json_line(&Value::Object(fields));
    }
    ExitCode::SUCCESS
}

/// The dry run: what would be created and pushed, as git commands.
fn dry_run(printer: Printer, plan: &TagPlan, args: &TagArgs) -> ExitCode {
    let head = match &plan.branch {
        Some(branch) => format!("`{}`, branch `{}`", short(&plan.commit), sanitize(branch)),
        None => format!("`{}`, detached", short(&plan.commit)),
    };
    let moving = if plan.replaces.is_some() {
        " (moving the existing tag)"
    } else {
        ""
    };
    printer.status(&format!(
        "Dry run: would create tag `{}` at HEAD ({head}) in `{}`{moving}",
        sanitize(&plan.tag),
        plan.repository.display()
    ));
    if plan.tagger.is_none() {
        printer.warn(
            "git has no identity (`user.name` and `user.email`) for this repository: creating the tag would fail",
        );
    }
    if printer.json {
        let mut fields = result_fields(plan, None, args, false);
        fields.insert("outcome".into(), "dry_run".into());
        printer.json_line(&Value::Object(fields));
    } else {
        let force = if plan.force { " -f" } else { "" };
        printer.data(&format!(
            "\n  git -C {} tag{force} -a {} -m {}\n  {}\n",
            shell_word(&plan.repository.to_string_lossy()),
            shell_word(&sanitize(&plan.tag)),
            shell_word(&sanitize(&plan.message)),
            push_command(plan, &args.remote)
        ));
    }
    ExitCode::SUCCESS
}

/// `Plugin:`, `Version:`, `Marketplace entry:` (when found) and `Tag:` lines.
fn summary(plan: &TagPlan) -> String {
    let mut text = format!(
        "Plugin:  {}\nVersion: {} (from {})\n",
        sanitize(&plan.plugin),
        sanitize(&plan.version),
        plan.version_source.label()
    );
    if let Some(entry) = &plan.marketplace_entry {
        let version = entry
            .version
            .as_deref()
            .map(|version| format!(" (version: {})", sanitize(version)))
            .unwrap_or_default();
        text.push_str(&format!(
            "Marketplace entry: plugins[{}] in {}{version}\n",
            entry.index,
            entry.manifest_path.display()
        ));
    }
    text.push_str(&format!("Tag:     {}\n", sanitize(&plan.tag)));
    text
}

/// `git -C <repository> push [--force] <remote> refs/tags/<tag>`, quoted for a POSIX shell.
fn push_command(plan: &TagPlan, remote: &str) -> String {
    format!(
        "git -C {} push{} {} {}",
        shell_word(&plan.repository.to_string_lossy()),
        if plan.force { " --force" } else { "" },
        shell_word(&sanitize(remote)),
        shell_word(&format!("refs/tags/{}", sanitize(&plan.tag)))
    )
}

/// `text` as one POSIX shell word: unchanged when it holds only safe characters, else in single
/// quotes.
fn shell_word(text: &str) -> String {
    let safe = !text.is_empty()
        && text
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./:@%+=,".contains(c));
    if safe {
        text.to_owned()
    } else {
        format!("'{}'", text.replace('\'', r"'\''"))
    }
}

/// The first 7 hex digits of an object id.
fn short(id: &str) -> &str {
    id.get(..7).unwrap_or(id)
}

/// The result line's fields for a complete plan (without `outcome`).
fn result_fields(
    plan: &TagPlan,
    created: Option<&CreatedTag>,
    args: &TagArgs,
    pushed: bool,
) -> Map<String, Value> {
    let mut fields = Map::new();
    fields.insert("command".into(), "tag".into());
    fields.insert("outcome".into(), Value::Null);
    fields.insert("plugin".into(), plan.plugin.clone().into());
    fields.insert("version".into(), plan.version.clone().into());
    fields.insert(
        "versionSource".into(),
        plan.version_source.json_name().into(),
    );
    fields.insert("tag".into(), plan.tag.clone().into());
    fields.insert("tagMessage".into(), plan.message.clone().into());
    fields.insert("repository".into(), path_value(&plan.repository));
    fields.insert("commit".into(), plan.commit.clone().into());
    fields.insert(
        "branch".into(),
        plan.branch.clone().map_or(Value::Null, Value::from),
    );
    let entry = match &plan.marketplace_entry {
        Some(entry) => {
            let mut object = Map::new();
            object.insert("path".into(), path_value(&entry.manifest_path));
            object.insert("index".into(), entry.index.into());
            object.insert("name".into(), entry.name.clone().into());
            if let Some(version) = &entry.version {
                object.insert("version".into(), version.clone().into());
            }
            Value::Object(object)
        }
        None => Value::Null,
    };
    fields.insert("marketplaceEntry".into(), entry);
    fields.insert("forced".into(), plan.force.into());
    let replaced = created
        .and_then(|created| created.replaced.clone())
        .or_else(|| plan.replaces.clone());
    if let Some(replaced) = replaced {
        fields.insert("replaced".into(), replaced.into());
    }
    if let Some(created) = created {
        fields.insert("tagObject".into(), created.object.clone().into());
    }
    fields.insert("pushed".into(), pushed.into());
    if args.push {
        fields.insert("remote".into(), args.remote.clone().into());
    }
    fields
}

fn path_value(path: &Path) -> Value {
    path.to_string_lossy().into_owned().into()
}

/// A failure of [`tag::plan`]: nothing was written.
fn plan_failure(printer: Printer, plugin_dir: &Path, failure: &PlanFailure) -> ExitCode {
    let mut fields = Map::new();
    fields.insert("command".into(), "tag".into());
    fields.insert("outcome".into(), Value::Null);
    fields.insert("path".into(), path_value(plugin_dir));
    let found = &failure.found;
    for (key, value) in [
        ("plugin", found.plugin.clone()),
        ("version", found.version.clone()),
        ("tag", found.tag.clone()),
        (
            "repository",
            found
                .repository
                .as_ref()
                .map(|path| path.to_string_lossy().into_owned()),
        ),
    ] {
        if let Some(value) = value {
            fields.insert(key.into(), value.into());
        }
    }
    if let TagError::UncommittedChanges { files, .. } = &failure.error {
        fields.insert("files".into(), files.clone().into());
    }
    failed(printer, fields, &failure.error)
}

/// Prints `error` (and, with `--json`, the `failed` line built on `fields`); exit 1.
fn failed(printer: Printer, mut fields: Map<String, Value>, error: &TagError) -> ExitCode {
    let message = error_message(error);
    if printer.json {
        fields.insert("outcome".into(), "failed".into());
        fields.insert("message".into(), message.clone().into());
        fields.insert("failureCode".into(), error.failure_code().into());
        printer.json_line(&Value::Object(fields));
    }
    printer.error(&sanitize_lines(&message), error.hint().as_deref());
    ExitCode::from(1)
}

/// [`sanitize`] for each line of a multi-line message.
fn sanitize_lines(text: &str) -> String {
    text.lines().map(sanitize).collect::<Vec<_>>().join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shell_words() {
        assert_eq!(shell_word("refs/tags/p--v1.0.0"), "refs/tags/p--v1.0.0");
        assert_eq!(shell_word("p 1.0.0"), "'p 1.0.0'");
        assert_eq!(shell_word("it's $HOME"), r"'it'\''s $HOME'");
        assert_eq!(shell_word(""), "''");
    }
}
