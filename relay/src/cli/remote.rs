//! What the commands that talk to a relay share: the relay's URL, keys read from files or
//! environment variables (never from arguments: every user of the machine can read a
//! process's arguments), a runtime for the client, and printing.

use std::path::{Path, PathBuf};

use clap::{Args, ValueEnum};
use idos_client::Client;
use protocol::identity::{SignatureScheme, SigningKey};
use protocol::nacl_box::EncryptionSecretKey;
use zeroize::Zeroizing;

use super::output::{CliError, write_stdout};

/// The relay to talk to.
#[derive(Debug, Clone, Args)]
pub struct RelayArgs {
    /// The relay's URL, e.g. `https://relay.example.com`.
    #[arg(long, env = "IDOS_RELAY", value_name = "URL")]
    pub relay: String,
    /// Print one JSON object instead of lines.
    #[arg(long)]
    pub json: bool,
}

impl RelayArgs {
    /// A client of the relay.
    pub fn client(&self) -> Result<Client, CliError> {
        Ok(Client::new(&self.relay)?)
    }
}

/// What kind of signing key `--key-file` holds, and so how it signs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum SignerKind {
    /// A raw Ed25519 seed, 64 hex digits (issuers, consumers, FaceSign).
    Ed25519,
    /// A secp256k1 EVM key, 64 hex digits (`0x` allowed).
    Evm,
    /// A NEAR wallet's Ed25519 seed, 64 hex digits (signs NEP-413 messages).
    Near,
    /// `ripple-keypairs`' private key, 66 hex digits (`00` then secp256k1, or `ED` then Ed25519).
    Xrpl,
    /// A Stellar account's Ed25519 seed, 64 hex digits (signs SEP-53 messages).
    Stellar,
}

impl SignerKind {
    fn scheme(self) -> SignatureScheme {
        match self {
            SignerKind::Ed25519 => SignatureScheme::Ed25519,
            SignerKind::Evm => SignatureScheme::Eip191,
            SignerKind::Near => SignatureScheme::Nep413,
            SignerKind::Xrpl => SignatureScheme::Xrpl,
            SignerKind::Stellar => SignatureScheme::Stellar,
        }
    }

    fn expected(self) -> &'static str {
        match self {
            SignerKind::Xrpl => "66 hex digits, 00 or ED first",
            _ => "64 hex digits",
        }
    }
}

/// A signing key: the file `--key-file` (or `IDOS_KEY_FILE`) holds it, or the variable
/// `IDOS_KEY` does, as `idos keys generate` prints it; `--key-kind` says which kind it is.
#[derive(Debug, Clone, Args)]
pub struct KeyArgs {
    /// A file holding the signing key (hex, as `idos keys generate` prints it); without it, the
    /// variable IDOS_KEY holds the key.
    #[arg(long, env = "IDOS_KEY_FILE", value_name = "FILE")]
    pub key_file: Option<PathBuf>,
    /// The key's kind: how it signs and which wallet it is.
    #[arg(long, env = "IDOS_KEY_KIND", value_enum, default_value = "ed25519")]
    pub key_kind: SignerKind,
}

impl KeyArgs {
    /// The signing key.
    pub fn signing_key(&self) -> Result<SigningKey, CliError> {
        let text = secret(self.key_file.as_deref(), "IDOS_KEY", "--key-file")?;
        SigningKey::from_hex(self.key_kind.scheme(), text.trim()).map_err(|e| {
            CliError::Usage(format!(
                "the signing key is not a {} key: expected {} ({}); say its kind with --key-kind",
                self.key_kind
                    .to_possible_value()
                    .map_or_else(String::new, |v| v.get_name().to_owned()),
                self.key_kind.expected(),
                e.code()
            ))
        })
    }
}

/// Signs `key` in to the relay: Ed25519 sign-in for a raw Ed25519 key, the wallet sign-in
/// (its own scheme) for any other kind.
pub async fn sign_in(client: &Client, key: &SigningKey) -> Result<Client, CliError> {
    Ok(match key {
        SigningKey::Ed25519(_) => client.sign_in_ed25519(key, None).await?,
        _ => client.sign_in_wallet(key, None).await?,
    })
}

/// An encryption (X25519) secret key: the file `--encryption-key-file` (or
/// `IDOS_ENCRYPTION_KEY_FILE`) holds it, or the variable `IDOS_ENCRYPTION_KEY` does (base64).
#[derive(Debug, Clone, Args)]
pub struct EncryptionKeyArgs {
    /// A file holding the X25519 secret key (base64, as `idos keys generate --kind x25519`
    /// prints it); without it, the variable IDOS_ENCRYPTION_KEY holds the key.
    #[arg(long, env = "IDOS_ENCRYPTION_KEY_FILE", value_name = "FILE")]
    pub encryption_key_file: Option<PathBuf>,
}

impl EncryptionKeyArgs {
    /// The encryption secret key.
    pub fn secret_key(&self) -> Result<EncryptionSecretKey, CliError> {
        let text = secret(
            self.encryption_key_file.as_deref(),
            "IDOS_ENCRYPTION_KEY",
            "--encryption-key-file",
        )?;
        EncryptionSecretKey::from_base64(text.trim()).map_err(|e| {
            CliError::Usage(format!(
                "the encryption key is not a base64 X25519 secret key ({})",
                e.code()
            ))
        })
    }
}

/// A secret from `file`, or else from the environment variable `var`.
fn secret(file: Option<&Path>, var: &str, flag: &str) -> Result<Zeroizing<String>, CliError> {
    match file {
        Some(path) => std::fs::read_to_string(path)
            .map(Zeroizing::new)
            .map_err(|e| CliError::Usage(format!("cannot read {}: {e}", path.display()))),
        None => std::env::var(var).map(Zeroizing::new).map_err(|_| {
            CliError::Usage(format!(
                "no key: give {flag} <file> or set the environment variable {var}"
            ))
        }),
    }
}

/// Reads a file a command takes as input.
pub fn read_file(path: &Path) -> Result<Zeroizing<Vec<u8>>, CliError> {
    std::fs::read(path)
        .map(Zeroizing::new)
        .map_err(|e| CliError::Usage(format!("cannot read {}: {e}", path.display())))
}

/// Runs a client future to completion on a small runtime.
pub fn block_on<T>(
    future: impl std::future::Future<Output = Result<T, CliError>>,
) -> Result<T, CliError> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|source| CliError::Io {
            context: "cannot start the runtime",
            source,
        })?
        .block_on(future)
}

/// Prints a result: with `--json` the object `value` on one line, else `human`.
pub fn print(json: bool, human: &str, value: &serde_json::Value) -> Result<(), CliError> {
    if json {
        write_stdout(format!("{value}\n").as_bytes())
    } else {
        write_stdout(human.as_bytes())
    }
}

/// Prints a committed transaction's result with more fields.
pub fn print_committed(
    json: bool,
    status: &idos_client::TxStatus,
    fields: &[(&str, String)],
) -> Result<(), CliError> {
    let mut object = serde_json::Map::new();
    let mut human = String::new();
    for (name, value) in fields {
        object.insert((*name).to_owned(), value.clone().into());
        human.push_str(&format!("{name}: {value}\n"));
    }
    object.insert("tx_hash".into(), status.hash.clone().into());
    object.insert("height".into(), status.height.into());
    human.push_str(&format!("tx_hash: {}\n", status.hash));
    if let Some(h) = status.height {
        human.push_str(&format!("height: {h}\n"));
    }
    print(json, &human, &serde_json::Value::Object(object))
}
