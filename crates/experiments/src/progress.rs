//! Progress bars that stay out of logs: drawn only on a terminal and never under `CI=true`.

use indicatif::{ProgressBar, ProgressStyle};

/// Whether bars may be drawn: asked for, stderr is a terminal, and not under `CI=true`.
pub fn visible(requested: bool) -> bool {
    use std::io::IsTerminal;
    requested
        && std::io::stderr().is_terminal()
        && std::env::var("CI").map_or(true, |v| v != "true")
}

/// A bar of `len` steps labelled `name`, hidden when [`visible`] says no (callers then print
/// plain lines).
pub fn bar(requested: bool, len: u64, name: &str) -> ProgressBar {
    if !visible(requested) {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new(len);
    if let Ok(style) = ProgressStyle::with_template(
        "{msg} [{elapsed_precise}] {wide_bar} {pos}/{len} epochs (eta {eta})",
    ) {
        bar.set_style(style);
    }
    bar.set_message(name.to_string());
    bar
}
