//! Native dialogs for the steps that lose something or need a folder. They are shown from Rust,
//! not with `window.confirm`, which silently returns false in macOS's WKWebView — a destructive
//! button would then do nothing.
//!
//! On Linux they are GTK dialogs made on the app's own main thread. tauri-plugin-dialog (through
//! rfd 0.17) runs a second GTK main loop on a thread of its own; measured here (Xvfb, WebKitGTK
//! 2.4x), after one such dialog the app's main loop never got the GLib context back and every
//! later command from the window hung (the e2e test's "Add project…" froze). rfd's maintainers
//! discuss that design in rfd#198 and plugins-workspace#1033. macOS and Windows keep the plugin.

use std::path::PathBuf;

use tauri::{AppHandle, Runtime};

/// Asks `question` (a first paragraph, then details after a blank line) with a warning icon;
/// true only when the user chose `ok` (Cancel, Escape or closing the dialog is no).
pub async fn confirm<R: Runtime>(
    app: &AppHandle<R>,
    title: &str,
    question: &str,
    ok: &str,
) -> bool {
    #[cfg(target_os = "linux")]
    {
        linux::confirm(app, title, question, ok).await
    }
    #[cfg(not(target_os = "linux"))]
    {
        use tauri_plugin_dialog::{DialogExt as _, MessageDialogButtons, MessageDialogKind};
        let (tx, rx) = tokio::sync::oneshot::channel();
        app.dialog()
            .message(question)
            .title(title)
            .kind(MessageDialogKind::Warning)
            .buttons(MessageDialogButtons::OkCancelCustom(
                ok.to_string(),
                "Cancel".into(),
            ))
            .show(move |answer| {
                let _ = tx.send(answer);
            });
        rx.await.unwrap_or(false)
    }
}

/// The native folder picker, starting in the home folder; `None` when the user cancels.
pub async fn pick_folder<R: Runtime>(app: &AppHandle<R>, title: &str) -> Option<PathBuf> {
    use tauri::Manager as _;
    let home = app.path().home_dir().ok();
    #[cfg(target_os = "linux")]
    {
        linux::pick_folder(app, title, home).await
    }
    #[cfg(not(target_os = "linux"))]
    {
        use tauri_plugin_dialog::DialogExt as _;
        let (tx, rx) = tokio::sync::oneshot::channel();
        let mut picker = app.dialog().file().set_title(title);
        if let Some(home) = home {
            picker = picker.set_directory(home);
        }
        picker.pick_folder(move |p| {
            let _ = tx.send(p);
        });
        rx.await.ok().flatten().and_then(|p| p.into_path().ok())
    }
}

#[cfg(target_os = "linux")]
mod linux {
    use std::cell::RefCell;
    use std::path::PathBuf;

    use gtk::prelude::*;
    use tauri::{AppHandle, Manager as _, Runtime};
    use tokio::sync::oneshot;

    /// The dashboard's GTK window, so a dialog stays above it (and modal to it).
    fn parent<R: Runtime>(app: &AppHandle<R>) -> Option<gtk::ApplicationWindow> {
        app.get_webview_window("main")
            .and_then(|w| w.gtk_window().ok())
    }

    pub async fn confirm<R: Runtime>(
        app: &AppHandle<R>,
        title: &str,
        question: &str,
        ok: &str,
    ) -> bool {
        let (tx, rx) = oneshot::channel::<bool>();
        let (title, ok) = (title.to_string(), ok.to_string());
        let (headline, details) = match question.split_once("\n\n") {
            Some((h, d)) => (h.to_string(), Some(d.to_string())),
            None => (question.to_string(), None),
        };
        let handle = app.clone();
        let shown = app.run_on_main_thread(move || {
            let parent = parent(&handle);
            let d = gtk::MessageDialog::new(
                parent.as_ref(),
                gtk::DialogFlags::MODAL | gtk::DialogFlags::DESTROY_WITH_PARENT,
                gtk::MessageType::Warning,
                gtk::ButtonsType::None,
                &headline,
            );
            d.set_title(&title);
            d.set_secondary_text(details.as_deref());
            // Mnemonics: Alt+C cancels, Alt+<first letter> confirms; Escape and Return (the
            // default) are No — a destructive answer is never the accidental one.
            d.add_button("_Cancel", gtk::ResponseType::Cancel);
            d.add_button(&format!("_{ok}"), gtk::ResponseType::Accept);
            d.set_default_response(gtk::ResponseType::Cancel);
            let tx = RefCell::new(Some(tx));
            d.connect_response(move |d, response| {
                if let Some(tx) = tx.borrow_mut().take() {
                    let _ = tx.send(response == gtk::ResponseType::Accept);
                }
                d.close();
            });
            d.show_all();
        });
        if let Err(e) = shown {
            tracing::warn!("could not show a confirmation: {e}");
            return false;
        }
        rx.await.unwrap_or(false)
    }

    pub async fn pick_folder<R: Runtime>(
        app: &AppHandle<R>,
        title: &str,
        start: Option<PathBuf>,
    ) -> Option<PathBuf> {
        let (tx, rx) = oneshot::channel::<Option<PathBuf>>();
        let title = title.to_string();
        let handle = app.clone();
        let shown = app.run_on_main_thread(move || {
            let parent = parent(&handle);
            // The portal's picker where the desktop has one (Flatpak, GNOME), GTK's own otherwise.
            let picker = gtk::FileChooserNative::new(
                Some(&title),
                parent.as_ref(),
                gtk::FileChooserAction::SelectFolder,
                Some("_Open"),
                Some("_Cancel"),
            );
            picker.set_modal(true);
            if let Some(start) = start {
                // Without a start folder GTK opens on "Recent", where a typed folder cannot be chosen.
                let _ = picker.set_current_folder(start);
            }
            // The native object must outlive this closure until the user answers.
            let keep = std::rc::Rc::new(RefCell::new(Some(picker.clone())));
            let tx = RefCell::new(Some(tx));
            let kept = keep.clone();
            picker.connect_response(move |p, response| {
                let chosen = (response == gtk::ResponseType::Accept)
                    .then(|| p.filename())
                    .flatten();
                if let Some(tx) = tx.borrow_mut().take() {
                    let _ = tx.send(chosen);
                }
                p.destroy();
                kept.borrow_mut().take();
            });
            picker.show();
            drop(keep);
        });
        if let Err(e) = shown {
            tracing::warn!("could not show the folder picker: {e}");
            return None;
        }
        rx.await.ok().flatten()
    }
}
