//! Command-line interface of the `idos` binary.
//!
//! The subcommand forms below are a public interface: scripts depend on them, so they stay
//! stable. Every failure prints one line, `error: <what is wrong>`, to standard error and
//! exits with status 1 (2 for usage errors reported by the argument parser).

mod admin;
mod consumer;
mod crypto;
pub mod dev_wallet;
mod issuer;
mod keys;
mod node;
mod output;
mod remote;
mod serve;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

pub use output::CliError;

/// idOS-rs: encrypted, user-controlled storage and sharing of identity credentials.
#[derive(Debug, Parser)]
#[command(name = "idos", version, about, propagate_version = true)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Generate keys.
    #[command(subcommand)]
    Keys(keys::KeysCommand),
    /// Key derivation, encryption and decryption, byte-compatible with idOS.
    #[command(subcommand)]
    Crypto(crypto::CryptoCommand),
    /// Run the storage node (embedded chain with a CometBFT-compatible RPC, or ABCI for CometBFT).
    Node(node::NodeArgs),
    /// Run the product: the embedded node, the web apps and the enclave (two origins).
    Serve(Box<serve::ServeArgs>),
    /// An issuer's work through a relay: profiles, credentials, delegated write grants,
    /// revocation.
    #[command(subcommand)]
    Issuer(issuer::IssuerCommand),
    /// A consumer's (grantee's) work through a relay: grants, reading and decrypting copies.
    #[command(subcommand)]
    Consumer(consumer::ConsumerCommand),
    /// The network owner's work through a relay: inserters and their delegates.
    #[command(subcommand)]
    Admin(admin::AdminCommand),
}

/// Parses the process arguments, runs the command and maps failure to an exit status.
pub fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(err) => return usage_error(err),
    };
    // The commands that talk to a relay name the stable code first: `error: <code>: ...`.
    let remote = matches!(
        cli.command,
        Command::Issuer(_) | Command::Consumer(_) | Command::Admin(_)
    );
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            // One line, whatever the message holds.
            let message = err.to_string().replace(['\n', '\r'], " ");
            let code = err.code();
            if remote && !message.starts_with(code) {
                eprintln!("error: {code}: {message}");
            } else {
                eprintln!("error: {message}");
            }
            ExitCode::FAILURE
        }
    }
}

/// Help and version go to stdout as clap renders them; real usage errors become one line
/// pointing at the right `--help`, like every other error of this binary.
fn usage_error(err: clap::Error) -> ExitCode {
    use clap::error::ErrorKind;
    if matches!(
        err.kind(),
        ErrorKind::DisplayHelp
            | ErrorKind::DisplayVersion
            | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand
    ) {
        let _ = err.print();
        return if err.use_stderr() {
            ExitCode::from(2)
        } else {
            ExitCode::SUCCESS
        };
    }
    let rendered = err.render().to_string();
    // clap's message may continue on indented lines (a list of missing flags) before the
    // blank line that precedes its usage block.
    let joined = rendered
        .lines()
        .take_while(|l| !l.trim().is_empty())
        .map(str::trim)
        .collect::<Vec<_>>()
        .join(" ");
    let message = joined.strip_prefix("error: ").unwrap_or(&joined);
    let command: Vec<String> = std::env::args()
        .skip(1)
        .take_while(|a| !a.starts_with('-'))
        .take(2)
        .collect();
    let help = std::iter::once("idos".to_owned())
        .chain(command)
        .collect::<Vec<_>>()
        .join(" ");
    eprintln!("error: {message} (try '{help} --help')");
    ExitCode::from(2)
}

/// Runs a parsed command.
pub fn run(cli: Cli) -> Result<(), CliError> {
    match cli.command {
        Command::Keys(cmd) => keys::run(cmd),
        Command::Crypto(cmd) => crypto::run(cmd),
        Command::Node(args) => node::run(args),
        Command::Serve(args) => serve::run(*args),
        Command::Issuer(cmd) => issuer::run(cmd),
        Command::Consumer(cmd) => consumer::run(cmd),
        Command::Admin(cmd) => admin::run(cmd),
    }
}

/// Logs to standard error; `RUST_LOG` filters (default: info).
pub(crate) fn init_logging() {
    let filter =
        tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into());
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
}
