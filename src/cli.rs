//! Command line: `vhgate certs init | migrate | serve | dev token | demo | policy (test | build |
//! check | keygen | push | list | approve | reject | activate | impact) | admin registry ... |
//! log ...`.

mod admin;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context};
use clap::{Parser, Subcommand};

use std::io::IsTerminal;
use vhgate::app::App;
use vhgate::bench::BenchOptions;
use vhgate::config::Config;
use vhgate::demo::{
    dev_config, dev_token, prepare, seed_casework, walk, DemoIds, DevTokenSpec, PhaseCases,
};

use vhgate::admin::client::check_revision;
use vhgate::disclosure::checkpoint::{read_signer_key_file, NoteVerifier};
use vhgate::disclosure::verify::{verify_with, VerifyOptions, VerifyOutcome};
use vhgate::pki::DevPkiLayout;
use vhgate::policy::bundle::Bundle;
use vhgate::policy::signing::{BundleSigner, BundleVerifier, Verified};
use vhgate::store::Db;

#[derive(Parser)]
#[command(
    name = "vhgate",
    version,
    about = "Information-sharing gateway for Zorg- en Veiligheidshuizen"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand)]
pub enum Command {
    /// Development PKI.
    Certs {
        #[command(subcommand)]
        command: CertsCommand,
    },
    /// Apply the database migrations for the configured database.
    Migrate {
        #[arg(long, env = "VHGATE_CONFIG")]
        config: Option<PathBuf>,
    },
    /// Run the gateway.
    Serve {
        #[arg(long, env = "VHGATE_CONFIG")]
        config: Option<PathBuf>,
    },
    /// Helpers for trying the demo.
    Dev {
        #[command(subcommand)]
        command: DevCommand,
    },
    /// Generate certificates (if absent), seed a fresh SQLite demo database, serve, and print
    /// curl commands that work against it.
    Demo {
        #[arg(long, default_value = "127.0.0.1:8443")]
        listen: SocketAddr,
        /// Folder for the demo database and keys (wiped and re-created).
        #[arg(long, default_value = ".vhgate-demo")]
        dir: PathBuf,
        #[arg(long, default_value = "certs/dev")]
        certs: PathBuf,
    },
    /// Policy tools.
    Policy {
        #[command(subcommand)]
        command: PolicyCommand,
    },
    /// Convenant administration through a gateway's admin API (four-eyes).
    Admin {
        #[command(subcommand)]
        command: admin::AdminCommand,
    },
    /// Measure one policy decision and full requests over mTLS on loopback (temp PKI and SQLite).
    Bench {
        #[arg(long, default_value = "policies")]
        policies: PathBuf,
        /// Policy decisions to time.
        #[arg(long, default_value_t = 20_000)]
        decisions: usize,
        /// Keep-alive client connections.
        #[arg(long, default_value_t = 32)]
        connections: usize,
        /// Seconds of measured requests (after 2 s of warm-up).
        #[arg(long, default_value_t = 10)]
        seconds: u64,
        /// Time the policy decisions only (no requests).
        #[arg(long)]
        decisions_only: bool,
    },
    /// Serve a bench gateway (generated PKI, demo cases, raised budgets) until Ctrl-C/SIGTERM
    /// and describe it in a JSON file, for an external load generator (benches/side-by-side.sh).
    BenchServe {
        #[arg(long, default_value = "policies")]
        policies: PathBuf,
        /// Folder for the PKI, keys and SQLite database; must not exist yet.
        #[arg(long)]
        dir: PathBuf,
        /// The dev PKI to use (generated there if absent). Default: DIR/certs.
        #[arg(long)]
        certs: Option<PathBuf>,
        #[arg(long, default_value = "127.0.0.1:9443")]
        listen: SocketAddr,
        /// A fresh PostgreSQL database URL (migrated and seeded here). Default: SQLite in --dir.
        #[arg(long)]
        database: Option<String>,
        /// Where to write the JSON description (address, certificates, requests, tokens) once
        /// the gateway accepts requests.
        #[arg(long)]
        manifest: PathBuf,
    },
    /// Durable, proof-ready disclosure-log appends per second through group commit.
    BenchLog {
        /// Database to append to; it is migrated (use a fresh one). Default: a temp SQLite file.
        #[arg(long)]
        database: Option<String>,
        /// Concurrent appenders (requests in flight).
        #[arg(long, default_value_t = 128)]
        tasks: usize,
        /// Entries per transaction (default: the configuration default).
        #[arg(long)]
        batch_max: Option<usize>,
        #[arg(long, default_value_t = 10)]
        seconds: u64,
    },
    /// Disclosure-log tools.
    Log {
        #[command(subcommand)]
        command: LogCommand,
    },
}

#[derive(Subcommand)]
pub enum CertsCommand {
    /// Generate the dev PKI: CA, gateway certificate, partner client certificates and token keys.
    Init {
        #[arg(long, default_value = "certs/dev")]
        dir: PathBuf,
        /// Replace an existing dev PKI.
        #[arg(long)]
        force: bool,
    },
}

#[derive(Subcommand)]
pub enum DevCommand {
    /// Print a token signed with a demo partner's dev key and bound to its client certificate.
    Token {
        #[arg(long)]
        partner: String,
        #[arg(long)]
        role: String,
        #[arg(long)]
        purpose: String,
        /// The employee (`sub`).
        #[arg(long)]
        sub: Option<String>,
        /// The stated reason (claim `reason`), required for purpose spoed (break-glass).
        #[arg(long)]
        reason: Option<String>,
        /// Lifetime in seconds (at most 900).
        #[arg(long, default_value_t = 600)]
        ttl: i64,
        #[arg(long, default_value = "vhgate")]
        audience: String,
        #[arg(long, default_value = "certs/dev")]
        certs: PathBuf,
        /// The policies whose convenant names the valid roles and purposes.
        #[arg(long, default_value = "policies")]
        policies: PathBuf,
    },
}

#[derive(Subcommand)]
pub enum PolicyCommand {
    /// Run the Rego tests (`test_` rules) in a policy directory (exit 1 when one fails).
    Test {
        #[arg(default_value = "policies")]
        dir: PathBuf,
        /// List every test with PASS/FAIL and its duration, and for a failing test the
        /// expression that failed, with its file and line (as `opa test -v`).
        #[arg(short, long)]
        verbose: bool,
    },
    /// Build an OPA-format bundle (`.tar.gz`) from a policy directory, optionally signed
    /// (`.signatures.json`, as `opa build --signing-key` writes it).
    Build {
        #[arg(default_value = "policies")]
        dir: PathBuf,
        #[arg(long)]
        out: PathBuf,
        /// Private key (PEM, PKCS#8 for ES256/ES384/EdDSA) to sign the bundle with.
        #[arg(long, requires = "key_id")]
        signing_key: Option<PathBuf>,
        /// ES256, ES384, EdDSA, RS256/384/512 or PS256/384/512.
        #[arg(long, default_value = "ES256")]
        signing_alg: String,
        /// The key id the gateway knows the public key by (`policy.signing.keys[].id`).
        #[arg(long)]
        key_id: Option<String>,
        /// A scope to put in the signature (must equal `policy.signing.scope`).
        #[arg(long)]
        scope: Option<String>,
    },
    /// Validate a bundle as the gateway would before accepting it: signature (when signed or
    /// required by the configuration), compile, its own tests, decision shape, built-in safety
    /// properties (exit 1 with the problems).
    Check {
        bundle: PathBuf,
        /// Configuration with `[policy.signing]` keys (default: none, signatures optional).
        #[arg(long, env = "VHGATE_CONFIG")]
        config: Option<PathBuf>,
    },
    /// Create a bundle signing key pair (development; keep the private key out of git).
    Keygen {
        /// ES256 or EdDSA.
        #[arg(long, default_value = "ES256")]
        alg: String,
        /// Private key file to write (0600); the public key goes next to it as `.pub.pem`.
        #[arg(long)]
        out: PathBuf,
    },
    /// Propose a bundle to a gateway (POST /v1/admin/policy-bundles).
    Push {
        bundle: PathBuf,
        #[command(flatten)]
        admin: AdminArgs,
    },
    /// List the bundles and their four-eyes decisions.
    List {
        /// Print the JSON as received.
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        admin: AdminArgs,
    },
    /// Approve (and activate) a bundle another administrator proposed.
    Approve {
        revision: String,
        #[command(flatten)]
        admin: AdminArgs,
    },
    /// Reject a proposed bundle.
    Reject {
        revision: String,
        #[arg(long)]
        reason: String,
        #[command(flatten)]
        admin: AdminArgs,
    },
    /// Reactivate an earlier active revision (rollback).
    Activate {
        revision: String,
        #[command(flatten)]
        admin: AdminArgs,
    },
    /// What a revision would have decided differently on recent requests.
    Impact {
        revision: String,
        #[command(flatten)]
        window: admin::ImpactArgs,
        #[command(flatten)]
        admin: AdminArgs,
    },
}

/// How to reach a gateway's admin API, as an administrator.
#[derive(clap::Args, Clone, Debug)]
pub struct AdminArgs {
    /// The gateway's base URL.
    #[arg(
        long,
        env = "VHGATE_ADMIN_URL",
        default_value = "https://localhost:8443"
    )]
    url: String,
    /// CA certificate (PEM) the gateway's certificate chains to.
    #[arg(long, env = "VHGATE_ADMIN_CA")]
    ca: Option<PathBuf>,
    /// Client certificate (PEM) of the administrator's organisation.
    #[arg(long, env = "VHGATE_ADMIN_CERT")]
    cert: Option<PathBuf>,
    /// Its private key (PEM).
    #[arg(long, env = "VHGATE_ADMIN_KEY")]
    key: Option<PathBuf>,
    /// The administrator's token (role convenant_administrator).
    #[arg(
        long,
        env = "VHGATE_ADMIN_TOKEN",
        hide_env_values = true,
        conflicts_with = "token_file"
    )]
    token: Option<String>,
    /// A file holding the token.
    #[arg(long, env = "VHGATE_ADMIN_TOKEN_FILE")]
    token_file: Option<PathBuf>,
    /// Development: use this demo partner's certificate from the dev PKI and mint a
    /// convenant_administrator token for `--sub` (as `vhgate dev token` does). Needs `--sub`:
    /// four-eyes checks compare administrators by `sub`, so there is no default identity.
    #[arg(long, conflicts_with_all = ["token", "token_file"], requires = "sub")]
    dev_partner: Option<String>,
    /// Development: the administrator (`sub`) of the minted token (required with
    /// `--dev-partner`).
    #[arg(long, requires = "dev_partner")]
    sub: Option<String>,
    /// Development: the dev PKI directory.
    #[arg(long, default_value = "certs/dev")]
    certs: PathBuf,
    /// Development: the token audience.
    #[arg(long, default_value = "vhgate")]
    audience: String,
}

impl AdminArgs {
    fn client(&self) -> anyhow::Result<vhgate::admin::client::AdminClient> {
        let pki = DevPkiLayout::new(&self.certs);
        let (ca, cert, key, token) = match &self.dev_partner {
            Some(partner) => (
                self.ca.clone().unwrap_or_else(|| pki.ca_cert()),
                self.cert
                    .clone()
                    .unwrap_or_else(|| pki.partner_cert(partner)),
                self.key.clone().unwrap_or_else(|| pki.partner_key(partner)),
                dev_token(
                    &pki,
                    &DevTokenSpec {
                        sub: self.sub.clone(),
                        audience: &self.audience,
                        ..DevTokenSpec::new(partner, "convenant_administrator", "beheer", 300)
                    },
                )?,
            ),
            None => {
                let token = match (&self.token, &self.token_file) {
                    (Some(t), _) => t.clone(),
                    (None, Some(f)) => std::fs::read_to_string(f)
                        .with_context(|| format!("reading {}", f.display()))?,
                    (None, None) => {
                        bail!("give --token, --token-file or (development) --dev-partner")
                    }
                };
                let need = |v: &Option<PathBuf>, flag: &str| {
                    v.clone()
                        .with_context(|| format!("{flag} is required (or use --dev-partner)"))
                };
                (
                    need(&self.ca, "--ca")?,
                    need(&self.cert, "--cert")?,
                    need(&self.key, "--key")?,
                    token,
                )
            }
        };
        Ok(vhgate::admin::client::AdminClient::new(
            &self.url, &ca, &cert, &key, token,
        )?)
    }
}

#[derive(Subcommand)]
pub enum LogCommand {
    /// Audit the log: re-hash every entry (chain and Merkle tree), check every signed
    /// checkpoint, the stored tree and the head; report the first bad entry (exit 1 if any).
    Verify {
        #[arg(long, env = "VHGATE_CONFIG")]
        config: Option<PathBuf>,
        /// Audit this database (e.g. `sqlite://export.db` from `vhgate log export --format
        /// sqlite`) instead of the configured one.
        #[arg(long)]
        database: Option<String>,
        /// The log's verifier key (C2SP vkey, see `vhgate log key`). Default: derived from the
        /// configured signing key file, if it is readable.
        #[arg(long)]
        key: Option<String>,
        /// A checkpoint (signed note) from a witness or an earlier audit: a newer one exposes a
        /// rolled-back log, an older one must match.
        #[arg(long)]
        checkpoint: Option<PathBuf>,
    },
    /// Witness the log: verify the newest checkpoint against the last one accepted (consistency
    /// proof), cosign it and keep it in the state file; fail loudly on a fork or rollback.
    Witness {
        /// host:port of the gateway.
        #[arg(long)]
        gateway: String,
        #[arg(long, default_value = "localhost")]
        server_name: String,
        /// The log's verifier key (`vhgate log key`).
        #[arg(long)]
        log_key: String,
        /// The last accepted, cosigned checkpoint (created on first run).
        #[arg(long)]
        state: PathBuf,
        /// The witness's Ed25519 key file (created if missing) and its name.
        #[arg(long)]
        key: PathBuf,
        #[arg(long)]
        name: String,
        #[arg(long)]
        ca: PathBuf,
        #[arg(long)]
        tls_cert: PathBuf,
        #[arg(long)]
        tls_key: PathBuf,
        /// Repeat every this many seconds (0: once).
        #[arg(long, default_value_t = 0)]
        interval: u64,
    },
    /// Export entries as JSON lines: Logboek Dataverwerkingen 1.0 records (`ldv`: one per
    /// action and data subject; warns about processing activities the register does not hold)
    /// or OPA decision-log events (`opa`: one per policy decision; entries no policy decided
    /// are left out).
    Export {
        #[arg(long, env = "VHGATE_CONFIG")]
        config: Option<PathBuf>,
        /// `ldv` / `opa`: JSON lines on stdout; `sqlite`: a copy of the whole log (entries,
        /// tree, checkpoints) into a new SQLite file (`--out`), for `vhgate log verify --database`.
        #[arg(long, value_parser = ["ldv", "opa", "sqlite"])]
        format: String,
        /// Output file for `--format sqlite`.
        #[arg(long)]
        out: Option<PathBuf>,
        /// Only entries after this sequence number.
        #[arg(long, default_value_t = 0)]
        after: i64,
    },
    /// Serve as a witness (C2SP tlog-witness `POST /add-checkpoint`, plain HTTP) for one log.
    WitnessServe {
        #[arg(long, default_value = "127.0.0.1:7380")]
        listen: SocketAddr,
        /// The log's verifier key (`vhgate log key`).
        #[arg(long)]
        log_key: String,
        /// The last cosigned checkpoint (created on first cosignature).
        #[arg(long)]
        state: PathBuf,
        /// The witness's Ed25519 key file (created if missing) and its name.
        #[arg(long)]
        key: PathBuf,
        #[arg(long)]
        name: String,
    },
    /// Print the verifier key of the log's checkpoint signing key (for witnesses and auditors).
    Key {
        #[arg(long, env = "VHGATE_CONFIG")]
        config: Option<PathBuf>,
    },
    /// Print the register of processing activities the LDV export refers to
    /// (`dpl.core.processing_activity_id`): the convenant's purposes at a policy revision of
    /// the bundle history, and the gateway's processing without personal data (JSON).
    Register {
        #[arg(long, env = "VHGATE_CONFIG")]
        config: Option<PathBuf>,
        /// The policy revision (default: the active one).
        #[arg(long)]
        revision: Option<String>,
    },
}

/// The diagnostic log's format and default filter: `log.format` of the configuration the
/// command serves with (`serve --config`, or the environment for `demo`), text for every other
/// command and for a configuration that does not load (the command itself then says why); the
/// benchmarks leave out the access line per request.
pub fn log_settings(cli: &Cli) -> (vhgate::config::LogFormat, &'static str) {
    use vhgate::logging::{BENCH_FILTER, DEFAULT_FILTER};
    let config = match &cli.command {
        Command::Serve { config } => Config::load(config.as_deref()),
        Command::Demo { .. } => Config::load(None),
        Command::Bench { .. } | Command::BenchServe { .. } => {
            return (Default::default(), BENCH_FILTER)
        }
        _ => return (Default::default(), DEFAULT_FILTER),
    };
    let format = config.map(|c| c.log.format).unwrap_or_default();
    (format, DEFAULT_FILTER)
}

pub async fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Certs {
            command: CertsCommand::Init { dir, force },
        } => {
            DevPkiLayout::new(&dir).generate(force)?;
            println!(
                "dev PKI written to {} (private keys 0600, git-ignored)",
                dir.display()
            );
            Ok(())
        }
        Command::Migrate { config } => {
            let config = Config::load(config.as_deref())?;
            let db = Db::connect(&config.database.url, 1).await?;
            db.migrate().await?;
            println!("migrations applied to {}", redact_url(&config.database.url));
            Ok(())
        }
        Command::Serve { config } => {
            let config = Config::load(config.as_deref())?;
            App::build(config)
                .await?
                .start()
                .await?
                .run_until_signal()
                .await;
            Ok(())
        }
        Command::Dev {
            command:
                DevCommand::Token {
                    partner,
                    role,
                    purpose,
                    sub,
                    reason,
                    ttl,
                    audience,
                    certs,
                    policies,
                },
        } => {
            check_dev_token_names(&partner, &role, &purpose, &policies)?;
            println!(
                "{}",
                dev_token(
                    &DevPkiLayout::new(certs),
                    &DevTokenSpec {
                        sub,
                        reason,
                        audience: &audience,
                        ..DevTokenSpec::new(&partner, &role, &purpose, ttl)
                    }
                )?
            );
            Ok(())
        }
        Command::Demo { listen, dir, certs } => demo(listen, &dir, &certs).await,
        Command::Policy {
            command:
                PolicyCommand::Build {
                    dir,
                    out,
                    signing_key,
                    signing_alg,
                    key_id,
                    scope,
                },
        } => {
            let signer = match (&signing_key, &key_id) {
                (Some(path), Some(id)) => {
                    let pem = std::fs::read_to_string(path)
                        .with_context(|| format!("reading {}", path.display()))?;
                    Some(BundleSigner::new(&pem, &signing_alg, id, scope)?)
                }
                (None, _) => None,
                (Some(_), None) => bail!("--signing-key needs --key-id"),
            };
            vhgate::policy::check_buildable(&dir)?;
            let bytes = Bundle::build_signed(&dir, signer.as_ref())?;
            std::fs::write(&out, &bytes).with_context(|| format!("writing {}", out.display()))?;
            let bundle = Bundle::from_tar_gz(&bytes)?;
            println!(
                "bundle {} written ({} bytes, revision {}{})",
                out.display(),
                bytes.len(),
                bundle.manifest.revision,
                match &key_id {
                    Some(id) if signer.is_some() => format!(", signed with key {id}"),
                    _ => String::new(),
                }
            );
            Ok(())
        }
        Command::Policy {
            command: PolicyCommand::Check { bundle, config },
        } => {
            let config = Config::load(config.as_deref())?;
            let verifier = BundleVerifier::from_config(&config.policy.signing)?;
            let bytes =
                std::fs::read(&bundle).with_context(|| format!("reading {}", bundle.display()))?;
            let parsed = Bundle::from_tar_gz(&bytes)?;
            match parsed.verify_signature(&verifier) {
                Ok(Verified::Signed { key_id }) => println!("signature valid (key {key_id})"),
                Ok(Verified::Unsigned) => println!("not signed (signatures not required)"),
                Err(e) => {
                    println!("INVALID signature: {e}");
                    std::process::exit(1);
                }
            }
            match vhgate::policy::bundle::validate_bundle(&parsed) {
                Ok(validated) => {
                    for note in &validated.notes {
                        println!("NOTE {note}");
                    }
                    println!("bundle revision {} is valid", parsed.manifest.revision);
                    Ok(())
                }
                Err(problems) => {
                    for p in &problems {
                        println!("INVALID {}: {}", p.location, p.message);
                    }
                    std::process::exit(1);
                }
            }
        }
        Command::Policy {
            command: PolicyCommand::Keygen { alg, out },
        } => {
            let (private, public) = vhgate::policy::signing::generate_keypair(&alg)?;
            if out.exists() {
                bail!("{} exists; not overwriting a key", out.display());
            }
            write_private(&out, &private)?;
            let public_path = out.with_extension("pub.pem");
            std::fs::write(&public_path, &public)
                .with_context(|| format!("writing {}", public_path.display()))?;
            println!(
                "{alg} signing key written to {} (keep it secret, never commit it); public key {}",
                out.display(),
                public_path.display()
            );
            Ok(())
        }
        Command::Policy {
            command: PolicyCommand::Push { bundle, admin },
        } => {
            let bytes =
                std::fs::read(&bundle).with_context(|| format!("reading {}", bundle.display()))?;
            let record = admin
                .client()?
                .send(
                    http::Method::POST,
                    "/v1/admin/policy-bundles",
                    Some(("application/gzip", bytes)),
                )
                .await?;
            print_record("proposed", &record)
        }
        Command::Policy {
            command: PolicyCommand::List { json, admin },
        } => {
            let list = admin
                .client()?
                .send(http::Method::GET, "/v1/admin/policy-bundles", None)
                .await?;
            if json {
                println!("{}", serde_json::to_string_pretty(&list)?);
                return Ok(());
            }
            let s = |v: &serde_json::Value, k: &str| v[k].as_str().unwrap_or("-").to_string();
            for b in list.as_array().map(Vec::as_slice).unwrap_or_default() {
                println!(
                    "{}  {:<9} proposed by {} at {}; decided by {} at {}{}",
                    s(b, "revision"),
                    s(b, "status"),
                    s(b, "proposed_by"),
                    s(b, "proposed_at"),
                    s(b, "decided_by"),
                    s(b, "decided_at"),
                    b["reason"]
                        .as_str()
                        .map(|r| format!(" ({r})"))
                        .unwrap_or_default()
                );
            }
            Ok(())
        }
        Command::Policy {
            command: PolicyCommand::Approve { revision, admin },
        } => {
            let path = format!(
                "/v1/admin/policy-bundles/{}/approve",
                check_revision(&revision)?
            );
            let record = admin
                .client()?
                .send(http::Method::POST, &path, None)
                .await?;
            print_record("approved", &record)
        }
        Command::Policy {
            command:
                PolicyCommand::Reject {
                    revision,
                    reason,
                    admin,
                },
        } => {
            let path = format!(
                "/v1/admin/policy-bundles/{}/reject",
                check_revision(&revision)?
            );
            let body = serde_json::to_vec(&serde_json::json!({ "reason": reason }))?;
            let record = admin
                .client()?
                .send(http::Method::POST, &path, Some(("application/json", body)))
                .await?;
            print_record("rejected", &record)
        }
        Command::Policy {
            command: PolicyCommand::Activate { revision, admin },
        } => {
            let path = format!(
                "/v1/admin/policy-bundles/{}/activate",
                check_revision(&revision)?
            );
            let record = admin
                .client()?
                .send(http::Method::POST, &path, None)
                .await?;
            print_record("reactivated", &record)
        }
        Command::Policy {
            command:
                PolicyCommand::Impact {
                    revision,
                    window,
                    admin,
                },
        } => {
            let path = format!(
                "/v1/admin/policy-bundles/{}/impact{}",
                check_revision(&revision)?,
                window.query()?
            );
            let impact = admin.client()?.send(http::Method::GET, &path, None).await?;
            admin::print_impact(&impact)
        }
        Command::Admin { command } => admin::run(command).await,
        Command::Policy {
            command: PolicyCommand::Test { dir, verbose },
        } => {
            let results = vhgate::policy::testing::run_tests(&dir)?;
            let failed: Vec<_> = results.iter().filter(|r| !r.passed).collect();
            if verbose {
                print!("{}", vhgate::policy::testing::verbose_report(&results));
            } else {
                for r in &failed {
                    println!(
                        "FAIL {} {}: {}",
                        r.file,
                        r.rule,
                        r.message.as_deref().unwrap_or("")
                    );
                }
                println!(
                    "policy: {} passed, {} failed",
                    results.len() - failed.len(),
                    failed.len()
                );
            }
            if results.is_empty() {
                bail!("no test_ rules found in {}", dir.display());
            }
            if !failed.is_empty() {
                std::process::exit(1);
            }
            Ok(())
        }
        Command::Bench {
            policies,
            decisions,
            connections,
            seconds,
            decisions_only,
        } => {
            if decisions_only {
                let report = vhgate::bench::run_decisions(&policies, decisions).await?;
                println!(
                    "policy decision, the same read again (budget counted up): {}",
                    report.repeated
                );
                println!("policy decision, a new case each time: {}", report.new_case);
                return Ok(());
            }
            let opts = BenchOptions {
                decisions,
                connections,
                duration: std::time::Duration::from_secs(seconds),
                warmup: std::time::Duration::from_secs(2),
            };
            let report = vhgate::bench::run(&policies, &opts).await?;
            println!("policy decision (regorus, in-process): {}", report.decision);
            println!(
                "full request (GET person, mTLS keep-alive, {} connections): {}",
                report.connections, report.request
            );
            println!("disclosure-log entries committed: {}", report.log_entries);
            Ok(())
        }
        Command::BenchServe {
            policies,
            dir,
            certs,
            listen,
            database,
            manifest,
        } => {
            if dir.exists() {
                bail!(
                    "{} exists; bench-serve lays out a fresh folder",
                    dir.display()
                );
            }
            let opts = vhgate::bench::ServeOptions {
                dir,
                certs,
                policy_dir: policies,
                listen,
                database,
            };
            let (server, description) = vhgate::bench::serve(&opts).await?;
            // Written whole, then renamed: a waiting script never reads half a file.
            let partial = manifest.with_extension("partial");
            std::fs::write(&partial, serde_json::to_vec_pretty(&description)?)
                .with_context(|| format!("writing {}", partial.display()))?;
            std::fs::rename(&partial, &manifest)
                .with_context(|| format!("writing {}", manifest.display()))?;
            eprintln!(
                "bench gateway ({}) on {}; described in {}",
                description.backend,
                description.base_url,
                manifest.display()
            );
            server.run_until_signal().await;
            Ok(())
        }
        Command::BenchLog {
            database,
            tasks,
            batch_max,
            seconds,
        } => {
            let scratch = std::env::temp_dir().join(format!(
                "vhgate-bench-log-{}",
                uuid::Uuid::new_v4().simple()
            ));
            std::fs::create_dir_all(&scratch)?;
            let url = database
                .unwrap_or_else(|| format!("sqlite://{}", scratch.join("log.db").display()));
            let result = vhgate::bench::bench_log(
                &url,
                tasks,
                batch_max,
                std::time::Duration::from_secs(seconds),
                std::time::Duration::from_secs(2),
            )
            .await;
            let _ = std::fs::remove_dir_all(&scratch);
            let report = result?;
            println!(
                "disclosure log on {} ({} concurrent appenders, group commit, Merkle tree + signed checkpoint per batch): {:.0} entries/s; added latency per request {}",
                report.backend, report.tasks, report.append.throughput, report.append
            );
            Ok(())
        }
        Command::Log {
            command:
                LogCommand::Verify {
                    config,
                    database,
                    key,
                    checkpoint,
                },
        } => {
            let mut config = Config::load(config.as_deref())?;
            if let Some(url) = database {
                config.database.url = url;
            }
            let log_key = match key {
                // A file holding the verifier key, or the key itself.
                Some(vkey) if Path::new(&vkey).is_file() => {
                    let text = std::fs::read_to_string(&vkey)
                        .with_context(|| format!("--key: reading {vkey}"))?;
                    Some(
                        NoteVerifier::from_vkey(text.trim())
                            .with_context(|| format!("--key {vkey}"))?,
                    )
                }
                Some(vkey) => Some(
                    NoteVerifier::from_vkey(vkey.trim())
                        .context("--key (neither a file nor a verifier key)")?,
                ),
                None => {
                    read_signer_key_file(&config.secrets.log_signing_key_file, &config.log.origin)
                        .ok()
                        .map(|s| NoteVerifier::from_vkey(&s.verifier_key()))
                        .transpose()?
                }
            };
            let signatures = match &log_key {
                Some(k) => format!("signatures checked with key {}", k.describe()),
                None => "signatures NOT checked: no --key given and no readable signing key file (roots and hashes are)".to_string(),
            };
            let trusted_checkpoint = checkpoint
                .map(|p| {
                    std::fs::read_to_string(&p).with_context(|| format!("reading {}", p.display()))
                })
                .transpose()?;
            let progress: Option<Box<dyn Fn(i64, i64) + Send + Sync>> =
                if std::io::stderr().is_terminal() {
                    Some(Box::new(|done, total| {
                        if total >= 10_000 {
                            let width = 40usize;
                            let filled = (done.max(0) as usize * width) / total.max(1) as usize;
                            eprint!(
                                "\r[{}{}] {done}/{total}",
                                "#".repeat(filled.min(width)),
                                " ".repeat(width - filled.min(width))
                            );
                        }
                    }))
                } else {
                    None
                };
            let db = Db::open_existing(&config.database.url, 2).await?;
            let outcome = verify_with(
                &db,
                &VerifyOptions {
                    log_key,
                    trusted_checkpoint,
                    progress,
                },
            )
            .await?;
            eprintln!();
            match outcome {
                VerifyOutcome::Intact {
                    entries,
                    checkpoints,
                } => {
                    println!("disclosure log intact: {entries} entries, {checkpoints} signed checkpoints verified; {signatures}");
                    Ok(())
                }
                VerifyOutcome::Broken { seq, reason } => {
                    println!("disclosure log BROKEN at entry {seq}: {reason} ({signatures})");
                    std::process::exit(1);
                }
            }
        }
        Command::Log {
            command:
                LogCommand::Witness {
                    gateway,
                    server_name,
                    log_key,
                    state,
                    key,
                    name,
                    ca,
                    tls_cert,
                    tls_key,
                    interval,
                },
        } => {
            let opts = vhgate::witness::WitnessOptions {
                gateway,
                server_name,
                ca,
                tls_cert,
                tls_key,
                log_key,
                witness_key: key,
                witness_name: name,
                state,
            };
            loop {
                match vhgate::witness::witness_once(&opts).await? {
                    vhgate::witness::WitnessOutcome::Cosigned { size, .. } => {
                        println!("cosigned checkpoint of size {size}")
                    }
                    vhgate::witness::WitnessOutcome::Unchanged { size } => {
                        println!("unchanged at size {size}")
                    }
                }
                if interval == 0 {
                    return Ok(());
                }
                tokio::time::sleep(std::time::Duration::from_secs(interval)).await;
            }
        }
        Command::Log {
            command:
                LogCommand::WitnessServe {
                    listen,
                    log_key,
                    state,
                    key,
                    name,
                },
        } => {
            let service = vhgate::witness::WitnessService::open(&log_key, &key, &name, &state)?;
            println!(
                "witness {name} listening on http://{listen}; cosignature key: {}",
                service.cosignature_verifier_key()
            );
            let listener = tokio::net::TcpListener::bind(listen).await?;
            axum::serve(
                listener,
                vhgate::witness::router(std::sync::Arc::new(service)),
            )
            .await?;
            Ok(())
        }
        Command::Log {
            command:
                LogCommand::Export {
                    config,
                    format,
                    out,
                    after,
                },
        } => {
            use std::io::Write;
            let config = Config::load(config.as_deref())?;
            let db = Db::open_existing(&config.database.url, 2).await?;
            if format == "sqlite" {
                let out = out.context("--format sqlite needs --out FILE")?;
                if out.exists() {
                    bail!("{} exists; the export goes into a new file", out.display());
                }
                let target = Db::connect(&format!("sqlite://{}", out.display()), 1).await?;
                target.migrate().await?;
                let copied = vhgate::disclosure::store::export_log(&db, &target).await?;
                target.close().await;
                println!(
                    "exported {copied} entries with their tree and checkpoints to {}",
                    out.display()
                );
                return Ok(());
            }
            use vhgate::disclosure::export::{ldv, opa};
            let mut registers = ldv::ActivityCheck::default();
            let mut out = std::io::BufWriter::new(std::io::stdout().lock());
            let mut next = after;
            loop {
                let rows = vhgate::disclosure::store::rows_after(&db, next, 2000).await?;
                let Some(last) = rows.last() else { break };
                next = last.seq;
                for row in rows {
                    let entry: vhgate::disclosure::LogEntry = serde_json::from_str(&row.entry)
                        .with_context(|| {
                            format!(
                                "entry {} is not valid JSON (run vhgate log verify)",
                                row.seq
                            )
                        })?;
                    if format == "ldv" {
                        for record in ldv::to_ldv(&entry) {
                            if let Some(activity) =
                                ldv::attribute(&record, "dpl.core.data_subject_id")
                                    .and(ldv::attribute(&record, "dpl.core.processing_activity_id"))
                            {
                                registers.check(&db, activity).await?;
                            }
                            writeln!(out, "{record}")?;
                        }
                    } else if let Some(event) = opa::to_opa(&entry, &config.log.origin) {
                        writeln!(out, "{event}")?;
                    }
                }
            }
            out.flush()?;
            if !registers.unresolved().is_empty() {
                let total: usize = registers.unresolved().values().sum();
                eprintln!(
                    "warning: {total} records name a processing activity that is not in the \
                     register of its policy revision (see vhgate log register --revision):"
                );
                for (activity, n) in registers.unresolved() {
                    eprintln!("  {activity}: {n} records");
                }
            }
            Ok(())
        }
        Command::Log {
            command: LogCommand::Register { config, revision },
        } => {
            let config = Config::load(config.as_deref())?;
            let db = Db::open_existing(&config.database.url, 2).await?;
            let revision = match revision {
                Some(revision) => revision,
                None => vhgate::admin::store::active_revision(&db)
                    .await?
                    .context("the bundle history is empty: no policy revision is active")?,
            };
            let register = vhgate::disclosure::export::ldv::register_at(&db, &revision)
                .await?
                .with_context(|| format!("revision {revision} is not in the bundle history"))?;
            println!("{}", serde_json::to_string_pretty(&register)?);
            Ok(())
        }
        Command::Log {
            command: LogCommand::Key { config },
        } => {
            let config = Config::load(config.as_deref())?;
            let signer =
                read_signer_key_file(&config.secrets.log_signing_key_file, &config.log.origin)?;
            println!("{}", signer.verifier_key());
            Ok(())
        }
    }
}

/// One line for people, then the record as JSON.
fn print_record(what: &str, record: &serde_json::Value) -> anyhow::Result<()> {
    println!(
        "{what}: revision {} is {}",
        record["revision"].as_str().unwrap_or("?"),
        record["status"].as_str().unwrap_or("?")
    );
    println!("{}", serde_json::to_string_pretty(record)?);
    Ok(())
}

/// Writes a private key readable by the owner only.
fn write_private(path: &Path, pem: &str) -> anyhow::Result<()> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut f = options
        .open(path)
        .with_context(|| format!("creating {}", path.display()))?;
    f.write_all(pem.as_bytes())
        .with_context(|| format!("writing {}", path.display()))?;
    Ok(())
}

/// `vhgate dev token`: the partner must be a demo partner and the role and purpose names of
/// the convenant in `policies` (the error lists the valid names). A role that does not act for
/// the purpose, or not for the partner's type, only gets a warning: such tokens are how a
/// refusal is shown.
fn check_dev_token_names(
    partner: &str,
    role: &str,
    purpose: &str,
    policies: &Path,
) -> anyhow::Result<()> {
    let Some(demo) = vhgate::pki::DEMO_PARTNERS
        .iter()
        .find(|p| p.name == partner)
    else {
        let names: Vec<&str> = vhgate::pki::DEMO_PARTNERS.iter().map(|p| p.name).collect();
        bail!(
            "--partner {partner:?} is not a demo partner; valid: {}",
            names.join(", ")
        );
    };
    if !policies.is_dir() {
        eprintln!(
            "warning: no policies at {} (--policies): role and purpose not checked",
            policies.display()
        );
        return Ok(());
    }
    let sources = vhgate::policy::PolicySources::read_dir(policies, false)?;
    let convenant = sources
        .data
        .iter()
        .find_map(|(_, v)| v.get("convenant").cloned())
        .with_context(|| format!("{}: no convenant data", policies.display()))?;
    let summary = sources.convenant()?;
    for (flag, value, key, valid) in [
        ("--role", role, "roles", &summary.roles),
        ("--purpose", purpose, "purposes", &summary.purposes),
    ] {
        if !valid.contains(value) {
            bail!(
                "{flag} {value:?} is not one of the convenant's {key} ({}); valid: {}",
                policies.join("data").display(),
                valid.iter().cloned().collect::<Vec<_>>().join(", ")
            );
        }
    }
    let listed = |list: &serde_json::Value, item: &str| {
        list.as_array()
            .is_some_and(|a| a.iter().any(|v| v == item || v == "*"))
    };
    let role_doc = &convenant["roles"][role];
    if !listed(&role_doc["purposes"], purpose) {
        eprintln!("warning: role {role} does not act for purpose {purpose} in the convenant: the policy will refuse this token's requests");
    }
    if !listed(&role_doc["partner_types"], demo.partner_type) {
        eprintln!(
            "warning: partner type {} may not take role {role} in the convenant: the policy will refuse this token's requests",
            demo.partner_type
        );
    }
    Ok(())
}

fn redact_url(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut u) if u.password().is_some() => {
            let _ = u.set_password(Some("***"));
            u.to_string()
        }
        _ => url.to_string(),
    }
}

async fn demo(listen: SocketAddr, dir: &Path, certs: &Path) -> anyhow::Result<()> {
    let pki = DevPkiLayout::new(certs);
    if !pki.exists() {
        pki.generate(false)?;
        println!("generated dev PKI in {}", certs.display());
    }
    if dir.exists() {
        std::fs::remove_dir_all(dir)
            .with_context(|| format!("removing old demo folder {}", dir.display()))?;
    }
    std::fs::create_dir_all(dir)?;
    // Absolute paths, so the written configuration works from any folder.
    let dir = dir
        .canonicalize()
        .with_context(|| format!("demo folder {}", dir.display()))?;
    let pki = DevPkiLayout::new(
        certs
            .canonicalize()
            .with_context(|| format!("dev PKI {}", certs.display()))?,
    );
    let mut config = dev_config(Config::load(None)?, &pki, &dir);
    config.server.listen = listen;
    if let Ok(policies) = config.policy.dir.canonicalize() {
        config.policy.dir = policies;
    }
    // The demo's own configuration, for the commands that take --config (log verify, log key,
    // log export) while or after it runs.
    let config_file = dir.join("vhgate.toml");
    std::fs::write(
        &config_file,
        toml::to_string(&config).context("writing the demo configuration")?,
    )
    .with_context(|| format!("writing {}", config_file.display()))?;
    let ids = prepare(&config, &pki).await?;
    let app = App::build(config).await?;
    // The phase cases go through the gateway's own casework steps, so they need the gateway.
    let phases = seed_casework(&app.gateway, &pki).await?;
    let server = app.start().await?;
    print_walkthrough(&server.addr, certs, &ids, &phases);
    println!(
        "The demo's configuration is {f}; the log tools take it, e.g.\n  vhgate log verify --config {f}\n  vhgate log key --config {f}\n",
        f = config_file.display()
    );
    server.run_until_signal().await;
    Ok(())
}

fn print_walkthrough(addr: &SocketAddr, certs: &Path, ids: &DemoIds, phases: &PhaseCases) {
    let exe = std::env::current_exe()
        .map(|p| p.display().to_string())
        .unwrap_or_else(|_| "vhgate".into());
    let base = format!("https://localhost:{}", addr.port());
    let c = certs.display();
    let curl = |partner: &str| {
        format!("curl -s --cacert {c}/ca.pem --cert {c}/partners/{partner}.pem --key {c}/partners/{partner}.key")
    };
    let token = |var: &str, partner: &str, role: &str, purpose: &str| {
        format!("{var}=$({exe} dev token --certs {c} --partner {partner} --role {role} --purpose {purpose})")
    };
    println!(
        r#"
vhgate demo is running on {base} (mutual TLS; Ctrl-C to stop). Try, in another terminal:

# 1. Allowed: Reclassering (at the table, legal ground for criminal and health data) reads the
#    man who moves to Uden after detention. Everything is disclosed.
{t1}
{c1} -H "Authorization: Bearer $TOKEN" {base}/v1/cases/{uc}/persons/{up}

# 2. Partly withheld: the housing corporation reads the same man. It gets housing, network and
#    safety information; criminal-law data, health data and the BSN are withheld by
#    proportionaliteit, each with its reason (see "decision").
{t2}
{c2} -H "Authorization: Bearer $TOKEN" {base}/v1/cases/{uc}/persons/{up}

# 3. Hit/no-hit: the housing corporation is not at the table of the cases in Oss; it may only
#    ask whether the young man in Oss is known in an active case, and whom to contact.
{t3}
{c3} -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json' -d '{{"bsn":"{ob}"}}' {base}/v1/lookup

# 4. Refused (hit/no-hit only): the same partner asks for the mother in the family case in Oss.
{c3} -H "Authorization: Bearer $TOKEN" {base}/v1/cases/{gc}/persons/{gm}

# 5. The privacy officer reviews what was disclosed.
{t5}
{c5} -H "Authorization: Bearer $TOKEN" "{base}/v1/disclosures?limit=5"

"#,
        t1 = token("TOKEN", "reclassering", "professional", "casusoverleg"),
        c1 = curl("reclassering"),
        t2 = token("TOKEN", "woningcorporatie", "professional", "casusoverleg"),
        c2 = curl("woningcorporatie"),
        t3 = token("TOKEN", "woningcorporatie", "professional", "casusoverleg"),
        c3 = curl("woningcorporatie"),
        t5 = token("TOKEN", "veiligheidshuis", "privacy_officer", "toezicht"),
        c5 = curl("veiligheidshuis"),
        uc = ids.uden_case,
        up = ids.uden_man,
        gc = ids.gezin_case,
        gm = ids.gezin_mother,
        ob = ids.oss_youth_bsn,
    );
    println!(
        r#"# 6. The privacy officers' console (Dutch, in a browser): {base}/console
#    The browser must present the Veiligheidshuis's dev client certificate and trust the dev CA:
#      openssl pkcs12 -export -in {c}/partners/veiligheidshuis.pem -inkey {c}/partners/veiligheidshuis.key \
#        -certfile {c}/ca.pem -out veiligheidshuis.p12 -passout pass:vhgate
#    import veiligheidshuis.p12 (password vhgate) and trust {c}/ca.pem in the browser, open the
#    address and sign in by pasting the privacy officer's token:
#      {exe} dev token --certs {c} --partner veiligheidshuis --role privacy_officer --purpose toezicht
#    (a partner's officer, e.g. --partner politie with its own certificate, sees its own
#    organisation's entries only).

# 7. Prometheus metrics: the Veiligheidshuis's certificate holds the monitoring role in the demo
#    (metrics.monitoring_oins); no token. Any other certificate gets 403.
{cm} {base}/metrics
"#,
        cm = curl(vhgate::demo::DEMO_MONITORING_PARTNER),
    );
    println!("# Seeded cases in every phase of the life cycle (through the gateway's own steps;");
    println!("# vernietigd: closed, retention ended, person data destroyed):");
    for (phase, case) in phases.list() {
        println!("#   {phase:<12} {case}");
    }
    let steps = walk::walkthrough(chrono::Utc::now().date_naive());
    println!("\n{}", walk::render(&steps, &base, certs, &exe));
}
