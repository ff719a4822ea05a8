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
for name, color in STATES.items():
    png(HERE / f"tray-{name}.png", 32, drum(None, dot=color))
print("icons written")
