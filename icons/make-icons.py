#!/usr/bin/env python3
"""Draws Dockhand's icons as RGBA PNGs (Tauri's tray needs RGBA): the app icon and one tray icon
per health state. Standard library only; run it again after changing a colour."""
import math, struct, zlib, pathlib

HERE = pathlib.Path(__file__).parent
STATES = {
    "healthy": (46, 160, 67),
    "starting": (218, 165, 32),
    "failing": (207, 34, 46),
    "unavailable": (130, 130, 130),
    "idle": (90, 110, 140),
}

def png(path, size, pixel):
    rows = b"".join(b"\0" + b"".join(bytes(pixel(x, y, size)) for x in range(size)) for y in range(size))
    def chunk(kind, data):
        c = kind + data
        return struct.pack(">I", len(data)) + c + struct.pack(">I", zlib.crc32(c) & 0xFFFFFFFF)
    data = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", size, size, 8, 6, 0, 0, 0))
    data += chunk(b"IDAT", zlib.compress(rows, 9)) + chunk(b"IEND", b"")
    path.write_bytes(data)

def drum(color, dot=None):
    """A database drum (three stacked discs) with an optional status dot."""
    def pixel(x, y, size):
        u, v = (x + 0.5) / size, (y + 0.5) / size
        inside = 0.18 <= u <= 0.82 and 0.16 <= v <= 0.84
        band = any(abs(v - b) < 0.035 for b in (0.38, 0.6)) and 0.18 <= u <= 0.82
        a = 255 if inside else 0
        r, g, b = (30, 60, 90) if not band else (230, 240, 250)
        if dot:
            dx, dy = u - 0.76, v - 0.76
            if math.hypot(dx, dy) < 0.2:
                return (*dot, 255) if math.hypot(dx, dy) < 0.16 else (255, 255, 255, 255)
        return (r, g, b, a)
    return pixel

png(HERE / "icon.png", 128, drum(None))
# The installed app's icon in each size a desktop asks the hicolor theme for (the .deb and .rpm
# install them there), and the same PNGs wrapped as .ico (Windows) and .icns (macOS), both of
# which may hold PNG data as is.
APP_SIZES = (32, 64, 128, 256, 512)
(HERE / "app").mkdir(exist_ok=True)
for size in APP_SIZES:
    png(HERE / "app" / f"{size}x{size}.png", size, drum(None))
pngs = {size: (HERE / "app" / f"{size}x{size}.png").read_bytes() for size in APP_SIZES}
ico = [s for s in APP_SIZES if s <= 256]
offset = 6 + 16 * len(ico)
head, body = struct.pack("<HHH", 0, 1, len(ico)), b""
for size in ico:
    head += struct.pack("<BBBBHHII", size % 256, size % 256, 0, 0, 1, 32, len(pngs[size]), offset + len(body))
    body += pngs[size]
(HERE / "app" / "icon.ico").write_bytes(head + body)
ICNS_TYPES = {32: b"ic11", 64: b"ic12", 128: b"ic07", 256: b"ic08", 512: b"ic09"}
elems = b"".join(t + struct.pack(">I", 8 + len(pngs[s])) + pngs[s] for s, t in ICNS_TYPES.items())
(HERE / "app" / "icon.icns").write_bytes(b"icns" + struct.pack(">I", 8 + len(elems)) + elems)
for name, color in STATES.items():
    png(HERE / f"tray-{name}.png", 32, drum(None, dot=color))
print("icons written")
