//! Configuration: `RawConfig` as read (serde, unknown keys refused) from the defaults, the
//! data directory's `covault.toml` and `COVAULT_<SECTION>__<KEY>` variables, validated into
//! [`Config`]. Secrets are never part of it.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, bail};
use covault_guard::{AccessOptions, PathLimits, Tier, VaultLimits, parse_network};
use covault_server::sinks::{SinkConfig, SinkTarget};
use covault_server::{AuditTaskConfig, ServerConfig, TlsFiles};
use serde::Deserialize;

use crate::env;

/// The commented template written by `covault init`; also the source of the defaults.
pub const TEMPLATE: &str = include_str!("covault.toml");

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    server: RawServer,
    limits: RawLimits,
    store: RawStore,
    classification: RawClassification,
    audit: RawAudit,
    auth: RawAuth,
    session: RawSession,
    sso: RawSso,
    policy: RawPolicy,
    keys: RawKeys,
    log: RawLog,
    backup: RawBackup,
    #[serde(default)]
    gateway: covault_gateway::GatewayConfig,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawAuth {
    token_default_days: i64,
    token_max_days: i64,
    rotation_overlap_hours: i64,
    rotation_max_overlap_days: i64,
    mfa_issuer: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSession {
    idle_minutes: i64,
    absolute_hours: i64,
    login_token_hours: i64,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSso {
    issuer: String,
    client_id: String,
    client_secret_file: String,
    redirect_url: String,
    scopes: Vec<String>,
    groups_claim: String,
    role_mapping: Vec<(String, String)>,
    default_role: String,
    allowed_email_domains: Vec<String>,
}

impl RawSso {
    fn config(&self, data_dir: &Path) -> anyhow::Result<Option<covault_sso::OidcConfig>> {
        if self.issuer.is_empty() {
            return Ok(None);
        }
        if self.client_id.is_empty() || self.redirect_url.is_empty() {
            bail!("sso: issuer, client_id and redirect_url must be set together");
        }
        let secret = if self.client_secret_file.is_empty() {
            None
        } else {
            let path = data_dir.join(&self.client_secret_file);
            let text = std::fs::read_to_string(&path)
                .with_context(|| format!("sso.client_secret_file `{}`", path.display()))?;
            Some(secrecy::SecretString::from(text.trim().to_owned()))
        };
        let mut config = covault_sso::OidcConfig::new(
            self.issuer.clone(),
            self.client_id.clone(),
            secret,
            self.redirect_url.clone(),
        );
        config.scopes = self.scopes.clone();
        config.groups_claim = self.groups_claim.clone();
        config.role_mapping = self.role_mapping.clone();
        config.default_role = (!self.default_role.is_empty()).then(|| self.default_role.clone());
        config.allowed_email_domains = self.allowed_email_domains.clone();
        Ok(Some(config))
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPolicy {
    dir: String,
    builtin: bool,
    disable: Vec<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawServer {
    listen: String,
    tls_cert: String,
    tls_key: String,
    allow_insecure_http: bool,
    shutdown_grace_seconds: u64,
    max_json_bytes: usize,
    trusted_proxies: Vec<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawLimits {
    max_file_bytes: u64,
    max_path_bytes: usize,
    max_component_bytes: usize,
    max_depth: usize,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawStore {
    default_tier: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawClassification {
    enabled: bool,
    scan_limit_bytes: u64,
    min_score: f32,
    on_extraction_failure: String,
    max_document_bytes: u64,
    extraction_timeout_seconds: u64,
    restricted: Vec<String>,
    confidential: Vec<String>,
    internal: Vec<String>,
    public: Vec<String>,
}

impl RawClassification {
    fn extraction(&self) -> anyhow::Result<covault_guard::ExtractionPolicy> {
        let on_failure = match self.on_extraction_failure.as_str() {
            "review" => covault_guard::OnExtractionFailure::Review,
            "block" => covault_guard::OnExtractionFailure::Block,
            other => anyhow::bail!(
                "classification.on_extraction_failure is `{other}`; use \"review\" or \"block\""
            ),
        };
        if self.max_document_bytes == 0 || self.max_document_bytes > 1 << 30 {
            anyhow::bail!("classification.max_document_bytes must be between 1 and 1073741824");
        }
        if !(1..=600).contains(&self.extraction_timeout_seconds) {
            anyhow::bail!("classification.extraction_timeout_seconds must be between 1 and 600");
        }
        let mut policy = covault_guard::ExtractionPolicy {
            on_failure,
            ..Default::default()
        };
        policy.limits.max_input = self.max_document_bytes as usize;
        policy.limits.timeout = Duration::from_secs(self.extraction_timeout_seconds);
        Ok(policy)
    }

    fn policy(&self) -> anyhow::Result<covault_scan::ClassificationPolicy> {
        if !(0.0..=1.0).contains(&self.min_score) {
            bail!("classification.min_score must be between 0 and 1");
        }
        let mut policy = covault_scan::ClassificationPolicy {
            min_score: self.min_score,
            ..Default::default()
        };
        for (tier, names) in [
            (Tier::Restricted, &self.restricted),
            (Tier::Confidential, &self.confidential),
            (Tier::Internal, &self.internal),
            (Tier::Public, &self.public),
        ] {
            for name in names {
                let kind: covault_scan::EntityType = name
                    .parse()
                    .with_context(|| format!("classification.{tier}"))?;
                policy.by_type.insert(kind, tier);
            }
        }
        Ok(policy)
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawBackup {
    repository: String,
    backup_interval_minutes: u64,
    drill_interval_minutes: u64,
    drill_sample: u64,
    alert_url: String,
}

/// `[backup]`: where backups go and what `serve` schedules.
#[derive(Clone, Debug, Default)]
pub struct BackupConfig {
    pub repository: Option<String>,
    pub backup_every: Option<Duration>,
    pub drill_every: Option<Duration>,
    /// `None`: drills restore every version.
    pub drill_sample: Option<usize>,
    pub alert_url: Option<String>,
}

impl RawBackup {
    fn config(&self) -> anyhow::Result<BackupConfig> {
        let minutes = |m: u64, what: &str| -> anyhow::Result<Option<Duration>> {
            match m {
                0 => Ok(None),
                1..=527_040 => Ok(Some(Duration::from_secs(m * 60))),
                _ => bail!("backup.{what} must be at most a year (527040 minutes)"),
            }
        };
        let config = BackupConfig {
            repository: (!self.repository.is_empty()).then(|| self.repository.clone()),
            backup_every: minutes(self.backup_interval_minutes, "backup_interval_minutes")?,
            drill_every: minutes(self.drill_interval_minutes, "drill_interval_minutes")?,
            drill_sample: (self.drill_sample > 0)
                .then(|| usize::try_from(self.drill_sample).unwrap_or(usize::MAX)),
            alert_url: (!self.alert_url.is_empty()).then(|| self.alert_url.clone()),
        };
        if (config.backup_every.is_some() || config.drill_every.is_some())
            && config.repository.is_none()
        {
            bail!("backup: scheduled backups or drills need backup.repository");
        }
        if let Some(url) = &config.alert_url
            && !(url.starts_with("http://") || url.starts_with("https://"))
        {
            bail!("backup.alert_url must be an http(s) URL");
        }
        Ok(config)
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawAudit {
    checkpoint_interval_seconds: u64,
    checkpoint_file: String,
    checkpoint_url: String,
    retention_days: u64,
    #[serde(default)]
    sinks: Vec<RawSink>,
}

/// One `[[audit.sinks]]` table.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSink {
    name: String,
    /// file, syslog-udp, syslog-tcp, syslog-tls or otlp-http.
    kind: String,
    #[serde(default)]
    address: String,
    #[serde(default)]
    path: String,
    #[serde(default)]
    url: String,
    #[serde(default)]
    server_name: String,
    #[serde(default)]
    ca_file: String,
    #[serde(default)]
    format: String,
    #[serde(default)]
    facility: String,
    batch: Option<u32>,
    /// HTTP header → name of the environment variable holding its value (secrets stay out
    /// of the file).
    #[serde(default)]
    headers_from_env: std::collections::BTreeMap<String, String>,
}

impl RawSink {
    fn sink(&self, data_dir: &Path) -> anyhow::Result<SinkConfig> {
        let at = || format!("audit.sinks `{}`", self.name);
        let addr = || -> anyhow::Result<SocketAddr> {
            self.address
                .parse()
                .with_context(|| format!("{}: address `{}` is not ip:port", at(), self.address))
        };
        let file = |p: &str| (!p.is_empty()).then(|| data_dir.join(p));
        let target = match self.kind.as_str() {
            "file" => SinkTarget::File {
                path: file(&self.path).with_context(|| format!("{}: set `path`", at()))?,
            },
            "syslog-udp" => SinkTarget::SyslogUdp { addr: addr()? },
            "syslog-tcp" => SinkTarget::SyslogTcp { addr: addr()? },
            "syslog-tls" => SinkTarget::SyslogTls {
                addr: addr()?,
                server_name: self.server_name.clone(),
                ca_file: file(&self.ca_file),
            },
            "otlp-http" => SinkTarget::OtlpHttp {
                url: self.url.clone(),
                headers: self.headers()?,
            },
            other => bail!(
                "{}: kind `{other}` is not file, syslog-udp, syslog-tcp, syslog-tls or otlp-http",
                at()
            ),
        };
        let mut sink = SinkConfig::new(self.name.clone(), target);
        if !self.format.is_empty() {
            sink.format = self.format.parse().with_context(at)?;
        }
        if !self.facility.is_empty() {
            sink.encode.facility = self.facility.parse().with_context(at)?;
        }
        if let Some(batch) = self.batch {
            sink.batch = batch;
        }
        sink.validate().with_context(at)?;
        Ok(sink)
    }

    fn headers(&self) -> anyhow::Result<Vec<(String, secrecy::SecretString)>> {
        self.headers_from_env
            .iter()
            .map(|(header, var)| {
                let value = std::env::var(var).with_context(|| {
                    format!(
                        "audit.sinks `{}`: header `{header}` comes from ${var}, which is not set",
                        self.name
                    )
                })?;
                Ok((header.clone(), secrecy::SecretString::from(value)))
            })
            .collect()
    }
}

impl RawAudit {
    fn tasks(&self, data_dir: &Path) -> anyhow::Result<AuditTaskConfig> {
        if self.checkpoint_interval_seconds == 0 || self.checkpoint_interval_seconds > 86_400 {
            bail!("audit.checkpoint_interval_seconds must be between 1 and 86400");
        }
        let url = self.checkpoint_url.trim();
        let is_http = url.starts_with("https://") || url.starts_with("http://");
        if !url.is_empty() && !is_http {
            bail!("audit.checkpoint_url `{url}` must start with https:// or http://");
        }
        if self.retention_days > 36_500 {
            bail!("audit.retention_days must be at most 36500 (0 keeps everything)");
        }
        Ok(AuditTaskConfig {
            checkpoint_interval: Duration::from_secs(self.checkpoint_interval_seconds),
            checkpoint_file: (!self.checkpoint_file.is_empty())
                .then(|| data_dir.join(&self.checkpoint_file)),
            checkpoint_url: (!url.is_empty()).then(|| url.to_owned()),
            retention: (self.retention_days > 0)
                .then(|| Duration::from_secs(self.retention_days * 86_400)),
            sinks: self
                .sinks
                .iter()
                .map(|s| s.sink(data_dir))
                .collect::<anyhow::Result<_>>()?,
            ..AuditTaskConfig::default()
        })
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawKeys {
    key_file: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawLog {
    level: String,
    format: String,
}

/// Validated configuration.
#[derive(Clone, Debug)]
pub struct Config {
    pub server: ServerConfig,
    pub audit: AuditTaskConfig,
    pub backup: BackupConfig,
    pub limits: VaultLimits,
    pub key_file: Option<PathBuf>,
    pub log_level: String,
    pub log_json: bool,
}

impl Config {
    /// Defaults → `<data_dir>/covault.toml` (if present) → environment overrides.
    pub fn load(data_dir: &Path) -> anyhow::Result<Self> {
        let mut table: toml::Table = toml::from_str(TEMPLATE).context("built-in defaults")?;
        let file = data_dir.join("covault.toml");
        if file.exists() {
            let text = std::fs::read_to_string(&file)
                .with_context(|| format!("reading `{}`", file.display()))?;
            let user: toml::Table =
                toml::from_str(&text).with_context(|| format!("parsing `{}`", file.display()))?;
            merge(&mut table, user);
        }
        merge(&mut table, env_overrides(std::env::vars())?);
        let raw: RawConfig = table.try_into().with_context(|| {
            format!(
                "invalid configuration (check `{}` and COVAULT_*__* variables)",
                file.display()
            )
        })?;
        Self::validate(raw, data_dir)
    }

    fn validate(raw: RawConfig, data_dir: &Path) -> anyhow::Result<Self> {
        let listen: SocketAddr = raw.server.listen.parse().with_context(|| {
            format!(
                "server.listen `{}` is not an address:port",
                raw.server.listen
            )
        })?;
        let resolve = |p: &str| (!p.is_empty()).then(|| data_dir.join(p));
        let tls = match (resolve(&raw.server.tls_cert), resolve(&raw.server.tls_key)) {
            (Some(cert), Some(key)) => Some(TlsFiles { cert, key }),
            (None, None) => None,
            _ => bail!("server.tls_cert and server.tls_key must be set together"),
        };
        if raw.limits.max_file_bytes == 0 || raw.server.max_json_bytes == 0 {
            bail!("limits must be greater than zero");
        }
        if raw.limits.max_component_bytes == 0
            || raw.limits.max_path_bytes < raw.limits.max_component_bytes
            || raw.limits.max_depth == 0
        {
            bail!(
                "path limits are inconsistent: need 0 < max_component_bytes <= max_path_bytes and max_depth > 0"
            );
        }
        let default_tier: Tier = raw
            .store
            .default_tier
            .parse()
            .context("store.default_tier")?;
        let log_json = match raw.log.format.as_str() {
            "text" => false,
            "json" => true,
            other => bail!("log.format `{other}` is not `text` or `json`"),
        };
        let key_file = std::env::var_os(env::KEY_FILE)
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
            .or_else(|| resolve(&raw.keys.key_file));
        let auth = &raw.auth;
        if auth.token_default_days <= 0
            || auth.token_max_days < auth.token_default_days
            || auth.rotation_overlap_hours < 0
            || auth.rotation_max_overlap_days * 24 < auth.rotation_overlap_hours
        {
            bail!(
                "auth: need 0 < token_default_days <= token_max_days and 0 <= rotation_overlap_hours <= rotation_max_overlap_days × 24"
            );
        }
        let (hour_ms, day_ms) = (3_600_000_i64, 86_400_000_i64);
        let access = AccessOptions {
            policy_dir: resolve(&raw.policy.dir),
            builtin_policies: raw.policy.builtin,
            disabled_builtin: raw.policy.disable.clone(),
            token_default_ttl_ms: auth.token_default_days.saturating_mul(day_ms),
            token_max_ttl_ms: auth.token_max_days.saturating_mul(day_ms),
            rotation_overlap_ms: auth.rotation_overlap_hours.saturating_mul(hour_ms),
            max_rotation_overlap_ms: auth.rotation_max_overlap_days.saturating_mul(day_ms),
            mfa_issuer: auth.mfa_issuer.clone(),
            session_idle_ms: raw.session.idle_minutes.max(1).saturating_mul(60_000),
            session_absolute_ms: raw.session.absolute_hours.max(1).saturating_mul(hour_ms),
            login_token_ttl_ms: raw.session.login_token_hours.max(1).saturating_mul(hour_ms),
        };
        let sso = raw.sso.config(data_dir)?;
        let trusted_proxies = raw
            .server
            .trusted_proxies
            .iter()
            .map(|p| parse_network(p).map_err(|e| anyhow::anyhow!("server.trusted_proxies: {e}")))
            .collect::<anyhow::Result<Vec<_>>>()?;
        raw.gateway.validate().map_err(|e| anyhow::anyhow!("{e}"))?;
        let gateway = (!raw.gateway.providers.is_empty()).then(|| raw.gateway.clone());
        Ok(Self {
            server: ServerConfig {
                gateway,
                trusted_proxies,
                sso,
                listen,
                tls,
                allow_insecure_http: raw.server.allow_insecure_http,
                shutdown_grace: Duration::from_secs(raw.server.shutdown_grace_seconds),
                max_json_bytes: raw.server.max_json_bytes,
            },
            limits: VaultLimits {
                max_file_bytes: raw.limits.max_file_bytes,
                path_limits: PathLimits {
                    max_path_bytes: raw.limits.max_path_bytes,
                    max_component_bytes: raw.limits.max_component_bytes,
                    max_depth: raw.limits.max_depth,
                },
                default_tier,
                classify: raw.classification.enabled,
                scan_limit: raw.classification.scan_limit_bytes,
                classification: raw.classification.policy()?,
                extraction: raw.classification.extraction()?,
                access,
            },
            audit: raw.audit.tasks(data_dir)?,
            backup: raw.backup.config()?,
            key_file,
            log_level: raw.log.level,
            log_json,
        })
    }
}

/// `COVAULT_SECTION__KEY=value` → `{section: {key: value}}`; values parse as TOML when they
/// can (numbers, booleans) and are strings otherwise.
fn env_overrides(vars: impl Iterator<Item = (String, String)>) -> anyhow::Result<toml::Table> {
    let mut out = toml::Table::new();
    for (name, value) in vars {
        let Some(rest) = name.strip_prefix(env::CONFIG_PREFIX) else {
            continue;
        };
        let Some((section, key)) = rest.split_once("__") else {
            continue;
        };
        let (section, key) = (section.to_ascii_lowercase(), key.to_ascii_lowercase());
        let parsed = toml::from_str::<toml::Table>(&format!("v = {value}"))
            .ok()
            .and_then(|mut t| t.remove("v"))
            .unwrap_or(toml::Value::String(value));
        let entry = out
            .entry(section.clone())
            .or_insert_with(|| toml::Value::Table(toml::Table::new()));
        let Some(table) = entry.as_table_mut() else {
            bail!("bad configuration variable `{name}`");
        };
        table.insert(key, parsed);
    }
    Ok(out)
}

fn merge(base: &mut toml::Table, over: toml::Table) {
    for (key, value) in over {
        match (base.get_mut(&key), value) {
            (Some(toml::Value::Table(b)), toml::Value::Table(o)) => merge(b, o),
            (_, value) => {
                base.insert(key, value);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load_with(file: Option<&str>) -> anyhow::Result<Config> {
        let dir = tempfile::tempdir()?;
        if let Some(text) = file {
            std::fs::write(dir.path().join("covault.toml"), text)?;
        }
        Config::load(dir.path())
    }

    #[test]
    fn template_is_the_default_and_validates() {
        let config = load_with(None).unwrap();
        assert_eq!(config.server.listen.to_string(), "127.0.0.1:8750");
        assert_eq!(config.limits.default_tier, Tier::Internal);
        assert!(load_with(Some(TEMPLATE)).is_ok());
    }

    #[test]
    fn bad_files_are_refused_with_a_reason() {
        let unknown = load_with(Some("[server]\nlisen = \"x\"\n")).err().unwrap();
        assert!(format!("{unknown:#}").contains("lisen"), "{unknown:#}");
        assert!(load_with(Some("[store]\ndefault_tier = \"secret\"\n")).is_err());
        // The classification table: listed types override the built-in tier; names are checked.
        let config = load_with(Some(
            "[classification]\ninternal = [\"PHONE_NUMBER\"]\nmin_score = 0.7\n",
        ))
        .unwrap();
        let policy = &config.limits.classification;
        assert_eq!(
            policy.by_type[&covault_scan::EntityType::PhoneNumber],
            Tier::Internal
        );
        assert_eq!(
            policy.by_type[&covault_scan::EntityType::UsSsn],
            Tier::Restricted
        );
        assert!(config.limits.classify);
        assert!(load_with(Some("[classification]\nrestricted = [\"NOPE\"]\n")).is_err());
        assert!(load_with(Some("[server]\ntls_cert = \"a.pem\"\n")).is_err());
        assert!(load_with(Some("[server]\nlisten = \"nowhere\"\n")).is_err());
    }

    #[test]
    fn audit_settings_and_sinks() {
        let config = load_with(Some(
            "[audit]\ncheckpoint_interval_seconds = 5\nretention_days = 30\n\
             [[audit.sinks]]\nname = \"siem\"\nkind = \"syslog-tcp\"\naddress = \"127.0.0.1:6514\"\n\
             [[audit.sinks]]\nname = \"archive\"\nkind = \"file\"\npath = \"audit.ocsf\"\nformat = \"ocsf\"\n",
        ))
        .unwrap();
        assert_eq!(config.audit.checkpoint_interval, Duration::from_secs(5));
        assert_eq!(
            config.audit.retention,
            Some(Duration::from_secs(30 * 86_400))
        );
        let names: Vec<_> = config.audit.sinks.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(names, ["siem", "archive"]);
        let refused = |text: &str| {
            let e = load_with(Some(text)).expect_err(text);
            format!("{e:#}")
        };
        assert!(refused("[audit]\ncheckpoint_interval_seconds = 0\n").contains("between 1"));
        let bad_kind = "[[audit.sinks]]\nname = \"x\"\nkind = \"carrier-pigeon\"\n";
        assert!(refused(bad_kind).contains("carrier-pigeon"));
        let bad_addr =
            "[[audit.sinks]]\nname = \"x\"\nkind = \"syslog-udp\"\naddress = \"siem:514\"\n";
        assert!(refused(bad_addr).contains("ip:port"));
        let no_env = "[[audit.sinks]]\nname = \"o\"\nkind = \"otlp-http\"\nurl = \"http://127.0.0.1:4318/v1/logs\"\n\
                      headers_from_env = { \"x-api-key\" = \"COVAULT_TEST_UNSET_VARIABLE\" }\n";
        assert!(refused(no_env).contains("COVAULT_TEST_UNSET_VARIABLE"));
        let wrong_format = "[[audit.sinks]]\nname = \"x\"\nkind = \"syslog-tcp\"\naddress = \"127.0.0.1:1\"\nformat = \"cef\"\n";
        assert!(load_with(Some(wrong_format)).is_err());
    }

    #[test]
    fn environment_overrides() {
        let vars = vec![
            ("COVAULT_SERVER__LISTEN".to_owned(), "0.0.0.0:1".to_owned()),
            ("COVAULT_LIMITS__MAX_DEPTH".to_owned(), "5".to_owned()),
            ("COVAULT_TOKEN".to_owned(), "ignored".to_owned()),
        ];
        let table = env_overrides(vars.into_iter()).unwrap();
        assert_eq!(table["server"]["listen"].as_str(), Some("0.0.0.0:1"));
        assert_eq!(table["limits"]["max_depth"].as_integer(), Some(5));
        assert!(!table.contains_key("token"));
    }
}
