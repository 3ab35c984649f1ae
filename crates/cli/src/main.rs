//! The `covault` binary: parse arguments, set up logging, dispatch, map errors to exit codes
//! (0 success, 1 error, 2 usage, 3 `verify` found problems; `scan`: 1 findings, 2 errors).

mod args;
mod audit;
mod backup;
mod client;
mod config;
mod env;
mod identity;
mod local;
mod login;
mod policy;
mod provider;
mod scan;
mod secrets;

use std::process::ExitCode;

use clap::Parser;

use args::{Cli, Command, KeysCommand};

/// mimalloc instead of glibc's malloc: a proxied AI call makes thousands of small, short-lived
/// allocations (JSON values, scanner scratch, HTTP headers) across worker threads, where
/// glibc's arenas spent about a tenth of the server's CPU (bench/RESULTS.md, AI gateway).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// A panic inside a document parser (on covault-extract's worker threads, where it becomes
/// an extraction error) may carry fragments of the document in its message: only its
/// location is printed. Every other panic is reported as usual.
fn quiet_parser_panics() {
    let default = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        if std::thread::current().name() == Some(covault_extract::WORKER_THREAD) {
            let at = info
                .location()
                .map(|l| format!("{}:{}", l.file(), l.line()))
                .unwrap_or_default();
            eprintln!("a document parser failed at {at}; the document is treated as unreadable");
        } else {
            default(info);
        }
    }));
}

fn main() -> ExitCode {
    quiet_parser_panics();
    let cli = Cli::parse();
    // Scanning is synchronous and local: no runtime needed.
    if let Command::Scan(args) = cli.command {
        return scan::run(args);
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(dispatch(cli.command)) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

async fn dispatch(command: Command) -> anyhow::Result<ExitCode> {
    match command {
        Command::Init {
            data,
            admin,
            key_file,
            kdf,
        } => local::init(&data, &admin, key_file.as_deref(), &kdf).await,
        Command::Serve { data, listen } => local::serve(&data, listen).await,
        Command::Demo { data_dir, listen } => local::demo(&data_dir, listen).await,
        Command::Verify { data, json } => local::verify(&data, json).await,
        Command::Keys {
            command:
                KeysCommand::Rotate {
                    data,
                    new_key_file,
                    kdf,
                },
        } => local::rotate(&data, new_key_file.as_deref(), &kdf).await,
        Command::Provider { command } => provider::run(command).await,
        Command::Backup { command } => backup::run(command).await,
        Command::Audit { command } => audit::run(command).await,
        Command::Policy { command } => policy::run(command),
        Command::Login { token_file, client } => login::run(&client, token_file).await,
        command @ (Command::User { .. }
        | Command::Group { .. }
        | Command::Token { .. }
        | Command::Mfa { .. }
        | Command::AccessReview { .. }) => identity::run(command).await,
        Command::Openapi => {
            client::print_line(&covault_server::openapi_json());
            Ok(ExitCode::SUCCESS)
        }
        other => client::run(other).await,
    }
}
