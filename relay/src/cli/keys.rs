//! `idos keys ...`

use clap::{Subcommand, ValueEnum};
use protocol::identity::{Ed25519SigningKey, Identity, SigningKey};
use protocol::nacl_box::EncryptionSecretKey;
use protocol::xrpl::XrplSigningKey;

use super::output::{CliError, print_fields};

#[derive(Debug, Subcommand)]
pub enum KeysCommand {
    /// Generate a fresh random key pair.
    ///
    /// x25519: an encryption key pair (base64), e.g. a consumer's box key.
    /// ed25519: a signing key (hex seed) and its public key, the identifier of issuers and consumers.
    /// evm: a secp256k1 key (hex) and its EIP-55 address, for development wallets.
    /// near: a NEAR wallet key (hex seed), its ed25519:<base58> public key (the identifier) and
    /// its implicit account (hex).
    /// xrpl, xrpl-ed25519: an XRPL key on secp256k1 (the XRPL default) or Ed25519, as
    /// ripple-keypairs writes private keys (66 hex digits), its public key and r-address.
    /// stellar: a Stellar account key (hex seed) and its G-address.
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
    Near,
    Xrpl,
    #[value(name = "xrpl-ed25519")]
    XrplEd25519,
    Stellar,
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
        KeyKind::Near => {
            let key = SigningKey::Near(Ed25519SigningKey::generate());
            let Identity::Near(public) = key.identity() else {
                unreachable!("a NEAR key has a NEAR identity")
            };
            print_fields(
                json,
                &[
                    ("kind", "near"),
                    ("public_key", &key.identity().identifier()),
                    ("implicit_account", &public.to_text()),
                    ("secret_key", &key.to_hex()),
                ],
            )
        }
        KeyKind::Xrpl | KeyKind::XrplEd25519 => {
            let xrpl = if matches!(kind, KeyKind::Xrpl) {
                XrplSigningKey::generate_secp256k1()
            } else {
                XrplSigningKey::generate_ed25519()
            };
            let public = xrpl.public_key();
            let key = SigningKey::Xrpl(xrpl);
            print_fields(
                json,
                &[
                    (
                        "kind",
                        if matches!(kind, KeyKind::Xrpl) {
                            "xrpl"
                        } else {
                            "xrpl-ed25519"
                        },
                    ),
                    ("address", &key.identity().identifier()),
                    ("public_key", &public.to_text()),
                    ("secret_key", &key.to_hex()),
                ],
            )
        }
        KeyKind::Stellar => {
            let key = SigningKey::Stellar(Ed25519SigningKey::generate());
            print_fields(
                json,
                &[
                    ("kind", "stellar"),
                    ("address", &key.identity().identifier()),
                    ("secret_key", &key.to_hex()),
                ],
            )
        }
    }
}
