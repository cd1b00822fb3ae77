//! What the binaries' own pages share (each binary serves its page at `/` and the data behind it as JSON routes
//! of its own): the plot script, served at [`PLOT_JS_PATH`], and the style sheet every page inlines.

/// Where every binary serves [`PLOT_JS`].
pub const PLOT_JS_PATH: &str = "/ui/plot.js";

/// `falconPlot(element, historyView, names, {unit, scale})` and `falconEscape(text)`: inline SVG line plots of a
/// [`crate::history::HistoryView`], no external assets.
pub const PLOT_JS: &str = include_str!("ui/plot.js");

/// The `Content-Type` of [`PLOT_JS`].
pub const JS_CONTENT_TYPE: &str = "text/javascript; charset=utf-8";

/// The style the pages share (a page puts it in a `<style>` element).
pub const CSS: &str = include_str!("ui/page.css");
