//! `idos keys ...`

use clap::{Subcommand, ValueEnum};
use protocol::identity::{Identity, SigningKey};
use protocol::nacl_box::EncryptionSecretKey;

use super::output::{CliError, print_fields};

#[derive(Debug, Subcommand)]
pub enum KeysCommand {
    /// Generate a fresh random key pair.
    ///
    /// x25519: an encryption key pair (base64), e.g. a consumer's box key.
    /// ed25519: a signing key (hex seed) and its public key, the identifier of issuers and consumers.
    /// evm: a secp256k1 key (hex) and its EIP-55 address, for development wallets.
    Generate {
        #[arg(long, value_enum)]
        kind: KeyKind,
        /// Print one JSON object instead of lines.
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum KeyKind {
    X25519,
    Ed25519,
    Evm,
}

pub fn run(cmd: KeysCommand) -> Result<(), CliError> {
    match cmd {
        KeysCommand::Generate { kind, json } => generate(kind, json),
    }
}

fn generate(kind: KeyKind, json: bool) -> Result<(), CliError> {
    match kind {
        KeyKind::X25519 => {
            let secret = EncryptionSecretKey::generate();
            let public = secret.public_key().to_string();
            print_fields(
                json,
                &[
                    ("kind", "x25519"),
                    ("public_key", &public),
                    ("secret_key", &secret.to_base64()),
                ],
            )
        }
        KeyKind::Ed25519 => {
            let key = SigningKey::generate_ed25519();
            let identifier = key.identity().identifier();
            print_fields(
                json,
                &[
                    ("kind", "ed25519"),
                    ("public_key", &identifier),
                    ("secret_key", &key.to_hex()),
                ],
            )
        }
        KeyKind::Evm => {
            let key = SigningKey::generate_evm();
            let Identity::Evm(address) = key.identity() else {
                unreachable!("an EVM key has an EVM identity")
            };
            print_fields(
                json,
                &[
                    ("kind", "evm"),
                    ("address", &address.to_checksum()),
                    ("identifier", &address.to_lowercase()),
                    ("secret_key", &key.to_hex()),
                ],
            )
        }
    }
}
