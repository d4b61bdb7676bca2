"""Read files into Documents: .txt/.md as decoded text, .html via trafilatura, .pdf via pypdf.

Offsets everywhere refer to `Document.text`, which for text files is the decoded file itself.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Iterator
from pathlib import Path

from rag.errors import LoadError, UserError
from rag.types import Document

TEXT_KINDS = {".txt": "txt", ".text": "txt", ".md": "md", ".markdown": "md"}
KINDS = {**TEXT_KINDS, ".html": "html", ".htm": "html", ".pdf": "pdf"}
_MD_TITLE = re.compile(r"^[ \t]{0,3}#[ \t]+(\S.*?)[ \t]*#*[ \t]*$", re.MULTILINE)


def discover(paths: Iterable[str | Path]) -> tuple[list[tuple[str, Path]], list[str]]:
    """Walk `paths` (files or folders, recursively) into (doc id, file) pairs, plus warnings.

    The doc id is the path relative to the folder given (a file given directly: its name).
    Unknown types are skipped with one warning each; a missing path is a user error.
    """
    found: dict[str, Path] = {}
    warnings: list[str] = []
    for raw in paths:
        root = Path(raw)
        if not root.exists():
            raise UserError(f"path not found: {root}")
        if root.is_file():
            pairs: Iterator[tuple[str, Path]] = iter([(root.name, root)])
        else:
            pairs = ((p.relative_to(root).as_posix(), p) for p in sorted(root.rglob("*")))
        for doc, path in pairs:
            if path.is_dir() or any(part.startswith(".") for part in Path(doc).parts):
                continue
            if path.suffix.lower() not in KINDS:
                warnings.append(f"skipped {path}: unsupported file type {path.suffix or '(none)'}")
                continue
            resolved = path.resolve()
            if resolved in found.values():  # overlapping folders: index each file once
                continue
            if doc in found:
                warnings.append(f"skipped {path}: another file already has the id {doc}")
                continue
            found[doc] = resolved
    return sorted(found.items()), warnings


def load(doc: str, path: Path, max_bytes: int | None = None) -> Document:
    """Load one file; raises LoadError with a one-line reason when it cannot be used."""
    try:
        stat = path.stat()
        if max_bytes is not None and stat.st_size > max_bytes:
            raise LoadError(
                f"{path}: too large ({stat.st_size / 1e6:.1f} MB, limit {max_bytes / 1e6:.0f} MB)"
            )
        raw = path.read_bytes()
    except OSError as exc:
        raise LoadError(f"{path}: cannot read ({exc.strerror or exc})") from None
    kind = KINDS.get(path.suffix.lower())
    if kind is None:
        raise LoadError(f"{path}: unsupported file type {path.suffix or '(none)'}")
    if not raw.strip():
        raise LoadError(f"{path}: empty file")
    title: str | None = None
    page_starts: tuple[int, ...] = ()
    if kind == "pdf":
        text, page_starts, title = _pdf_text(raw, path)
    else:
        text = decode(raw, path)
        if kind == "html":
            text, title = _html_text(text)
        elif kind == "md":
            m = _MD_TITLE.search(text)
            title = m.group(1) if m else None
    if not text.strip():
        raise LoadError(f"{path}: no text found")
    return Document(
        doc=doc,
        path=str(path),
        text=text,
        kind=kind,
        sha256=hashlib.sha256(raw).hexdigest(),
        size=stat.st_size,
        mtime_ns=stat.st_mtime_ns,
        title=title,
        page_starts=page_starts,
    )


def decode(raw: bytes, path: Path) -> str:
    """UTF-8 (with or without BOM) or BOM-marked UTF-16 first, then charset detection.

    Detection scores the Western single-byte code pages nearly alike; cp1252 (a superset of
    Latin-1 in its printable range) is by far the most common, so it wins close calls.
    """
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return raw.decode("utf-16")
        except UnicodeDecodeError:
            raise LoadError(f"{path}: marked as UTF-16 but not valid UTF-16") from None
    if b"\x00" in raw[:8192]:
        raise LoadError(f"{path}: looks binary (NUL bytes), not a text file")
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    from charset_normalizer import from_bytes  # lazy: only for non-UTF-8 files

    matches = from_bytes(raw)
    best = matches.best()
    if best is None:
        raise LoadError(f"{path}: not UTF-8 and no text encoding could be detected")
    western = next((m for m in matches if m.encoding == "cp1252"), None)
    if western is not None and western.chaos <= best.chaos + 0.05:
        best = western
    return str(best)


def _html_text(html: str) -> tuple[str, str | None]:
    """Main text of a web page. trafilatura removes markup and most page furniture."""
    import trafilatura

    text = trafilatura.extract(
        html, include_comments=False, include_tables=True, favor_recall=True, deduplicate=False
    )
    if not text:  # very small pages: fall back to all visible text
        text = trafilatura.html2txt(html) or ""
    meta = trafilatura.extract_metadata(html)
    title = meta.title if meta is not None and meta.title else None
    return text, title


def _pdf_text(raw: bytes, path: Path) -> tuple[str, tuple[int, ...], str | None]:
    """Text of every page, pages separated by a blank line, with each page's start offset."""
    import io

    from pypdf import PdfReader

    try:
        reader = PdfReader(io.BytesIO(raw))
        if reader.is_encrypted:
            raise LoadError(f"{path}: encrypted PDF")
        pages = [page.extract_text() or "" for page in reader.pages]
        title = reader.metadata.title if reader.metadata else None
    except LoadError:
        raise
    except Exception as exc:  # untrusted input: pypdf raises many kinds on damaged files
        raise LoadError(f"{path}: unreadable PDF ({exc.__class__.__name__}: {exc})") from None
    starts, parts, offset = [], [], 0
    for page in pages:
        starts.append(offset)
        parts.append(page)
        offset += len(page) + 2
    text = "\n\n".join(parts)
    if not text.strip():
        raise LoadError(f"{path}: PDF has no extractable text (scanned images?)")
    return text, tuple(starts), title or None
