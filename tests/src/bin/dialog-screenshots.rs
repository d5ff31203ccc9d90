//! `scripts/dialog-screenshots.sh`: a PNG of every enclave dialog mode at a phone and a desktop
//! width, driven through the real flows (the same tour the e2e test of the modes takes).
//!
//! ```text
//! dialog-screenshots <output dir>
//! ```

use std::path::PathBuf;

use e2e::Browser;
use e2e::kit::{settle, sites, tour_dialog_modes};

/// (name, width, height) in CSS pixels.
const SIZES: &[(&str, u32, u32)] = &[("phone", 390, 844), ("desktop", 1280, 900)];

#[tokio::main]
async fn main() {
    let out = PathBuf::from(
        std::env::args()
            .nth(1)
            .unwrap_or_else(|| "target/dialog-screenshots".to_owned()),
    );
    std::fs::create_dir_all(&out).expect("output directory");
    let s = sites().await;
    let b = Browser::start().await;
    let c = &b.client;
    tour_dialog_modes(c, &s, async |mode: &str| {
        for (size, width, height) in SIZES {
            c.set_window_size(*width, *height).await.expect("resize");
            settle(300).await;
            let png = c.screenshot().await.expect("screenshot");
            let file = out.join(format!("{mode}-{size}.png"));
            std::fs::write(&file, png).expect("write screenshot");
            eprintln!("dialog-screenshots: {}", file.display());
        }
    })
    .await;
    b.close().await;
}
