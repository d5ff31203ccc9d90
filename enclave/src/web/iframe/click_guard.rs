//! Whether a click on the enclave's button was meant: the button must have been fully visible
//! to the user, continuously, for a moment before the click.
//!
//! Where the browser has IntersectionObserver v2 (`trackVisibility`: Chromium), "visible" is the
//! browser's own verdict: no opacity, filter, transform or overlapping content from any page
//! above the frame. Elsewhere the fallback can only see that the button is inside the viewport
//! (not covered or transparent): it waits longer, and the dialog's own delay and content remain
//! the real defence (see ARCHITECTURE.md, "Consent invariants").
//!
//! The button carries `data-armed` while a click would be accepted and `data-refused` (a count)
//! after refused clicks, so people and tests can see the verdict.

use std::cell::RefCell;

use js_sys::{Array, Reflect};
use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::*;

use crate::error::{EnclaveError, Result};
use crate::web::util::*;

/// The button's id in `index.html`.
pub const BUTTON: &str = "attention";
/// How long the button must have been visible (IntersectionObserver v2) before a click counts.
pub const ARM_MS: f64 = 500.0;
/// The same where the browser cannot tell whether the button is covered or transparent.
pub const ARM_MS_FALLBACK: f64 = 1000.0;

#[derive(Default)]
struct Guard {
    /// Since when (ms) the button has been continuously visible.
    visible_since: Option<f64>,
    /// Whether the browser reports `isVisible` (IntersectionObserver v2).
    tracks_visibility: bool,
    refused: u32,
}

thread_local! {
    static GUARD: RefCell<Guard> = RefCell::new(Guard::default());
}

fn with<R>(f: impl FnOnce(&mut Guard) -> R) -> R {
    GUARD.with(|g| f(&mut g.borrow_mut()))
}

fn arm_delay() -> f64 {
    if with(|g| g.tracks_visibility) {
        ARM_MS
    } else {
        ARM_MS_FALLBACK
    }
}

/// Whether a click now would be accepted.
pub fn armed() -> bool {
    let delay = arm_delay();
    with(|g| g.visible_since).is_some_and(|since| now_ms() - since >= delay)
}

fn show_armed() {
    if let Ok(button) = by_id::<web_sys::HtmlElement>(BUTTON) {
        if armed() {
            let _ = button.set_attribute("data-armed", "");
        } else {
            let _ = button.remove_attribute("data-armed");
        }
    }
}

fn on_entries(entries: Array) {
    for entry in entries.iter() {
        let Ok(entry) = entry.dyn_into::<web_sys::IntersectionObserverEntry>() else {
            continue;
        };
        let fully_inside = entry.is_intersecting() && entry.intersection_ratio() >= 0.99;
        let v2 = Reflect::get(&entry, &"isVisible".into())
            .ok()
            .and_then(|v| v.as_bool());
        let visible = fully_inside && v2.unwrap_or(true);
        let now = now_ms();
        with(|g| {
            g.tracks_visibility = v2.is_some();
            g.visible_since = if visible {
                g.visible_since.or(Some(now))
            } else {
                None
            };
        });
        show_armed();
        if visible {
            // Show the verdict once the delay has passed (the observer reports changes only).
            let later = Closure::once_into_js(show_armed);
            if let Ok(w) = window() {
                let _ = w.set_timeout_with_callback_and_timeout_and_arguments_0(
                    later.unchecked_ref(),
                    arm_delay() as i32 + 20,
                );
            }
        }
    }
}

/// Starts observing the button (once, when the iframe starts).
pub fn install() -> Result<()> {
    let button: web_sys::HtmlElement = by_id(BUTTON)?;
    let callback = Closure::<dyn FnMut(Array)>::new(on_entries);
    let options = web_sys::IntersectionObserverInit::new();
    options.set_threshold(&JsValue::from_f64(1.0));
    // IntersectionObserver v2: ignored by browsers without it (entries then lack isVisible).
    let _ = Reflect::set(&options, &"trackVisibility".into(), &JsValue::TRUE);
    let _ = Reflect::set(&options, &"delay".into(), &JsValue::from_f64(100.0));
    let observer = web_sys::IntersectionObserver::new_with_options(
        callback.as_ref().unchecked_ref(),
        &options,
    )
    .map_err(|_| EnclaveError::internal("watching the button's visibility"))?;
    observer.observe(&button);
    callback.forget();
    std::mem::forget(observer);
    Ok(())
}

/// Records a refused click (visible on the button as `data-refused`).
pub fn refuse() {
    let n = with(|g| {
        g.refused += 1;
        g.refused
    });
    if let Ok(button) = by_id::<web_sys::HtmlElement>(BUTTON) {
        let _ = button.set_attribute("data-refused", &n.to_string());
    }
    let _ = set_text(
        "status",
        "That click was not accepted: the idOS button must be fully visible. Click it again.",
    );
}

/// Clears the refusal note once a request is over.
pub fn reset_note() {
    let _ = set_text("status", "");
}
