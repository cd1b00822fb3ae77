//! SIGHUP, as daemons take it: reopen the log file and reload the config. `systemctl reload` sends it
//! (the packaged units' `ExecReload`), and so may an outside `logrotate`.

use std::future::Future;

/// Runs `reload` on every SIGHUP, after reopening the log file, until the runtime stops. Called once at start;
/// from then on SIGHUP no longer ends the process (its default action). If the handler cannot be installed
/// that is logged and SIGHUP keeps its default.
pub fn on_hangup<F, Fut>(reload: F)
where
    F: Fn() -> Fut + Send + 'static,
    Fut: Future<Output = ()> + Send,
{
    use tokio::signal::unix::{signal, SignalKind};
    let mut hup = match signal(SignalKind::hangup()) {
        Ok(s) => s,
        Err(e) => {
            tracing::error!(error = %e, "SIGHUP handler not installed: reload through the HTTP API instead");
            return;
        }
    };
    tokio::spawn(async move {
        while hup.recv().await.is_some() {
            crate::logging::reopen();
            tracing::info!("SIGHUP: log file reopened, reloading the config");
            reload().await;
        }
    });
}
