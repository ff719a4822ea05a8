//! The tray icons: the app's PNGs as the ARGB32 pixmaps a StatusNotifierItem carries.

use dockhand_core::facade::menu::Health;

pub fn png(health: Health) -> &'static [u8] {
    match health {
        Health::Healthy => include_bytes!("../../../../icons/tray-healthy.png"),
        Health::Starting => include_bytes!("../../../../icons/tray-starting.png"),
        Health::Failing => include_bytes!("../../../../icons/tray-failing.png"),
        Health::EngineUnavailable => include_bytes!("../../../../icons/tray-unavailable.png"),
        Health::Idle => include_bytes!("../../../../icons/tray-idle.png"),
    }
}

/// The icon as ksni wants it: width, height and ARGB32 in network byte order.
pub fn pixmap(health: Health) -> ksni::Icon {
    decode(png(health)).expect("the bundled tray icons are valid PNGs")
}

fn decode(bytes: &[u8]) -> Result<ksni::Icon, png::DecodingError> {
    let mut decoder = png::Decoder::new(std::io::Cursor::new(bytes));
    decoder.set_transformations(png::Transformations::EXPAND | png::Transformations::ALPHA);
    let mut reader = decoder.read_info()?;
    let mut buf = vec![0; reader.output_buffer_size().unwrap_or(0)];
    let info = reader.next_frame(&mut buf)?;
    let rgba: Vec<u8> = match info.color_type {
        png::ColorType::Rgba => buf[..info.buffer_size()].to_vec(),
        png::ColorType::GrayscaleAlpha => buf[..info.buffer_size()]
            .chunks(2)
            .flat_map(|p| [p[0], p[0], p[0], p[1]])
            .collect(),
        other => {
            return Err(png::DecodingError::LimitsExceeded).inspect_err(|_| {
                tracing::warn!("tray icon in an unexpected colour type {other:?}")
            })
        }
    };
    let data = rgba
        .chunks(4)
        .flat_map(|p| [p[3], p[0], p[1], p[2]])
        .collect();
    Ok(ksni::Icon {
        width: info.width as i32,
        height: info.height as i32,
        data,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_icon_decodes_to_a_full_pixmap() {
        for h in [
            Health::Healthy,
            Health::Starting,
            Health::Failing,
            Health::EngineUnavailable,
            Health::Idle,
        ] {
            let i = pixmap(h);
            assert!(i.width > 0 && i.height > 0);
            assert_eq!(i.data.len(), (i.width * i.height * 4) as usize, "{h:?}");
            // Not all transparent: something is drawn.
            assert!(i.data.chunks(4).any(|p| p[0] > 0), "{h:?}");
        }
    }
}
