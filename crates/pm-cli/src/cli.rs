//! The command line (clap derive). Definitions only; handlers live in `commands/`.

use clap::{Args, Parser, Subcommand};

/// pm: a fast, exact, scriptable plugin manager for Claude Code.
///
/// pm works on the files Claude Code reads (~/.claude/settings.json, .claude/settings.json,
/// .claude/settings.local.json, ~/.claude/plugins/…): what pm installs, Claude Code loads.
#[derive(Debug, Parser)]
#[command(name = "pm", version, propagate_version = true, max_term_width = 100)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,
    #[command(subcommand)]
    pub command: Command,
}

/// Flags every command takes.
#[derive(Debug, Args)]
pub struct GlobalArgs {
    /// Print one JSON result line on stdout (the reference's keys and failure codes)
    #[arg(long, global = true)]
    pub json: bool,
    /// Print only errors on stderr
    #[arg(short, long, global = true)]
    pub quiet: bool,
    /// Hide progress bars
    #[arg(long, global = true)]
    pub no_progress: bool,
    /// Answer yes to every confirmation
    #[arg(short = 'y', long, global = true)]
    pub yes: bool,
    /// A plugin directory to load for this command, as `claude --plugin-dir`: `pm details
    /// <name>` finds it by name (repeatable)
    #[arg(long, global = true, value_name = "DIR")]
    pub plugin_dir: Vec<std::path::PathBuf>,
}

/// pm's commands; the same names, aliases and flags as `claude plugin`.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Add, list, remove and update marketplaces
    #[command(subcommand, alias = "marketplaces")]
    Marketplace(MarketplaceCommand),
    /// Install a plugin from a known marketplace
    #[command(alias = "i")]
    Install(InstallArgs),
    /// Uninstall a plugin
    #[command(alias = "remove")]
    Uninstall(UninstallArgs),
    /// Remove auto-installed dependencies that no installed plugin needs any more
    #[command(alias = "autoremove")]
    Prune(PruneArgs),
    /// Update an installed plugin, or every one with --all, to the version its marketplace
    /// offers now (refreshing the marketplace first unless it was refreshed in the last 30 s)
    Update(UpdateArgs),
    /// List installed plugins whose marketplace offers another version or other content
    /// (exit 1 when there is one)
    Outdated(OutdatedArgs),
    /// List installed plugins
    #[command(alias = "ls")]
    List(ListArgs),
    /// Enable a plugin in one settings file
    Enable(EnableArgs),
    /// Disable a plugin in one settings file, or every enabled plugin with --all
    Disable(DisableArgs),
    /// Explain why a plugin is enabled or disabled here: each settings file's entry, the scope
    /// that decides, and every install record
    Why(WhyArgs),
    /// Show a plugin's components and what it costs in model context (tokens)
    Details(DetailsArgs),
    /// Create the release tag {name}--v{version} for a plugin directory
    Tag(TagArgs),
    /// Check a plugin directory, a marketplace directory or a manifest file
    Validate(ValidateArgs),
}

/// `pm marketplace …`.
#[derive(Debug, Subcommand)]
pub enum MarketplaceCommand {
    /// Add a marketplace: owner/repo[@ref], a git URL, a local directory, or a .json file or URL
    Add(MarketplaceAddArgs),
    /// List known marketplaces
    #[command(alias = "ls")]
    List,
    /// Remove a marketplace and uninstall its plugins
    #[command(alias = "rm")]
    Remove(MarketplaceRemoveArgs),
    /// Fetch the latest version of one marketplace, or of all
    Update(MarketplaceUpdateArgs),
}

/// `pm marketplace add`.
#[derive(Debug, Args)]
pub struct MarketplaceAddArgs {
    /// owner/repo, owner/repo@ref, owner/repo#ref, https://host/path[.git][#ref], git@host:path[#ref], ./dir, /dir, ~/dir, file.json, https://…/marketplace.json
    pub source: String,
    /// Settings file that declares the marketplace: user, project or local
    #[arg(long, default_value = "user")]
    pub scope: String,
    /// Check out only these directories of a git marketplace (cone mode)
    #[arg(long, num_args = 1..)]
    pub sparse: Vec<String>,
}

/// `pm marketplace remove`.
#[derive(Debug, Args)]
pub struct MarketplaceRemoveArgs {
    /// Marketplace name
    pub name: String,
    /// Remove only this scope's declaration (user, project or local)
    #[arg(long)]
    pub scope: Option<String>,
}

/// `pm marketplace update`.
#[derive(Debug, Args)]
pub struct MarketplaceUpdateArgs {
    /// Marketplace name; all marketplaces when omitted
    pub name: Option<String>,
}

/// `pm install`.
#[derive(Debug, Args)]
pub struct InstallArgs {
    /// plugin or plugin@marketplace
    pub plugin: String,
    /// Where to install: user, project or local
    #[arg(short, long, default_value = "user")]
    pub scope: String,
    /// Add this marketplace source first (with a bare plugin name)
    #[arg(long)]
    pub marketplace: Option<String>,
}

/// `pm uninstall`.
#[derive(Debug, Args)]
pub struct UninstallArgs {
    /// plugin or plugin@marketplace
    pub plugin: String,
    /// Scope to uninstall from (default: the one scope that has the plugin here)
    #[arg(short, long)]
    pub scope: Option<String>,
    /// Keep the plugin's data directory
    #[arg(long)]
    pub keep_data: bool,
    /// Then remove the auto-installed dependencies nothing needs any more (as `pm prune`;
    /// asks on a terminal, else needs -y)
    #[arg(long)]
    pub prune: bool,
}

/// `pm prune`.
#[derive(Debug, Args)]
pub struct PruneArgs {
    /// Scope to prune: user, project or local (project and local: this directory's records)
    #[arg(short, long, default_value = "user")]
    pub scope: String,
    /// List what would be removed; remove nothing
    #[arg(long)]
    pub dry_run: bool,
}

/// `pm update`.
#[derive(Debug, Args)]
pub struct UpdateArgs {
    /// plugin or plugin@marketplace
    #[arg(required_unless_present = "all", conflicts_with = "all")]
    pub plugin: Option<String>,
    /// Update every plugin installed for this directory (user, managed, and this directory's
    /// project and local records), fetching marketplaces in parallel
    #[arg(short, long)]
    pub all: bool,
    /// Fetch and report what would change; write nothing (no state, settings, cache or
    /// marketplace clone)
    #[arg(long)]
    pub dry_run: bool,
    /// Record to update: user, project, local or managed (default: the one scope that has the
    /// plugin here; with --all, only the records of this scope)
    #[arg(short, long)]
    pub scope: Option<String>,
    /// Do not refresh the marketplace: use the copy on disk
    #[arg(long)]
    pub offline: bool,
}

/// `pm outdated`.
#[derive(Debug, Args)]
pub struct OutdatedArgs {
    /// Do not refresh marketplaces: compare with the copies on disk
    #[arg(long)]
    pub offline: bool,
}

/// `pm list`.
#[derive(Debug, Args)]
pub struct ListArgs {
    /// Also list plugins the known marketplaces offer (with --json)
    #[arg(long)]
    pub available: bool,
}

/// `pm enable`.
#[derive(Debug, Args)]
pub struct EnableArgs {
    /// plugin or plugin@marketplace
    pub plugin: String,
    /// Settings file to write: user, project or local (default: the most specific scope that
    /// has the plugin here, else user)
    #[arg(short, long)]
    pub scope: Option<String>,
}

/// `pm disable`.
#[derive(Debug, Args)]
pub struct DisableArgs {
    /// plugin or plugin@marketplace
    pub plugin: Option<String>,
    /// Disable every enabled plugin, each in the scope that enables it
    #[arg(short, long)]
    pub all: bool,
    /// Settings file to write: user, project or local (default: the most specific scope that
    /// has the plugin here, else user; with --all, the plugins that this scope's file enables)
    #[arg(short, long)]
    pub scope: Option<String>,
}

/// `pm why`.
#[derive(Debug, Args)]
pub struct WhyArgs {
    /// plugin or plugin@marketplace
    pub plugin: String,
}

/// `pm details`.
#[derive(Debug, Args)]
pub struct DetailsArgs {
    /// plugin, plugin@marketplace, or the path of a plugin directory
    pub plugin: String,
}

/// `pm tag`.
#[derive(Debug, Args)]
pub struct TagArgs {
    /// Plugin directory (holding .claude-plugin/plugin.json); default: the current directory
    pub path: Option<std::path::PathBuf>,
    /// Say what would be tagged and pushed; create nothing
    #[arg(long)]
    pub dry_run: bool,
    /// Tag even with uncommitted changes in the plugin, and move an existing tag
    #[arg(short, long)]
    pub force: bool,
    /// Tag message; every %s becomes the version (default: "<name> <version>")
    #[arg(short, long)]
    pub message: Option<String>,
    /// Push the tag after creating it
    #[arg(long)]
    pub push: bool,
    /// Remote to push to
    #[arg(long, default_value = "origin")]
    pub remote: String,
}

/// `pm validate`.
#[derive(Debug, Args)]
pub struct ValidateArgs {
    /// A plugin directory, a marketplace directory, or a plugin.json / marketplace.json file
    pub path: std::path::PathBuf,
    /// Treat warnings as errors (exit 1), and check the marketplace guide's stricter rules too
    #[arg(long)]
    pub strict: bool,
    /// Also fail on what the plugin directory refuses a submission for (README, license)
    #[arg(long, value_enum)]
    pub profile: Option<ValidateProfile>,
}

/// `pm validate --profile`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ValidateProfile {
    /// The plugin directory's submission checks
    Directory,
}
