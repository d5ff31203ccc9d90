//! What each request shows. The site's own description (credential id, public notes, grantee
//! name) is labelled as such; what the enclave checked (issuer signatures, the decrypted
//! content, the key a copy is encrypted to) is shown as checked. Text only, never HTML.

use js_sys::Array;
use wasm_bindgen::prelude::*;

use super::{payload, payload_str};
use crate::error::{EnclaveError, Result};
use crate::web::util::*;

/// Every section a mode may show; [`render`] shows exactly the ones the mode needs.
const SECTIONS: &[&str] = &[
    "refused",
    "allow",
    "unlock",
    "current-row",
    "confirm-row",
    "remember",
    "consent",
    "grantee",
    "view",
    "credential",
    "consent-actions",
    "view-actions",
    "filter",
    "backup",
];

fn show_only(visible: &[&str]) -> Result<()> {
    for id in SECTIONS {
        set_hidden(id, !visible.contains(id))?;
    }
    Ok(())
}

/// Focuses the mode's first control but keeps the page at its top, where the question is.
fn focus(id: &str) -> Result<()> {
    let _ = by_id::<web_sys::HtmlElement>(id)?.focus();
    window()?.scroll_to_with_x_and_y(0.0, 0.0);
    Ok(())
}

fn element(tag: &str, class: Option<&str>, text: Option<&str>) -> Result<web_sys::Element> {
    let e = document()?
        .create_element(tag)
        .map_err(|_| EnclaveError::internal("building the dialog"))?;
    if let Some(c) = class {
        e.set_class_name(c);
    }
    if let Some(t) = text {
        e.set_text_content(Some(t));
    }
    Ok(e)
}

fn append(parent: &web_sys::Node, child: &web_sys::Element) -> Result<()> {
    parent
        .append_child(child)
        .map(|_| ())
        .map_err(|_| EnclaveError::internal("building the dialog"))
}

fn clear(id: &str) -> Result<web_sys::HtmlElement> {
    let e: web_sys::HtmlElement = by_id(id)?;
    e.set_text_content(None);
    Ok(e)
}

fn strings(value: &JsValue) -> Vec<String> {
    if !Array::is_array(value) {
        return Vec::new();
    }
    Array::from(value)
        .iter()
        .filter_map(|v| v.as_string())
        .collect()
}

/// Fills the page for `intent` and shows exactly what it needs.
pub(super) fn render(intent: &str) -> Result<()> {
    let origin = match payload_str("origin") {
        o if o.is_empty() => "(unknown site)".to_owned(),
        o => o,
    };
    set_text("origin", &origin)?;
    set_hidden("origin-line", false)?;
    match intent {
        "unlock" | "changePassword" => password_form(&origin)?,
        "release" | "share" => {
            let share = intent == "share";
            set_text(
                "title",
                if share {
                    "Share a credential?"
                } else {
                    "Give this site a credential?"
                },
            )?;
            set_text("consent-origin", &origin)?;
            set_text(
                "consent-question",
                if share {
                    "asks to share this credential with the recipient below: a copy is encrypted for them only. Approve only if you want them to read it."
                } else {
                    "asks to read the content of this credential. Approve only if you trust this site with it."
                },
            )?;
            credential()?;
            if share {
                set_text("grantee-fingerprint", &payload_str("granteeFingerprint"))?;
                set_text("grantee-key", &payload_str("granteePublicKey"))?;
                let label = payload_str("granteeLabel");
                set_text(
                    "grantee-label",
                    if label.is_empty() {
                        "(no name given)"
                    } else {
                        &label
                    },
                )?;
                show_only(&["consent", "grantee", "credential", "consent-actions"])?;
            } else {
                show_only(&["consent", "credential", "consent-actions"])?;
            }
            focus("deny")?;
        }
        "view" => {
            set_text("title", "Your credential")?;
            credential()?;
            show_only(&["view", "credential", "view-actions"])?;
            focus("view-close")?;
        }
        "backup" => {
            set_text("title", "Back up your idOS key")?;
            set_text("backup-key", &payload_str("secretKey"))?;
            show_only(&["backup"])?;
            focus("backup-done")?;
        }
        "filter" => {
            set_text("title", "Answer a question about your data?")?;
            set_text("filter-origin", &origin)?;
            let n = payload("credentialCount").as_f64().unwrap_or(0.0) as u32;
            set_text("filter-count", &n.to_string())?;
            clauses()?;
            show_only(&["filter"])?;
            focus("filter-deny")?;
        }
        _ => return Err(EnclaveError::bad_request("unknown dialog intent")),
    }
    super::set_state(intent);
    Ok(())
}

fn password_form(origin: &str) -> Result<()> {
    let mode = payload_str("mode");
    let (title, intro, submit) = match mode.as_str() {
        "create" => (
            "Create your idOS key",
            "Choose a password. It protects your idOS data; losing it means losing access to your data.",
            "Create key",
        ),
        "change" => (
            "Change your idOS password",
            "Enter your current password and a new one. Your credentials will be re-encrypted to the new key; the new password works once the site has saved the change.",
            "Change password",
        ),
        _ => (
            "Unlock idOS",
            "Enter your idOS password to unlock your data on this device.",
            "Unlock",
        ),
    };
    set_text("title", title)?;
    set_text("unlock-intro", intro)?;
    set_text("unlock-submit", submit)?;
    set_text(
        "password-label",
        if mode == "change" {
            "New password"
        } else {
            "Password"
        },
    )?;
    set_text("remember-site", origin)?;
    let remembered_for = strings(&payload("rememberedFor"));
    let mut visible = vec!["unlock", "remember"];
    match mode.as_str() {
        "change" => visible.extend(["current-row", "confirm-row"]),
        "create" => visible.push("confirm-row"),
        _ => {}
    }
    if !remembered_for.is_empty() && mode != "change" {
        set_text("allow-origins", &remembered_for.join(", "))?;
        set_text("allow-origin", origin)?;
        visible.push("allow");
    }
    show_only(&visible)?;
    focus(if mode == "change" {
        "current-password"
    } else {
        "password"
    })
}

/// The credential block: issuer check, content as rows (raw JSON one click away), and the
/// site's own description.
fn credential() -> Result<()> {
    let issuer = payload("issuer");
    let issuer_line = by_id::<web_sys::HtmlElement>("credential-issuer")?;
    if get_string(&issuer, "status").as_deref() == Some("verified") {
        issuer_line.set_class_name("issuer verified");
        issuer_line.set_text_content(Some(&format!(
            "Signed by the issuer with key {} — idOS checked the signature over this content.",
            get_string(&issuer, "fingerprint").unwrap_or_default()
        )));
    } else {
        issuer_line.set_class_name("issuer unsigned");
        issuer_line.set_text_content(Some(
            "No issuer signature came with this request: nothing shows who wrote this credential.",
        ));
    }
    let plaintext = payload_str("plaintext");
    set_text("credential-raw", &plaintext)?;
    let fields = clear("credential-fields")?;
    let sections = payload("sections");
    let raw_box = by_id::<web_sys::HtmlElement>("credential-raw-box")?;
    if Array::is_array(&sections) {
        let _ = raw_box.remove_attribute("open");
        for section in Array::from(&sections).iter() {
            let title = get_string(&section, "title").unwrap_or_default();
            append(&fields, &element("h3", None, Some(&title))?)?;
            let list = element("dl", Some("fields"), None)?;
            for row in Array::from(&get(&section, "rows")).iter() {
                let depth = get(&row, "depth").as_f64().unwrap_or(0.0).clamp(0.0, 6.0) as u8;
                let label = get_string(&row, "label").unwrap_or_default();
                let line = element("div", Some(&format!("field d{depth}")), None)?;
                append(&line, &element("dt", None, Some(&label))?)?;
                match get_string(&row, "value") {
                    Some(value) => append(&line, &element("dd", None, Some(&value))?)?,
                    None => line.set_class_name(&format!("field group d{depth}")),
                }
                append(&list, &line)?;
            }
            append(&fields, &list)?;
        }
    } else {
        // Not a JSON object: the text as it is.
        let _ = raw_box.set_attribute("open", "");
    }
    set_text("credential-id", &payload_str("credentialId"))?;
    let notes = payload_str("publicNotes");
    set_text(
        "credential-notes",
        if notes.is_empty() { "(none)" } else { &notes },
    )
}

/// The filter's question, one clause per line.
fn clauses() -> Result<()> {
    let list = clear("filter-clauses")?;
    let clauses = payload("clauses");
    for clause in Array::from(&clauses).iter() {
        let must = get(&clause, "mustMatch").as_bool() == Some(true);
        let path = get_string(&clause, "path").unwrap_or_default();
        let values = strings(&get(&clause, "values"));
        let item = element("li", None, None)?;
        append(
            &item,
            &element(
                "span",
                None,
                Some(if must { "have " } else { "do not have " }),
            )?,
        )?;
        append(&item, &element("em", Some("path"), Some(&path))?)?;
        append(
            &item,
            &element(
                "span",
                None,
                Some(if values.len() == 1 {
                    " equal to "
                } else if must {
                    " equal to one of "
                } else {
                    " equal to any of "
                }),
            )?,
        )?;
        for (i, value) in values.iter().enumerate() {
            if i > 0 {
                append(&item, &element("span", None, Some(", "))?)?;
            }
            append(&item, &element("em", Some("value"), Some(value))?)?;
        }
        append(&list, &item)?;
    }
    Ok(())
}
