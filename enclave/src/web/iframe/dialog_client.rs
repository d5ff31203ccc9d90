//! The iframe's side of the dialog: show the enclave's button, open `dialog.html` on a click
//! that was meant ([`super::click_guard`]), send it the request over a private port and wait for
//! the answer while watching that the dialog is still there.
//!
//! The dialog window is opened without a name (`_blank`), so no other browsing context can
//! target it with `window.open(url, name)`, and the dialog clears `window.name` as it starts.
//! The only handle to it is the one `window.open` returned here. It is lost when:
//! - it never says `ready` within [`READY_TIMEOUT_MS`] of the click, or never accepts the request;
//! - its origin is no longer ours (navigated away: reading its `origin` throws);
//! - it says `gone` (its page is being unloaded) or stops sending heartbeats;
//! - it is closed (`dialog_closed`).

use std::cell::Cell;
use std::rc::Rc;

use js_sys::{Array, Object, Promise};
use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;

use super::host::post;
use super::{click_guard, with};
use crate::error::{EnclaveError, ErrorCode, Result};
use crate::web::util::*;

/// How long a request waits for the user's click on the enclave's button.
pub const CLICK_TIMEOUT_MS: i32 = 5 * 60_000;
/// How long the dialog may take, after the click, to load and say `ready`.
pub const READY_TIMEOUT_MS: f64 = 20_000.0;
/// How long the dialog may take to acknowledge the request.
pub const ACCEPT_TIMEOUT_MS: f64 = 10_000.0;
/// Silence after which an open dialog is considered lost. Generous: a dialog in a minimised
/// window may have its timers throttled to one per minute.
pub const HEARTBEAT_TIMEOUT_MS: f64 = 75_000.0;
const WATCH_INTERVAL_MS: i32 = 250;
/// After `gone`, how long a window may take to report itself closed before it counts as
/// navigated away.
const GONE_GRACE_MS: f64 = 700.0;

/// Clears `busy` however the dialog flow ends.
struct BusyGuard;
impl Drop for BusyGuard {
    fn drop(&mut self) {
        with(|s| s.busy = false);
        let _ = set_hidden(click_guard::BUTTON, true);
        click_guard::reset_note();
        post(&obj(&[
            ("event", "attention".into()),
            ("visible", false.into()),
        ]));
    }
}

/// Shows a button in the iframe (the host shows the iframe), opens the dialog on the user's
/// click, sends it `intent` and `payload`, and returns its answer.
pub async fn user_dialog(label: &str, intent: &str, payload: JsValue) -> Result<JsValue> {
    if with(|s| std::mem::replace(&mut s.busy, true)) {
        return Err(EnclaveError::new(
            ErrorCode::Busy,
            "another request is waiting for the user",
        ));
    }
    let _guard = BusyGuard;
    let popup = wait_for_click(label).await?;
    run_dialog(&popup, intent, payload).await
}

async fn wait_for_click(label: &str) -> Result<web_sys::Window> {
    let button: web_sys::HtmlButtonElement = by_id(click_guard::BUTTON)?;
    button.set_text_content(Some(label));
    button.set_hidden(false);
    post(&obj(&[
        ("event", "attention".into()),
        ("visible", true.into()),
        ("label", label.into()),
    ]));
    let d = deferred();
    let resolve = d.resolve.clone();
    let onclick = Closure::<dyn FnMut(web_sys::MouseEvent)>::new(move |ev: web_sys::MouseEvent| {
        if !ev.is_trusted() || !click_guard::armed() {
            click_guard::refuse();
            return;
        }
        // Runs inside the click: the browser lets a user gesture open a window. No name: no
        // other browsing context can target this window.
        let popup = window().ok().and_then(|w| {
            w.open_with_url_and_target_and_features(
                "dialog.html",
                "_blank",
                "popup=1,width=440,height=680",
            )
            .ok()
            .flatten()
        });
        let _ = resolve.call1(
            &JsValue::UNDEFINED,
            &popup.map(JsValue::from).unwrap_or(JsValue::NULL),
        );
    });
    button.set_onclick(Some(onclick.as_ref().unchecked_ref()));
    // Nobody clicks for CLICK_TIMEOUT_MS: give up, so later requests are not `busy` forever.
    let timer = window()?
        .set_timeout_with_callback_and_timeout_and_arguments_0(&d.reject, CLICK_TIMEOUT_MS)
        .map_err(|_| EnclaveError::internal("starting a timer"))?;
    let result = JsFuture::from(d.promise).await;
    if let Ok(w) = window() {
        w.clear_timeout_with_handle(timer);
    }
    button.set_onclick(None);
    drop(onclick);
    button.set_hidden(true);
    click_guard::reset_note();
    post(&obj(&[
        ("event", "attention".into()),
        ("visible", false.into()),
    ]));
    let popup = result.map_err(|_| {
        EnclaveError::new(
            ErrorCode::TimedOut,
            format!(
                "the user did not click the idOS button within {} minutes",
                CLICK_TIMEOUT_MS / 60_000
            ),
        )
    })?;
    if popup.is_null() || popup.is_undefined() {
        return Err(EnclaveError::new(
            ErrorCode::PopupBlocked,
            "the browser blocked the idOS dialog window; allow pop-ups for this site",
        ));
    }
    // A window of another realm is not `instanceof Window` here, so no checked cast.
    Ok(popup.unchecked_into::<web_sys::Window>())
}

fn lost(why: &str) -> EnclaveError {
    EnclaveError::new(
        ErrorCode::DialogLost,
        format!("the idOS dialog {why}; the request was not answered"),
    )
}

/// Whether `popup` still shows a page of our origin (reading a cross-origin window's `origin`
/// throws).
fn still_ours(popup: &web_sys::Window, own_origin: &str) -> bool {
    js_sys::Reflect::get(popup, &"origin".into())
        .ok()
        .and_then(|o| o.as_string())
        .is_some_and(|o| o == own_origin)
}

/// Watches the dialog window; its promise rejects with `dialog_closed` or `dialog_lost`.
struct Watch {
    promise: Promise,
    interval: i32,
    /// When the dialog last showed a sign of life (ms), and how long silence is tolerated.
    last_sign: Rc<Cell<f64>>,
    limit: Rc<Cell<f64>>,
    /// When the dialog said `gone` (its page is unloading): closed, or navigated away.
    gone_at: Rc<Cell<Option<f64>>>,
    _tick: Closure<dyn FnMut()>,
}

impl Watch {
    fn start(popup: &web_sys::Window, own_origin: &str) -> Result<Watch> {
        let d = deferred();
        let last_sign = Rc::new(Cell::new(now_ms()));
        let limit = Rc::new(Cell::new(READY_TIMEOUT_MS));
        let gone_at = Rc::new(Cell::new(None));
        let (popup, own_origin) = (popup.clone(), own_origin.to_owned());
        let (reject, last, lim, gone) = (
            d.reject.clone(),
            last_sign.clone(),
            limit.clone(),
            gone_at.clone(),
        );
        // An answer posted just before the dialog closed may still be queued: report a close
        // only on the second tick that sees it.
        let mut closed_ticks = 0u8;
        let tick = Closure::<dyn FnMut()>::new(move || {
            let verdict = if popup.closed().unwrap_or(true) {
                closed_ticks = closed_ticks.saturating_add(1);
                (closed_ticks >= 2).then(|| {
                    EnclaveError::new(
                        ErrorCode::DialogClosed,
                        "the idOS dialog was closed before the request was answered",
                    )
                })
            } else if !still_ours(&popup, &own_origin)
                || gone.get().is_some_and(|t| now_ms() - t > GONE_GRACE_MS)
            {
                // Still open, but no longer our dialog: close whatever it shows now.
                let _ = popup.close();
                Some(lost("was navigated away from the enclave"))
            } else if now_ms() - last.get() > lim.get() {
                let _ = popup.close();
                Some(lost("stopped answering"))
            } else {
                None
            };
            if let Some(e) = verdict {
                let _ = reject.call1(&JsValue::UNDEFINED, &error_js(&e));
            }
        });
        let interval = window()?
            .set_interval_with_callback_and_timeout_and_arguments_0(
                tick.as_ref().unchecked_ref(),
                WATCH_INTERVAL_MS,
            )
            .map_err(|_| EnclaveError::internal("watching the dialog"))?;
        Ok(Watch {
            promise: d.promise,
            interval,
            last_sign,
            limit,
            gone_at,
            _tick: tick,
        })
    }

    fn alive(&self, tolerate_ms: f64) {
        self.last_sign.set(now_ms());
        self.limit.set(tolerate_ms);
    }
}

impl Drop for Watch {
    fn drop(&mut self) {
        if let Ok(w) = window() {
            w.clear_interval_with_handle(self.interval);
        }
    }
}

fn js_error(value: JsValue) -> EnclaveError {
    match (get_string(&value, "code"), get_string(&value, "message")) {
        (Some(code), Some(message)) => EnclaveError {
            code: ErrorCode::parse(&code).unwrap_or(ErrorCode::Internal),
            message,
        },
        _ => EnclaveError::internal("talking to the dialog"),
    }
}

async fn race(p: Promise, watch: &Watch) -> Result<JsValue> {
    JsFuture::from(Promise::race(&Array::of2(&p, &watch.promise)))
        .await
        .map_err(js_error)
}

async fn run_dialog(popup: &web_sys::Window, intent: &str, payload: JsValue) -> Result<JsValue> {
    let w = window()?;
    let own_origin = w
        .location()
        .origin()
        .map_err(|_| EnclaveError::internal("reading the origin"))?;
    let watch = Rc::new(Watch::start(popup, &own_origin)?);
    let result = exchange(&w, popup, &own_origin, &watch, intent, payload).await;
    // The opener closes the dialog once it has the answer (or gave up on it).
    let _ = popup.close();
    result
}

async fn exchange(
    w: &web_sys::Window,
    popup: &web_sys::Window,
    own_origin: &str,
    watch: &Rc<Watch>,
    intent: &str,
    payload: JsValue,
) -> Result<JsValue> {
    // 1. The dialog says it is ready (only that window, only our origin).
    let ready = deferred();
    let resolve_ready = ready.resolve.clone();
    let (expected_source, expected_origin) = (popup.clone(), own_origin.to_owned());
    let on_ready =
        Closure::<dyn FnMut(web_sys::MessageEvent)>::new(move |ev: web_sys::MessageEvent| {
            let from_popup = ev
                .source()
                .is_some_and(|s| Object::is(&s, &expected_source));
            if from_popup
                && ev.origin() == expected_origin
                && get_string(&ev.data(), "type").as_deref() == Some("idos-dialog:ready")
            {
                let _ = resolve_ready.call0(&JsValue::UNDEFINED);
            }
        });
    w.add_event_listener_with_callback("message", on_ready.as_ref().unchecked_ref())
        .map_err(|_| EnclaveError::internal("listening to the dialog"))?;
    let ready_result = race(ready.promise, watch).await;
    let _ = w.remove_event_listener_with_callback("message", on_ready.as_ref().unchecked_ref());
    drop(on_ready);
    ready_result?;
    watch.alive(ACCEPT_TIMEOUT_MS);

    // 2. The request goes with a private port; heartbeats and the answer come back on it.
    let channel =
        web_sys::MessageChannel::new().map_err(|_| EnclaveError::internal("opening a channel"))?;
    let answer = deferred();
    let resolve_answer = answer.resolve.clone();
    let beats = Rc::clone(watch);
    let on_message =
        Closure::<dyn FnMut(web_sys::MessageEvent)>::new(move |ev: web_sys::MessageEvent| {
            let data = ev.data();
            if get(&data, "heartbeat").as_bool() == Some(true) {
                beats.alive(HEARTBEAT_TIMEOUT_MS);
            } else if get(&data, "gone").as_bool() == Some(true) {
                beats.gone_at.set(Some(now_ms()));
            } else {
                let _ = resolve_answer.call1(&JsValue::UNDEFINED, &data);
            }
        });
    let port = channel.port1();
    port.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
    let message = obj(&[("intent", JsValue::from_str(intent)), ("payload", payload)]);
    popup
        .post_message_with_transfer(&message, own_origin, &Array::of1(&channel.port2()))
        .map_err(|_| EnclaveError::internal("sending the request to the dialog"))?;
    let reply = race(answer.promise, watch).await;
    port.set_onmessage(None);
    port.close();
    drop(on_message);
    let reply = reply?;
    let error = get(&reply, "error");
    if !error.is_undefined() && !error.is_null() {
        return Err(js_error(error));
    }
    Ok(get(&reply, "result"))
}
