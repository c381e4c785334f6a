"""The ``.agc`` bitstream of the hierarchical codec: a versioned header, the codes bit-packed at
``log2(codebook_size)`` bits each, and a CRC-32 of everything before it.

Layout (little-endian)::

    magic "AGHC" | version u8 | sampling_rate u32 | channels u8 | length u64 (samples per channel)
    | levels u8 | per level: hop u32, codebook_size u32, quantizers u8, frames u32
    | payload bytes u32 | payload: per level, per quantizer, per frame, the code in bits_per_code bits (MSB first),
      each level padded to whole bytes | crc32 u32 (of all the bytes before it)

Truncated, corrupt and foreign bytes raise ``BitstreamError`` (a ``ValueError``) saying which.
"""

import math
import struct
import zlib
from dataclasses import dataclass

import numpy as np

MAGIC = b"AGHC"
VERSION = 1
_HEAD = struct.Struct("<4sBIBQB")
_LEVEL = struct.Struct("<IIBI")
_SIZE = struct.Struct("<I")
_CRC = struct.Struct("<I")


class BitstreamError(ValueError):
    """The bytes are not a (complete, intact, supported) hierarchical-codec bitstream."""


@dataclass
class LevelHeader:
    hop: int
    codebook_size: int
    quantizers: int
    frames: int

    @property
    def bits(self) -> int:
        return int(math.log2(self.codebook_size))

    @property
    def payload_bytes(self) -> int:
        return math.ceil(self.quantizers * self.frames * self.bits / 8)


@dataclass
class Bitstream:
    """What a bitstream holds: the audio's rate, channels and length and one ``[quantizers, frames]`` int64 array of
    codes per level (finest first)."""

    sampling_rate: int
    channels: int
    length: int
    levels: list
    codes: list
    version: int = VERSION


def pack_codes(codes: np.ndarray, bits: int) -> bytes:
    """Bit-pack non-negative integers ``< 2 ** bits`` (MSB first), padded to whole bytes."""
    values = np.asarray(codes, dtype=np.int64).ravel()
    if values.size and (values.min() < 0 or values.max() >= 1 << bits):
        raise ValueError(f"codes must lie in [0, {1 << bits}) to be packed at {bits} bits")
    if bits == 8:
        return values.astype(np.uint8).tobytes()
    shifts = np.arange(bits - 1, -1, -1, dtype=np.int64)
    return np.packbits(((values[:, None] >> shifts) & 1).astype(np.uint8).ravel()).tobytes()


def unpack_codes(data: bytes, bits: int, count: int) -> np.ndarray:
    """The inverse of ``pack_codes``: ``count`` integers of ``bits`` bits."""
    raw = np.frombuffer(data, dtype=np.uint8)
    if bits == 8:
        return raw[:count].astype(np.int64)
    matrix = np.unpackbits(raw)[: count * bits].reshape(count, bits).astype(np.int64)
    return (matrix << np.arange(bits - 1, -1, -1, dtype=np.int64)).sum(axis=1)


def write(sampling_rate: int, channels: int, length: int, hops: list, codebook_sizes: list, codes: list) -> bytes:
    """Serialise one clip's codes (one ``[quantizers, frames]`` array per level)."""
    header = bytearray(_HEAD.pack(MAGIC, VERSION, sampling_rate, channels, length, len(codes)))
    payload = bytearray()
    for hop, size, level in zip(hops, codebook_sizes, codes):
        level = np.asarray(level)
        if level.ndim != 2:
            raise ValueError(f"each level's codes must be [quantizers, frames], got shape {level.shape}")
        header += _LEVEL.pack(hop, size, level.shape[0], level.shape[1])
        payload += pack_codes(level, int(math.log2(size)))
    body = bytes(header + _SIZE.pack(len(payload)) + payload)
    return body + _CRC.pack(zlib.crc32(body))


def read(data: bytes) -> Bitstream:
    """Parse and check a bitstream; raises ``BitstreamError`` on foreign, truncated or corrupt bytes."""
    data = bytes(data)
    if len(data) < len(MAGIC) or data[: len(MAGIC)] != MAGIC:
        raise BitstreamError(f"not a hierarchical-codec bitstream (the first bytes are {data[:4]!r}, expected "
                             f"{MAGIC!r}); was it written by HierarchicalCodecModel.compress?")
    if len(data) < _HEAD.size:
        raise BitstreamError(f"truncated bitstream: {len(data)} bytes, shorter than its {_HEAD.size}-byte header")
    _, version, rate, channels, length, levels = _HEAD.unpack_from(data)
    if version != VERSION:
        raise BitstreamError(f"bitstream version {version} is not supported (this library reads version {VERSION}); "
                             "decode it with the library version that wrote it")
    offset = _HEAD.size
    if len(data) < offset + levels * _LEVEL.size + _SIZE.size:
        raise BitstreamError(f"truncated bitstream: {len(data)} bytes end inside the header")
    headers = []
    for _ in range(levels):
        hop, size, quantizers, frames = _LEVEL.unpack_from(data, offset)
        if size < 2 or size & (size - 1) or quantizers < 1 or hop < 1:
            raise BitstreamError(f"corrupt bitstream header: level with hop {hop}, codebook size {size}, "
                                 f"{quantizers} quantizers")
        headers.append(LevelHeader(hop, size, quantizers, frames))
        offset += _LEVEL.size
    (payload_bytes,) = _SIZE.unpack_from(data, offset)
    offset += _SIZE.size
    expected = offset + payload_bytes + _CRC.size
    if len(data) < expected:
        raise BitstreamError(f"truncated bitstream: {len(data)} bytes, the header announces {expected}")
    if len(data) > expected:
        raise BitstreamError(f"{len(data) - expected} unexpected bytes after the end of the bitstream ({expected})")
    (crc,) = _CRC.unpack_from(data, offset + payload_bytes)
    if zlib.crc32(data[: offset + payload_bytes]) != crc:
        raise BitstreamError("corrupt bitstream: the CRC-32 check failed (the bytes were changed after writing)")
    if payload_bytes != sum(level.payload_bytes for level in headers):
        raise BitstreamError("corrupt bitstream: the payload size does not match the level headers")
    codes = []
    for level in headers:
        chunk = data[offset: offset + level.payload_bytes]
        codes.append(unpack_codes(chunk, level.bits, level.quantizers * level.frames)
                     .reshape(level.quantizers, level.frames))
        offset += level.payload_bytes
    return Bitstream(rate, channels, length, headers, codes, version)


@dataclass
class CompressionStats:
    """Real sizes: ``bytes`` of the bitstream (header included) against 16-bit PCM of the same audio."""

    bytes: int
    pcm_bytes: int
    seconds: float

    @property
    def ratio(self) -> float:
        return self.pcm_bytes / self.bytes

    @property
    def bitrate(self) -> float:
        """Bits per second of audio, header included."""
        return self.bytes * 8 / self.seconds


def stats(data: bytes) -> CompressionStats:
    """Size, compression ratio against 16-bit PCM and bitrate of a bitstream."""
    stream = read(data)
    return CompressionStats(len(data), stream.length * stream.channels * 2, stream.length / stream.sampling_rate)
