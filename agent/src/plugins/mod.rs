//! Plugins (spec §5): what HBS hands out ([`desired`]), argument parsing ([`args`]), one scheduler task per
//! plugin ([`scheduler`]), running a script ([`runner`]) and the git checkout ([`git`]).

pub mod args;
pub mod desired;
pub mod git;
pub mod runner;
pub mod scheduler;

use serde::Serialize;

/// One scheduled plugin, shown by `/plugins` with Go's keys.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Plugin {
    /// Path relative to `plugin.dir`.
    #[serde(rename = "FilePath")]
    pub file_path: String,
    /// Modification time (unix seconds); a change restarts the plugin's schedule.
    #[serde(rename = "MTime")]
    pub mtime: i64,
    /// Seconds between runs, from the file name prefix.
    #[serde(rename = "Cycle")]
    pub cycle: i64,
    /// Raw argument text (`a,b\,c`), or empty.
    #[serde(rename = "Args")]
    pub args: String,
}
