//! Configuration: one TOML file plus `VHGATE_` environment overrides (`VHGATE_SERVER__LISTEN`,
//! `VHGATE_DATABASE__URL`, ...), validated at start-up so a bad setting fails with a clear
//! message instead of at the first request.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use figment::providers::{Env, Format, Serialized, Toml};
use figment::Figment;
use serde::{Deserialize, Serialize};

/// Errors while loading or validating the configuration.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("configuration: {0}")]
    Load(String),
    #[error("configuration: {field}: {message}")]
    Invalid {
        field: &'static str,
        message: String,
    },
}

/// The whole configuration.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    pub server: ServerConfig,
    pub tls: TlsConfig,
    pub database: DatabaseConfig,
    pub policy: PolicyConfig,
    pub secrets: SecretsConfig,
    pub log: LogConfig,
    pub auth: AuthConfig,
    pub signals: SignalsConfig,
    pub spoed: SpoedConfig,
    pub console: ConsoleConfig,
    pub metrics: MetricsConfig,
}

/// Prometheus metrics on `GET /metrics` (same mTLS listener).
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MetricsConfig {
    /// OINs whose client certificates hold the monitoring role: they may scrape `/metrics`
    /// (Prometheus presents a certificate but cannot mint partner tokens). Empty (the default):
    /// nobody may.
    pub monitoring_oins: Vec<crate::domain::Oin>,
}

/// How diagnostic log lines are written.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    #[default]
    Text,
    Json,
}

/// The privacy officers' console (served under `/console` on the same listener).
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ConsoleConfig {
    /// The headless Chromium that prints access reports to PDF (a command on PATH or a path).
    /// Without it the report is still there to print from the browser; the PDF link says so.
    pub chromium: String,
    /// Signal: different persons one employee looked up or was refused in 24 hours.
    pub snoop_persons: usize,
    /// Signal: refusals in a row for one employee within 24 hours.
    pub refusal_run: usize,
    /// Quiet hours, UTC, `[from, until)` (wraps past midnight when from > until).
    pub quiet_hours_utc: [u32; 2],
    /// Signal: requests in the quiet hours by one employee within 7 days.
    pub quiet_requests: usize,
    /// Signal: a partner's last 24 hours against its daily average of the 6 days before ...
    pub spike_factor: f64,
    /// ... with at least this many requests in those 24 hours.
    pub spike_min: usize,
}

impl Default for ConsoleConfig {
    fn default() -> Self {
        let t = crate::disclosure::anomalies::Thresholds::default();
        ConsoleConfig {
            chromium: "chromium".into(),
            snoop_persons: t.snoop_persons,
            refusal_run: t.refusal_run,
            quiet_hours_utc: [t.quiet_hours.0, t.quiet_hours.1],
            quiet_requests: t.quiet_requests,
            spike_factor: t.spike_factor,
            spike_min: t.spike_min,
        }
    }
}

impl ConsoleConfig {
    /// The signal thresholds this configuration sets.
    pub fn thresholds(&self) -> crate::disclosure::anomalies::Thresholds {
        crate::disclosure::anomalies::Thresholds {
            snoop_persons: self.snoop_persons,
            refusal_run: self.refusal_run,
            quiet_hours: (self.quiet_hours_utc[0], self.quiet_hours_utc[1]),
            quiet_requests: self.quiet_requests,
            spike_factor: self.spike_factor,
            spike_min: self.spike_min,
        }
    }
}

/// Break-glass (purpose spoed): how soon the privacy officer must review each spoed read, and
/// how often the gateway looks for reviews that are overdue.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SpoedConfig {
    /// Hours after a spoed read within which its review is due. Default 72; 1 to 720.
    pub review_within_hours: u32,
    /// Seconds between checks for overdue reviews (each is signalled once). Default 300.
    pub check_interval_secs: u64,
}

impl Default for SpoedConfig {
    fn default() -> Self {
        SpoedConfig {
            review_within_hours: 72,
            check_interval_secs: 300,
        }
    }
}

/// Aggregate signalling figures (`GET /v1/signals`).
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SignalsConfig {
    /// The small-cell threshold k: no figure below it is ever shown, and published figures are
    /// rounded to multiples of it (see [`crate::signals`]). Default 5; at least
    /// [`crate::signals::MIN_CELL_FLOOR`].
    pub min_cell: u32,
}

impl Default for SignalsConfig {
    fn default() -> Self {
        SignalsConfig {
            min_cell: crate::signals::DEFAULT_MIN_CELL,
        }
    }
}

/// Where and as whom the gateway listens.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ServerConfig {
    /// Listen address (default 127.0.0.1:8443).
    pub listen: SocketAddr,
    /// Seconds to wait for in-flight requests on shutdown.
    pub shutdown_grace_secs: u64,
    /// Maximum simultaneous connections; further TCP connections wait in the accept queue.
    pub max_connections: usize,
    /// Connections of one source address still in their TLS handshake (default 64); further
    /// ones are closed at once, so one slow or flooding address cannot hold every slot.
    pub max_handshakes_per_ip: usize,
    /// A request without its answer after this many milliseconds gets 503 (a database that
    /// stopped answering mid-query, e.g. a silent network partition, would hold it for as long
    /// as TCP keeps the connection). Policy bundle administration is exempt (compiling and
    /// replaying a bundle may take long). A request body still arriving by then gets 408.
    pub request_timeout_ms: u64,
    /// A client gets this many milliseconds to send a request's head (after the handshake or
    /// the previous answer); a head that had begun then gets 408, an idle connection is closed.
    pub header_read_timeout_ms: u64,
}

/// Server certificate and the convenant's trust anchors for client certificates.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TlsConfig {
    pub cert: PathBuf,
    pub key: PathBuf,
    /// PEM files with the CA certificates partner client certificates must chain to.
    pub client_ca: Vec<PathBuf>,
    /// PEM or DER certificate revocation lists; a revoked client certificate fails the handshake.
    pub crls: Vec<PathBuf>,
}

/// The case record and disclosure log database.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DatabaseConfig {
    /// `sqlite://path/to/file.db` (embedded default) or `postgres://...`.
    pub url: String,
    pub max_connections: u32,
    /// PostgreSQL: how long a request waits for a pooled connection (including the check that
    /// an idle one still answers) before it gets 503. Keep it near `log.commit_timeout_ms`: an
    /// unreachable database should be refused quickly, not after a long hang.
    pub acquire_timeout_ms: u64,
}

/// Where the Rego policies and their data live.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PolicyConfig {
    pub dir: PathBuf,
    /// Seconds between checks for a bundle activated on another instance.
    pub sync_interval_secs: u64,
    /// OPA bundle signatures (`[policy.signing]`).
    pub signing: BundleSigningConfig,
}

/// Which keys may sign policy bundles, and whether a signature is mandatory. A signed bundle
/// is always verified (and refused if the signature is bad or no keys are configured).
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct BundleSigningConfig {
    /// Refuse unsigned bundles (at proposal, approval, rollback and start-up).
    pub required: bool,
    /// The `scope` the signature payload must carry (OPA's verification scope); none: the
    /// payload must carry no scope.
    pub scope: Option<String>,
    /// Public keys that may sign bundles, by key id (the JWS `kid` / payload `keyid`).
    pub keys: Vec<BundleKeyConfig>,
}

/// A bundle signing public key.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BundleKeyConfig {
    /// Key id, as signers put it in the JWS header `kid`.
    pub id: String,
    /// `ES256`, `ES384`, `EdDSA`, `RS256`/`RS384`/`RS512` or `PS256`/`PS384`/`PS512`.
    pub algorithm: String,
    /// The public key (SPKI PEM) inline ...
    #[serde(default)]
    pub public_key_pem: Option<String>,
    /// ... or in a file.
    #[serde(default)]
    pub public_key_file: Option<PathBuf>,
}

/// Key files. Secrets never live in the database or the config itself.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SecretsConfig {
    /// 32 random bytes (hex or raw): HMAC key for subject pseudonyms.
    pub pseudonym_key_file: PathBuf,
    /// Version of `pseudonym_key_file`, recorded with every pseudonym. Raise it when rotating.
    pub pseudonym_key_version: i32,
    /// Retired pseudonym keys: still used to find subjects, never to make new pseudonyms.
    pub previous_pseudonym_keys: Vec<PreviousKey>,
    /// 32 random bytes (hex or raw): AEAD key for BSNs at rest in the case record.
    pub record_key_file: PathBuf,
    /// Ed25519 key (PKCS#8) that signs the disclosure log's checkpoints; created if missing.
    pub log_signing_key_file: PathBuf,
}

/// A witness the gateway pushes checkpoints to.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WitnessTarget {
    /// Submission prefix, e.g. `http://witness.example:7380` (`/add-checkpoint` is appended).
    pub url: String,
    /// The witness's cosignature verifier key (C2SP vkey).
    pub vkey: String,
}

/// A retired pseudonym key and its version.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PreviousKey {
    pub version: i32,
    pub file: PathBuf,
}

/// Disclosure-log group commit.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LogConfig {
    /// Most entries appended in one transaction.
    pub batch_max: usize,
    /// How long the writer waits for more entries after the first of a batch, in microseconds.
    /// Default 0: entries that arrive while a commit is in flight form the next batch anyway, so
    /// waiting only adds latency at low load.
    pub batch_wait_us: u64,
    /// A request whose entry is not committed within this many milliseconds gets 503.
    pub commit_timeout_ms: u64,
    /// Milliseconds between sweeps of the outbox for entries of committed steps that nobody
    /// waits for any more (their process died, or their wait timed out).
    pub outbox_sweep_ms: u64,
    /// Witnesses to push each new checkpoint to (C2SP tlog-witness `add-checkpoint`); their
    /// cosignatures are stored and served with the checkpoint.
    pub witnesses: Vec<WitnessTarget>,
    /// Seconds between pushes to the witnesses.
    pub witness_interval_secs: u64,
    /// Whether a data subject's access report may say that something is held back under an
    /// embargo (art. 41 UAVG). Off by default: often even that would tip off the subject.
    pub report_embargo_existence: bool,
    /// The log's identity in its checkpoints (C2SP tlog-checkpoint origin line), e.g.
    /// `zvh-oost-brabant.example/vhgate/disclosures`. Also the checkpoint key's name.
    pub origin: String,
    /// The format of the gateway's own diagnostic lines on stderr (not of the disclosure log,
    /// whose entries are always canonical JSON): `text` (default; colours only on a terminal)
    /// or `json` (one object per line). The filter is `RUST_LOG` (default `info,sqlx=warn`).
    pub format: LogFormat,
}

/// Token verification settings.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AuthConfig {
    /// The `aud` partners must put in their tokens.
    pub audience: String,
    /// Clock skew tolerated on `iat`/`exp`, in seconds.
    pub leeway_secs: u64,
    /// Longest allowed token lifetime (`exp - iat`), in seconds.
    pub max_token_lifetime_secs: u64,
    /// Verified tokens kept in memory.
    pub token_cache_entries: usize,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            listen: SocketAddr::from(([127, 0, 0, 1], 8443)),
            shutdown_grace_secs: 10,
            max_connections: 4096,
            max_handshakes_per_ip: 64,
            request_timeout_ms: 10_000,
            header_read_timeout_ms: 30_000,
        }
    }
}

impl Default for TlsConfig {
    fn default() -> Self {
        TlsConfig {
            cert: "certs/dev/gateway.pem".into(),
            key: "certs/dev/gateway.key".into(),
            client_ca: vec!["certs/dev/ca.pem".into()],
            crls: vec![],
        }
    }
}

impl Default for DatabaseConfig {
    fn default() -> Self {
        DatabaseConfig {
            url: "sqlite://vhgate.db".into(),
            max_connections: 8,
            acquire_timeout_ms: 2000,
        }
    }
}

impl Default for PolicyConfig {
    fn default() -> Self {
        PolicyConfig {
            dir: "policies".into(),
            sync_interval_secs: 1,
            signing: BundleSigningConfig::default(),
        }
    }
}

impl Default for SecretsConfig {
    fn default() -> Self {
        SecretsConfig {
            pseudonym_key_file: "secrets/pseudonym.key".into(),
            pseudonym_key_version: 1,
            previous_pseudonym_keys: Vec::new(),
            record_key_file: "secrets/record.key".into(),
            log_signing_key_file: "secrets/log-signing.key".into(),
        }
    }
}

impl Default for LogConfig {
    fn default() -> Self {
        LogConfig {
            batch_max: 128,
            batch_wait_us: 0,
            commit_timeout_ms: 2000,
            outbox_sweep_ms: 5000,
            witnesses: Vec::new(),
            witness_interval_secs: 60,
            report_embargo_existence: false,
            origin: "localhost/vhgate/disclosures".into(),
            format: LogFormat::default(),
        }
    }
}

impl Default for AuthConfig {
    fn default() -> Self {
        AuthConfig {
            audience: "vhgate".into(),
            leeway_secs: 30,
            max_token_lifetime_secs: 900,
            token_cache_entries: 10_000,
        }
    }
}

impl Config {
    /// Loads defaults, then the TOML file (if given; it must exist), then `VHGATE_` variables,
    /// and validates the result.
    pub fn load(file: Option<&Path>) -> Result<Config, ConfigError> {
        let mut figment = Figment::from(Serialized::defaults(Config::default()));
        if let Some(file) = file {
            if !file.exists() {
                return Err(ConfigError::Load(format!(
                    "config file {} not found",
                    file.display()
                )));
            }
            figment = figment.merge(Toml::file(file));
        }
        Self::extract(figment.merge(Env::prefixed("VHGATE_").split("__")))
    }

    /// Reads a configuration from TOML text alone (defaults, then the text; no environment),
    /// as [`Config::load`] reads a file, and validates it.
    pub fn from_toml(text: &str) -> Result<Config, ConfigError> {
        Self::extract(
            Figment::from(Serialized::defaults(Config::default())).merge(Toml::string(text)),
        )
    }

    fn extract(figment: Figment) -> Result<Config, ConfigError> {
        let config: Config = figment
            .extract()
            .map_err(|e| ConfigError::Load(e.to_string()))?;
        config.validate()?;
        Ok(config)
    }

    /// Checks values that serde cannot.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let invalid = |field, message: &str| {
            Err(ConfigError::Invalid {
                field,
                message: message.into(),
            })
        };
        let url = &self.database.url;
        if !(url.starts_with("sqlite:")
            || url.starts_with("postgres://")
            || url.starts_with("postgresql://"))
        {
            return invalid("database.url", "must start with sqlite: or postgres://");
        }
        if self.database.max_connections == 0 {
            return invalid("database.max_connections", "must be at least 1");
        }
        if self.server.request_timeout_ms == 0 {
            return invalid("server.request_timeout_ms", "must be positive");
        }
        if self.server.header_read_timeout_ms == 0 {
            return invalid("server.header_read_timeout_ms", "must be positive");
        }
        if self.database.acquire_timeout_ms == 0 {
            return invalid("database.acquire_timeout_ms", "must be positive");
        }
        if self.tls.client_ca.is_empty() {
            return invalid(
                "tls.client_ca",
                "at least one trust anchor is required (mutual TLS is mandatory)",
            );
        }
        let c = &self.console;
        if c.snoop_persons < 2 || c.refusal_run < 2 || c.quiet_requests < 1 || c.spike_min < 1 {
            return invalid(
                "console.snoop_persons",
                "signal thresholds must be at least 2 (persons, refusals) or 1 (requests)",
            );
        }
        if c.quiet_hours_utc.iter().any(|h| *h > 23) || c.quiet_hours_utc[0] == c.quiet_hours_utc[1]
        {
            return invalid("console.quiet_hours_utc", "two different hours 0 to 23");
        }
        if !(c.spike_factor.is_finite() && c.spike_factor >= 1.0) {
            return invalid("console.spike_factor", "must be at least 1");
        }
        if c.chromium.trim().is_empty() {
            return invalid("console.chromium", "must name the Chromium command");
        }
        if !(1..=720).contains(&self.spoed.review_within_hours) {
            return invalid("spoed.review_within_hours", "must be 1 to 720 hours");
        }
        if self.spoed.check_interval_secs == 0 {
            return invalid("spoed.check_interval_secs", "must be positive");
        }
        if self.policy.sync_interval_secs == 0 {
            return invalid("policy.sync_interval_secs", "must be positive");
        }
        let signing = &self.policy.signing;
        if signing.required && signing.keys.is_empty() {
            return invalid(
                "policy.signing.required",
                "needs at least one key in policy.signing.keys",
            );
        }
        for (i, k) in signing.keys.iter().enumerate() {
            if k.id.trim().is_empty() {
                return invalid("policy.signing.keys", "every key needs an id");
            }
            if signing.keys[..i].iter().any(|o| o.id == k.id) {
                return invalid("policy.signing.keys", "key ids must be distinct");
            }
            if !crate::policy::signing::ALLOWED_ALGORITHMS.contains(&k.algorithm.as_str()) {
                return invalid(
                    "policy.signing.keys",
                    "algorithm must be one of ES256, ES384, EdDSA, RS256, RS384, RS512, PS256, PS384, PS512",
                );
            }
            if k.public_key_pem.is_some() == k.public_key_file.is_some() {
                return invalid(
                    "policy.signing.keys",
                    "give exactly one of public_key_pem and public_key_file",
                );
            }
        }
        if self.log.batch_max == 0 || self.log.batch_max > 10_000 {
            return invalid("log.batch_max", "must be between 1 and 10000");
        }
        if self.log.commit_timeout_ms == 0 {
            return invalid("log.commit_timeout_ms", "must be positive");
        }
        if self.log.outbox_sweep_ms == 0 {
            return invalid("log.outbox_sweep_ms", "must be positive");
        }
        let versions: Vec<i32> = std::iter::once(self.secrets.pseudonym_key_version)
            .chain(
                self.secrets
                    .previous_pseudonym_keys
                    .iter()
                    .map(|k| k.version),
            )
            .collect();
        if versions.iter().any(|v| *v < 1)
            || (1..versions.len()).any(|i| versions[..i].contains(&versions[i]))
        {
            return invalid(
                "secrets.previous_pseudonym_keys",
                "pseudonym key versions must be positive and distinct (the current one included)",
            );
        }
        if !self.log.witnesses.is_empty() && self.log.witness_interval_secs == 0 {
            return invalid(
                "log.witness_interval_secs",
                "must be positive when witnesses are configured",
            );
        }
        for w in &self.log.witnesses {
            if !w.url.starts_with("http://") && !w.url.starts_with("https://") {
                return invalid("log.witnesses", "url must start with http:// or https://");
            }
            if crate::disclosure::checkpoint::NoteVerifier::from_vkey(&w.vkey).is_err() {
                return invalid("log.witnesses", "vkey is not a valid verifier key");
            }
        }
        let origin = &self.log.origin;
        if origin.trim().is_empty()
            || origin.trim() != origin
            || origin.chars().any(|c| c.is_control() || c == '+')
        {
            return invalid(
                "log.origin",
                "must be a non-empty line without surrounding spaces, control characters or '+'",
            );
        }
        if self.auth.audience.trim().is_empty() {
            return invalid("auth.audience", "must not be empty");
        }
        if self.auth.max_token_lifetime_secs == 0 || self.auth.max_token_lifetime_secs > 900 {
            return invalid(
                "auth.max_token_lifetime_secs",
                "must be between 1 and 900 (DESIGN.md §3)",
            );
        }
        if self.signals.min_cell < crate::signals::MIN_CELL_FLOOR
            || self.signals.min_cell > crate::signals::MIN_CELL_CEILING
        {
            return invalid(
                "signals.min_cell",
                &format!(
                    "must be between {} and {} (smaller thresholds let differencing reveal small counts)",
                    crate::signals::MIN_CELL_FLOOR,
                    crate::signals::MIN_CELL_CEILING
                ),
            );
        }
        if self.server.max_connections == 0 {
            return invalid("server.max_connections", "must be at least 1");
        }
        if self.server.max_handshakes_per_ip == 0 {
            return invalid("server.max_handshakes_per_ip", "must be at least 1");
        }
        Ok(())
    }

    /// Commit timeout as a [`Duration`].
    pub fn commit_timeout(&self) -> Duration {
        Duration::from_millis(self.log.commit_timeout_ms)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid() {
        Config::default()
            .validate()
            .map_err(|e| e.to_string())
            .unwrap_or_else(|e| panic!("{e}"));
    }

    #[test]
    fn rejects_bad_values() {
        let mut c = Config::default();
        c.database.url = "mysql://x".into();
        assert!(c.validate().is_err());
        let mut c = Config::default();
        c.auth.max_token_lifetime_secs = 3600;
        assert!(c.validate().is_err());
        for k in [0, 1, 2, 3, 101] {
            let mut c = Config::default();
            c.signals.min_cell = k;
            assert!(c.validate().is_err(), "min_cell {k} accepted");
        }
        let mut c = Config::default();
        c.signals.min_cell = 4;
        assert!(c.validate().is_ok());
    }

    #[test]
    fn monitoring_oins_and_log_format_are_checked_when_read() {
        let c = Config::from_toml(
            "[metrics]\nmonitoring_oins = [\"00000099000000000019\"]\n[log]\nformat = \"json\"\n",
        )
        .map_err(|e| e.to_string())
        .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(c.metrics.monitoring_oins.len(), 1);
        assert_eq!(c.log.format, LogFormat::Json);
        assert!(
            Config::default().metrics.monitoring_oins.is_empty(),
            "nobody by default"
        );
        assert_eq!(Config::default().log.format, LogFormat::Text);
        for bad in [
            "[metrics]\nmonitoring_oins = [\"politie\"]\n",
            "[metrics]\nscrapers = []\n",
            "[log]\nformat = \"yaml\"\n",
            "[logging]\nformat = \"json\"\n",
        ] {
            assert!(Config::from_toml(bad).is_err(), "{bad}");
        }
    }
}
