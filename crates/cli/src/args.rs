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
    /// Key management
    Keys {
        #[command(subcommand)]
        command: KeysCommand,
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
    /// Show who the token belongs to
    Whoami {
        #[command(flatten)]
        client: ClientArgs,
    },
    /// Print the OpenAPI document
    Openapi,
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
