//! The console in a real browser: headless Chromium, driven over WebDriver (chromedriver and
//! the `fantoccini` crate), against the real gateway on SQLite. The browser holds the
//! veiligheidshuis client certificate in its own NSS database, trusts the dev CA there, and
//! picks the certificate without a dialog through the profile's `auto_select_certificate`
//! content setting (what the AutoSelectCertificateForUrls policy sets, scoped to this run's
//! profile and port). No bypass: the officer pastes a token into the sign-in form like a person
//! would. Every screen is saved under `target/browser-screens/`.
//!
//! Needs `chromium`, `chromedriver`, `certutil`, `pk12util` (Debian: chromium, chromium-driver,
//! libnss3-tools) and `openssl`. Missing: skipped with a message, unless `CI=true`.

mod common;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::{Env, Partner};
use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{json, Value};

/// The whole browser scenario must finish within this (the gateway start comes on top).
const SCENARIO_LIMIT: Duration = Duration::from_secs(45);
/// How long one screen may take to appear after a click.
const STEP_LIMIT: Duration = Duration::from_secs(10);

/// The external programs the browser run needs, found on `PATH`.
struct Tools {
    chromium: PathBuf,
    chromedriver: PathBuf,
    certutil: PathBuf,
    pk12util: PathBuf,
    openssl: PathBuf,
}

fn on_path(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(name))
        .find(|p| p.is_file())
}

impl Tools {
    /// The tools, or the names of the missing ones.
    fn find() -> Result<Tools, Vec<&'static str>> {
        let names = [
            "chromium",
            "chromedriver",
            "certutil",
            "pk12util",
            "openssl",
        ];
        let found: Vec<Option<PathBuf>> = names.iter().map(|n| on_path(n)).collect();
        let missing: Vec<&'static str> = names
            .iter()
            .zip(&found)
            .filter(|(_, p)| p.is_none())
            .map(|(n, _)| *n)
            .collect();
        if !missing.is_empty() {
            return Err(missing);
        }
        let mut it = found.into_iter().flatten();
        let mut next = || it.next().expect("checked above");
        Ok(Tools {
            chromium: next(),
            chromedriver: next(),
            certutil: next(),
            pk12util: next(),
            openssl: next(),
        })
    }
}

/// Runs a setup command; a failure names the command and shows its output.
fn run(program: &Path, args: &[&str]) {
    let out = Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", program.display()));
    assert!(
        out.status.success(),
        "{} {} failed ({}):\n{}{}",
        program.display(),
        args.join(" "),
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A HOME whose NSS database (`$HOME/.pki/nssdb`, where Chromium on Linux looks) holds the
/// partner's certificate and key and trusts the dev CA for TLS servers.
fn nss_home(tools: &Tools, dir: &Path, partner: &str) -> PathBuf {
    let pki = common::pki();
    let home = dir.join("home");
    let db_dir = home.join(".pki/nssdb");
    std::fs::create_dir_all(&db_dir).expect("nssdb dir");
    let db = format!("sql:{}", db_dir.display());
    run(&tools.certutil, &["-N", "-d", &db, "--empty-password"]);
    let p12 = dir.join(format!("{partner}.p12"));
    let cert = pki.layout.partner_cert(partner);
    let key = pki.layout.partner_key(partner);
    run(
        &tools.openssl,
        &[
            "pkcs12",
            "-export",
            "-in",
            &cert.display().to_string(),
            "-inkey",
            &key.display().to_string(),
            "-name",
            partner,
            "-out",
            &p12.display().to_string(),
            "-passout",
            "pass:",
        ],
    );
    run(
        &tools.pk12util,
        &["-i", &p12.display().to_string(), "-d", &db, "-W", ""],
    );
    run(
        &tools.certutil,
        &[
            "-A",
            "-d",
            &db,
            "-n",
            "vhgate-dev-ca",
            "-t",
            "C,,",
            "-i",
            &pki.layout.ca_cert().display().to_string(),
        ],
    );
    home
}

/// A fresh Chromium profile that sends the certificate to `origin` without asking (the
/// content setting the AutoSelectCertificateForUrls policy would set; without it headless
/// Chromium waits for a certificate dialog nobody answers).
fn profile(dir: &Path, origin: &str) -> PathBuf {
    let profile = dir.join("profile");
    std::fs::create_dir_all(profile.join("Default")).expect("profile dir");
    let prefs = json!({"profile": {"content_settings": {"exceptions": {"auto_select_certificate": {
        format!("{origin},*"): {"setting": {"filters": [{}]}}
    }}}}});
    std::fs::write(profile.join("Default/Preferences"), prefs.to_string()).expect("preferences");
    profile
}

/// chromedriver in its own process group: dropping it kills the group, so the browser it
/// started goes too, also when the test fails halfway.
struct Driver {
    child: Child,
    port: u16,
    log: PathBuf,
}

impl Driver {
    fn start(tools: &Tools, home: &Path, log: PathBuf) -> Driver {
        use std::os::unix::process::CommandExt;
        let mut child = Command::new(&tools.chromedriver)
            .args([
                "--port=0".to_string(),
                "--allowed-ips=127.0.0.1".into(),
                format!("--log-path={}", log.display()),
            ])
            .env("HOME", home)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .process_group(0)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", tools.chromedriver.display()));
        // It prints "ChromeDriver was started successfully on port N." once it listens.
        let stdout = child.stdout.take().expect("piped stdout");
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if let Some(port) = line
                    .strip_prefix("ChromeDriver was started successfully on port ")
                    .and_then(|p| p.trim_end_matches('.').parse::<u16>().ok())
                {
                    let _ = tx.send(port);
                }
            }
        });
        let mut driver = Driver {
            child,
            port: 0,
            log,
        };
        driver.port = rx.recv_timeout(STEP_LIMIT).unwrap_or_else(|_| {
            panic!(
                "chromedriver did not report its port within {STEP_LIMIT:?}; see {}",
                driver.log.display()
            )
        });
        driver
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        // The group id is the child's pid (process_group(0)); the browser inherited it.
        let _ = Command::new("kill")
            .args(["-KILL", "--", &format!("-{}", self.child.id())])
            .stderr(Stdio::null())
            .status();
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Where the screenshots go: `<target dir>/browser-screens`.
fn screens_dir() -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .parent()
        .expect("target dir")
        .join("browser-screens");
    std::fs::create_dir_all(&dir).expect("screens dir");
    dir
}

/// chromedriver's log, kept next to the screenshots for a failed run.
fn driver_log() -> PathBuf {
    screens_dir().join("chromedriver.log")
}

async fn screenshot(c: &Client, name: &str) {
    let png = c.screenshot().await.expect("screenshot");
    assert!(png.starts_with(b"\x89PNG"), "{name}: not a PNG");
    std::fs::write(screens_dir().join(format!("{name}.png")), png).expect("write screenshot");
}

/// Waits for the mark of the screen a click leads to; on failure shows where the browser is.
async fn expect_screen(c: &Client, what: &str, mark: Locator<'_>) {
    if let Err(e) = c.wait().at_most(STEP_LIMIT).for_element(mark).await {
        let url = c.current_url().await.map(|u| u.to_string());
        let page = c.source().await.unwrap_or_default();
        panic!(
            "{what}: not there within {STEP_LIMIT:?} ({e}); at {url:?} showing:\n{page}\n\
             (an empty page at about:blank means no TLS connection: the certificate was not \
             selected (auto_select_certificate) or the dev CA not trusted (NSS database); \
             chromedriver's log: {})",
            driver_log().display()
        );
    }
}

async fn click(c: &Client, css: &str) {
    c.find(Locator::Css(css))
        .await
        .unwrap_or_else(|e| panic!("no `{css}` to click: {e}"))
        .click()
        .await
        .unwrap_or_else(|e| panic!("clicking `{css}`: {e}"));
}

async fn text(c: &Client, css: &str) -> String {
    c.find(Locator::Css(css))
        .await
        .unwrap_or_else(|e| panic!("no `{css}`: {e}"))
        .text()
        .await
        .expect("text")
}

/// The text of each row of the Verstrekkingen table.
async fn rows(c: &Client) -> Vec<String> {
    let mut out = Vec::new();
    for row in c.find_all(Locator::Css("tbody tr")).await.expect("rows") {
        out.push(row.text().await.expect("row text"));
    }
    out
}

async fn entries_since(env: &Env, before: i64) -> Vec<Value> {
    vhgate::disclosure::store::rows_after(&env.db, before, 1000)
        .await
        .expect("rows")
        .iter()
        .map(|r| serde_json::from_str(&r.entry).expect("entry json"))
        .collect()
}

/// One browser holding one partner's certificate: chromedriver, Chromium with a fresh
/// profile and NSS database, and the WebDriver session. Dropping it ends both processes.
struct Browser {
    c: Client,
    /// Where the browser saves downloads (the access report's PDF).
    downloads: PathBuf,
    _driver: Driver,
    _dir: tempfile::TempDir,
}

impl Browser {
    /// Starts a browser presenting `partner`'s certificate to `env`'s gateway.
    async fn start(env: &Env, tools: &Tools, partner: &str) -> Browser {
        let dir = tempfile::tempdir().expect("temp dir");
        let home = nss_home(tools, dir.path(), partner);
        let origin = env.url("").trim_end_matches('/').to_string();
        let profile = profile(dir.path(), &origin);
        let downloads = dir.path().join("downloads");
        std::fs::create_dir_all(&downloads).expect("downloads dir");
        let driver = Driver::start(tools, &home, driver_log());
        let mut caps = serde_json::Map::new();
        caps.insert(
            "goog:chromeOptions".into(),
            json!({
                "binary": tools.chromium,
                "args": [
                    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                    "--no-first-run", "--disable-background-networking",
                    "--disable-component-update", "--disable-sync", "--window-size=1280,1000",
                    format!("--user-data-dir={}", profile.display()),
                ],
                // Downloads (the access report's PDF) land here without a prompt.
                "prefs": {
                    "download.default_directory": downloads.display().to_string(),
                    "download.prompt_for_download": false,
                },
            }),
        );
        caps.insert(
            "timeouts".into(),
            json!({"pageLoad": STEP_LIMIT.as_millis() as u64, "script": 5000, "implicit": 0}),
        );
        // chromedriver listens on loopback over plain HTTP: no TLS stack needed.
        let connector = hyper_util::client::legacy::connect::HttpConnector::new();
        let c = ClientBuilder::new(connector)
            .capabilities(caps)
            .connect(&format!("http://127.0.0.1:{}", driver.port))
            .await
            .unwrap_or_else(|e| {
                panic!(
                    "no browser session from chromedriver: {e}; see {}",
                    driver.log.display()
                )
            });
        Browser {
            c,
            downloads,
            _driver: driver,
            _dir: dir,
        }
    }

    /// Ends the session (the browser quits), then chromedriver.
    async fn quit(self) {
        let Browser {
            c, _driver, _dir, ..
        } = self;
        c.close().await.expect("close the browser");
    }
}

/// The tools, or `None` (skip) when they are missing outside CI.
fn tools_or_skip() -> Option<Tools> {
    match Tools::find() {
        Ok(t) => Some(t),
        Err(missing) if common::in_ci() => panic!(
            "CI=true but {} not on PATH (apt-get install chromium chromium-driver libnss3-tools openssl; .ci/run does this)",
            missing.join(", ")
        ),
        Err(missing) => {
            eprintln!(
                "SKIPPED (browser): {} not on PATH; install chromium chromium-driver libnss3-tools openssl, or set CI=true to make this a failure",
                missing.join(", ")
            );
            None
        }
    }
}

/// Runs `scenario` within [`SCENARIO_LIMIT`]; a timeout names the driver's log.
async fn bounded(name: &str, scenario: impl std::future::Future<Output = ()>) {
    let started = Instant::now();
    if tokio::time::timeout(SCENARIO_LIMIT, scenario)
        .await
        .is_err()
    {
        panic!(
            "{name}: took longer than {SCENARIO_LIMIT:?}; see {}",
            driver_log().display()
        );
    }
    eprintln!(
        "{name}: {:.1} s in the browser; screenshots in {}",
        started.elapsed().as_secs_f64(),
        screens_dir().display()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_officer_signs_in_searches_and_signs_out_in_chromium() {
    let Some(tools) = tools_or_skip() else { return };
    // Two refusals in a row raise a signal (the configuration's threshold, lowered here).
    let env = Env::start_with(common::Backend::Sqlite, |c| c.console.refusal_run = 2)
        .await
        .expect("sqlite env");
    // Something to review: a read of the Uden man by the police, and the OM's refused read.
    let politie = env.client("politie");
    let om = env.client("om");
    let (case, man) = (env.ids.uden_case, env.ids.uden_man);
    let read = politie
        .read_person(
            &env,
            &politie.token("professional", "casusoverleg"),
            case,
            man,
        )
        .await;
    assert_eq!(read.status, reqwest::StatusCode::OK, "{}", read.body);
    for _ in 0..2 {
        let refused = om
            .read_person(&env, &om.token("professional", "casusoverleg"), case, man)
            .await;
        assert_eq!(refused.status, reqwest::StatusCode::FORBIDDEN);
    }

    bounded("officer session", async {
        let browser = Browser::start(&env, &tools, "veiligheidshuis").await;
        officer_session(
            &env,
            &browser.c,
            &browser.downloads,
            &env.client("veiligheidshuis"),
        )
        .await;
        browser.quit().await;
    })
    .await;
    env.assert_log_intact().await;
    env.stop().await;
}

async fn officer_session(env: &Env, c: &Client, downloads: &Path, vh: &Partner) {
    let politie = env.client("politie");
    let om = env.client("om");

    // Sign-in: the form over mTLS, the certificate picked from the NSS database.
    c.goto(&env.url("/console/aanmelden"))
        .await
        .expect("open the sign-in page");
    expect_screen(c, "sign-in page", Locator::Css("textarea#token")).await;
    assert_eq!(text(c, "h1").await, "Aanmelden");
    assert_eq!(
        c.title().await.expect("title"),
        "Aanmelden · vhgate privacyconsole"
    );
    let token = vh.token("privacy_officer", "toezicht");
    c.find(Locator::Css("textarea#token"))
        .await
        .expect("token field")
        .send_keys(&token)
        .await
        .expect("paste the token");
    screenshot(c, "01-aanmelden").await;
    let before = env.log_count().await;
    click(c, "form[action='/console/aanmelden'] button[type=submit]").await;

    // The overview first: figures and the server-drawn chart, with the officer in the header.
    expect_screen(c, "after sign-in", Locator::Css("figure svg")).await;
    assert_eq!(text(c, "h1").await, "Overzicht");
    assert_eq!(
        c.current_url().await.expect("url").path(),
        "/console/overzicht"
    );
    let header = text(c, "header").await;
    assert!(
        header.contains("veiligheidshuis-medewerker-7") && header.contains("Afmelden"),
        "{header}"
    );
    screenshot(c, "02-overzicht").await;
    let e = entries_since(env, before).await;
    let events: Vec<&str> = e.iter().filter_map(|e| e["event"].as_str()).collect();
    assert_eq!(events, ["console_session", "review_log"], "{e:#?}");
    assert_eq!(e[0]["requester"]["oin"], vh.oin.as_str());
    assert!(
        !e[0].to_string().contains(&token[..40]),
        "the token is not logged"
    );

    // Verstrekkingen, newest first, from the menu.
    let before = env.log_count().await;
    click(c, "nav a[href='/console/verstrekkingen']").await;
    expect_screen(c, "the list", Locator::Css("form[aria-label='Filters']")).await;
    assert_eq!(text(c, "h1").await, "Verstrekkingen");
    let all = rows(c).await;
    assert!(
        all.iter()
            .any(|r| r.contains("read_person") && r.contains("politie-medewerker-7")),
        "{all:#?}"
    );
    assert!(
        all.iter()
            .any(|r| r.contains("om-medewerker-7") && r.contains("geweigerd")),
        "{all:#?}"
    );
    screenshot(c, "03-verstrekkingen").await;
    let e = entries_since(env, before).await;
    let events: Vec<&str> = e.iter().filter_map(|e| e["event"].as_str()).collect();
    assert_eq!(events, ["review_log"], "{e:#?}");

    // An entry's page: what left and what was withheld, the proof checked against the newest
    // checkpoint.
    click(c, "tbody tr:last-child td a").await;
    expect_screen(
        c,
        "an entry",
        Locator::XPath("//main/h2[.='Bewijs van opname in het logboek']"),
    )
    .await;
    assert_eq!(text(c, "h1").await, "Verstrekking");
    let main = text(c, "main").await;
    assert!(
        main.contains("klopt: deze vermelding staat in het logboek"),
        "{main}"
    );
    screenshot(c, "04-verstrekking").await;
    c.back().await.expect("back to the list");
    expect_screen(
        c,
        "the list again",
        Locator::Css("form[aria-label='Filters']"),
    )
    .await;

    // Filter on outcome: only the refusal is left.
    c.find(Locator::Css("select#uitkomst"))
        .await
        .expect("outcome filter")
        .select_by_value("denied")
        .await
        .expect("choose geweigerd");
    let before = env.log_count().await;
    click(c, "form[aria-label='Filters'] button[type=submit]").await;
    expect_screen(
        c,
        "filtered list",
        Locator::Css("option[value='denied'][selected]"),
    )
    .await;
    let denied = rows(c).await;
    assert!(!denied.is_empty(), "the refusal is listed");
    assert!(
        denied.iter().all(|r| r.contains("geweigerd")),
        "{denied:#?}"
    );
    assert!(denied.iter().any(|r| r.contains(&om.oin)), "{denied:#?}");
    assert!(
        !denied.iter().any(|r| r.contains(&politie.oin)),
        "{denied:#?}"
    );
    let query = c.current_url().await.expect("url");
    assert!(query.as_str().contains("uitkomst=denied"), "{query}");
    screenshot(c, "05-geweigerd").await;
    let e = entries_since(env, before).await;
    assert_eq!(e.len(), 1, "{e:#?}");
    assert_eq!(e[0]["event"], "review_log");
    assert!(
        e[0]["reasons"].to_string().contains("outcome: denied"),
        "{}",
        e[0]["reasons"]
    );

    // Search a subject by BSN: posted, never in the URL; the entry names a pseudonym only.
    c.find(Locator::Css("input#bsn"))
        .await
        .expect("BSN field")
        .send_keys(env.ids.uden_man_bsn)
        .await
        .expect("type the BSN");
    let before = env.log_count().await;
    click(
        c,
        "form[aria-label='Zoeken op persoon'] button[type=submit]",
    )
    .await;
    expect_screen(
        c,
        "search result",
        Locator::XPath("//main/h2[.='Verstrekkingen over deze persoon']"),
    )
    .await;
    assert_eq!(text(c, "main h2").await, "Verstrekkingen over deze persoon");
    let about = rows(c).await;
    assert!(
        about
            .iter()
            .any(|r| r.contains("read_person") && r.contains("politie-medewerker-7")),
        "{about:#?}"
    );
    let url = c.current_url().await.expect("url");
    assert!(!url.as_str().contains(env.ids.uden_man_bsn), "{url}");
    screenshot(c, "06-persoon").await;
    let e = entries_since(env, before).await;
    assert_eq!(e.len(), 1, "{e:#?}");
    assert_eq!(e[0]["event"], "review_log");
    assert!(e[0]["subject"]["pseudonym"].is_string(), "{}", e[0]);
    assert!(!e[0].to_string().contains(env.ids.uden_man_bsn));

    // Integriteit: a full verification from the browser, followed until it finishes.
    click(c, "nav a[href='/console/integriteit']").await;
    expect_screen(
        c,
        "integrity",
        Locator::Css("form[action='/console/integriteit/controle']"),
    )
    .await;
    click(
        c,
        "form[action='/console/integriteit/controle'] button[type=submit]",
    )
    .await;
    expect_screen(
        c,
        "verification finished",
        Locator::XPath("//tbody/tr[1]/td[3][contains(., 'intact')]"),
    )
    .await;
    screenshot(c, "07-integriteit").await;

    // Inzageverzoek: the citizen's report in plain Dutch, drawn up from the BSN.
    click(c, "nav a[href='/console/inzageverzoek']").await;
    expect_screen(
        c,
        "access request form",
        Locator::Css("form[action='/console/inzageverzoek'] input#bsn"),
    )
    .await;
    c.find(Locator::Css(
        "form[action='/console/inzageverzoek'] input#bsn",
    ))
    .await
    .expect("BSN field")
    .send_keys(env.ids.uden_man_bsn)
    .await
    .expect("type the BSN");
    click(
        c,
        "form[action='/console/inzageverzoek'] button[value=html]",
    )
    .await;
    expect_screen(
        c,
        "the citizen's report",
        Locator::XPath("//h1[.='Inzage in de verstrekking van uw gegevens']"),
    )
    .await;
    let report = text(c, "body").await;
    assert!(
        report.contains("Uw rechten") && report.contains("Politie"),
        "{report}"
    );
    screenshot(c, "08-inzageverzoek").await;

    // ... and as a PDF, printed by the gateway's headless Chromium and downloaded here.
    c.goto(&env.url("/console/inzageverzoek"))
        .await
        .expect("open the access request form");
    expect_screen(
        c,
        "access request form again",
        Locator::Css("form[action='/console/inzageverzoek'] input#bsn"),
    )
    .await;
    c.find(Locator::Css(
        "form[action='/console/inzageverzoek'] input#bsn",
    ))
    .await
    .expect("BSN field")
    .send_keys(env.ids.uden_man_bsn)
    .await
    .expect("type the BSN");
    click(c, "form[action='/console/inzageverzoek'] button[value=pdf]").await;
    let deadline = std::time::Instant::now() + STEP_LIMIT;
    let pdf = loop {
        let found = std::fs::read_dir(downloads)
            .expect("downloads")
            .filter_map(|e| e.ok().map(|e| e.path()))
            .find(|p| p.extension().is_some_and(|x| x == "pdf"));
        if let Some(path) = found {
            break std::fs::read(path).expect("read the PDF");
        }
        assert!(
            std::time::Instant::now() < deadline,
            "no PDF downloaded within {STEP_LIMIT:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert!(pdf.starts_with(b"%PDF"), "the download is not a PDF");
    std::fs::write(screens_dir().join("08-inzageverzoek.pdf"), &pdf).expect("keep the PDF");

    // Signalen: the refusals in a row, marked reviewed with a note.
    c.goto(&env.url("/console/signalen"))
        .await
        .expect("open signals");
    expect_screen(
        c,
        "signals",
        Locator::Css("form[action='/console/signalen/beoordeling'] textarea"),
    )
    .await;
    assert!(text(c, "main")
        .await
        .contains("Veel weigeringen achter elkaar"));
    c.find(Locator::Css(
        "form[action='/console/signalen/beoordeling'] textarea",
    ))
    .await
    .expect("note field")
    .send_keys("Nagevraagd: de OM-medewerker zocht de verkeerde zaak.")
    .await
    .expect("type the note");
    let before = env.log_count().await;
    click(
        c,
        "form[action='/console/signalen/beoordeling'] button[type=submit]",
    )
    .await;
    expect_screen(
        c,
        "signal reviewed",
        Locator::XPath("//section//strong[.='Beoordeeld']"),
    )
    .await;
    screenshot(c, "09-signalen").await;
    let e = entries_since(env, before).await;
    let events: Vec<&str> = e.iter().filter_map(|e| e["event"].as_str()).collect();
    assert_eq!(events, ["signal_reviewed", "review_log"], "{e:#?}");

    // Sign out: back at the sign-in form, and the old session no longer opens the list.
    let before = env.log_count().await;
    click(
        c,
        "header form[action='/console/afmelden'] button[type=submit]",
    )
    .await;
    expect_screen(c, "after sign-out", Locator::Css("textarea#token")).await;
    assert_eq!(text(c, "h1").await, "Aanmelden");
    screenshot(c, "10-afgemeld").await;
    let e = entries_since(env, before).await;
    assert_eq!(e.len(), 1, "{e:#?}");
    assert_eq!(e[0]["event"], "console_session");
    assert!(e[0]["reasons"].to_string().contains("signed out"));
    c.goto(&env.url("/console/verstrekkingen"))
        .await
        .expect("open the list again");
    expect_screen(c, "list after sign-out", Locator::Css("textarea#token")).await;
    assert_eq!(
        c.current_url().await.expect("url").path(),
        "/console/aanmelden"
    );
}
