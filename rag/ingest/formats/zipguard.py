"""Checks on zip-based formats (.docx, .pptx, .xlsx, .odt, .epub) before any library opens them.

A zip bomb (a small file that unpacks to gigabytes) would exhaust memory inside the XML parsers; a
password-protected Office file is not a zip at all but an OLE (Compound File) container, as are the
legacy .doc/.xls/.ppt files. Each is refused with one line naming the file.
"""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

from rag.errors import LoadError

OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
UNZIPPED_FLOOR = 50_000_000  # unpacked bytes always allowed, whatever the file size limit
UNZIPPED_PER_BYTE = 4  # else up to this many unpacked bytes per byte of the file size limit
MAX_RATIO = 100  # total unpacked / packed above this, for more than RATIO_FROM bytes: a bomb
RATIO_FROM = 10_000_000
MAX_MEMBERS = 20_000


def open_zip(raw: bytes, path: Path, what: str, max_bytes: int | None) -> zipfile.ZipFile:
    """`raw` as a zip archive, checked: not OLE, not corrupt, not a bomb; else one LoadError line."""
    if raw.startswith(OLE_MAGIC):
        raise LoadError(
            f"{path}: a password-protected or legacy Office file (OLE container), not a {what}; "
            "remove the password or save it in the current format"
        )
    try:
        archive = zipfile.ZipFile(io.BytesIO(raw))
        infos = archive.infolist()
    except Exception as exc:  # untrusted input: BadZipFile, NotImplementedError (a bad version), …
        raise LoadError(f"{path}: not a readable {what} (corrupt or not a zip archive: {exc})") from None
    if len(infos) > MAX_MEMBERS:
        raise LoadError(f"{path}: {len(infos):,} members in the archive; looks like a zip bomb, not read")
    unpacked = sum(i.file_size for i in infos)
    packed = max(1, sum(i.compress_size for i in infos))
    limit = max(UNZIPPED_FLOOR, UNZIPPED_PER_BYTE * max_bytes) if max_bytes else 8 * UNZIPPED_FLOOR
    if unpacked > limit or (unpacked > RATIO_FROM and unpacked / packed > MAX_RATIO):
        raise LoadError(
            f"{path}: unpacks to {unpacked / 1e6:,.0f} MB from {packed / 1e6:,.1f} MB; "
            "looks like a zip bomb, not read"
        )
    if any(i.flag_bits & 0x1 for i in infos):
        raise LoadError(f"{path}: an encrypted zip archive, not a {what}")
    return archive
