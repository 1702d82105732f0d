"""Bytes to text for uploaded files, the encoding found in a fixed order.

1. A byte-order mark decides (UTF-8, UTF-16, UTF-32).
2. UTF-16 without a mark, when every other byte is zero (that would pass as UTF-8 too).
3. Strict UTF-8 (most files today, and ASCII).
4. The legacy encodings the sample users save in: CP949 (a superset of EUC-KR), CP932 (a
   superset of Shift-JIS) and CP1252 (Western European, a superset of printable Latin-1).
   Those that decode the whole file are kept; when several do, charset-normalizer picks one
   from the lines that hold non-ASCII bytes (judging from those lines alone keeps a few Korean
   words in a large ASCII file from being drowned out).
5. Latin-1, which decodes anything, with a warning.
"""

from __future__ import annotations

import codecs
from dataclasses import dataclass

from charset_normalizer import from_bytes

from spice_harvester.domain.errors import ValidationFailed

_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)
LEGACY_ENCODINGS = ("cp949", "cp932", "cp1252")
# Bytes of non-ASCII lines handed to charset-normalizer.
_SAMPLE_BYTES = 64 * 1024
_UTF16_PROBE = 4096


@dataclass(frozen=True)
class DecodedText:
    text: str
    encoding: str
    warnings: tuple[str, ...] = ()


def decode_text(content: bytes) -> DecodedText:
    for mark, codec in _BOMS:
        if content.startswith(mark):
            return DecodedText(_strict(content, codec, "its byte-order mark says"), codec)
    wide = _bomless_utf16(content)
    if wide is not None:
        return DecodedText(_strict(content, wide, "its zero bytes say"), wide)
    try:
        return DecodedText(content.decode("utf-8"), "utf-8")
    except UnicodeDecodeError:
        pass
    fitting = [codec for codec in LEGACY_ENCODINGS if _decodes(content, codec)]
    if not fitting:
        return DecodedText(
            content.decode("latin-1"),
            "latin-1",
            ("the encoding was not recognised; read as Latin-1, so some letters may be wrong",),
        )
    chosen = fitting[0] if len(fitting) == 1 else _likeliest(content, fitting)
    return DecodedText(content.decode(chosen), chosen)


def _strict(content: bytes, codec: str, reason: str) -> str:
    try:
        return content.decode(codec)
    except UnicodeDecodeError as error:
        raise ValidationFailed(
            f"{reason} the file is {codec}, but byte {error.start} is not: {error.reason}",
            field="file",
        ) from error


def _decodes(content: bytes, codec: str) -> bool:
    try:
        content.decode(codec)
    except UnicodeDecodeError:
        return False
    return True


def _bomless_utf16(content: bytes) -> str | None:
    probe = content[:_UTF16_PROBE]
    if len(probe) < 4 or len(content) % 2:
        return None
    even_zeros = probe[0::2].count(0)
    odd_zeros = probe[1::2].count(0)
    half = len(probe) // 2
    if odd_zeros >= 0.9 * half and even_zeros == 0:
        return "utf-16-le"
    if even_zeros >= 0.9 * half and odd_zeros == 0:
        return "utf-16-be"
    return None


def _likeliest(content: bytes, fitting: list[str]) -> str:
    sample = bytearray()
    for line in content.splitlines():
        if not line.isascii():
            sample += line + b"\n"
            if len(sample) >= _SAMPLE_BYTES:
                break
    best = from_bytes(bytes(sample), cp_isolation=fitting).best()
    if best is not None and best.encoding in fitting:
        return best.encoding
    return fitting[0]
