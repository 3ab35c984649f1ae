//! Command-line arguments.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use crate::secrets::KdfArgs;

#[derive(Parser)]
#[command(
    name = "covault",
    version,
    about = "Self-hosted security layer for AI file work: an encrypted, versioned workspace behind one authorize → act → audit path"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Args, Clone)]
pub struct DataArgs {
    /// Data directory [env: COVAULT_DATA; default: $XDG_DATA_HOME/covault]
    #[arg(long)]
    pub data_dir: Option<PathBuf>,
}

#[derive(Args, Clone)]
pub struct ClientArgs {
    /// Server URL [env: COVAULT_URL; default: http://127.0.0.1:8750]. The token comes from
    /// COVAULT_TOKEN or COVAULT_TOKEN_FILE.
    #[arg(long)]
    pub url: Option<String>,
}

#[derive(Subcommand)]
pub enum Command {
    /// Create a workspace: keyring, metadata, blob store, config, first admin (token shown once)
    Init {
        #[command(flatten)]
        data: DataArgs,
        /// Name of the first admin
        #[arg(long, default_value = "admin")]
        admin: String,
        /// Use a key file as the KEK instead of a passphrase (created if it does not exist)
        #[arg(long)]
        key_file: Option<PathBuf>,
        #[command(flatten)]
        kdf: KdfArgs,
    },
    /// Serve the HTTP API until SIGINT or SIGTERM
    Serve {
        #[command(flatten)]
        data: DataArgs,
        /// Listen address (overrides server.listen)
        #[arg(long)]
        listen: Option<SocketAddr>,
    },
    /// Create (once) and serve a demo workspace with sample files
    Demo {
        /// Where the demo lives
        #[arg(long, default_value = "covault-demo")]
        data_dir: PathBuf,
        #[arg(long, default_value = "127.0.0.1:8750")]
        listen: SocketAddr,
    },
    /// Read every version and check tags, lengths and content hashes (exit 3 on problems)
    Verify {
        #[command(flatten)]
        data: DataArgs,
        /// Print the report as JSON
        #[arg(long)]
        json: bool,
    },
    /// Scan local files and directories for PII, secrets and prompt injection (exit 1 when
    /// findings reach the threshold, 2 on errors). Output never contains the matched values.
    Scan(ScanArgs),
    /// Key management
    Keys {
        #[command(subcommand)]
        command: KeysCommand,
    },
    /// Encrypted, deduplicated backups: init, run, snapshots, verify, restore, drill, forget,
    /// prune, erase, status (local operator; works beside a running server)
    Backup {
        #[command(subcommand)]
        command: BackupCommand,
    },
    /// AI gateway providers: their API keys, sealed in the keyring (local operator; stop the
    /// server first)
    Provider {
        #[command(subcommand)]
        command: ProviderCommand,
    },
    /// List files under a directory
    Ls {
        /// Directory (whole path components); the whole workspace by default
        #[arg(default_value = "/")]
        prefix: String,
        /// Include deleted files
        #[arg(long)]
        deleted: bool,
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        client: ClientArgs,
    },
    /// Upload a file (streamed) as a new version; `-` reads standard input
    Put {
        local: PathBuf,
        remote: String,
        /// Tier label: public, internal, confidential or restricted
        #[arg(long)]
        tier: Option<String>,
        #[command(flatten)]
        client: ClientArgs,
    },
    /// Download a file (streamed) to LOCAL, or standard output
    Get {
        remote: String,
        local: Option<PathBuf>,
        /// A version number (default: current)
        #[arg(long)]
        version: Option<i64>,
        #[command(flatten)]
        client: ClientArgs,
    },
    /// Show a file's metadata
    Stat {
        remote: String,
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        client: ClientArgs,
    },
    /// Show every version of a file
    History {
        remote: String,
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        client: ClientArgs,
    },
    /// Make an old version current again (as a new version)
    Restore {
        remote: String,
        #[arg(long)]
        version: i64,
        #[command(flatten)]
        client: ClientArgs,
    },
    /// Delete a file (history kept; restore brings it back)
    Rm {
        remote: String,
        #[command(flatten)]
        client: ClientArgs,
    },
    /// Destroy every version of a file for good (crypto-shredding)
    Purge {
        remote: String,
        /// Confirm that the content must become irrecoverable
        #[arg(long)]
        yes: bool,
        #[command(flatten)]
        client: ClientArgs,
    },
    /// Set a file's tier label
    Label {
        remote: String,
        tier: String,
        #[command(flatten)]
        client: ClientArgs,
    },
    /// Sign in through the configured OpenID provider (SSO) in a browser and store the API
    /// token it yields (0600) for the other commands
    Login {
        /// Where to store the token [default: $XDG_CONFIG_HOME/covault/token]
        #[arg(long)]
        token_file: Option<PathBuf>,
        #[command(flatten)]
        client: ClientArgs,
    },
    /// Show who the token belongs to
    Whoami {
        #[command(flatten)]
        client: ClientArgs,
    },
    /// Users and service principals: list, show, create, change role, disable, enable
    User {
        #[command(subcommand)]
        command: UserCommand,
    },
    /// Groups and the roles they grant
    Group {
        #[command(subcommand)]
        command: GroupCommand,
    },
    /// API tokens: create (scoped, expiring), list, revoke, rotate
    Token {
        #[command(subcommand)]
        command: TokenCommand,
    },
    /// Second factor (TOTP): enroll, confirm, reset. Requests that need MFA carry a current
    /// code in COVAULT_OTP.
    Mfa {
        #[command(subcommand)]
        command: MfaCommand,
    },
    /// Unused tokens, tokens without expiry, roles never exercised, stale admin grants
    AccessReview {
        /// Report tokens and grants idle this many days
        #[arg(long, default_value_t = 90)]
        unused_days: u32,
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        client: ClientArgs,
    },
    /// Cedar policies: validate the files, explain a decision, run a test corpus
    Policy {
        #[command(subcommand)]
        command: PolicyCommand,
    },
    /// The tamper-evident audit log: search, tail, verify, checkpoint, prune
    Audit {
        #[command(subcommand)]
        command: AuditCommand,
    },
    /// Print the OpenAPI document
    Openapi,
}

/// Filters shared by `audit search` and `audit tail`.
#[derive(Args, Clone)]
pub struct AuditFilters {
    /// Events at or after: RFC 3339 UTC, milliseconds, or an age (30m, 12h, 7d)
    #[arg(long)]
    pub since: Option<String>,
    /// Events before (same forms as --since)
    #[arg(long)]
    pub until: Option<String>,
    /// A principal id (usr_…)
    #[arg(long)]
    pub principal: Option<String>,
    /// An action (file.read) or a family (file.*)
    #[arg(long)]
    pub action: Option<String>,
    /// A path or directory (whole components)
    #[arg(long)]
    pub path: Option<String>,
    /// success, denied or failed
    #[arg(long)]
    pub outcome: Option<String>,
    #[arg(long)]
    pub correlation_id: Option<String>,
    #[arg(long)]
    pub request_id: Option<String>,
    /// Start after this event position
    #[arg(long)]
    pub after: Option<u64>,
    /// Page size (1 to 1000)
    #[arg(long)]
    pub limit: Option<u32>,
}

#[derive(Subcommand)]
pub enum AuditCommand {
    /// Search the log (needs the auditor, security-admin or admin role)
    Search {
        #[command(flatten)]
        filters: AuditFilters,
        /// Fetch every page
        #[arg(long)]
        all: bool,
        /// One JSON object per line
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        client: ClientArgs,
    },
    /// Show the newest events; with -f, keep printing new ones as they are appended
    Tail {
        #[command(flatten)]
        filters: AuditFilters,
        #[arg(short, long)]
        follow: bool,
        /// How many recent events to show first
        #[arg(short = 'n', long, default_value_t = 20)]
        lines: u32,
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        client: ClientArgs,
    },
    /// Verify the whole log from genesis (or its pruning anchor): every hash, link and
    /// signed checkpoint; names and locates any change (exit 3 on problems)
    Verify {
        #[command(flatten)]
        data: DataArgs,
        /// Checkpoints kept outside the workspace (audit.checkpoint_file), JSON lines
        #[arg(long)]
        checkpoints: Option<PathBuf>,
        #[arg(long)]
        json: bool,
    },
    /// Sign a checkpoint over every event so far
    Checkpoint {
        #[command(flatten)]
        data: DataArgs,
    },
    /// Delete events older than --before, back to the newest signed checkpoint before it
    Prune {
        #[command(flatten)]
        data: DataArgs,
        /// RFC 3339 UTC, milliseconds, or an age (90d)
        #[arg(long)]
        before: String,
        #[arg(long)]
        yes: bool,
    },
    /// Print a proof (JSON) that event SEQ is in the log the newest signed checkpoint covers
    Prove {
        seq: u64,
        #[command(flatten)]
        client: ClientArgs,
    },
    /// Check a proof from `audit prove` offline, against the workspace's public key (exit 3
    /// when it does not hold). Needs no server and no key: anyone can run it.
    CheckProof {
        /// The proof (JSON); `-` reads standard input
        proof: PathBuf,
        /// The Ed25519 public key (hex) from `covault audit public-key`
        #[arg(long)]
        public_key: String,
    },
    /// Check that the log the server signs now extends a checkpoint you kept: nothing before
    /// it was changed, removed or reordered (exit 3 when it was)
    CheckConsistency {
        /// A checkpoint kept outside (JSON, or the JSON lines of audit.checkpoint_file: the
        /// newest is used)
        #[arg(long)]
        checkpoint: PathBuf,
        /// The Ed25519 public key (hex) from `covault audit public-key`
        #[arg(long)]
        public_key: String,
        #[command(flatten)]
        client: ClientArgs,
    },
    /// Print the Ed25519 public key that signs checkpoints (hex)
    PublicKey {
        #[command(flatten)]
        data: DataArgs,
    },
}

#[derive(Subcommand)]
pub enum KeysCommand {
    /// Re-wrap every data key under a new KEK; the old one becomes useless
    Rotate {
        #[command(flatten)]
        data: DataArgs,
        /// Switch to (or stay on) a key file: a new one is created at this path
        #[arg(long)]
        new_key_file: Option<PathBuf>,
        #[command(flatten)]
        kdf: KdfArgs,
    },
}

#[derive(Subcommand)]
pub enum ProviderCommand {
    /// Store a provider's API key, read from standard input (or from --from-env VAR)
    SetKey {
        /// The provider's name in `[[gateway.providers]]`
        name: String,
        /// Read the key from this environment variable instead of standard input
        #[arg(long, value_name = "VAR")]
        from_env: Option<String>,
        #[command(flatten)]
        data: DataArgs,
    },
    /// Remove a provider's API key
    DeleteKey {
        name: String,
        #[command(flatten)]
        data: DataArgs,
    },
    /// The configured providers: kind, clearance, retention, models, whether a key is set
    List {
        #[command(flatten)]
        data: DataArgs,
    },
}

#[derive(Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ScanFormat {
    Text,
    Jsonl,
    Sarif,
}

#[derive(Args)]
pub struct ScanArgs {
    /// Files and directories (directories are walked; symlinks and .git are skipped)
    #[arg(required = true)]
    pub paths: Vec<PathBuf>,
    #[arg(long, value_enum, default_value = "text")]
    pub format: ScanFormat,
    /// Report findings scoring at least this (0..1)
    #[arg(long, default_value_t = 0.5)]
    pub min_score: f32,
    /// Exit 1 when at least --fail-count findings score at least this
    #[arg(long, default_value_t = 0.5)]
    pub fail_score: f32,
    #[arg(long, default_value_t = 1)]
    pub fail_count: usize,
    /// Only report these types (e.g. SECRET,EMAIL_ADDRESS)
    #[arg(long, value_delimiter = ',')]
    pub only: Vec<String>,
    #[arg(long)]
    pub no_pii: bool,
    /// Skip person, place and organisation names
    #[arg(long)]
    pub no_names: bool,
    #[arg(long)]
    pub no_secrets: bool,
    #[arg(long)]
    pub no_injection: bool,
    /// Secret rules file (TOML, same format as the built-in rules) replacing the built-in set
    #[arg(long)]
    pub rules: Option<PathBuf>,
    /// Write redacted copies of files with findings under this directory
    #[arg(long)]
    pub redact: Option<PathBuf>,
    /// mask, hash (HMAC, key from COVAULT_REDACT_KEY), drop or placeholder
    #[arg(long, default_value = "mask")]
    pub redact_mode: String,
    /// Skip files larger than this many bytes
    #[arg(long, default_value_t = 64 * 1024 * 1024)]
    pub max_file_size: u64,
    /// Worker threads (default: one per core)
    #[arg(long)]
    pub jobs: Option<usize>,
    #[arg(long)]
    pub no_progress: bool,
    /// List skipped files and print the summary in every format
    #[arg(long, short)]
    pub verbose: bool,
}

#[derive(Subcommand)]
pub enum UserCommand {
    /// Every principal with its role, groups and MFA state
    List {
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        client: ClientArgs,
    },
    /// One principal (id or name)
    Show {
        principal: String,
        #[command(flatten)]
        client: ClientArgs,
    },
    /// Create a user (or a service principal); with --token, a first token is printed once
    Create {
        name: String,
        /// viewer, editor, analyst, workflow-admin, auditor, security-admin, admin, or a
        /// custom role named by a policy file
        #[arg(long)]
        role: String,
        /// Create a service principal (for automation) instead of a user
        #[arg(long)]
        service: bool,
        #[arg(long)]
        token: bool,
        #[command(flatten)]
        client: ClientArgs,
    },
    /// Change a principal's role
    SetRole {
        principal: String,
        role: String,
        #[command(flatten)]
        client: ClientArgs,
    },
    /// Disable a principal: every token stops working at once
    Disable {
        principal: String,
        #[command(flatten)]
        client: ClientArgs,
    },
    Enable {
        principal: String,
        #[command(flatten)]
        client: ClientArgs,
    },
}

#[derive(Subcommand)]
pub enum GroupCommand {
    List {
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        client: ClientArgs,
    },
    /// Create a group or replace its roles
    Set {
        name: String,
        /// Roles the group grants (comma-separated)
        #[arg(long, value_delimiter = ',')]
        roles: Vec<String>,
        #[arg(long, default_value = "")]
        description: String,
        #[command(flatten)]
        client: ClientArgs,
    },
    Delete {
        name: String,
        #[command(flatten)]
        client: ClientArgs,
    },
    /// Add a principal to a group
    Add {
        group: String,
        principal: String,
        #[command(flatten)]
        client: ClientArgs,
    },
    /// Remove a principal from a group
    Remove {
        group: String,
        principal: String,
        #[command(flatten)]
        client: ClientArgs,
    },
}

#[derive(Subcommand)]
pub enum TokenCommand {
    /// Issue a token (printed once); scopes only narrow what the owner's roles allow
    Create {
        /// Whose token (id or name; admins only); your own by default
        #[arg(long)]
        principal: Option<String>,
        #[arg(long, default_value = "")]
        description: String,
        /// Lifetime: 30m, 12h, 90d (default and maximum are configured)
        #[arg(long)]
        expires_in: Option<String>,
        /// Allowed actions (file.read, file.*, …), comma-separated
        #[arg(long, value_delimiter = ',')]
        actions: Vec<String>,
        /// Allowed path prefixes, comma-separated
        #[arg(long, value_delimiter = ',')]
        paths: Vec<String>,
        /// Highest tier the token may touch
        #[arg(long)]
        max_tier: Option<String>,
        #[arg(long, value_delimiter = ',')]
        providers: Vec<String>,
        #[arg(long, value_delimiter = ',')]
        models: Vec<String>,
        /// Client networks (CIDRs or addresses), comma-separated
        #[arg(long, value_delimiter = ',')]
        allow_ip: Vec<String>,
        #[command(flatten)]
        client: ClientArgs,
    },
    /// Tokens with their state, expiry, last use and scope
    List {
        /// Whose tokens (id or name); your own by default
        #[arg(long)]
        principal: Option<String>,
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        client: ClientArgs,
    },
    Revoke {
        id: String,
        #[command(flatten)]
        client: ClientArgs,
    },
    /// New secret (printed once); the old one keeps working for the overlap window
    Rotate {
        id: String,
        /// How long the old secret keeps working: 0, 30m, 24h, 7d (default configured)
        #[arg(long)]
        overlap: Option<String>,
        #[command(flatten)]
        client: ClientArgs,
    },
}

#[derive(Subcommand)]
pub enum MfaCommand {
    /// Start TOTP enrolment: prints a QR code (and the otpauth URI) for an authenticator app
    Enroll {
        /// Write the QR code as SVG to this file too
        #[arg(long)]
        svg: Option<PathBuf>,
        #[command(flatten)]
        client: ClientArgs,
    },
    /// Confirm enrolment with the app's current code; prints single-use recovery codes once
    Confirm {
        code: String,
        #[command(flatten)]
        client: ClientArgs,
    },
    /// Remove a principal's authenticator (a lost device); they enrol again
    Reset {
        principal: String,
        #[command(flatten)]
        client: ClientArgs,
    },
}

#[derive(Subcommand)]
pub enum PolicyCommand {
    /// Load the built-in set and the policy directory, validate every policy against the
    /// schema, and list what is in force (exit 2 when a file does not load)
    Validate {
        #[command(flatten)]
        data: DataArgs,
        /// A policy directory other than the configured one
        #[arg(long)]
        dir: Option<PathBuf>,
    },
    /// Explain one decision: which policies permit or forbid it and why
    Check {
        /// `role:editor` (several: `role:editor+analyst`), optionally `,kind=service`,
        /// `,id=usr_1`, `,disabled`
        #[arg(long)]
        principal: String,
        /// An action such as file.read
        #[arg(long)]
        action: String,
        /// `file:/path?tier=restricted&owner=usr_1`, `workspace`, `principal:usr_1`,
        /// `provider:anthropic?clearance=confidential`
        #[arg(long)]
        resource: String,
        /// The request proved a second factor
        #[arg(long)]
        mfa: bool,
        /// For file.label: the tier asked for
        #[arg(long)]
        new_tier: Option<String>,
        /// For ai.send: the tier of the data
        #[arg(long)]
        data_tier: Option<String>,
        #[command(flatten)]
        data: DataArgs,
        #[arg(long)]
        dir: Option<PathBuf>,
    },
    /// Run a corpus of requests with expected decisions (TOML files in DIR; exit 1 on any
    /// mismatch)
    Test {
        corpus: PathBuf,
        #[command(flatten)]
        data: DataArgs,
        #[arg(long)]
        dir: Option<PathBuf>,
    },
    /// Print the Cedar schema
    Schema,
}

/// Where the repository is and how it is unlocked.
#[derive(Args, Clone)]
pub struct RepoArgs {
    #[command(flatten)]
    pub data: DataArgs,
    /// The repository: a directory or s3://BUCKET/PREFIX [env: COVAULT_BACKUP_REPO; default:
    /// backup.repository in covault.toml]. Its key: COVAULT_BACKUP_KEY_FILE or
    /// COVAULT_BACKUP_PASSPHRASE(_FILE), else the workspace's own key source.
    #[arg(long)]
    pub repo: Option<String>,
    /// The prune key of an append-only repository (needed to forget, prune or erase)
    #[arg(long)]
    pub prune_key_file: Option<PathBuf>,
    /// Print JSON instead of text
    #[arg(long)]
    pub json: bool,
}

#[derive(Subcommand)]
pub enum BackupCommand {
    /// Create a repository
    Init {
        #[command(flatten)]
        repo: RepoArgs,
        /// Append-only: this key can add but never delete; a separate prune key (written to
        /// --prune-key-file, created here) is needed to forget or prune
        #[arg(long)]
        append_only: bool,
        /// zstd level for chunks (1 to 19)
        #[arg(long, default_value_t = 1)]
        zstd_level: i32,
        /// Average chunk size in KiB, a power of two from 64 to 8192 (fixed for the
        /// repository's life; default 128): smaller chunks store less after small edits
        #[arg(long, value_name = "KIB")]
        chunk_size: Option<u32>,
    },
    /// Back up the whole workspace: versions, metadata database, audit log, keyring (wrapped)
    Run {
        #[command(flatten)]
        repo: RepoArgs,
        /// No progress bar even on a terminal
        #[arg(long)]
        quiet: bool,
    },
    /// List snapshots
    Snapshots {
        #[command(flatten)]
        repo: RepoArgs,
    },
    /// Check the repository's structure; with --read-data, decrypt and hash every chunk
    Verify {
        #[command(flatten)]
        repo: RepoArgs,
        #[arg(long)]
        read_data: bool,
        /// Only read this part of the data: N/M (the N-th of M slices) or P% (random)
        #[arg(long, value_name = "N/M|P%")]
        read_data_subset: Option<String>,
    },
    /// Restore a snapshot: the whole workspace into a new data directory (--target), or one
    /// file into the live workspace as a new version (--path)
    Restore {
        #[command(flatten)]
        repo: RepoArgs,
        /// Snapshot id (or a unique prefix), or `latest`
        #[arg(default_value = "latest")]
        snapshot: String,
        /// A new, empty data directory for the whole workspace
        #[arg(long, conflicts_with = "path")]
        target: Option<PathBuf>,
        /// One file to restore into the live workspace
        #[arg(long)]
        path: Option<String>,
        /// Which version of --path (default: the newest in the snapshot)
        #[arg(long, requires = "path")]
        version: Option<i64>,
        /// Show what would be restored, change nothing
        #[arg(long)]
        dry_run: bool,
    },
    /// Restore a sample of the latest snapshot into scratch space, compare every hash, verify
    /// the restored audit log; recorded in the audit log and the repository (exit 3 on failure)
    Drill {
        #[command(flatten)]
        repo: RepoArgs,
        /// Versions to restore (default: backup.drill_sample in covault.toml)
        #[arg(long, conflicts_with = "all")]
        sample: Option<usize>,
        /// Restore every version
        #[arg(long)]
        all: bool,
    },
    /// Remove snapshots a retention policy does not keep
    Forget {
        #[command(flatten)]
        repo: RepoArgs,
        #[arg(long, default_value_t = 0)]
        keep_last: u32,
        #[arg(long, default_value_t = 0)]
        keep_hourly: u32,
        #[arg(long, default_value_t = 0)]
        keep_daily: u32,
        #[arg(long, default_value_t = 0)]
        keep_weekly: u32,
        #[arg(long, default_value_t = 0)]
        keep_monthly: u32,
        #[arg(long, default_value_t = 0)]
        keep_yearly: u32,
        /// Prune afterwards
        #[arg(long)]
        prune: bool,
        /// Show what would be forgotten, change nothing
        #[arg(long)]
        dry_run: bool,
    },
    /// Delete data no snapshot references (waits for no one: refuses while a backup runs)
    Prune {
        #[command(flatten)]
        repo: RepoArgs,
        /// Repack packs with more than this share of garbage
        #[arg(long, default_value_t = 5)]
        max_unused_percent: u8,
        #[arg(long)]
        dry_run: bool,
    },
    /// The erasure step: remove every purged file from every snapshot and rewrite every pack
    /// that held its content, so no backup can restore it
    Erase {
        #[command(flatten)]
        repo: RepoArgs,
    },
    /// Snapshots, repository size, last drill, locks
    Status {
        #[command(flatten)]
        repo: RepoArgs,
    },
}
