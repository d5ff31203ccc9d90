//! The key's lifecycle in the iframe: unlock (or create) through the dialog, restore a key
//! remembered for this host origin, let the user allow this origin to use a key remembered for
//! another, expire it with the period the user chose, and change the password in two steps
//! (the new key waits until the host confirms that the rotation is committed).

use js_sys::Uint8Array;
use protocol::bytes::EncryptionPublicKey;
use protocol::nacl_box::EncryptionSecretKey;
use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::*;
use zeroize::Zeroizing;

use super::dialog_client::user_dialog;
use super::host::parent_origin;
use super::with;
use crate::error::{EnclaveError, ErrorCode, Result};
use crate::web::custody::{self, Remember, Restored};
use crate::web::util::*;

/// A new key from a password change, held until the host confirms the rotation is committed.
pub struct PendingChange {
    key: EncryptionSecretKey,
    remember: Remember,
}

/// Drops the key from memory and storage once the period the user chose has passed.
pub async fn expire_if_due() -> Result<()> {
    let due = with(|s| s.key_expires_at.is_some_and(|t| now_ms() >= t));
    if due {
        with(|s| {
            s.vault.forget();
            s.key_expires_at = None;
        });
        custody::forget().await?;
    }
    Ok(())
}

/// `{userId, unlocked, publicKey, pendingPublicKey}`.
pub fn status() -> Result<JsValue> {
    with(|s| {
        let user_id = s.vault.user_id()?.to_owned();
        let text = |k: Option<EncryptionPublicKey>| {
            k.map(|k| JsValue::from_str(&k.to_text()))
                .unwrap_or(JsValue::NULL)
        };
        Ok(obj(&[
            ("userId", JsValue::from_str(&user_id)),
            ("unlocked", JsValue::from_bool(s.vault.is_unlocked())),
            (
                "publicKey",
                text(s.vault.public_key().or(s.vault.expected().copied())),
            ),
            (
                "pendingPublicKey",
                text(s.pending_change.as_ref().map(|p| p.key.public_key())),
            ),
        ]))
    })
}

/// `configure`: sets the user and restores a key remembered for this origin.
pub async fn configure(user_id: &str, expected: Option<EncryptionPublicKey>) -> Result<JsValue> {
    let other_user = with(|s| s.vault.user_id().ok() != Some(user_id));
    with(|s| s.vault.configure(user_id, expected))?;
    if other_user {
        with(|s| {
            s.pending_change = None;
            s.approved_filters.clear();
        });
    }
    if !with(|s| s.vault.is_unlocked()) {
        with(|s| s.key_expires_at = None);
        restore_remembered(user_id).await?;
    }
    status()
}

/// Installs an unlocked key and remembers it for this origin as the user chose.
async fn install_key(
    user_id: &str,
    key: EncryptionSecretKey,
    remember: Remember,
    replace: bool,
) -> Result<()> {
    let now = now_ms();
    custody::remember(user_id, &key, remember, now, &parent_origin()?).await?;
    with(|s| {
        s.key_expires_at = remember.expires_at(now);
        if replace {
            s.vault.replace_key(key);
            Ok(())
        } else {
            s.vault.set_key(key)
        }
    })
}

/// What a restore found.
enum Remembered {
    Unlocked,
    /// Remembered, but only for these other origins.
    ForOthers(Vec<String>),
    Nothing,
}

fn take_restored(restored: Restored) -> Result<Remembered> {
    match restored {
        Restored::Key { key, expires_at } => {
            with(|s| s.vault.set_key(key))?;
            with(|s| s.key_expires_at = Some(expires_at));
            Ok(Remembered::Unlocked)
        }
        Restored::OtherOrigins {
            origins,
            public_key,
        } => {
            let fits = with(|s| s.vault.expected().is_none_or(|k| k.to_text() == public_key));
            Ok(if fits {
                Remembered::ForOthers(origins)
            } else {
                Remembered::Nothing
            })
        }
        Restored::Nothing => Ok(Remembered::Nothing),
    }
}

async fn restore_remembered(user_id: &str) -> Result<Remembered> {
    let origin = parent_origin()?;
    match custody::restore(user_id, now_ms(), &origin).await {
        Ok(restored) => match take_restored(restored) {
            Err(e) if e.code == ErrorCode::KeyMismatch => {
                // Remembered for an older key (e.g. before a password change elsewhere).
                custody::forget().await?;
                Ok(Remembered::Nothing)
            }
            other => other,
        },
        Err(e) if e.code == ErrorCode::KeyMismatch => Ok(Remembered::Nothing),
        Err(e) => Err(e),
    }
}

fn dialog_context(user_id: &str, expected: Option<&str>, mode: &str) -> Result<JsValue> {
    let kdf = with(|s| s.kdf);
    Ok(obj(&[
        ("origin", JsValue::from_str(&parent_origin()?)),
        ("userId", JsValue::from_str(user_id)),
        (
            "expectedPublicKey",
            expected.map(JsValue::from_str).unwrap_or(JsValue::NULL),
        ),
        ("mode", JsValue::from_str(mode)),
        ("kdfLogN", JsValue::from_f64(f64::from(kdf.log_n))),
    ]))
}

/// Reads `{secretKey: Uint8Array(32), remember}` from the dialog and wipes the transfer buffer.
fn key_from_dialog(answer: &JsValue) -> Result<(EncryptionSecretKey, Remember)> {
    let remember = Remember::parse(&get_string(answer, "remember").unwrap_or_default())?;
    let buffer: Uint8Array = get(answer, "secretKey")
        .dyn_into()
        .map_err(|_| EnclaveError::internal("receiving the key from the dialog"))?;
    if buffer.length() != 32 {
        return Err(EnclaveError::internal("receiving the key from the dialog"));
    }
    let mut bytes = Zeroizing::new([0u8; 32]);
    buffer.copy_to(&mut bytes[..]);
    buffer.fill(0, 0, 32);
    Ok((EncryptionSecretKey::from_bytes(*bytes), remember))
}

/// Unlocks the key if it is not: a key remembered for this origin, else the dialog (password,
/// or one click to allow this origin a key the user remembered for another).
pub async fn ensure_key() -> Result<()> {
    let (user_id, expected) = with(|s| -> Result<_> {
        Ok((
            s.vault.user_id()?.to_owned(),
            s.vault.expected().map(|k| k.to_text()),
        ))
    })?;
    if with(|s| s.vault.is_unlocked()) {
        return Ok(());
    }
    let others = match restore_remembered(&user_id).await? {
        Remembered::Unlocked => return Ok(()),
        Remembered::ForOthers(origins) => origins,
        Remembered::Nothing => Vec::new(),
    };
    let (label, mode) = if expected.is_some() {
        ("Unlock idOS", "unlock")
    } else {
        ("Create your idOS key", "create")
    };
    let payload = dialog_context(&user_id, expected.as_deref(), mode)?;
    let _ = js_sys::Reflect::set(
        &payload,
        &"rememberedFor".into(),
        &others
            .iter()
            .map(|o| JsValue::from_str(o))
            .collect::<js_sys::Array>(),
    );
    let answer = user_dialog(label, "unlock", payload).await?;
    if get(&answer, "allowOrigin").as_bool() == Some(true) && !others.is_empty() {
        let origin = parent_origin()?;
        return match take_restored(custody::allow_origin(&user_id, now_ms(), &origin).await?)? {
            Remembered::Unlocked => Ok(()),
            _ => Err(EnclaveError::new(
                ErrorCode::Locked,
                "the remembered key expired or was forgotten meanwhile; unlock with the password",
            )),
        };
    }
    let (key, remember) = key_from_dialog(&answer)?;
    // Checked against the profile's key before anything is stored.
    with(|s| s.vault.set_key(key.clone()))?;
    install_key(&user_id, key, remember, false).await
}

/// `changePassword`: current and new password in the dialog; returns the rotation for the host
/// to submit. The old key stays in use until [`confirm_change`].
pub async fn change_password(
    originals: &[crate::vault::EncryptedCredential],
) -> Result<protocol::action::RotateEncryptionKey> {
    ensure_key().await?;
    let (user_id, current) = with(|s| -> Result<_> {
        Ok((
            s.vault.user_id()?.to_owned(),
            s.vault.public_key().map(|k| k.to_text()),
        ))
    })?;
    let payload = dialog_context(&user_id, current.as_deref(), "change")?;
    let answer = user_dialog("Change password", "changePassword", payload).await?;
    let (key, remember) = key_from_dialog(&answer)?;
    let rotation = with(|s| s.vault.rotate(&key, originals))?;
    with(|s| s.pending_change = Some(PendingChange { key, remember }));
    Ok(rotation)
}

/// `confirmPasswordChange`: the host saw the rotation to `public_key` committed; the new key
/// replaces the old one (and is remembered as the user chose).
pub async fn confirm_change(public_key: &EncryptionPublicKey) -> Result<()> {
    let pending = with(|s| s.pending_change.take()).ok_or_else(|| {
        EnclaveError::new(
            ErrorCode::NoPendingChange,
            "no password change is waiting for confirmation",
        )
    })?;
    if pending.key.public_key() != *public_key {
        let message = "the pending password change is for another key";
        with(|s| s.pending_change = Some(pending));
        return Err(EnclaveError::new(ErrorCode::NoPendingChange, message));
    }
    let user_id = with(|s| s.vault.user_id().map(str::to_owned))?;
    install_key(&user_id, pending.key, pending.remember, true).await
}

/// `abandonPasswordChange`: forgets the pending new key; the old one stays.
pub fn abandon_change() {
    with(|s| s.pending_change = None);
}

/// `forget`: wipes the key, a pending change and what storage holds.
pub async fn forget() -> Result<()> {
    with(|s| {
        s.vault.forget();
        s.key_expires_at = None;
        s.pending_change = None;
    });
    custody::forget().await
}
