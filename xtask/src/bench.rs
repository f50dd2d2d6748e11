//! `cargo xtask bench`: measure pm (release build) on this machine against the targets,
//! and the reference implementation (`claude plugin`, via `../shared/tools/reference-claude`) on
//! the same kind of world, side by side. See docs/benchmarks.md.
//!
//! Progress goes to stderr; the result table goes to stdout.

use crate::interop::{Reference, reference_bin};
use crate::{build_pm, throwaway_dir};
use anyhow::{Context, Result, bail};
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

/// Plugins in the benchmark marketplace (enough for 230 installs plus fresh ones afterwards).
const MARKET_PLUGINS: usize = 260;
/// Plugins installed before `list --json` is measured (the number).
const INSTALLED: usize = 230;
/// Install counts at which the install time is reported (median of the five installs ending there).
const CHECKPOINTS: [usize; 3] = [10, 100, 230];
/// Installs per checkpoint window.
const WINDOW: usize = 5;
/// `pm list --json` timed runs (after warm-up).
const LIST_RUNS: usize = 30;
/// Fresh installs after the 230 (pm).
const MORE_INSTALLS: usize = 10;
/// `list --json` runs and fresh installs for the reference (each takes ~0.5–1.5 s).
const REFERENCE_LIST_RUNS: usize = 5;
const REFERENCE_MORE_INSTALLS: usize = 5;

/// The targets.
const TARGET_LIST: Duration = Duration::from_millis(10);
const TARGET_LIST_RSS_KIB: u64 = 15 * 1024;
const TARGET_INSTALL: Duration = Duration::from_millis(20);

struct Options {
    check: bool,
    reference_plugins: usize,
    keep: bool,
    world: World,
}

/// Which world to measure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum World {
    /// A directory marketplace: install and `list --json` (the default).
    Default,
    /// Git marketplaces on a fake GitHub: `update --all` (see [`run_update_world`]).
    Update,
}

fn parse_options(args: &[String]) -> Result<Options> {
    let mut options = Options {
        check: false,
        reference_plugins: INSTALLED,
        keep: false,
        world: World::Default,
    };
    let mut iter = args.iter();
    while let Some(arg) = iter.next() {
        match arg.as_str() {
            "--check" => options.check = true,
            "--keep" => options.keep = true,
            "--no-reference" => options.reference_plugins = 0,
            "--reference-plugins" => {
                let value = iter.next().context("--reference-plugins needs a number")?;
                options.reference_plugins = value
                    .parse()
                    .with_context(|| format!("--reference-plugins {value}: not a number"))?;
            }
            other if other.starts_with("--reference-plugins=") => {
                let value = &other["--reference-plugins=".len()..];
                options.reference_plugins = value
                    .parse()
                    .with_context(|| format!("--reference-plugins {value}: not a number"))?;
            }
            "--world" => {
                let value = iter.next().map(String::as_str).unwrap_or("");
                options.world = match value {
                    "default" | "install" => World::Default,
                    "update" => World::Update,
                    _ => bail!(
                        "--world {value:?}: the worlds are `default` and `update` (see docs/benchmarks.md)"
                    ),
                };
            }
            "-h" | "--help" => {
                eprintln!(
                    "usage: cargo xtask bench [--world default|update] [--check] [--reference-plugins N | --no-reference] [--keep]\n\
                     \n  --world update          git marketplaces on a fake GitHub: `pm update --all` of {UPDATE_PLUGINS} plugins\
                     \n  --check                 exit 1 when a target is missed\
                     \n  --reference-plugins N   plugins the reference installs (default {INSTALLED}; 0 = skip it)\
                     \n  --no-reference          same as --reference-plugins 0\
                     \n  --keep                  keep the throwaway directory"
                );
                std::process::exit(0);
            }
            other => bail!("unknown bench option {other:?} (try --help)"),
        }
    }
    if options.reference_plugins > MARKET_PLUGINS - REFERENCE_MORE_INSTALLS {
        bail!(
            "--reference-plugins must be at most {}",
            MARKET_PLUGINS - REFERENCE_MORE_INSTALLS
        );
    }
    Ok(options)
}

/// A program run in a fixed directory with a fixed environment.
struct Runner {
    label: &'static str,
    program: PathBuf,
    prefix: Vec<String>,
    cwd: PathBuf,
    envs: Vec<(String, OsString)>,
    remove: Vec<&'static str>,
}

impl Runner {
    /// `program` with the runner's directory and environment, and `args` as given.
    fn command(&self, program: &Path) -> Command {
        let mut command = Command::new(program);
        command.current_dir(&self.cwd);
        for name in &self.remove {
            command.env_remove(name);
        }
        for (name, value) in &self.envs {
            command.env(name, value);
        }
        command
    }

    /// Runs once; fails when the command fails.
    fn run(&self, args: &[&str]) -> Result<(Duration, Output)> {
        let mut command = self.command(&self.program);
        command.args(&self.prefix).args(args);
        let start = Instant::now();
        let output = command
            .output()
            .with_context(|| format!("running {} {}", self.label, args.join(" ")))?;
        let elapsed = start.elapsed();
        if !output.status.success() {
            bail!(
                "{} {} failed ({}):\n{}{}",
                self.label,
                args.join(" "),
                output.status,
                String::from_utf8_lossy(&output.stdout),
                String::from_utf8_lossy(&output.stderr)
            );
        }
        Ok((elapsed, output))
    }

    /// Peak resident set size (KiB) of one run, or a reason why it cannot be measured.
    fn peak_rss_kib(&self, args: &[&str]) -> std::result::Result<u64, String> {
        let time = Path::new("/usr/bin/time");
        if time.exists() {
            let out = std::env::temp_dir().join(format!("pm-bench-rss-{}", std::process::id()));
            let mut command = self.command(time);
            command
                .arg("-f")
                .arg("%M")
                .arg("-o")
                .arg(&out)
                .arg(&self.program);
            command.args(&self.prefix).args(args);
            let status = command
                .output()
                .map_err(|e| format!("/usr/bin/time: {e}"))?
                .status;
            let text = std::fs::read_to_string(&out).unwrap_or_default();
            let _ = std::fs::remove_file(&out);
            if status.success()
                && let Some(kib) = text
                    .lines()
                    .rev()
                    .find_map(|l| l.trim().parse::<u64>().ok())
            {
                return Ok(kib);
            }
        }
        // Fallback: a fresh python3 process whose only child is the measured one, so that
        // RUSAGE_CHILDREN is that child's (this process's own children include cargo).
        let script = "import resource,subprocess,sys\n\
                      r=subprocess.run(sys.argv[1:],stdout=subprocess.DEVNULL,stderr=subprocess.DEVNULL)\n\
                      print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss if r.returncode==0 else -1)";
        let mut command = self.command(Path::new("python3"));
        command.arg("-c").arg(script).arg(&self.program);
        command.args(&self.prefix).args(args);
        match command.output() {
            Ok(output) if output.status.success() => {
                let text = String::from_utf8_lossy(&output.stdout);
                match text.trim().parse::<i64>() {
                    Ok(kib) if kib > 0 => Ok(kib.unsigned_abs()),
                    _ => Err("measured command failed".into()),
                }
            }
            _ => Err("neither /usr/bin/time nor python3 available".into()),
        }
    }
}

/// Writes the benchmark marketplace: `n` small plugins (plugin.json, a command, an agent).
fn make_market(dir: &Path, n: usize) -> Result<()> {
    let mut entries = Vec::with_capacity(n);
    for i in 1..=n {
        let name = format!("b{i}");
        let root = dir.join("plugins").join(&name);
        for sub in [".claude-plugin", "commands", "agents"] {
            std::fs::create_dir_all(root.join(sub))?;
        }
        std::fs::write(
            root.join(".claude-plugin/plugin.json"),
            format!(
                "{{\"name\":\"{name}\",\"version\":\"1.0.{i}\",\"description\":\"Benchmark plugin {i}\",\"author\":{{\"name\":\"Bench\"}}}}\n"
            ),
        )?;
        std::fs::write(
            root.join("commands/hello.md"),
            format!("---\ndescription: Say hello from {name}\n---\nSay hello.\n"),
        )?;
        std::fs::write(
            root.join("agents/helper.md"),
            format!(
                "---\nname: helper-{name}\ndescription: Helps with {name}\ntools: Read, Grep\n---\nHelp.\n"
            ),
        )?;
        entries.push(serde_json::json!({
            "name": name,
            "source": format!("./plugins/{name}"),
            "description": format!("Benchmark plugin {i}"),
        }));
    }
    std::fs::create_dir_all(dir.join(".claude-plugin"))?;
    let manifest = serde_json::json!({
        "name": "bench",
        "owner": {"name": "Bench"},
        "plugins": entries,
    });
    std::fs::write(
        dir.join(".claude-plugin/marketplace.json"),
        serde_json::to_string_pretty(&manifest)? + "\n",
    )?;
    Ok(())
}

fn median(values: &[Duration]) -> Option<Duration> {
    if values.is_empty() {
        return None;
    }
    let mut sorted = values.to_vec();
    sorted.sort();
    let mid = sorted.len() / 2;
    Some(if sorted.len() % 2 == 1 {
        sorted[mid]
    } else {
        (sorted[mid - 1] + sorted[mid]) / 2
    })
}

fn fmt_ms(d: Duration) -> String {
    let ms = d.as_secs_f64() * 1000.0;
    if ms >= 100.0 {
        format!("{ms:.0} ms")
    } else {
        format!("{ms:.1} ms")
    }
}

fn fmt_kib(kib: u64) -> String {
    format!("{:.1} MiB", kib as f64 / 1024.0)
}

/// What one implementation measured.
#[derive(Default)]
struct Measured {
    installed: usize,
    /// Duration of install number i+1.
    installs: Vec<Duration>,
    list_median: Option<Duration>,
    list_min: Option<Duration>,
    list_runs: usize,
    list_entries: usize,
    list_rss: Option<std::result::Result<u64, String>>,
    more_installs: Vec<Duration>,
}

impl Measured {
    /// Median of the `WINDOW` installs ending at install number `n`.
    fn window(&self, n: usize) -> Option<Duration> {
        if n == 0 || n > self.installs.len() {
            return None;
        }
        median(&self.installs[n.saturating_sub(WINDOW)..n])
    }
}

/// Installs `count` plugins, times `list --json` and its peak RSS, then `more` fresh installs.
fn measure(
    runner: &Runner,
    count: usize,
    list_runs: usize,
    more: usize,
    install_args: &[&str],
) -> Result<Measured> {
    let mut measured = Measured::default();
    let started = Instant::now();
    for i in 1..=count {
        let id = format!("b{i}@bench");
        let mut args = vec!["install", id.as_str()];
        args.extend_from_slice(install_args);
        let (elapsed, _) = runner.run(&args)?;
        measured.installs.push(elapsed);
        if i % 25 == 0 || i == count {
            eprintln!(
                "  {}: {i}/{count} installed ({:.1} s so far)",
                runner.label,
                started.elapsed().as_secs_f64()
            );
        }
    }
    measured.installed = count;
    // `list --json`: warm up, then time.
    for _ in 0..2.min(list_runs) {
        runner.run(&["list", "--json"])?;
    }
    let mut times = Vec::with_capacity(list_runs);
    for _ in 0..list_runs {
        let (elapsed, output) = runner.run(&["list", "--json"])?;
        times.push(elapsed);
        let value: serde_json::Value = serde_json::from_slice(&output.stdout)
            .with_context(|| format!("{} list --json printed no JSON", runner.label))?;
        measured.list_entries = value.as_array().map_or(0, Vec::len);
    }
    measured.list_median = median(&times);
    measured.list_min = times.iter().min().copied();
    measured.list_runs = list_runs;
    if list_runs > 0 {
        // Peak RSS: the largest of three runs.
        let mut best: Option<std::result::Result<u64, String>> = None;
        for _ in 0..3 {
            let rss = runner.peak_rss_kib(&["list", "--json"]);
            best = Some(match (best, rss) {
                (Some(Ok(a)), Ok(b)) => Ok(a.max(b)),
                (_, Ok(b)) => Ok(b),
                (Some(Ok(a)), Err(_)) => Ok(a),
                (_, Err(e)) => Err(e),
            });
        }
        measured.list_rss = best;
    }
    for i in count + 1..=count + more {
        let id = format!("b{i}@bench");
        let mut args = vec!["install", id.as_str()];
        args.extend_from_slice(install_args);
        let (elapsed, _) = runner.run(&args)?;
        measured.more_installs.push(elapsed);
    }
    Ok(measured)
}

fn cpu_description() -> String {
    let model = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|text| {
            text.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split_once(':'))
                .map(|(_, v)| v.trim().to_string())
        })
        .unwrap_or_else(|| "unknown CPU".into());
    let cpus = std::thread::available_parallelism().map_or(0, usize::from);
    format!("{cpus} CPUs, {model}")
}

pub(crate) fn run(args: &[String]) -> Result<()> {
    let options = parse_options(args)?;
    if options.world == World::Update {
        return run_update_world(&options);
    }
    eprintln!("bench: building pm (release)…");
    let pm = build_pm(true)?;
    let dir = throwaway_dir("pm-bench")?;
    eprintln!("bench: throwaway directory {}", dir.display());
    let market = dir.join("market");
    make_market(&market, MARKET_PLUGINS)?;
    eprintln!(
        "bench: wrote a directory marketplace of {MARKET_PLUGINS} plugins at {}",
        market.display()
    );
    let market_text = market.to_string_lossy().into_owned();

    // pm: its own config dir, HOME and cwd.
    let pm_root = dir.join("pm");
    for sub in ["home", "work"] {
        std::fs::create_dir_all(pm_root.join(sub))?;
    }
    let pm_runner = Runner {
        label: "pm",
        program: pm.clone(),
        prefix: Vec::new(),
        cwd: pm_root.join("work"),
        envs: vec![
            (
                "CLAUDE_CONFIG_DIR".into(),
                pm_root.join("config").into_os_string(),
            ),
            ("HOME".into(), pm_root.join("home").into_os_string()),
            ("PM_NO_PROGRESS".into(), "1".into()),
        ],
        remove: Vec::new(),
    };
    eprintln!("bench: pm marketplace add {market_text}");
    pm_runner.run(&["marketplace", "add", &market_text])?;
    eprintln!(
        "bench: pm: installing {INSTALLED} plugins, then timing list --json and {MORE_INSTALLS} more installs"
    );
    let pm_measured = measure(&pm_runner, INSTALLED, LIST_RUNS, MORE_INSTALLS, &[])?;

    // The reference, in its own HOME.
    let mut reference_note = String::new();
    let mut reference_version = String::new();
    let reference_measured = if options.reference_plugins == 0 {
        reference_note = "reference: skipped (--no-reference)".into();
        None
    } else {
        match reference_bin() {
            Err(reason) => {
                reference_note = format!("reference: unavailable ({reason})");
                eprintln!("bench: {reference_note}");
                None
            }
            Ok(reference) => {
                reference_version = reference.version.clone();
                match measure_reference(&reference, &dir, &market_text, options.reference_plugins) {
                    Ok(m) => Some(m),
                    Err(error) => {
                        reference_note = format!("reference: failed ({error:#})");
                        eprintln!("bench: {reference_note}");
                        None
                    }
                }
            }
        }
    };

    let failed = print_report(
        &pm_measured,
        reference_measured.as_ref(),
        &reference_version,
        &reference_note,
    );
    finish(&options, &dir, failed);
    Ok(())
}

fn measure_reference(
    reference: &Reference,
    dir: &Path,
    market: &str,
    count: usize,
) -> Result<Measured> {
    let root = dir.join("reference");
    for sub in ["home", "work"] {
        std::fs::create_dir_all(root.join(sub))?;
    }
    let mut envs: Vec<(String, OsString)> = reference
        .env()
        .into_iter()
        .map(|(k, v)| (k.to_string(), OsString::from(v)))
        .collect();
    envs.push(("HOME".into(), root.join("home").into_os_string()));
    let runner = Runner {
        label: "reference",
        program: reference.bin.clone(),
        prefix: vec!["plugin".into()],
        cwd: root.join("work"),
        envs,
        remove: vec!["CLAUDE_CONFIG_DIR"],
    };
    eprintln!("bench: reference plugin marketplace add {market}");
    runner.run(&["marketplace", "add", market])?;
    eprintln!(
        "bench: reference: installing {count} plugins (~0.5–1.5 s each), then timing list --json and {REFERENCE_MORE_INSTALLS} more installs"
    );
    measure(
        &runner,
        count,
        REFERENCE_LIST_RUNS,
        REFERENCE_MORE_INSTALLS,
        &[],
    )
}

/// Prints the table; returns whether a target was missed.
fn print_report(
    pm: &Measured,
    reference: Option<&Measured>,
    reference_version: &str,
    reference_note: &str,
) -> bool {
    let mut failed = false;
    let mut verdict = |ok: bool| -> &'static str {
        if ok {
            "PASS"
        } else {
            failed = true;
            "FAIL"
        }
    };
    let dash = || "—".to_string();
    let ref_col = |f: &dyn Fn(&Measured) -> Option<String>| -> String {
        reference.and_then(f).unwrap_or_else(dash)
    };

    println!(
        "pm bench: release build, {} installed from a {MARKET_PLUGINS}-plugin directory marketplace; {}",
        pm.installed,
        cpu_description()
    );
    if let Some(r) = reference {
        println!(
            "reference: Claude Code {reference_version}, its own HOME, {} installed",
            r.installed
        );
    } else {
        println!("{reference_note}");
    }
    println!();
    let header = ["measure", "pm", "reference", "target", "result"];
    let mut rows: Vec<[String; 5]> = Vec::new();

    // list --json time
    let list_ok = pm.list_median.is_some_and(|d| d <= TARGET_LIST);
    rows.push([
        format!("list --json, median of {} (min)", pm.list_runs),
        pm.list_median
            .map(|d| {
                format!(
                    "{} ({})",
                    fmt_ms(d),
                    pm.list_min.map(fmt_ms).unwrap_or_default()
                )
            })
            .unwrap_or_else(dash),
        ref_col(&|r| {
            r.list_median.map(|d| {
                format!(
                    "{} ({}, n={})",
                    fmt_ms(d),
                    r.list_min.map(fmt_ms).unwrap_or_default(),
                    r.list_runs
                )
            })
        }),
        format!("≤ {}", fmt_ms(TARGET_LIST)),
        verdict(list_ok).into(),
    ]);
    // list --json RSS
    let (pm_rss, rss_result) = match &pm.list_rss {
        Some(Ok(kib)) => (
            fmt_kib(*kib),
            verdict(*kib <= TARGET_LIST_RSS_KIB).to_string(),
        ),
        Some(Err(reason)) => (format!("n/a ({reason})"), "n/a".to_string()),
        None => ("n/a".into(), "n/a".into()),
    };
    rows.push([
        "list --json, peak RSS (max of 3)".into(),
        pm_rss,
        ref_col(&|r| match &r.list_rss {
            Some(Ok(kib)) => Some(fmt_kib(*kib)),
            Some(Err(reason)) => Some(format!("n/a ({reason})")),
            None => None,
        }),
        format!("≤ {}", fmt_kib(TARGET_LIST_RSS_KIB)),
        rss_result,
    ]);
    rows.push([
        "list --json entries".into(),
        pm.list_entries.to_string(),
        ref_col(&|r| Some(r.list_entries.to_string())),
        String::new(),
        String::new(),
    ]);
    // install at checkpoints (plus the reference's own count when it is not one of them)
    let mut checkpoints: Vec<usize> = CHECKPOINTS.to_vec();
    if let Some(r) = reference
        && !checkpoints.contains(&r.installed)
        && r.installed >= 1
    {
        checkpoints.push(r.installed);
        checkpoints.sort_unstable();
    }
    for &n in &checkpoints {
        let first = n.saturating_sub(WINDOW) + 1;
        let is_last = n == INSTALLED;
        let (target, result) = if is_last {
            match (pm.window(CHECKPOINTS[0]), pm.window(n)) {
                (Some(base), Some(last)) => {
                    let ok = last <= base.mul_f64(1.5) + Duration::from_millis(1);
                    (
                        format!(
                            "≤ 1.5 × #{}–{} + 1 ms",
                            CHECKPOINTS[0] + 1 - WINDOW,
                            CHECKPOINTS[0]
                        ),
                        format!(
                            "{} (×{:.2})",
                            verdict(ok),
                            last.as_secs_f64() / base.as_secs_f64()
                        ),
                    )
                }
                _ => (String::new(), "n/a".into()),
            }
        } else {
            (String::new(), String::new())
        };
        rows.push([
            format!("install #{first}–{n}, median of {WINDOW}"),
            pm.window(n).map(fmt_ms).unwrap_or_else(dash),
            ref_col(&|r| r.window(n).map(fmt_ms)),
            target,
            result,
        ]);
    }
    // one more install
    let more = median(&pm.more_installs);
    rows.push([
        format!("one more install, median of {}", pm.more_installs.len()),
        more.map(fmt_ms).unwrap_or_else(dash),
        ref_col(&|r| {
            median(&r.more_installs).map(|d| format!("{} (n={})", fmt_ms(d), r.more_installs.len()))
        }),
        format!("≤ {}", fmt_ms(TARGET_INSTALL)),
        verdict(more.is_some_and(|d| d <= TARGET_INSTALL)).into(),
    ]);

    let mut widths = header.map(|h| h.chars().count());
    for row in &rows {
        for (i, cell) in row.iter().enumerate() {
            widths[i] = widths[i].max(cell.chars().count());
        }
    }
    let line = |cells: &[String; 5]| {
        let mut text = String::new();
        for (i, cell) in cells.iter().enumerate() {
            let pad = widths[i] - cell.chars().count();
            text.push_str(cell);
            if i + 1 < cells.len() {
                text.push_str(&" ".repeat(pad + 2));
            }
        }
        println!("{}", text.trim_end());
    };
    line(&header.map(String::from));
    line(&widths.map(|w| "-".repeat(w)));
    for row in &rows {
        line(row);
    }
    println!();
    println!(
        "{}",
        if failed {
            "bench: some targets were missed"
        } else {
            "bench: all targets met"
        }
    );
    failed
}

// ---- --world update ----------------------------------------------------------------------------

/// Plugins installed in the update world (the number), spread over the marketplaces.
const UPDATE_PLUGINS: usize = 30;
/// Git marketplaces (`acme/market-1` … `acme/market-5`) on the fake GitHub.
const UPDATE_MARKETS: usize = 5;
/// Timed `pm update --all` runs, each after a new version of every plugin was published.
const UPDATE_ROUNDS: usize = 7;
/// The target: `pm update --all` at most this many times the parallel shallow clones.
const TARGET_UPDATE_RATIO: f64 = 1.3;

/// Stops the fake GitHub's HTTP daemon (started by `bench-world`) when dropped.
struct FakeGithub {
    tool: PathBuf,
    home: PathBuf,
}

impl FakeGithub {
    /// `fake-github publish SRC acme/<repo>`: commits `src` and force-pushes it.
    fn publish(&self, src: &Path, slug: &str) -> Result<()> {
        let output = Command::new(&self.tool)
            .args(["publish"])
            .arg(src)
            .arg(slug)
            .env("HOME", &self.home)
            .output()
            .context("running fake-github publish")?;
        if !output.status.success() {
            bail!(
                "fake-github publish {slug} failed: {}",
                String::from_utf8_lossy(&output.stderr)
            );
        }
        Ok(())
    }
}

impl Drop for FakeGithub {
    fn drop(&mut self) {
        // Kills the daemon by the pid `serve` recorded, nothing else.
        let _ = Command::new(&self.tool)
            .arg("stop")
            .env("HOME", &self.home)
            .output();
    }
}

/// Writes version `1.<round>.<i>` into every plugin of every marketplace source and changes a
/// command, then publishes each marketplace.
fn publish_new_versions(github: &FakeGithub, world: &Path, round: usize) -> Result<()> {
    let per = UPDATE_PLUGINS / UPDATE_MARKETS;
    for k in 1..=UPDATE_MARKETS {
        let src = world.join("src").join(format!("market-{k}"));
        for i in 1..=per {
            let name = format!("p{k}-{i}");
            let dir = src.join("plugins").join(&name);
            let manifest = dir.join(".claude-plugin/plugin.json");
            let mut value: serde_json::Value = serde_json::from_str(
                &std::fs::read_to_string(&manifest)
                    .with_context(|| format!("reading {}", manifest.display()))?,
            )?;
            value["version"] = format!("1.{round}.{i}").into();
            std::fs::write(&manifest, serde_json::to_string(&value)? + "\n")?;
            std::fs::write(
                dir.join("commands/one.md"),
                format!("---\ndescription: Command one\n---\nRun one (round {round}).\n"),
            )?;
        }
        github.publish(&src, &format!("acme/market-{k}"))?;
    }
    Ok(())
}

/// Sets every marketplace's `lastUpdated` in `known` far in the past, so that the next update
/// refreshes it (both pm and the reference skip marketplaces refreshed in the last 30 s).
fn age_marketplaces(known: &Path) -> Result<()> {
    let text =
        std::fs::read_to_string(known).with_context(|| format!("reading {}", known.display()))?;
    let mut value: serde_json::Value = serde_json::from_str(&text)?;
    if let Some(map) = value.as_object_mut() {
        for entry in map.values_mut() {
            entry["lastUpdated"] = "2020-01-01T00:00:00.000Z".into();
        }
    }
    std::fs::write(known, serde_json::to_string_pretty(&value)? + "\n")?;
    Ok(())
}

/// The ids of the world's git plugins: `p<k>-<i>@market-<k>`.
fn update_world_ids() -> Vec<String> {
    let per = UPDATE_PLUGINS / UPDATE_MARKETS;
    (1..=UPDATE_MARKETS)
        .flat_map(|k| (1..=per).map(move |i| format!("p{k}-{i}@market-{k}")))
        .collect()
}

/// `git clone --depth 1` of the five marketplaces, all at once (the baseline): wall time until
/// the last one finished.
fn parallel_shallow_clones(home: &Path, into: &Path) -> Result<Duration> {
    std::fs::create_dir_all(into)?;
    let start = Instant::now();
    let mut children = Vec::new();
    for k in 1..=UPDATE_MARKETS {
        let child = Command::new("git")
            .args(["clone", "--quiet", "--depth", "1"])
            .arg(format!("https://github.com/acme/market-{k}.git"))
            .arg(into.join(format!("market-{k}")))
            .env("HOME", home)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .context("running git clone")?;
        children.push(child);
    }
    let mut failures = Vec::new();
    for child in children {
        let output = child.wait_with_output()?;
        if !output.status.success() {
            failures.push(String::from_utf8_lossy(&output.stderr).into_owned());
        }
    }
    let elapsed = start.elapsed();
    if !failures.is_empty() {
        bail!("git clone --depth 1 failed: {}", failures.join("; "));
    }
    Ok(elapsed)
}

/// What the update world measured.
struct UpdateMeasured {
    pm_rounds: Vec<Duration>,
    clone_rounds: Vec<Duration>,
    pm_noop: Option<Duration>,
    reference: std::result::Result<(String, Duration, usize), String>,
}

/// `cargo xtask bench --world update`: `../shared/tools/bench-world` builds a fake GitHub over
/// smart HTTP with five git marketplaces of six plugins each; pm installs the 30 plugins, a new
/// version of every plugin is published, and `pm update --all` is timed against cloning the
/// five repositories in parallel with `git clone --depth 1`, round after round. The reference
/// (when available) installs the same 30 plugins and updates them one by one with
/// `claude plugin update <id>` (it has no `--all`), once, reported.
fn run_update_world(options: &Options) -> Result<()> {
    let tools = crate::interop::shared_tools_dir();
    let bench_world = tools.join("bench-world");
    if !bench_world.exists() {
        bail!(
            "{} does not exist: the update world needs it",
            bench_world.display()
        );
    }
    eprintln!("bench: building pm (release)…");
    let pm = build_pm(true)?;
    let dir = throwaway_dir("pm-bench-update")?;
    eprintln!("bench: throwaway directory {}", dir.display());
    let world = dir.join("world");
    eprintln!(
        "bench: {} {} {UPDATE_PLUGINS} {UPDATE_MARKETS}",
        bench_world.display(),
        world.display()
    );
    let output = Command::new(&bench_world)
        .arg(&world)
        .arg(UPDATE_PLUGINS.to_string())
        .arg(UPDATE_MARKETS.to_string())
        .stdin(std::process::Stdio::null())
        .output()
        .context("running bench-world")?;
    let home = world.join("home");
    let github = FakeGithub {
        tool: tools.join("fake-github"),
        home: home.clone(),
    };
    if !output.status.success() {
        bail!(
            "bench-world failed ({}): {}",
            output.status,
            String::from_utf8_lossy(&output.stderr)
        );
    }
    eprintln!("bench: {}", String::from_utf8_lossy(&output.stdout).trim());
    let result = measure_update_world(options, &pm, &dir, &world, &github);
    drop(github);
    let measured = result?;
    let failed = print_update_report(&measured);
    finish(options, &dir, failed);
    Ok(())
}

fn measure_update_world(
    options: &Options,
    pm: &Path,
    dir: &Path,
    world: &Path,
    github: &FakeGithub,
) -> Result<UpdateMeasured> {
    let home = world.join("home");
    let ids = update_world_ids();
    // pm: the world's HOME (its .gitconfig points github.com at the fake GitHub), its own
    // config root and cwd.
    let pm_root = dir.join("pm");
    std::fs::create_dir_all(pm_root.join("work"))?;
    let pm_config = pm_root.join("config");
    let pm_runner = Runner {
        label: "pm",
        program: pm.to_path_buf(),
        prefix: Vec::new(),
        cwd: pm_root.join("work"),
        envs: vec![
            (
                "CLAUDE_CONFIG_DIR".into(),
                pm_config.clone().into_os_string(),
            ),
            ("HOME".into(), home.clone().into_os_string()),
            ("PM_NO_PROGRESS".into(), "1".into()),
        ],
        remove: Vec::new(),
    };
    eprintln!(
        "bench: pm: adding {UPDATE_MARKETS} marketplaces, installing {UPDATE_PLUGINS} plugins"
    );
    for k in 1..=UPDATE_MARKETS {
        pm_runner.run(&["marketplace", "add", &format!("acme/market-{k}")])?;
    }
    for id in &ids {
        pm_runner.run(&["install", id])?;
    }

    // The reference, in its own HOME with the same .gitconfig, installs the same plugins now,
    // so that the first publish below is new to both.
    let reference = if options.reference_plugins == 0 {
        Err("skipped (--no-reference)".to_string())
    } else {
        match reference_bin() {
            Err(reason) => Err(format!("unavailable ({reason})")),
            Ok(reference) => match reference_install(&reference, dir, &home, &ids) {
                Ok(runner) => Ok((reference, runner)),
                Err(error) => Err(format!("failed ({error:#})")),
            },
        }
    };
    if let Err(note) = &reference {
        eprintln!("bench: reference: {note}");
    }

    let mut pm_rounds = Vec::new();
    let mut clone_rounds = Vec::new();
    let mut reference_result = Err("not run".to_string());
    for round in 1..=UPDATE_ROUNDS {
        publish_new_versions(github, world, round)?;
        age_marketplaces(&pm_config.join("plugins/known_marketplaces.json"))?;
        let (elapsed, output) = pm_runner.run(&["update", "--all", "--json"])?;
        let summary: serde_json::Value = String::from_utf8_lossy(&output.stdout)
            .lines()
            .last()
            .and_then(|l| serde_json::from_str(l).ok())
            .context("pm update --all printed no summary line")?;
        if summary["updated"] != UPDATE_PLUGINS || summary["failed"] != 0 {
            bail!(
                "pm update --all round {round}: expected {UPDATE_PLUGINS} updated, got {summary}"
            );
        }
        pm_rounds.push(elapsed);
        let clone = parallel_shallow_clones(&home, &dir.join("clones").join(round.to_string()))?;
        clone_rounds.push(clone);
        eprintln!(
            "  round {round}: pm update --all {}, 5 × git clone --depth 1 in parallel {}",
            fmt_ms(elapsed),
            fmt_ms(clone)
        );
        if round == 1
            && let Ok((reference, runner)) = &reference
        {
            eprintln!("bench: reference: 30 × plugin update, one by one");
            reference_result = reference_updates(runner, &ids)
                .map(|(total, updated)| (reference.version.clone(), total, updated))
                .map_err(|e| format!("failed ({e:#})"));
        }
    }
    if let Err(note) = &reference {
        reference_result = Err(note.clone());
    }
    // Nothing new upstream, every marketplace asked again (ls-remote only).
    age_marketplaces(&pm_config.join("plugins/known_marketplaces.json"))?;
    let pm_noop = pm_runner.run(&["update", "--all"]).ok().map(|(d, _)| d);
    Ok(UpdateMeasured {
        pm_rounds,
        clone_rounds,
        pm_noop,
        reference: reference_result,
    })
}

/// The reference adds the five marketplaces and installs `ids` in a HOME of its own.
fn reference_install(
    reference: &Reference,
    dir: &Path,
    world_home: &Path,
    ids: &[String],
) -> Result<Runner> {
    let root = dir.join("reference");
    for sub in ["home", "work"] {
        std::fs::create_dir_all(root.join(sub))?;
    }
    std::fs::copy(world_home.join(".gitconfig"), root.join("home/.gitconfig"))
        .context("copying the fake GitHub's .gitconfig")?;
    let mut envs: Vec<(String, OsString)> = reference
        .env()
        .into_iter()
        .map(|(k, v)| (k.to_string(), OsString::from(v)))
        .collect();
    envs.push(("HOME".into(), root.join("home").into_os_string()));
    let runner = Runner {
        label: "reference",
        program: reference.bin.clone(),
        prefix: vec!["plugin".into()],
        cwd: root.join("work"),
        envs,
        remove: vec!["CLAUDE_CONFIG_DIR"],
    };
    eprintln!(
        "bench: reference: adding {UPDATE_MARKETS} marketplaces, installing {} plugins (~1 s each)",
        ids.len()
    );
    for k in 1..=UPDATE_MARKETS {
        runner.run(&["marketplace", "add", &format!("acme/market-{k}")])?;
    }
    for id in ids {
        runner.run(&["install", id])?;
    }
    Ok(runner)
}

/// `claude plugin update <id>` for each id, one after another, after ageing the reference's
/// marketplaces; the total wall time and how many said they updated.
fn reference_updates(runner: &Runner, ids: &[String]) -> Result<(Duration, usize)> {
    let known = runner
        .envs
        .iter()
        .find(|(k, _)| k == "HOME")
        .map(|(_, v)| PathBuf::from(v).join(".claude/plugins/known_marketplaces.json"))
        .context("no HOME")?;
    age_marketplaces(&known)?;
    let mut total = Duration::ZERO;
    let mut updated = 0;
    for id in ids {
        let (elapsed, output) = runner.run(&["update", id])?;
        total += elapsed;
        if String::from_utf8_lossy(&output.stdout).contains("updated from") {
            updated += 1;
        }
    }
    Ok((total, updated))
}

/// Prints the update world's table; returns whether the target was missed.
fn print_update_report(m: &UpdateMeasured) -> bool {
    let pm = median(&m.pm_rounds).unwrap_or_default();
    let clone = median(&m.clone_rounds).unwrap_or_default();
    // Each round's pm run and clones run back to back: their ratio is what the machine's load
    // changes least. The verdict is the median of those ratios.
    let mut ratios: Vec<f64> = m
        .pm_rounds
        .iter()
        .zip(&m.clone_rounds)
        .map(|(p, c)| p.as_secs_f64() / c.as_secs_f64().max(f64::EPSILON))
        .collect();
    ratios.sort_by(f64::total_cmp);
    let ratio = match ratios.len() {
        0 => f64::NAN,
        n if n % 2 == 1 => ratios[n / 2],
        n => (ratios[n / 2 - 1] + ratios[n / 2]) / 2.0,
    };
    let ok = ratio <= TARGET_UPDATE_RATIO;
    let all = |list: &[Duration]| {
        list.iter()
            .map(|d| fmt_ms(*d))
            .collect::<Vec<_>>()
            .join(", ")
    };
    println!(
        "pm bench --world update: {UPDATE_PLUGINS} plugins from {UPDATE_MARKETS} git marketplaces on a fake GitHub (smart HTTP, loopback); {}",
        cpu_description()
    );
    println!();
    let rows: Vec<[String; 4]> = vec![
        [
            format!(
                "pm update --all, {UPDATE_PLUGINS} updated (median of {})",
                m.pm_rounds.len()
            ),
            fmt_ms(pm),
            String::new(),
            String::new(),
        ],
        [
            format!(
                "{UPDATE_MARKETS} × git clone --depth 1 in parallel (median of {})",
                m.clone_rounds.len()
            ),
            fmt_ms(clone),
            String::new(),
            String::new(),
        ],
        [
            format!(
                "pm update --all ÷ clones, same round (median of {})",
                ratios.len()
            ),
            format!("×{ratio:.2}"),
            format!("≤ ×{TARGET_UPDATE_RATIO:.2}"),
            if ok { "PASS" } else { "FAIL" }.into(),
        ],
        [
            "pm update --all, nothing new (ls-remote only)".into(),
            m.pm_noop.map(fmt_ms).unwrap_or_else(|| "—".into()),
            String::new(),
            String::new(),
        ],
        match &m.reference {
            Ok((version, total, updated)) => [
                format!("reference {version}: {UPDATE_PLUGINS} × claude plugin update, one by one"),
                format!("{:.1} s ({updated} updated)", total.as_secs_f64()),
                "reported".into(),
                String::new(),
            ],
            Err(note) => [
                "reference: 30 × claude plugin update".into(),
                note.clone(),
                String::new(),
                String::new(),
            ],
        },
    ];
    let header = ["measure", "time", "target", "result"].map(String::from);
    let mut widths = header.clone().map(|h| h.chars().count());
    for row in &rows {
        for (i, cell) in row.iter().enumerate() {
            widths[i] = widths[i].max(cell.chars().count());
        }
    }
    let line = |cells: &[String; 4]| {
        let mut text = String::new();
        for (i, cell) in cells.iter().enumerate() {
            text.push_str(cell);
            if i + 1 < cells.len() {
                text.push_str(&" ".repeat(widths[i] - cell.chars().count() + 2));
            }
        }
        println!("{}", text.trim_end());
    };
    line(&header);
    line(&widths.map(|w| "-".repeat(w)));
    for row in &rows {
        line(row);
    }
    println!();
    println!(
        "rounds: pm {}; clones {}",
        all(&m.pm_rounds),
        all(&m.clone_rounds)
    );
    println!();
    println!(
        "{}",
        if ok {
            "bench: all targets met"
        } else {
            "bench: some targets were missed"
        }
    );
    !ok
}

/// The end of a run: the throwaway directory kept (`--keep`, and said where) or removed; exit 1
/// when a target was missed and `--check` was given.
fn finish(options: &Options, dir: &Path, failed: bool) {
    if options.keep {
        eprintln!("bench: kept {}", dir.display());
    } else {
        let _ = std::fs::remove_dir_all(dir);
    }
    if failed && options.check {
        std::process::exit(1);
    }
}
