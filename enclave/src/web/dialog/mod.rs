//! The dialog page (`dialog.html`): a same-origin popup opened by the iframe from a user click.
//!
//! It accepts one request, only from the window that opened it, only from the enclave's own
//! origin, with a known intent and exactly one port; every other message is ignored (and
//! counted in `<body data-ignored>` for tests). While it is open it sends heartbeats on the
//! request's private port, and `gone` when its page unloads, so the iframe notices a dialog that
//! was navigated away. Approving inputs are ignored for [`INPUT_DELAY_MS`] after the content
//! appears (`<body data-armed>` once they count). All text is set with `textContent`.

mod password;
mod render;

use std::cell::RefCell;

use js_sys::Object;
use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::*;

use crate::error::{EnclaveError, ErrorCode, Result};
use crate::web::util::*;

/// The requests a dialog can show.
pub const INTENTS: &[&str] = &[
    "unlock",
    "changePassword",
    "release",
    "share",
    "view",
    "backup",
    "filter",
];

/// Approving inputs (Approve, Answer, Allow, the password submit) are ignored for this long
/// after the content appears or the page becomes visible again, so a click or key press meant
/// for something else cannot land on them.
pub const INPUT_DELAY_MS: f64 = 700.0;
/// How often the dialog tells the iframe it is still there.
const HEARTBEAT_MS: i32 = 1000;

#[derive(Default)]
struct Dialog {
    accepted: bool,
    ignored: u32,
    early_inputs: u32,
    port: Option<web_sys::MessagePort>,
    payload: JsValue,
    intent: String,
    working: bool,
    /// When the current content appeared (ms), for the input delay.
    shown_at: Option<f64>,
    heartbeat: Option<i32>,
}

thread_local! {
    static STATE: RefCell<Dialog> = RefCell::new(Dialog::default());
}

fn with<R>(f: impl FnOnce(&mut Dialog) -> R) -> R {
    STATE.with(|s| f(&mut s.borrow_mut()))
}

fn body() -> Option<web_sys::HtmlElement> {
    document().ok()?.body()
}

fn set_state(state: &str) {
    if let Some(body) = body() {
        let _ = body.set_attribute("data-state", state);
    }
}

fn count(attribute: &str, n: u32) {
    if let Some(body) = body() {
        let _ = body.set_attribute(attribute, &n.to_string());
    }
}

fn ignore() {
    let n = with(|s| {
        s.ignored += 1;
        s.ignored
    });
    count("data-ignored", n);
}

/// The request's payload field `key` as text ("" when absent).
fn payload_str(key: &str) -> String {
    with(|s| get_string(&s.payload, key)).unwrap_or_default()
}

fn payload(key: &str) -> JsValue {
    with(|s| get(&s.payload, key))
}

/// Whether `opener` is a window of our own origin (reading `origin` of a cross-origin window throws).
fn opener_origin(opener: &JsValue) -> Option<String> {
    js_sys::Reflect::get(opener, &"origin".into())
        .ok()?
        .as_string()
}

/// Entry point of `dialog.html`.
pub fn start_dialog() -> std::result::Result<(), JsValue> {
    let w = window()?;
    // Whatever name a window was opened with, this one cannot be targeted by it any more.
    let _ = w.set_name("");
    let own = w.location().origin()?;
    let opener = w.opener().unwrap_or(JsValue::NULL);
    if opener.is_null()
        || opener.is_undefined()
        || opener_origin(&opener).as_deref() != Some(own.as_str())
    {
        set_hidden("refused", false)?;
        set_state("refused");
        return Ok(());
    }
    let expected_opener = opener.clone();
    let own_origin = own.clone();
    let listener =
        Closure::<dyn FnMut(web_sys::MessageEvent)>::new(move |ev: web_sys::MessageEvent| {
            on_message(ev, &expected_opener, &own_origin)
        });
    w.add_event_listener_with_callback("message", listener.as_ref().unchecked_ref())?;
    listener.forget();
    wire_inputs()?;
    set_state("waiting");
    let opener: web_sys::Window = opener.unchecked_into();
    opener.post_message(&obj(&[("type", "idos-dialog:ready".into())]), &own)?;
    Ok(())
}

/// The one request: from the opener, of our origin, a known intent, one port, only once.
fn on_message(ev: web_sys::MessageEvent, expected_opener: &JsValue, own_origin: &str) {
    let from_opener = ev.source().is_some_and(|s| Object::is(&s, expected_opener));
    let data = ev.data();
    let intent = get_string(&data, "intent").unwrap_or_default();
    let ports = ev.ports();
    let acceptable = from_opener
        && ev.origin() == own_origin
        && INTENTS.contains(&intent.as_str())
        && ports.length() == 1
        && !with(|s| s.accepted);
    if !acceptable {
        return ignore();
    }
    let Ok(port) = ports.get(0).dyn_into::<web_sys::MessagePort>() else {
        return ignore();
    };
    with(|s| {
        s.accepted = true;
        s.port = Some(port);
        s.payload = get(&data, "payload");
        s.intent = intent.clone();
    });
    start_heartbeat();
    match render::render(&intent) {
        Ok(()) => content_shown(),
        Err(e) => reply_error(&e),
    }
}

fn send(message: &JsValue) {
    if let Some(port) = with(|s| s.port.clone()) {
        let _ = port.post_message(message);
    }
}

fn start_heartbeat() {
    send(&obj(&[("heartbeat", true.into())]));
    let beat = Closure::<dyn FnMut()>::new(|| send(&obj(&[("heartbeat", true.into())])));
    if let Ok(w) = window() {
        let handle = w
            .set_interval_with_callback_and_timeout_and_arguments_0(
                beat.as_ref().unchecked_ref(),
                HEARTBEAT_MS,
            )
            .ok();
        with(|s| s.heartbeat = handle);
    }
    beat.forget();
    // Navigated away or closed: say so at once rather than fall silent.
    let gone = Closure::<dyn FnMut()>::new(|| {
        if let Some(port) = with(|s| s.port.take()) {
            let _ = port.post_message(&obj(&[("gone", true.into())]));
            port.close();
        }
    });
    if let Ok(w) = window() {
        let _ = w.add_event_listener_with_callback("pagehide", gone.as_ref().unchecked_ref());
    }
    gone.forget();
}

/// Starts (or restarts) the input delay: approving inputs count from `INPUT_DELAY_MS` on.
fn content_shown() {
    with(|s| s.shown_at = Some(now_ms()));
    if let Some(body) = body() {
        let _ = body.remove_attribute("data-armed");
    }
    let arm = Closure::once_into_js(|| {
        if input_armed()
            && let Some(body) = body()
        {
            let _ = body.set_attribute("data-armed", "");
        }
    });
    if let Ok(w) = window() {
        let _ = w.set_timeout_with_callback_and_timeout_and_arguments_0(
            arm.unchecked_ref(),
            INPUT_DELAY_MS as i32 + 10,
        );
    }
}

fn input_armed() -> bool {
    with(|s| s.shown_at).is_some_and(|t| now_ms() - t >= INPUT_DELAY_MS)
}

/// Whether an approving input counts now; an early one is ignored and counted in
/// `data-early-inputs`.
fn accept_input() -> bool {
    if input_armed() {
        return true;
    }
    let n = with(|s| {
        s.early_inputs += 1;
        s.early_inputs
    });
    count("data-early-inputs", n);
    false
}

fn finish(message: &JsValue) {
    if let Some(handle) = with(|s| s.heartbeat.take())
        && let Ok(w) = window()
    {
        w.clear_interval_with_handle(handle);
    }
    if let Some(port) = with(|s| s.port.take()) {
        let _ = port.post_message(message);
        port.close();
    }
    set_state("done");
    // The enclave closes this window when it has the answer; close it ourselves if it does not.
    let close = Closure::once_into_js(|| {
        if let Ok(w) = window() {
            let _ = w.close();
        }
    });
    if let Ok(w) = window() {
        let _ =
            w.set_timeout_with_callback_and_timeout_and_arguments_0(close.unchecked_ref(), 2000);
    }
}

fn reply(result: JsValue) {
    finish(&obj(&[("result", result)]));
}

fn reply_error(e: &EnclaveError) {
    finish(&obj(&[("error", error_js(e))]));
}

fn on_click(id: &str, f: impl FnMut() + 'static) -> Result<()> {
    let c = Closure::<dyn FnMut()>::new(f);
    by_id::<web_sys::HtmlElement>(id)?.set_onclick(Some(c.as_ref().unchecked_ref()));
    c.forget();
    Ok(())
}

/// A click that approves something: counts only after the input delay.
fn on_approving_click(id: &str, mut f: impl FnMut() + 'static) -> Result<()> {
    on_click(id, move || {
        if accept_input() {
            f()
        }
    })
}

fn cancelled() -> EnclaveError {
    EnclaveError::new(
        ErrorCode::UserDenied,
        "the user cancelled in the idOS dialog",
    )
}

fn decide(approved: bool) {
    reply(obj(&[("approved", approved.into())]));
}

fn wire_inputs() -> Result<()> {
    on_approving_click("approve", || decide(true))?;
    on_click("deny", || decide(false))?;
    on_approving_click("filter-approve", || decide(true))?;
    on_click("filter-deny", || decide(false))?;
    on_approving_click("allow-approve", || {
        reply(obj(&[("allowOrigin", true.into())]))
    })?;
    on_click("view-close", || reply(Object::new().into()))?;
    on_click("backup-done", || reply(Object::new().into()))?;
    on_click("unlock-cancel", || reply_error(&cancelled()))?;
    password::wire_form()?;
    // Escape cancels whatever is shown.
    let keys = Closure::<dyn FnMut(web_sys::KeyboardEvent)>::new(|ev: web_sys::KeyboardEvent| {
        if ev.key() == "Escape" && with(|s| s.accepted && s.port.is_some()) {
            let intent = with(|s| s.intent.clone());
            match intent.as_str() {
                "release" | "share" | "filter" => decide(false),
                "view" | "backup" => reply(Object::new().into()),
                _ => reply_error(&cancelled()),
            }
        }
    });
    let d = document()?;
    d.add_event_listener_with_callback("keydown", keys.as_ref().unchecked_ref())
        .map_err(|_| EnclaveError::internal("listening to the keyboard"))?;
    keys.forget();
    // Hidden and shown again (another tab, a minimised window): the delay starts over.
    let visibility = Closure::<dyn FnMut()>::new(|| {
        let visible =
            document().is_ok_and(|d| d.visibility_state() == web_sys::VisibilityState::Visible);
        if visible && with(|s| s.shown_at.is_some()) {
            content_shown();
        }
    });
    d.add_event_listener_with_callback("visibilitychange", visibility.as_ref().unchecked_ref())
        .map_err(|_| EnclaveError::internal("listening to visibility"))?;
    visibility.forget();
    Ok(())
}
