//! The clipboard the tray's "Copy …" items fill. On X11 the owner of a copied text has to
//! serve it until something else is copied, so the clipboard stays open for the tray's life;
//! on quit arboard hands the text over to a clipboard manager when there is one.

use std::sync::Mutex;

#[derive(Default)]
pub struct Clipboard(Mutex<Option<arboard::Clipboard>>);

impl Clipboard {
    pub fn set(&self, text: String) -> Result<(), String> {
        let mut c = self.0.lock().unwrap();
        if c.is_none() {
            *c = Some(
                arboard::Clipboard::new()
                    .map_err(|e| format!("could not use the clipboard: {e}"))?,
            );
        }
        c.as_mut()
            .expect("opened above")
            .set_text(text)
            .map_err(|e| format!("could not use the clipboard: {e}"))
    }
}

impl Clipboard {
    /// The clipboard, closed by its owner (on quit: arboard hands the text over as it closes).
    pub fn take(&self) -> Option<arboard::Clipboard> {
        self.0.lock().unwrap().take()
    }
}
