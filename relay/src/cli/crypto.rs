//! `idos crypto ...`: the same key derivation and box encryption as idOS's JavaScript SDK.

use clap::Subcommand;
use protocol::bytes::EncryptionPublicKey;
use protocol::codec::{base64_decode, base64_encode};
use protocol::kdf::{KdfVersion, derive_user_key};
use protocol::nacl_box::{EncryptionSecretKey, decrypt, encrypt};

use super::output::{CliError, print_fields, read_stdin, read_stdin_line, write_stdout};

#[derive(Debug, Subcommand)]
pub enum CryptoCommand {
    /// Derive a user's encryption key from a password (read from standard input, one line).
    DeriveKey {
        /// The user's id: a UUIDv4, which is the scrypt salt.
        #[arg(long)]
        user_id: String,
        /// Key derivation version.
        #[arg(long, default_value = KdfVersion::IdosScryptV0_1.tag())]
        kdf: String,
        /// Print one JSON object `{"public_key", "secret_key"}` instead of lines.
        #[arg(long)]
        json: bool,
    },
    /// Encrypt standard input to a recipient's X25519 public key.
    Encrypt {
        /// The recipient's public key (base64).
        #[arg(long)]
        recipient: String,
        /// Print one JSON object `{"content", "encryptor_public_key"}` instead of lines.
        #[arg(long)]
        json: bool,
    },
    /// Decrypt content (base64 `nonce ‖ tag ‖ ciphertext`) and write the plaintext bytes.
    Decrypt {
        /// A file holding the recipient's secret key (base64); without it the key is read from
        /// the `IDOS_SECRET_KEY` variable. Never an argument: every user of the machine sees
        /// a process's arguments.
        #[arg(long, value_name = "FILE", env = "IDOS_SECRET_KEY_FILE")]
        secret_key_file: Option<std::path::PathBuf>,
        /// The encryptor's public key stored with the content (base64).
        #[arg(long)]
        encryptor_public_key: String,
        /// The content (base64); read from standard input when absent.
        #[arg(long)]
        content: Option<String>,
    },
}

pub fn run(cmd: CryptoCommand) -> Result<(), CliError> {
    match cmd {
        CryptoCommand::DeriveKey { user_id, kdf, json } => {
            let version = KdfVersion::from_tag(&kdf)?;
            let password = read_stdin_line("password")?;
            let key = derive_user_key(&password, &user_id, version)?;
            print_fields(
                json,
                &[
                    ("public_key", &key.public_key().to_string()),
                    ("secret_key", &key.to_base64()),
                ],
            )
        }
        CryptoCommand::Encrypt { recipient, json } => {
            let recipient =
                EncryptionPublicKey::parse(&recipient).map_err(|e| relabel(e, "--recipient"))?;
            let plaintext = read_stdin("plaintext")?;
            let sealed = encrypt(&plaintext, &recipient)?;
            print_fields(
                json,
                &[
                    ("content", &base64_encode(&sealed.content)),
                    (
                        "encryptor_public_key",
                        &sealed.encryptor_public_key.to_string(),
                    ),
                ],
            )
        }
        CryptoCommand::Decrypt {
            secret_key_file,
            encryptor_public_key,
            content,
        } => {
            let (secret_key, source) = read_secret_key(secret_key_file.as_deref())?;
            let secret = EncryptionSecretKey::from_base64(secret_key.trim())
                .map_err(|e| relabel(e, source))?;
            let encryptor = EncryptionPublicKey::parse(&encryptor_public_key)
                .map_err(|e| relabel(e, "--encryptor-public-key"))?;
            let text = match content {
                Some(text) => text,
                None => {
                    let stdin = read_stdin("content")?;
                    String::from_utf8_lossy(&stdin).trim().to_owned()
                }
            };
            let content = base64_decode("content", &text)?;
            let plaintext = decrypt(&content, &encryptor, &secret)?;
            write_stdout(&plaintext)
        }
    }
}

/// Names the flag in the message, so a person knows which argument to fix.
fn relabel(err: protocol::Error, flag: &'static str) -> protocol::Error {
    use protocol::Error::*;
    match err {
        InvalidBase64 { .. } => InvalidBase64 { field: flag },
        InvalidLength {
            expected, actual, ..
        } => InvalidLength {
            field: flag,
            expected,
            actual,
        },
        other => other,
    }
}

/// The variable that holds the recipient's secret key when no file is given.
const SECRET_KEY_ENV: &str = "IDOS_SECRET_KEY";

/// The recipient's secret key text from `file`, else from `IDOS_SECRET_KEY`; and where it came
/// from, to name in errors.
fn read_secret_key(
    file: Option<&std::path::Path>,
) -> Result<(zeroize::Zeroizing<String>, &'static str), CliError> {
    match file {
        Some(path) => std::fs::read_to_string(path)
            .map(|text| (zeroize::Zeroizing::new(text), "--secret-key-file"))
            .map_err(|e| {
                CliError::Usage(format!(
                    "--secret-key-file: cannot read {}: {e}",
                    path.display()
                ))
            }),
        None => std::env::var(SECRET_KEY_ENV)
            .map(|text| (zeroize::Zeroizing::new(text), SECRET_KEY_ENV))
            .map_err(|_| {
                CliError::Usage(format!(
                    "give the recipient's secret key in a file (--secret-key-file) or in {SECRET_KEY_ENV}, never as an argument"
                ))
            }),
    }
}
