//! The development wallet's keys: accounts of every wallet type a browser wallet standard
//! serves (EVM, NEAR, XRPL, Stellar), kept in `<data dir>/dev_wallet`, and signing in each
//! ecosystem's own wire form, as a real wallet of that type answers a dapp.
//!
//! Files (each owner-only, created once, never replaced: `node::keyfile::write_secret`):
//! - EVM: `key-<n>` (a 32-byte secp256k1 scalar as hex) and `current` (the selected number),
//!   the layout earlier versions wrote, so their accounts stay;
//! - NEAR, XRPL, Stellar: `near-key-<n>`, `xrpl-key-<n>`, `stellar-key-<n>` and `near-current`,
//!   `xrpl-current`, `stellar-current`. NEAR and Stellar keys are 32-byte Ed25519 seeds; XRPL
//!   keys are `ripple-keypairs`' 33-byte private keys (secp256k1, the XRPL default).

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use protocol::identity::{Identity, SignatureScheme, SigningKey};
use protocol::near::Nep413Payload;
use protocol::wallet::WalletType;
use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

/// Why the development wallet could not start or answer.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DevWalletError {
    /// A key file or the directory could not be read or written.
    #[error("development wallet: {0}")]
    Io(String),
    /// A key file holds something else than a key of its wallet type.
    #[error(
        "development wallet: {0} is not a key of its wallet type; move it away to create new accounts"
    )]
    BadKey(PathBuf),
    /// No account of this wallet has that address.
    #[error("{0} is not an account of this development wallet")]
    UnknownAccount(String),
    /// The development wallet holds no accounts of that type.
    #[error("the development wallet has no {0} accounts (it has EVM, NEAR, XRPL and Stellar ones)")]
    UnsupportedType(String),
    /// A signing request is missing what its wallet type needs, or has it malformed.
    #[error("{0}")]
    BadRequest(String),
}

/// The wallet types the development wallet holds accounts of, in the order it lists them.
pub const WALLET_TYPES: [WalletType; 4] = [
    WalletType::Evm,
    WalletType::Near,
    WalletType::Xrpl,
    WalletType::Stellar,
];

fn file_prefix(kind: WalletType) -> &'static str {
    match kind {
        WalletType::Near => "near-",
        WalletType::Xrpl => "xrpl-",
        WalletType::Stellar => "stellar-",
        _ => "",
    }
}

fn scheme(kind: WalletType) -> SignatureScheme {
    match kind {
        WalletType::Near => SignatureScheme::Nep413,
        WalletType::Xrpl => SignatureScheme::Xrpl,
        WalletType::Stellar => SignatureScheme::Stellar,
        _ => SignatureScheme::Eip191,
    }
}

fn generate(kind: WalletType) -> SigningKey {
    match kind {
        WalletType::Near => SigningKey::Near(protocol::identity::Ed25519SigningKey::generate()),
        WalletType::Xrpl => SigningKey::Xrpl(protocol::xrpl::XrplSigningKey::generate_secp256k1()),
        WalletType::Stellar => {
            SigningKey::Stellar(protocol::identity::Ed25519SigningKey::generate())
        }
        _ => SigningKey::generate_evm(),
    }
}

/// An account as a browser wallet shows it to a dapp.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Account {
    /// The wallet's address: EIP-55 for EVM, `ed25519:<base58>` for NEAR, `r…` for XRPL,
    /// `G…` for Stellar.
    pub address: String,
    /// The public key as hex (what XRPL signatures are checked against, and what NEAR and
    /// Stellar wallets hand out as `WalletAccount.publicKey`); `None` for EVM.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub public_key: Option<String>,
}

fn account(key: &SigningKey) -> Account {
    let public_key = match key {
        SigningKey::Evm(_) => None,
        SigningKey::Near(k) | SigningKey::Stellar(k) | SigningKey::Ed25519(k) => {
            Some(hex::encode(k.public_key().as_bytes()))
        }
        SigningKey::Xrpl(k) => Some(hex::encode_upper(k.public_key().to_bytes())),
    };
    Account {
        address: key.identity().display_name(),
        public_key,
    }
}

/// What a NEAR wallet needs besides the message: NEP-413's recipient and 32-byte nonce.
#[derive(Debug, Clone)]
pub struct Nep413Request {
    /// The recipient the dapp names (`idos.network` for idOS).
    pub recipient: String,
    /// The dapp's nonce.
    pub nonce: [u8; 32],
}

struct Accounts {
    keys: Vec<SigningKey>,
    current: usize,
}

/// The keys of one data directory.
#[derive(Clone)]
pub struct Keyring {
    dir: PathBuf,
    accounts: Arc<Mutex<Vec<Accounts>>>,
}

impl std::fmt::Debug for Keyring {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let addresses: Vec<Vec<Account>> = WALLET_TYPES.iter().map(|k| self.accounts(*k)).collect();
        f.debug_struct("Keyring")
            .field("dir", &self.dir)
            .field("accounts", &addresses)
            .finish()
    }
}

fn io(what: String) -> impl FnOnce(std::io::Error) -> DevWalletError {
    move |e| DevWalletError::Io(format!("{what}: {e}"))
}

fn index(kind: WalletType) -> Result<usize, DevWalletError> {
    WALLET_TYPES
        .iter()
        .position(|k| *k == kind)
        .ok_or_else(|| DevWalletError::UnsupportedType(kind.as_str().to_owned()))
}

impl Keyring {
    /// Opens (or creates, with one account of each type) the keys in `dir`.
    pub fn open(dir: PathBuf) -> Result<Keyring, DevWalletError> {
        std::fs::create_dir_all(&dir).map_err(io(format!("creating {}", dir.display())))?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700))
                .map_err(io(format!("restricting {}", dir.display())))?;
        }
        let mut all = Vec::new();
        for kind in WALLET_TYPES {
            all.push(load(&dir, kind)?);
        }
        let ring = Keyring {
            dir,
            accounts: Arc::new(Mutex::new(all)),
        };
        for kind in WALLET_TYPES {
            if ring.accounts(kind).is_empty() {
                ring.new_account(kind)?;
            }
        }
        Ok(ring)
    }

    fn lock(&self) -> MutexGuard<'_, Vec<Accounts>> {
        self.accounts.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Every account of `kind`, in creation order (none for a type it does not hold).
    pub fn accounts(&self, kind: WalletType) -> Vec<Account> {
        let Ok(i) = index(kind) else {
            return Vec::new();
        };
        self.lock()[i].keys.iter().map(account).collect()
    }

    /// The selected account of `kind`.
    pub fn current(&self, kind: WalletType) -> Result<Account, DevWalletError> {
        let i = index(kind)?;
        let all = self.lock();
        Ok(account(&all[i].keys[all[i].current]))
    }

    /// Creates a fresh account of `kind` (a new key file) and selects it.
    pub fn new_account(&self, kind: WalletType) -> Result<Account, DevWalletError> {
        let i = index(kind)?;
        let mut all = self.lock();
        let key = generate(kind);
        let n = all[i].keys.len();
        let path = self.dir.join(format!("{}key-{n}", file_prefix(kind)));
        node::keyfile::write_secret(&path, key.to_hex().as_bytes())
            .map_err(|e| DevWalletError::Io(e.to_string()))?;
        let made = account(&key);
        all[i].keys.push(key);
        all[i].current = n;
        self.save_current(kind, n)?;
        Ok(made)
    }

    fn save_current(&self, kind: WalletType, n: usize) -> Result<(), DevWalletError> {
        let path = self.dir.join(format!("{}current", file_prefix(kind)));
        std::fs::write(&path, n.to_string()).map_err(io(format!("writing {}", path.display())))
    }

    /// The type and number of the account `address` (any identifier form `Identity::parse`
    /// reads, so an EVM address in any case).
    fn find(&self, address: &str) -> Result<(WalletType, usize, usize), DevWalletError> {
        let unknown = || DevWalletError::UnknownAccount(address.chars().take(100).collect());
        let wanted = Identity::parse(address).map_err(|_| unknown())?;
        let kind = WalletType::of(&wanted);
        let i = index(kind).map_err(|_| unknown())?;
        let n = self.lock()[i]
            .keys
            .iter()
            .position(|k| k.identity() == wanted)
            .ok_or_else(unknown)?;
        Ok((kind, i, n))
    }

    /// Selects an existing account (of whichever type its address is).
    pub fn select(&self, address: &str) -> Result<Account, DevWalletError> {
        let (kind, i, n) = self.find(address)?;
        let mut all = self.lock();
        all[i].current = n;
        self.save_current(kind, n)?;
        Ok(account(&all[i].keys[n]))
    }

    /// Signs `message` with the account `address`, as a wallet of its type answers a dapp:
    /// - EVM: EIP-191 `personal_sign`, 65 bytes;
    /// - NEAR: NEP-413 `signMessage`: Ed25519 over SHA-256 of the Borsh payload for
    ///   `nep413`'s recipient and nonce, 64 bytes (the message must be UTF-8);
    /// - XRPL: `ripple-keypairs.sign` of the message bytes (GemWallet's `signMessage`), DER;
    /// - Stellar: SEP-43 `signMessage`, SEP-53 (Ed25519 over SHA-256 of the prefixed message).
    pub fn sign(
        &self,
        address: &str,
        message: &[u8],
        nep413: Option<Nep413Request>,
    ) -> Result<Vec<u8>, DevWalletError> {
        let (_, i, n) = self.find(address)?;
        let all = self.lock();
        match &all[i].keys[n] {
            SigningKey::Near(key) => {
                let Some(Nep413Request { recipient, nonce }) = nep413 else {
                    return Err(DevWalletError::BadRequest(
                        "a NEAR signature needs NEP-413's recipient and nonce (32 bytes as hex)"
                            .into(),
                    ));
                };
                let message = String::from_utf8(message.to_vec()).map_err(|_| {
                    DevWalletError::BadRequest(
                        "a NEAR wallet signs text: the message is not UTF-8".into(),
                    )
                })?;
                let payload = Nep413Payload {
                    message,
                    nonce,
                    recipient,
                    callback_url: None,
                };
                let digest = Sha256::digest(payload.encode());
                Ok(key.sign(&digest).as_bytes().to_vec())
            }
            SigningKey::Xrpl(key) => Ok(key.sign(message)),
            SigningKey::Stellar(key) => Ok(protocol::stellar::sign_sep53(key, message)
                .as_bytes()
                .to_vec()),
            other => Ok(other.sign(message)),
        }
    }

    #[cfg(test)]
    fn secret_hex(&self, kind: WalletType) -> Zeroizing<String> {
        let all = self.lock();
        let i = index(kind).unwrap();
        all[i].keys[all[i].current].to_hex()
    }
}

fn load(dir: &Path, kind: WalletType) -> Result<Accounts, DevWalletError> {
    let mut keys = Vec::new();
    loop {
        let path = dir.join(format!("{}key-{}", file_prefix(kind), keys.len()));
        match std::fs::read_to_string(&path) {
            Ok(text) => {
                let text = Zeroizing::new(text);
                let key = SigningKey::from_hex(scheme(kind), text.trim())
                    .map_err(|_| DevWalletError::BadKey(path.clone()))?;
                keys.push(key);
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => break,
            Err(e) => return Err(io(format!("reading {}", path.display()))(e)),
        }
    }
    let current = std::fs::read_to_string(dir.join(format!("{}current", file_prefix(kind))))
        .ok()
        .and_then(|t| t.trim().parse::<usize>().ok())
        .filter(|n| *n < keys.len())
        .unwrap_or(0);
    Ok(Accounts { keys, current })
}

#[cfg(test)]
mod tests {
    use super::*;
    use protocol::identity::recover_eip191;

    #[test]
    fn accounts_of_every_type_persist_owner_only() {
        let data = tempfile::tempdir().unwrap();
        let ring = Keyring::open(data.path().join("w")).unwrap();
        for kind in WALLET_TYPES {
            let first = ring.current(kind).unwrap();
            assert_eq!(ring.accounts(kind), vec![first.clone()], "{kind:?}");
            let second = ring.new_account(kind).unwrap();
            assert_ne!(first, second);
            assert_eq!(ring.current(kind).unwrap(), second);
            let again = Keyring::open(data.path().join("w")).unwrap();
            assert_eq!(again.accounts(kind), vec![first.clone(), second.clone()]);
            assert_eq!(again.current(kind).unwrap(), second);
            again.select(&first.address).unwrap();
            let third = Keyring::open(data.path().join("w")).unwrap();
            assert_eq!(third.current(kind).unwrap(), first, "{kind:?}");
            assert!(!format!("{third:?}").contains(&*third.secret_hex(kind)));
        }
        assert_eq!(
            std::fs::read_to_string(data.path().join("w/xrpl-key-0"))
                .unwrap()
                .len(),
            66,
            "ripple-keypairs' 33-byte private key"
        );
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
            for file in ["key-0", "near-key-0", "xrpl-key-1", "stellar-key-1"] {
                assert_eq!(mode(&data.path().join("w").join(file)), 0o600, "{file}");
            }
            assert_eq!(mode(&data.path().join("w")), 0o700);
        }
    }

    #[test]
    fn each_type_signs_in_its_wallets_wire_form_which_idos_verifies() {
        let data = tempfile::tempdir().unwrap();
        let ring = Keyring::open(data.path().to_owned()).unwrap();
        let text = "idOS relay sign-in\nnonce: 1";
        // EVM: personal_sign.
        let evm = ring.current(WalletType::Evm).unwrap().address;
        let sig = ring
            .sign(&evm.to_lowercase(), text.as_bytes(), None)
            .unwrap();
        assert_eq!(
            recover_eip191(text.as_bytes(), &sig).unwrap().to_checksum(),
            evm
        );
        // NEAR: the bare NEP-413 signature, which a page wraps into idOS's blob.
        let near = ring.current(WalletType::Near).unwrap().address;
        let nonce = [7u8; 32];
        let request = || Nep413Request {
            recipient: protocol::near::RECIPIENT.to_owned(),
            nonce,
        };
        let sig = ring.sign(&near, text.as_bytes(), Some(request())).unwrap();
        let payload = Nep413Payload {
            message: text.to_owned(),
            nonce,
            recipient: protocol::near::RECIPIENT.to_owned(),
            callback_url: None,
        }
        .encode();
        let mut blob = (payload.len() as u16).to_be_bytes().to_vec();
        blob.extend(&payload);
        blob.extend(&sig);
        Identity::parse(&near)
            .unwrap()
            .verify("near", text.as_bytes(), &blob)
            .unwrap();
        assert!(matches!(
            ring.sign(&near, text.as_bytes(), None),
            Err(DevWalletError::BadRequest(_))
        ));
        assert!(matches!(
            ring.sign(&near, &[0xff], Some(request())),
            Err(DevWalletError::BadRequest(_))
        ));
        // XRPL: the DER signature, checked against the account's public key.
        let xrpl = ring.current(WalletType::Xrpl).unwrap();
        let sig = ring.sign(&xrpl.address, text.as_bytes(), None).unwrap();
        let mut identity_form = hex::decode(xrpl.public_key.unwrap()).unwrap();
        identity_form.extend(sig);
        Identity::parse(&xrpl.address)
            .unwrap()
            .verify("xrpl", text.as_bytes(), &identity_form)
            .unwrap();
        // Stellar: SEP-53.
        let stellar = ring.current(WalletType::Stellar).unwrap().address;
        let sig = ring.sign(&stellar, text.as_bytes(), None).unwrap();
        let key = protocol::stellar::parse_address(&stellar).unwrap();
        protocol::identity::verify_ed25519_slice(
            "stellar",
            &key,
            &protocol::stellar::sep53_hash(text.as_bytes()),
            &sig,
        )
        .unwrap();
    }

    #[test]
    fn fail_unknown_accounts_and_key_files_that_are_not_keys() {
        let data = tempfile::tempdir().unwrap();
        let ring = Keyring::open(data.path().to_owned()).unwrap();
        for address in [
            "0x0000000000000000000000000000000000000001",
            "not an address",
            &"ab".repeat(32), // a raw Ed25519 key: a type this wallet does not hold
        ] {
            assert!(matches!(
                ring.sign(address, b"x", None),
                Err(DevWalletError::UnknownAccount(_))
            ));
            assert!(matches!(
                ring.select(address),
                Err(DevWalletError::UnknownAccount(_))
            ));
        }
        assert!(matches!(
            ring.new_account(WalletType::Ed25519),
            Err(DevWalletError::UnsupportedType(_))
        ));
        for file in ["key-0", "near-key-0", "xrpl-key-0", "stellar-key-0"] {
            let other = tempfile::tempdir().unwrap();
            std::fs::write(other.path().join(file), "nope").unwrap();
            assert!(
                matches!(
                    Keyring::open(other.path().to_owned()),
                    Err(DevWalletError::BadKey(_))
                ),
                "{file}"
            );
        }
    }
}
