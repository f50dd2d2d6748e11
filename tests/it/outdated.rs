//! `pm outdated`: the same fetching as `pm update --all`, no writes to plugin state; one JSON
//! line per outdated record and a summary; exit 1 when something is outdated (for CI), 0 when
//! nothing is.

use crate::support::{
    TestContext, age_marketplace, json_lines, rev_parse, set_version, snapshot, write_file,
};
use serde_json::{Value, json};

#[test]
fn outdated_exits_1_when_something_is_outdated_and_writes_no_plugin_state() {
    let ctx = TestContext::new();
    ctx.github_over_files();
    let src = ctx.simple_marketplace("src-m", "gm");
    ctx.publish(&src, "acme/m");
    ctx.ok(&["marketplace", "add", "acme/m"]);
    ctx.ok(&["install", "p1@gm"]);
    ctx.ok(&["install", "p2@gm", "--scope", "project"]);
    let installed_commit = ctx.installed()["plugins"]["p1@gm"][0]["gitCommitSha"].clone();

    // Nothing new: one summary line, exit 0.
    let out = ctx.run(&["outdated", "--json"]);
    out.assert_ok();
    assert_eq!(
        out.json(),
        json!({
            "command": "outdated",
            "outcome": "ok",
            "outdated": 0,
            "upToDate": 2,
            "failed": 0,
            "message": "0 outdated, 2 up to date"
        })
    );
    let out = ctx.ok(&["outdated"]);
    assert!(out.stdout.is_empty(), "{out}");
    out.stderr_has(&["0 outdated, 2 up to date"]);

    // A new version of p1 upstream; the clone is older than 30 s, so outdated refreshes it.
    set_version(&src.join("plugins/p1"), "1.1.0");
    let bare = ctx.publish(&src, "acme/m");
    age_marketplace(&ctx, "gm");
    let installed_before =
        fs_err::read(ctx.plugins().join("installed_plugins.json")).expect("read");
    let cache_before = snapshot(&ctx.cache());
    let out = ctx.run(&["outdated", "--json"]);
    out.assert_fails(1);
    let lines = json_lines(&out);
    assert_eq!(lines.len(), 2, "{out}");
    let head = rev_parse(&bare, "HEAD");
    assert_eq!(
        lines[0],
        json!({
            "command": "outdated",
            "pluginId": "p1@gm",
            "scope": "user",
            "installedVersion": "1.0.0",
            "availableVersion": "1.1.0",
            "installedCommit": installed_commit,
            "availableCommit": head,
        })
    );
    assert_eq!(lines[1]["outcome"], "ok");
    assert_eq!(lines[1]["outdated"], 1);
    assert_eq!(lines[1]["upToDate"], 1);
    // The marketplace was refreshed (as update does); the records and the cache were not touched.
    assert_eq!(rev_parse(&ctx.marketplaces().join("gm"), "HEAD"), head);
    assert_eq!(
        fs_err::read(ctx.plugins().join("installed_plugins.json")).expect("read"),
        installed_before
    );
    assert_eq!(snapshot(&ctx.cache()), cache_before);

    // The human table on stdout, the count on stderr.
    let out = ctx.fails(&["outdated"], 1);
    let mut rows = out.stdout.lines();
    let header = rows.next().unwrap_or_default();
    for column in ["PLUGIN", "SCOPE", "INSTALLED", "AVAILABLE"] {
        assert!(header.contains(column), "{out}");
    }
    let row: Vec<&str> = rows.next().unwrap_or_default().split_whitespace().collect();
    assert_eq!(row, ["p1@gm", "user", "1.0.0", "1.1.0"], "{out}");
    assert!(rows.next().is_none(), "{out}");
    out.stderr_has(&["1 outdated, 1 up to date"]);

    // After the update, nothing is outdated.
    ctx.ok(&["update", "--all"]);
    ctx.ok(&["outdated"]);
}

#[test]
fn outdated_lists_new_content_under_the_same_version_with_commits() {
    let (ctx, market) = {
        let ctx = TestContext::new();
        let market = ctx.simple_marketplace("m1", "mk1");
        // A directory marketplace inside a git repository: commits count.
        crate::support::commit_all(&market, "one");
        ctx.ok(&["marketplace", "add", &market.to_string_lossy()]);
        (ctx, market)
    };
    ctx.ok(&["install", "p2@mk1"]);
    let old = ctx.installed()["plugins"]["p2@mk1"][0]["gitCommitSha"].clone();
    write_file(&market.join("plugins/p2/commands/hello.md"), "changed\n");
    let new = crate::support::commit_all(&market, "two");

    let out = ctx.run(&["outdated", "--json"]);
    out.assert_fails(1);
    let lines = json_lines(&out);
    assert_eq!(lines[0]["pluginId"], "p2@mk1", "{out}");
    assert_eq!(lines[0]["installedVersion"], "0.5.0");
    assert_eq!(lines[0]["availableVersion"], "0.5.0");
    assert_eq!(lines[0]["installedCommit"], old);
    assert_eq!(lines[0]["availableCommit"], Value::from(new.clone()));
    let out = ctx.fails(&["outdated"], 1);
    out.stdout_has(&[&format!("0.5.0 ({})", &new[..12])]);

    // A commit that changes another plugin only: p2's content is the same, not outdated.
    ctx.ok(&["update", "p2@mk1"]);
    write_file(&market.join("plugins/p1/commands/other.md"), "other\n");
    crate::support::commit_all(&market, "three");
    ctx.ok(&["outdated"]);
}

#[test]
fn outdated_reports_a_plugin_it_cannot_check() {
    let ctx = TestContext::new();
    let market = ctx.simple_marketplace("m1", "mk1");
    ctx.ok(&["marketplace", "add", &market.to_string_lossy()]);
    ctx.ok(&["install", "p1@mk1"]);
    ctx.ok(&["install", "p2@mk1"]);
    crate::support::write_marketplace(
        &market,
        "mk1",
        json!([{"name": "p2", "source": "./plugins/p2", "version": "0.6.0"}]),
    );
    let out = ctx.run(&["outdated", "--json"]);
    out.assert_fails(1);
    let lines = json_lines(&out);
    assert_eq!(lines.len(), 3, "{out}");
    let failed = lines
        .iter()
        .find(|l| l["outcome"] == "failed" && l.get("pluginId").is_some())
        .unwrap_or_else(|| panic!("no failed line\n{out}"));
    assert_eq!(failed["command"], "outdated");
    assert_eq!(failed["pluginId"], "p1@mk1");
    assert_eq!(failed["failureCode"], "not_found");
    let p2 = lines
        .iter()
        .find(|l| l["pluginId"] == "p2@mk1")
        .unwrap_or_else(|| panic!("no p2 line\n{out}"));
    assert_eq!(p2["availableVersion"], "0.6.0");
    let summary = &lines[2];
    assert_eq!(summary["outcome"], "failed");
    assert_eq!(summary["outdated"], 1);
    assert_eq!(summary["failed"], 1);
    out.stderr_has(&["error: p1@mk1 (user)", "1 could not be checked"]);
}
