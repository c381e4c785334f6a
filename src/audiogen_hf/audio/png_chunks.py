"""The few PNG chunk operations the spectrogram images need, on encoded PNG bytes (no image library involved).

A PNG is an 8-byte signature followed by chunks ``length (4 bytes, big-endian) | type (4) | data | CRC-32 (4)``;
``IHDR`` comes first (width, height, bit depth, colour type, ...), ``IEND`` last. ``tEXt`` chunks hold
``keyword \\0 text`` in Latin-1 (PNG specification, section 11.3.4.3).
"""

import struct
import zlib

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
COLOR_TYPES = {0: "grayscale", 2: "RGB", 3: "palette", 4: "grayscale+alpha", 6: "RGBA"}
_IHDR_END = len(PNG_SIGNATURE) + 8 + 13 + 4  # signature, IHDR length + type, IHDR data, CRC


def text_chunk(keyword: str, text: str) -> bytes:
    """One encoded ``tEXt`` chunk (``keyword`` and ``text`` must be Latin-1)."""
    body = keyword.encode("latin-1") + b"\x00" + text.encode("latin-1")
    return struct.pack(">I", len(body)) + b"tEXt" + body + struct.pack(">I", zlib.crc32(b"tEXt" + body))


def insert_text_chunk(data: bytes, keyword: str, text: str) -> bytes:
    """PNG bytes with a ``tEXt`` chunk inserted right after ``IHDR`` (where readers find it without scanning)."""
    if not data.startswith(PNG_SIGNATURE) or data[12:16] != b"IHDR":
        raise ValueError("not a PNG starting with its IHDR chunk")
    return data[:_IHDR_END] + text_chunk(keyword, text) + data[_IHDR_END:]


def read_png_header_and_text(data: bytes, name: str = "<bytes>") -> tuple[dict, dict]:
    """Parse a PNG's ``IHDR`` (width, height, bit_depth, color_type) and its ``tEXt`` chunks (keyword -> text)."""
    if not data.startswith(PNG_SIGNATURE):
        raise ValueError(f"{name} is not a PNG file")
    header, texts, position = None, {}, len(PNG_SIGNATURE)
    while position + 8 <= len(data):
        length, kind = struct.unpack(">I4s", data[position : position + 8])
        body = data[position + 8 : position + 8 + length]
        if kind == b"IHDR":
            width, height, bit_depth, color_type = struct.unpack(">IIBB", body[:10])
            header = {"width": width, "height": height, "bit_depth": bit_depth, "color_type": color_type}
        elif kind == b"tEXt" and b"\x00" in body:
            keyword, _, text = body.partition(b"\x00")
            texts[keyword.decode("latin-1")] = text.decode("latin-1")
        elif kind == b"IEND":
            break
        position += 12 + length
    if header is None:
        raise ValueError(f"{name} is a corrupt PNG (no IHDR chunk)")
    return header, texts


def describe(header: dict) -> str:
    """``"16-bit RGB"`` and the like, for error messages."""
    return f"{header['bit_depth']}-bit {COLOR_TYPES.get(header['color_type'], 'unknown')}"
