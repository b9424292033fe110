"""Makes the image fixtures of this folder and records what Pillow 9.4's convert("RGB") gives for each.

Run from this folder:
    python3 -m venv /tmp/pil && /tmp/pil/bin/pip install pillow==9.4.0
    /tmp/pil/bin/python make_fixtures.py
cjpeg from libjpeg-turbo (Debian: libjpeg-turbo-progs) writes the 4:4:0 JPEG, which Pillow cannot.
Writes the fixtures and expected.json: per file, Pillow's mode after open, the size, and the RGB bytes in hex.
"""
import io
import json
import random
import struct
import subprocess
import tempfile
import zlib

import PIL
from PIL import Image

assert PIL.__version__ == "9.4.0", "the reference is Pillow 9.4.0, got " + PIL.__version__
rnd = random.Random(20261127)
W, H = 24, 16


def photo(w=W, h=H):
    """Smooth gradients plus noise, so chroma subsampling and upsampling both matter."""
    px = bytearray()
    for y in range(h):
        for x in range(w):
            px += bytes([(x * 10 + rnd.randrange(40)) % 256, (y * 15 + rnd.randrange(40)) % 256,
                         (128 + (x - y) * 6 + rnd.randrange(40)) % 256])
    return Image.frombytes("RGB", (w, h), bytes(px))


def smooth(w, h):
    """Gradients only: a photo-like lossy WebP, where chroma upsampling differences stay small."""
    px = bytearray()
    for y in range(h):
        for x in range(w):
            px += bytes([x * 255 // (w - 1), y * 255 // (h - 1), (x + y) * 255 // (w + h - 2)])
    return Image.frombytes("RGB", (w, h), bytes(px))


def chunk(kind, data):
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def png(w, h, depth, color_type, rows, extra=b""):
    """A PNG written by hand, for bit depths and chunks Pillow does not write."""
    raw = b"".join(b"\x00" + r for r in rows)
    ihdr = struct.pack(">IIBBBBB", w, h, depth, color_type, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + extra + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b"")


def u16_rows(w, h, channels, special=()):
    rows = []
    for y in range(h):
        vals = [rnd.randrange(65536) for _ in range(w * channels)]
        if y == 0:
            vals[: len(special)] = special
        rows.append(struct.pack(">%dH" % len(vals), *vals))
    return rows


def packed_rows(w, h, depth):
    rows = []
    for _ in range(h):
        bits = "".join(format(rnd.randrange(1 << depth), "0%db" % depth) for _ in range(w))
        bits += "0" * (-len(bits) % 8)
        rows.append(int(bits, 2).to_bytes(len(bits) // 8, "big"))
    return rows


def gif(screen, frame, pixels, global_table, transparent=None):
    """A one-frame GIF89a written by hand: LZW with a clear code before every pixel, so any index goes through."""
    sw, sh = screen
    x, y, w, h = frame
    n = len(global_table) // 3
    size_bits = max(1, (n - 1).bit_length()) - 1
    out = b"GIF89a" + struct.pack("<HH", sw, sh) + bytes([0x80 | size_bits, 0, 0])
    out += global_table + bytes(3 * ((2 << size_bits) - n))
    if transparent is not None:
        out += b"\x21\xf9\x04\x01\x00\x00" + bytes([transparent]) + b"\x00"
    out += b"\x2c" + struct.pack("<HHHH", x, y, w, h) + b"\x00"
    acc = nbits = 0
    data = bytearray()
    for v in pixels:
        for code in (256, v):  # clear, then the pixel: the code width stays 9 bits
            acc |= code << nbits
            nbits += 9
            while nbits >= 8:
                data.append(acc & 255)
                acc >>= 8
                nbits -= 8
    acc |= 257 << nbits
    nbits += 9
    while nbits > 0:
        data.append(acc & 255)
        acc >>= 8
        nbits -= 8
    out += b"\x08"
    for i in range(0, len(data), 255):
        out += bytes([len(data[i:i + 255])]) + data[i:i + 255]
    return out + b"\x00\x3b"


def encoded(im, fmt, **kw):
    buf = io.BytesIO()
    im.save(buf, fmt, **kw)
    return buf.getvalue()


fixtures = {}
base = photo()
alpha = Image.frombytes("L", (W, H), bytes(0 if x < 6 else rnd.randrange(256) for y in range(H) for x in range(W)))

# PNG: 16-bit gray (Pillow: mode I, clamped to 255 by convert), 16-bit colour (high byte), low-bit gray with tRNS,
# gray + alpha, palette with tRNS, palette shorter than the indices used.
fixtures["png_gray16.png"] = png(W, H, 16, 0, u16_rows(W, H, 1, [0, 1, 100, 254, 255, 256, 1000, 65535]))
fixtures["png_rgb16.png"] = png(W, H, 16, 2, u16_rows(W, H, 3))
fixtures["png_rgba16.png"] = png(W, H, 16, 6, u16_rows(W, H, 4, [0x1234, 0xFF00, 0x00FF, 0]))
fixtures["png_graya16.png"] = png(W, H, 16, 4, u16_rows(W, H, 2, [0x80FF, 0]))
fixtures["png_graya8.png"] = encoded(Image.merge("LA", (base.convert("L"), alpha)), "PNG")
fixtures["png_gray2_trns.png"] = png(W, H, 2, 0, packed_rows(W, H, 2), chunk(b"tRNS", struct.pack(">H", 1)))
fixtures["png_palette_trns.png"] = encoded(base.convert("P", palette=Image.ADAPTIVE, colors=40), "PNG",
                                           transparency=bytes(range(0, 40 * 6, 6)))
short_palette = bytes(rnd.randrange(256) for _ in range(3 * 5))  # 5 entries; 4-bit indices reach 15
fixtures["png_palette_short.png"] = png(W, H, 4, 3, packed_rows(W, H, 4), chunk(b"PLTE", short_palette))

# GIF: a frame smaller than the screen at an offset, with a transparent index (Pillow fills the rest of the canvas
# with it), and indices past the end of the palette (Pillow reads those as gray).
table = bytes(rnd.randrange(256) for _ in range(3 * 16))
fixtures["gif_offset_trns.gif"] = gif((W, H), (5, 3, 11, 7), [rnd.randrange(16) for _ in range(77)], table, 9)
fixtures["gif_index_past_palette.gif"] = gif((11, 7), (0, 0, 11, 7), [rnd.randrange(256) for _ in range(77)],
                                             table[:12])

# WebP: lossless (with transparent pixels keeping their colour) and lossy (not bit-exact here, see the tests).
rgba = base.copy()
rgba.putalpha(alpha)
fixtures["webp_lossless.webp"] = encoded(base, "WEBP", lossless=True)
fixtures["webp_lossless_alpha.webp"] = encoded(rgba, "WEBP", lossless=True, exact=True)
fixtures["webp_lossy.webp"] = encoded(smooth(48, 32), "WEBP", quality=80)

# JPEG: progressive, gray, CMYK (Adobe, inverted), YCCK (the same file with the Adobe transform set to 2), and 4:4:0.
fixtures["jpeg_progressive.jpg"] = encoded(base, "JPEG", quality=85, progressive=True)
fixtures["jpeg_gray.jpg"] = encoded(base.convert("L"), "JPEG", quality=85)
cmyk = encoded(base.convert("CMYK"), "JPEG", quality=90)
fixtures["jpeg_cmyk.jpg"] = cmyk
adobe = cmyk.index(b"Adobe")
fixtures["jpeg_ycck.jpg"] = cmyk[: adobe + 11] + b"\x02" + cmyk[adobe + 12:]
with tempfile.NamedTemporaryFile(suffix=".ppm") as ppm:
    base.save(ppm.name)
    fixtures["jpeg_440.jpg"] = subprocess.run(["cjpeg", "-quality", "85", "-sample", "1x2", ppm.name],
                                              check=True, capture_output=True).stdout

expected = {}
for name, data in sorted(fixtures.items()):
    with open(name, "wb") as f:
        f.write(data)
    im = Image.open(io.BytesIO(data))
    rgb = im.convert("RGB")
    expected[name] = {"pillow_mode": im.mode, "width": rgb.width, "height": rgb.height, "rgb": rgb.tobytes().hex()}
with open("expected.json", "w") as f:
    json.dump(expected, f, indent=1, sort_keys=True)
    f.write("\n")
print(len(expected), "fixtures")
