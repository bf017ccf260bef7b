//! The admin CLI against a real gateway: `vhgate policy keygen`, `build --signing-key`,
//! `check`, `push`, `approve`, `reject`, `list`, `impact`, `activate` (rollback to the starting
//! policy) and `vhgate admin registry propose | list | approve | reject | impact`, run as the
//! real binary over mTLS with dev tokens for two administrators; and `policy test [-v]` and
//! `policy check` on copies of the shipped policies (a failing Rego test named with the
//! expression that failed; a bundle that grants a category on an empty or unregistered legal
//! ground refused).

mod common;

use std::path::{Path, PathBuf};
use std::process::Output;

use common::{Backend, Env};
use serde_json::json;
use vhgate::config::BundleSigningConfig;

/// Runs the binary off the async workers (the gateway under test runs on them).
async fn vhgate(args: Vec<String>) -> Output {
    tokio::task::spawn_blocking(move || {
        std::process::Command::new(common::vhgate_bin())
            .args(&args)
            .env_remove("VHGATE_CONFIG")
            .env("RUST_LOG", "warn")
            .output()
            .expect("run vhgate")
    })
    .await
    .expect("join")
}

fn text(o: &Output) -> String {
    format!(
        "status {:?}\nstdout:\n{}\nstderr:\n{}",
        o.status.code(),
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

fn s(p: &Path) -> String {
    p.display().to_string()
}

/// `policy build` refuses a module that does not parse (a test module too), naming the file,
/// and writes no bundle.
#[tokio::test]
async fn policy_build_refuses_rego_that_does_not_parse() {
    let tmp = tempfile::tempdir().expect("temp dir");
    for broken in ["kapot.rego", "kapot_test.rego"] {
        let dir = policy_dir(tmp.path(), broken);
        std::fs::write(dir.join(broken), "package vhgate.kapot\n\nx := {\n").expect("write");
        let bundle = tmp.path().join(format!("{broken}.tar.gz"));
        let out = vhgate(vec![
            "policy".into(),
            "build".into(),
            s(&dir),
            "--out".into(),
            s(&bundle),
        ])
        .await;
        assert!(!out.status.success(), "{}", text(&out));
        assert!(
            text(&out).contains(broken) && text(&out).contains("does not parse"),
            "{}",
            text(&out)
        );
        assert!(!bundle.exists(), "a bundle was written");
    }
}

/// `dev token` refuses names the convenant does not know and lists the valid ones.
#[tokio::test]
async fn dev_token_lists_valid_names_for_an_unknown_one() {
    let policies = s(&Path::new(env!("CARGO_MANIFEST_DIR")).join("policies"));
    for (partner, role, purpose, expect) in [
        (
            "politi",
            "professional",
            "casusoverleg",
            "valid: politie, om",
        ),
        ("politie", "stagiair", "casusoverleg", "valid: "),
        (
            "politie",
            "professional",
            "nieuwsgierigheid",
            "casusoverleg",
        ),
    ] {
        let out = vhgate(
            [
                "dev",
                "token",
                "--partner",
                partner,
                "--role",
                role,
                "--purpose",
                purpose,
                "--policies",
                &policies,
            ]
            .map(String::from)
            .to_vec(),
        )
        .await;
        assert!(!out.status.success(), "{}", text(&out));
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            stderr.contains(expect),
            "{partner}/{role}/{purpose}: {stderr}"
        );
        assert!(!stderr.contains("stack backtrace"), "{stderr}");
    }
}

/// A user's error is one line naming what it concerns (the server and the real cause, the
/// configuration key and file), never a stack backtrace, even with RUST_BACKTRACE set.
#[test]
fn user_errors_name_their_cause_without_a_backtrace() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let bad_config = tmp.path().join("vhgate.toml");
    std::fs::write(&bad_config, "[server]\nlisten = \"nergens\"\n").expect("config");
    // (arguments, environment, what the one line must say)
    type Case<'a> = (Vec<String>, Vec<(&'a str, String)>, Vec<&'a str>);
    let cases: [Case; 2] = [
        (
            vec!["log".into(), "verify".into()],
            vec![(
                "VHGATE_DATABASE__URL",
                "postgres://postgres@127.0.0.1:1/test".into(),
            )],
            vec!["PostgreSQL at 127.0.0.1:1", "refused"],
        ),
        (
            vec![
                "log".into(),
                "verify".into(),
                "--config".into(),
                s(&bad_config),
            ],
            vec![],
            vec!["server.listen", "vhgate.toml"],
        ),
    ];
    for (args, env, expect) in cases {
        let out = std::process::Command::new(common::vhgate_bin())
            .args(&args)
            .env_remove("VHGATE_CONFIG")
            .env("RUST_BACKTRACE", "1")
            .envs(env)
            .output()
            .expect("run vhgate");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{args:?}");
        for e in expect {
            assert!(stderr.contains(e), "{args:?}: {stderr}");
        }
        assert!(
            !stderr.contains("stack backtrace") && !stderr.contains("Stack backtrace"),
            "{args:?}: {stderr}"
        );
        assert_eq!(stderr.trim().lines().count(), 1, "{args:?}: {stderr}");
    }
}

/// Every test of a policy directory as `data.<package>.<rule>`, with its file.
fn tests_in(dir: &Path) -> Vec<(String, String)> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir(dir).expect("dir") {
        let path = entry.expect("entry").path();
        if !path.to_string_lossy().ends_with("_test.rego") {
            continue;
        }
        let source = std::fs::read_to_string(&path).expect("read");
        let package = source
            .lines()
            .find_map(|l| l.strip_prefix("package "))
            .expect("package");
        for line in source.lines().filter(|l| l.starts_with("test_")) {
            let rule: String = line
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect();
            let name = format!("data.{package}.{rule}");
            if !found.iter().any(|(n, _)| *n == name) {
                found.push((name, path.display().to_string()));
            }
        }
    }
    found
}

/// `policy test -v` on a copy of the policies with one test made to fail: every test named with
/// PASS or FAIL under its file, and the failing expression with its file and line; without
/// `-v` the output is the failures and the count. Exit 1 either way.
#[tokio::test]
async fn policy_test_verbose_lists_every_test_and_the_failing_expression() {
    let dir = common::policies_copy(|_| {});
    // One test made to fail on a line of its own, after a statement that binds `w`.
    let file = dir.path().join("proportionaliteit_test.rego");
    let source = std::fs::read_to_string(&file).expect("read");
    let anchor = "test_blank_ground_in_convenant_is_no_ground if {\n\tconv := object.union(";
    assert!(source.contains(anchor), "the test to break moved");
    let binding =
        "\tw := proportionaliteit.withhold with input as fx.read with data.convenant as conv\n";
    let start = source.find(anchor).expect("anchor");
    let at = start + source[start..].find(binding).expect("binding") + binding.len();
    let broken = format!("{}\tcount(w) == 0\n{}", &source[..at], &source[at..]);
    let line = broken[..at].lines().count() + 1;
    std::fs::write(&file, broken).expect("write");
    let failing = "data.vhgate.proportionaliteit_test.test_blank_ground_in_convenant_is_no_ground";
    let tests = tests_in(dir.path());
    assert!(tests.len() > 250, "{}", tests.len());

    let out = vhgate(args(&["policy", "test", "-v", &s(dir.path())])).await;
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    let (failures, summary) = stdout.split_once("SUMMARY\n").expect("a SUMMARY section");
    let rule = format!("{}\n", "-".repeat(80));
    let summary = summary.strip_prefix(&rule).expect("a rule under SUMMARY");
    // The failure: the test, then the expression with its file and line, and what `w` was.
    assert!(failures.starts_with("FAILURES\n"), "{stdout}");
    let detail = &failures[failures
        .find(&format!("{failing}: FAIL ("))
        .expect("failing test named")..];
    let location = format!("  {}:{line}:\n    count(w) == 0\n      w = ", s(&file));
    assert!(detail.contains(&location), "{location:?} in:\n{detail}");
    // The summary: every test under its file, with PASS or FAIL and a duration.
    for (name, test_file) in &tests {
        let outcome = if name == failing { "FAIL" } else { "PASS" };
        let entry = format!("{name}: {outcome} (");
        let at = summary
            .find(&entry)
            .unwrap_or_else(|| panic!("{entry} missing in:\n{summary}"));
        let heading = summary[..at]
            .rfind("\n\n")
            .map_or(&summary[..at], |i| &summary[i + 2..at]);
        assert!(
            heading.starts_with(&format!("{test_file}:\n")),
            "{name} under {heading:?}"
        );
    }
    let total = tests.len();
    assert!(
        summary.ends_with(&format!("PASS: {}/{total}\nFAIL: 1/{total}\n", total - 1)),
        "{summary}"
    );

    // Without -v: the failures and the count, as before.
    let out = vhgate(args(&["policy", "test", &s(dir.path())])).await;
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        stdout,
        format!(
            "FAIL {} test_blank_ground_in_convenant_is_no_ground: undefined (a condition failed)\npolicy: {} passed, 1 failed\n",
            s(&file),
            total - 1
        )
    );
}

/// Builds the policies in `dir` into a bundle and runs `policy check` on it.
async fn check(dir: &Path) -> Output {
    let bundle = dir.join("bundle.tar.gz");
    let out = vhgate(args(&["policy", "build", &s(dir), "--out", &s(&bundle)])).await;
    assert!(out.status.success(), "{}", text(&out));
    vhgate(args(&["policy", "check", &s(&bundle)])).await
}

fn args(a: &[&str]) -> Vec<String> {
    a.iter().map(|s| s.to_string()).collect()
}

/// `policy check` refuses a bundle whose convenant grants a sensitive category on an empty
/// ground, on a ground id outside the register, or on a registered ground that does not cover
/// it, naming partner type, category and ground (exit 1); the shipped policies pass.
#[tokio::test]
async fn policy_check_refuses_a_grant_on_an_empty_or_unregistered_ground() {
    let shipped_dir = common::policies_copy(|_| {});
    let shipped = check(shipped_dir.path()).await;
    assert!(shipped.status.success(), "{}", text(&shipped));
    assert!(
        String::from_utf8_lossy(&shipped.stdout).contains("is valid"),
        "{}",
        text(&shipped)
    );

    for (ground, expect) in [
        (json!(""), "on an empty legal ground".to_string()),
        (json!("   "), "on an empty legal ground".to_string()),
        (
            json!("avg_art9_zorg"),
            "on ground \"avg_art9_zorg\", which is not in the register of legal grounds"
                .to_string(),
        ),
        // A registered ground, but one for ordinary data (AVG art. 6), not for health data.
        (
            json!("wgbo_dossier"),
            "on ground \"wgbo_dossier\", which does not cover bijzonder".to_string(),
        ),
    ] {
        let dir = common::policies_with_grant("ggz", "bijzonder", ground.clone());
        let out = check(dir.path()).await;
        assert_eq!(out.status.code(), Some(1), "{ground}: {}", text(&out));
        let stdout = String::from_utf8_lossy(&out.stdout);
        let line = stdout
            .lines()
            .find(|l| l.starts_with("INVALID convenant: partner_types.ggz.categories.bijzonder: "))
            .unwrap_or_else(|| panic!("{ground}: no grounds problem in\n{stdout}"));
        assert!(
            line.contains("partner type ggz is granted sensitive category bijzonder")
                && line.contains(&expect),
            "{ground}: {line}"
        );
    }
}

/// A copy of the shipped policies with another convenant version (a new revision).
fn policy_dir(root: &Path, version: &str) -> PathBuf {
    let dir = root.join(format!("policies-{version}"));
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("policies");
    std::fs::create_dir_all(dir.join("data")).expect("dir");
    for entry in std::fs::read_dir(&src).expect("policies") {
        let path = entry.expect("entry").path();
        if path.extension().is_some_and(|e| e == "rego") {
            std::fs::copy(&path, dir.join(path.file_name().expect("name"))).expect("copy");
        }
    }
    let data = std::fs::read_to_string(src.join("data/convenant.json"))
        .expect("data")
        .replacen(
            "\"version\": \"2026-1\"",
            &format!("\"version\": \"{version}\""),
            1,
        );
    std::fs::write(dir.join("data/convenant.json"), data).expect("write");
    dir
}

async fn sign_push_approve(backend: Backend) {
    let tmp = tempfile::tempdir().expect("tmp");
    let key = tmp.path().join("bundle-signing.pem");
    let out = vhgate(vec![
        "policy".into(),
        "keygen".into(),
        "--alg".into(),
        "ES256".into(),
        "--out".into(),
        s(&key),
    ])
    .await;
    assert!(out.status.success(), "{}", text(&out));
    let public = key.with_extension("pub.pem");
    let public_pem = std::fs::read_to_string(&public).expect("public key");

    let Some(env) = Env::start_with(backend, |c| {
        c.policy.signing = BundleSigningConfig {
            required: true,
            scope: None,
            keys: vec![vhgate::policy::signing::key_config(
                "vh-cli",
                "ES256",
                &public_pem,
            )],
        };
    })
    .await
    else {
        return;
    };

    // Build and sign, then check with the same keys as the gateway.
    let bundle = tmp.path().join("bundle.tar.gz");
    let out = vhgate(vec![
        "policy".into(),
        "build".into(),
        s(&policy_dir(tmp.path(), "2026-cli")),
        "--out".into(),
        s(&bundle),
        "--signing-key".into(),
        s(&key),
        "--signing-alg".into(),
        "ES256".into(),
        "--key-id".into(),
        "vh-cli".into(),
    ])
    .await;
    assert!(out.status.success(), "{}", text(&out));
    let config = tmp.path().join("vhgate.toml");
    std::fs::write(
        &config,
        format!(
            "[policy.signing]\nrequired = true\nkeys = [{{ id = \"vh-cli\", algorithm = \"ES256\", public_key_file = {:?} }}]\n",
            s(&public)
        ),
    )
    .expect("config");
    let out = vhgate(vec![
        "policy".into(),
        "check".into(),
        s(&bundle),
        "--config".into(),
        s(&config),
    ])
    .await;
    assert!(out.status.success(), "{}", text(&out));
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("signature valid (key vh-cli)"),
        "{}",
        text(&out)
    );

    let admin = |sub: &str| admin_args(&env, sub);
    let cmd = |words: &[&str], sub: &str| as_admin(&env, words, sub);

    // Alice pushes; the same bundle unsigned would be refused (signatures are required).
    let unsigned = tmp.path().join("unsigned.tar.gz");
    std::fs::write(&unsigned, common::candidate_bundle("2026-unsigned")).expect("write");
    let out = vhgate(cmd(&["policy", "push", &s(&unsigned)], "beheerder-alice")).await;
    assert!(!out.status.success(), "{}", text(&out));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("HTTP 400"),
        "{}",
        text(&out)
    );
    let out = vhgate(cmd(&["policy", "push", &s(&bundle)], "beheerder-alice")).await;
    assert!(out.status.success(), "{}", text(&out));
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    let json_start = stdout.find('{').expect("record json");
    let record: serde_json::Value = serde_json::from_str(&stdout[json_start..]).expect("json");
    assert_eq!(record["status"], "proposed");
    let rev = record["revision"].as_str().expect("revision").to_string();

    // Alice cannot approve her own proposal: a readable problem, exit status 1.
    let out = vhgate(cmd(&["policy", "approve", &rev], "beheerder-alice")).await;
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("HTTP 403") && stderr.contains("four-eyes"),
        "{}",
        text(&out)
    );

    // No default identity: without --sub nothing is sent and nothing is approved.
    let mut no_sub: Vec<String> = ["policy", "approve", rev.as_str()]
        .iter()
        .map(|w| w.to_string())
        .collect();
    no_sub.extend(
        admin("unused")
            .into_iter()
            .filter(|a| a != "--sub" && a != "unused"),
    );
    let out = vhgate(no_sub).await;
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("--sub"),
        "{}",
        text(&out)
    );
    assert_ne!(env.gateway().policy().revision(), rev);

    // Bob approves: active.
    let out = vhgate(cmd(&["policy", "approve", &rev], "beheerder-bob")).await;
    assert!(out.status.success(), "{}", text(&out));
    assert!(
        String::from_utf8_lossy(&out.stdout).contains(&format!("revision {rev} is active")),
        "{}",
        text(&out)
    );
    assert_eq!(env.gateway().policy().revision(), rev);

    // A second proposal, rejected with a reason; the list shows both.
    let second = tmp.path().join("second.tar.gz");
    let out = vhgate(vec![
        "policy".into(),
        "build".into(),
        s(&policy_dir(tmp.path(), "2026-cli-2")),
        "--out".into(),
        s(&second),
        "--signing-key".into(),
        s(&key),
        "--key-id".into(),
        "vh-cli".into(),
    ])
    .await;
    assert!(out.status.success(), "{}", text(&out));
    let out = vhgate(cmd(&["policy", "push", &s(&second)], "beheerder-bob")).await;
    assert!(out.status.success(), "{}", text(&out));
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    let record: serde_json::Value =
        serde_json::from_str(&stdout[stdout.find('{').expect("json")..]).expect("json");
    let rev2 = record["revision"].as_str().expect("revision").to_string();
    let out = vhgate(cmd(
        &[
            "policy",
            "reject",
            &rev2,
            "--reason",
            "niet afgestemd met de partners",
        ],
        "beheerder-alice",
    ))
    .await;
    assert!(out.status.success(), "{}", text(&out));
    let out = vhgate(cmd(&["policy", "list"], "beheerder-alice")).await;
    assert!(out.status.success(), "{}", text(&out));
    let listing = String::from_utf8_lossy(&out.stdout);
    assert!(
        listing
            .lines()
            .any(|l| l.starts_with(&rev) && l.contains("active")),
        "{listing}"
    );
    assert!(
        listing.lines().any(|l| l.starts_with(&rev2)
            && l.contains("rejected")
            && l.contains("niet afgestemd")),
        "{listing}"
    );

    // Bad arguments fail before any request.
    let out = vhgate(cmd(
        &["policy", "impact", &rev, "--since", "gisteren"],
        "beheerder-alice",
    ))
    .await;
    assert!(!out.status.success(), "{}", text(&out));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("RFC 3339"),
        "{}",
        text(&out)
    );
    env.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_sign_push_approve() {
    sign_push_approve(Backend::Sqlite).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_sign_push_approve() {
    sign_push_approve(Backend::Postgres).await
}

/// `--url`, `--dev-partner veiligheidshuis --sub SUB` and the test PKI, for the admin commands.
fn admin_args(env: &Env, sub: &str) -> Vec<String> {
    vec![
        "--url".into(),
        format!("https://localhost:{}", env.addr.port()),
        "--dev-partner".into(),
        "veiligheidshuis".into(),
        "--sub".into(),
        sub.into(),
        "--certs".into(),
        s(&common::pki().layout.dir),
    ]
}

/// `words` followed by the admin arguments of administrator `sub`.
fn as_admin(env: &Env, words: &[&str], sub: &str) -> Vec<String> {
    let mut v: Vec<String> = words.iter().map(|w| w.to_string()).collect();
    v.extend(admin_args(env, sub));
    v
}

/// Runs the binary with `stdin` as its standard input.
async fn vhgate_with_input(args: Vec<String>, stdin: String) -> Output {
    tokio::task::spawn_blocking(move || {
        use std::io::Write;
        let mut child = std::process::Command::new(common::vhgate_bin())
            .args(&args)
            .env_remove("VHGATE_CONFIG")
            .env("RUST_LOG", "warn")
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("run vhgate");
        child
            .stdin
            .take()
            .expect("stdin")
            .write_all(stdin.as_bytes())
            .expect("write stdin");
        child.wait_with_output().expect("wait")
    })
    .await
    .expect("join")
}

/// The change id from `proposed registry change ID`.
fn proposed_id(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout)
        .lines()
        .find_map(|l| l.strip_prefix("proposed registry change "))
        .unwrap_or_else(|| panic!("no change id: {}", text(o)))
        .trim()
        .to_string()
}

/// `admin registry propose | list | approve | reject | impact` with two administrators:
/// the proposal prints its id and its impact, the proposer cannot approve, a second
/// administrator applies it, another proposal is rejected with a reason.
async fn registry_four_eyes_round_trip(backend: Backend) {
    let Some(env) = Env::start(backend).await else {
        return;
    };
    let tmp = tempfile::tempdir().expect("tmp");
    // Two decisions of politie to replay.
    let politie = env.client("politie");
    let pt = politie.token("professional", "casusoverleg");
    let r = politie
        .read_person(&env, &pt, env.ids.oss_case, env.ids.oss_youth)
        .await;
    assert_eq!(r.status, reqwest::StatusCode::OK, "{}", r.body);
    let r = politie.lookup(&env, &pt, env.ids.unknown_bsn).await;
    assert_eq!(r.status, reqwest::StatusCode::OK, "{}", r.body);

    // A bad file fails before any request.
    let bad = tmp.path().join("bad.json");
    std::fs::write(&bad, r#"[{"kind": "drop_table"}]"#).expect("write");
    let out = vhgate(as_admin(
        &env,
        &["admin", "registry", "propose", &s(&bad)],
        "beheerder-alice",
    ))
    .await;
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(
        text(&out).contains("not a registry change"),
        "{}",
        text(&out)
    );

    // Alice proposes taking politie out (a bare list of operations, the note by flag).
    let change = tmp.path().join("politie-uit.json");
    std::fs::write(
        &change,
        serde_json::json!([{"kind": "upsert_partner", "oin": politie.oin, "name": "Politie",
                            "partner_type": "politie", "active": false}])
        .to_string(),
    )
    .expect("write");
    let out = vhgate(as_admin(
        &env,
        &[
            "admin",
            "registry",
            "propose",
            &s(&change),
            "--note",
            "convenant opgezegd",
        ],
        "beheerder-alice",
    ))
    .await;
    assert!(out.status.success(), "{}", text(&out));
    let id = proposed_id(&out);
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(
        stdout.contains(&format!(
            "upsert partner {}: type politie, active false",
            politie.oin
        )),
        "{stdout}"
    );
    let summary = stdout
        .lines()
        .find(|l| l.starts_with("impact: "))
        .unwrap_or_else(|| panic!("no impact line: {stdout}"));
    assert!(
        summary.starts_with("impact: 2 of 2 decisions change — politie: 2 permit→deny, "),
        "{summary}"
    );

    // The same preview in detail: the summary line first, then the report.
    let out = vhgate(as_admin(
        &env,
        &["admin", "registry", "impact", &id, "--last", "2"],
        "beheerder-bob",
    ))
    .await;
    assert!(out.status.success(), "{}", text(&out));
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    let (first, rest) = stdout.split_once('\n').expect("lines");
    assert_eq!(first, summary);
    let report: serde_json::Value = serde_json::from_str(rest).expect("report json");
    assert_eq!(report["newly_denied_requests"], 2);
    assert_eq!(report["summary"], summary);

    // Pending in the list; the proposer cannot approve; no change yet.
    let out = vhgate(as_admin(
        &env,
        &["admin", "registry", "list", "--pending"],
        "beheerder-bob",
    ))
    .await;
    assert!(out.status.success(), "{}", text(&out));
    let listing = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(
        listing
            .lines()
            .any(|l| l.starts_with(&id) && l.contains("proposed") && l.contains("beheerder-alice")),
        "{listing}"
    );
    assert!(listing.contains("note: convenant opgezegd"), "{listing}");
    let out = vhgate(as_admin(
        &env,
        &["admin", "registry", "approve", &id],
        "beheerder-alice",
    ))
    .await;
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(
        text(&out).contains("HTTP 403") && text(&out).contains("four-eyes"),
        "{}",
        text(&out)
    );
    let r = politie
        .read_person(&env, &pt, env.ids.oss_case, env.ids.oss_youth)
        .await;
    assert_eq!(r.status, reqwest::StatusCode::OK, "{}", r.body);

    // Bob approves: applied, politie is refused from now on.
    let out = vhgate(as_admin(
        &env,
        &["admin", "registry", "approve", &id],
        "beheerder-bob",
    ))
    .await;
    assert!(out.status.success(), "{}", text(&out));
    assert!(
        String::from_utf8_lossy(&out.stdout).contains(&format!("applied registry change {id}")),
        "{}",
        text(&out)
    );
    let r = politie
        .read_person(&env, &pt, env.ids.oss_case, env.ids.oss_youth)
        .await;
    assert_eq!(r.status, reqwest::StatusCode::FORBIDDEN, "{}", r.body);

    // A second proposal from standard input, rejected by the other administrator with a reason.
    let back = serde_json::json!({"changes": [{"kind": "upsert_partner", "oin": politie.oin,
        "name": "Politie", "partner_type": "politie"}], "note": "terug"});
    let out = vhgate_with_input(
        as_admin(
            &env,
            &["admin", "registry", "propose", "-", "--no-impact"],
            "beheerder-bob",
        ),
        back.to_string(),
    )
    .await;
    assert!(out.status.success(), "{}", text(&out));
    let second = proposed_id(&out);
    assert!(
        !String::from_utf8_lossy(&out.stdout).contains("impact: "),
        "{}",
        text(&out)
    );
    let out = vhgate(as_admin(
        &env,
        &[
            "admin",
            "registry",
            "reject",
            &second,
            "--reason",
            "eerst het addendum",
        ],
        "beheerder-alice",
    ))
    .await;
    assert!(out.status.success(), "{}", text(&out));

    // The list shows both decisions, readably and as JSON; bad ids fail before any request.
    let out = vhgate(as_admin(
        &env,
        &["admin", "registry", "list"],
        "beheerder-alice",
    ))
    .await;
    assert!(out.status.success(), "{}", text(&out));
    let listing = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(
        listing.lines().any(|l| l.starts_with(&id)
            && l.contains("applied")
            && l.contains("approved by")
            && l.contains("beheerder-bob")),
        "{listing}"
    );
    assert!(
        listing.lines().any(|l| l.starts_with(&second)
            && l.contains("rejected")
            && l.contains("(eerst het addendum)")),
        "{listing}"
    );
    let out = vhgate(as_admin(
        &env,
        &["admin", "registry", "list", "--json"],
        "beheerder-alice",
    ))
    .await;
    assert!(out.status.success(), "{}", text(&out));
    let list: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(list.as_array().map(Vec::len), Some(2), "{list}");
    let out = vhgate(as_admin(
        &env,
        &["admin", "registry", "approve", "../x"],
        "beheerder-bob",
    ))
    .await;
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(
        text(&out).contains("not a registry change id"),
        "{}",
        text(&out)
    );
    env.assert_log_intact().await;
    env.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_registry_four_eyes_round_trip() {
    registry_four_eyes_round_trip(Backend::Sqlite).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_registry_four_eyes_round_trip() {
    registry_four_eyes_round_trip(Backend::Postgres).await
}

/// The starting policy is in the history from the first start: after another bundle is
/// approved, `policy impact` previews it (summary line first) and `policy activate` rolls back.
async fn rollback_to_the_starting_policy(backend: Backend) {
    let Some(env) = Env::start(backend).await else {
        return;
    };
    let tmp = tempfile::tempdir().expect("tmp");
    let start = env.gateway().policy().revision().to_string();
    let out = vhgate(as_admin(&env, &["policy", "list"], "beheerder-alice")).await;
    assert!(out.status.success(), "{}", text(&out));
    assert!(
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .any(|l| l.starts_with(&start) && l.contains("active")),
        "{}",
        text(&out)
    );
    let bundle = tmp.path().join("next.tar.gz");
    std::fs::write(&bundle, common::candidate_bundle("2026-volgende")).expect("write");
    let out = vhgate(as_admin(
        &env,
        &["policy", "push", &s(&bundle)],
        "beheerder-alice",
    ))
    .await;
    assert!(out.status.success(), "{}", text(&out));
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    let record: serde_json::Value =
        serde_json::from_str(&stdout[stdout.find('{').expect("json")..]).expect("json");
    let next = record["revision"].as_str().expect("revision").to_string();
    let out = vhgate(as_admin(
        &env,
        &["policy", "approve", &next],
        "beheerder-bob",
    ))
    .await;
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(env.gateway().policy().revision(), next);

    // One decision under the new revision; the starting rules decide it the same way.
    let politie = env.client("politie");
    let pt = politie.token("professional", "casusoverleg");
    let r = politie
        .read_person(&env, &pt, env.ids.oss_case, env.ids.oss_youth)
        .await;
    assert_eq!(r.status, reqwest::StatusCode::OK, "{}", r.body);
    let out = vhgate(as_admin(
        &env,
        &["policy", "impact", &start],
        "beheerder-alice",
    ))
    .await;
    assert!(out.status.success(), "{}", text(&out));
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    assert_eq!(
        stdout.lines().next(),
        Some("impact: 0 of 1 decisions change"),
        "{stdout}"
    );

    let out = vhgate(as_admin(
        &env,
        &["policy", "activate", &start],
        "beheerder-alice",
    ))
    .await;
    assert!(out.status.success(), "{}", text(&out));
    assert!(
        String::from_utf8_lossy(&out.stdout).contains(&format!("revision {start} is active")),
        "{}",
        text(&out)
    );
    assert_eq!(env.gateway().policy().revision(), start);
    env.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_rollback_to_the_starting_policy() {
    rollback_to_the_starting_policy(Backend::Sqlite).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_rollback_to_the_starting_policy() {
    rollback_to_the_starting_policy(Backend::Postgres).await
}
