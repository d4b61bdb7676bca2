"""Read files into Documents: .txt/.md as decoded text, .html via trafilatura, and the PDF, image,
office, spreadsheet, e-mail and e-book formats of rag.ingest.formats (their extracted or OCR text).

Offsets everywhere refer to `Document.text`, which for text files is the decoded file itself, save
that control characters other than whitespace read as spaces (one for one, so offsets hold).
"""

from __future__ import annotations

import hashlib
import os
import re
import stat as stat_mode
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import NamedTuple

from rag.errors import LoadError, UserError
from rag.ingest.formats import FORMAT_KINDS, read_format
from rag.ingest.formats.sections import heading_lines, html_headings
from rag.types import Document

TEXT_KINDS = {".txt": "txt", ".text": "txt", ".md": "md", ".markdown": "md"}
KINDS = {**TEXT_KINDS, ".html": "html", ".htm": "html", **FORMAT_KINDS}
_MD_TITLE = re.compile(r"^[ \t]{0,3}#[ \t]+(\S.*?)[ \t]*#*[ \t]*$", re.MULTILINE)
# Control characters that are not whitespace: NUL, BEL, ESC (terminal escape sequences), DEL, C1.
_CONTROL = re.compile(r"[\x00-\x08\x0e-\x1b\x7f-\x84\x86-\x9f]")
_ODD_NAME = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029\ud800-\udfff]")
_HTML_START = re.compile(rb"\s*(?:<!--.*?-->\s*)*<(?:!doctype\s+html|html)[\s>]", re.IGNORECASE | re.DOTALL)


def discover(paths: Iterable[str | Path]) -> tuple[list[tuple[str, Path]], list[str]]:
    """Walk `paths` (files or folders, recursively) into (doc id, file) pairs, plus warnings.

    The doc id is the path relative to the folder given (a file given directly: its name).
    Unknown types and names that are not plain text (control characters, bytes that are not UTF-8:
    no doc id, citation or one-line message could hold them) are skipped with one warning each; a
    missing path is a user error.
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
            if _ODD_NAME.search(doc):
                warnings.append(
                    f"skipped {printable(path)}: the file name has control characters or bytes that are "
                    "not UTF-8; rename it"
                )
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


def printable(path: Path) -> str:
    """A path as one printable line: bytes that are not UTF-8 and control characters escaped."""
    text = os.fsencode(path).decode("utf-8", "backslashreplace")
    return _ODD_NAME.sub(lambda m: ascii(m.group())[1:-1], text)


class RawFile(NamedTuple):
    """A file's bytes and the stat the index records, read where the file lies; `parse` turns them
    into a Document anywhere (a Ray worker on another machine, say)."""

    raw: bytes
    size: int
    mtime_ns: int


def load(doc: str, path: Path, max_bytes: int | None = None) -> Document:
    """Load one file; raises LoadError with a one-line reason when it cannot be used."""
    return parse(doc, path, read_file(path, max_bytes), max_bytes)


def read_file(path: Path, max_bytes: int | None = None) -> RawFile:
    """A regular file's bytes, refused when over `max_bytes` or unreadable (LoadError, one line)."""
    try:
        stat = path.stat()
        if not stat_mode.S_ISREG(stat.st_mode):  # a pipe or a device would block or never end
            raise LoadError(f"{path}: not a regular file")
        if max_bytes is not None and stat.st_size > max_bytes:
            raise LoadError(
                f"{path}: too large ({stat.st_size / 1e6:.1f} MB, limit {max_bytes / 1e6:.0f} MB)"
            )
        return RawFile(path.read_bytes(), stat.st_size, stat.st_mtime_ns)
    except OSError as exc:
        raise LoadError(f"{path}: cannot read ({exc.strerror or exc})") from None


def parse(doc: str, path: Path, file: RawFile, max_bytes: int | None = None) -> Document:
    """The Document in a file's bytes (`path` names it in messages and gives its type); raises
    LoadError with a one-line reason when it cannot be used."""
    raw = file.raw
    kind = KINDS.get(path.suffix.lower())
    if kind is None:
        raise LoadError(f"{path}: unsupported file type {path.suffix or '(none)'}")
    if not raw.strip():
        raise LoadError(f"{path}: empty file")
    _check_content_type(raw, kind, path)
    title: str | None = None
    page_starts: tuple[int, ...] = ()
    notes: tuple[str, ...] = ()
    locators: tuple[tuple[int, str], ...] = ()
    scanned: tuple[tuple[int, int], ...] = ()
    if kind in FORMAT_KINDS.values():
        text, title, notes, page_starts, locators, scanned = read_format(
            kind, raw, path, max_bytes, decode, _html_only
        )
    else:
        text = decode(raw, path)
        if kind == "html":
            text, title, note, locators = _html_text(text)
            notes = (f"{path}: {note}",) if note else ()
        elif kind == "md":
            m = _MD_TITLE.search(text)
            title = m.group(1) if m else None
    # A quote must not carry a terminal escape to `rag ask`, nor a NUL that hides a sentence's end.
    text = _CONTROL.sub(" ", text)
    if not text.strip():
        raise LoadError(f"{path}: no text found")
    return Document(
        doc=doc,
        path=str(path),
        text=text,
        kind=kind,
        sha256=hashlib.sha256(raw).hexdigest(),
        size=file.size,
        mtime_ns=file.mtime_ns,
        title=title,
        page_starts=page_starts,
        notes=notes,
        locators=locators,
        scanned=scanned,
    )


def _check_content_type(raw: bytes, kind: str, path: Path) -> None:
    """A PDF or a whole HTML page under a text name would be indexed as its source code: refuse it
    with its real type (the extension decides the doc id, so the file is renamed, not guessed)."""
    suffix = path.suffix or "(none)"
    if kind != "pdf" and raw.startswith(b"%PDF-"):
        raise LoadError(f"{path}: a PDF file named {suffix}; rename it .pdf to index it")
    if kind in ("txt", "md") and _HTML_START.match(raw.removeprefix(b"\xef\xbb\xbf"), 0, 4096):
        raise LoadError(f"{path}: an HTML page named {suffix}; rename it .html to index it")


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
    damaged = _damaged_utf8(raw)
    if damaged is not None:
        return damaged
    from charset_normalizer import from_bytes  # lazy: only for non-UTF-8 files

    matches = from_bytes(raw)
    best = matches.best()
    if best is None:
        raise LoadError(f"{path}: not UTF-8 and no text encoding could be detected")
    western = next((m for m in matches if m.encoding == "cp1252"), None)
    if western is not None and western.chaos <= best.chaos + 0.05:
        best = western
    return str(best)


def _damaged_utf8(raw: bytes) -> str | None:
    """UTF-8 text with a few bad bytes (a stray byte, a cut character), bad bytes shown as U+FFFD.

    When most non-ASCII characters decode as UTF-8, the file is UTF-8: a legacy code page would
    garble every one of them, and detection may find no encoding at all. Text really written in a
    legacy code page forms valid UTF-8 sequences only by accident, so it stays with detection.
    """
    text = raw.decode("utf-8-sig", errors="replace")
    bad = text.count("\ufffd") - raw.count("\ufffd".encode())
    good = len(text) - len(text.encode("ascii", errors="ignore")) - bad
    return text if good > bad else None


# libxml2 drops a text node longer than this (lxml's parser may read it, or lose it without a word).
PARSER_TEXT_LIMIT = 10_000_000


def _html_text(
    html: str, *, sections: bool = True
) -> tuple[str, str | None, str | None, tuple[tuple[int, str], ...]]:
    """Main text of a web page, its title, a note when it could not be read the usual way, and
    where its sections (headings) begin. trafilatura removes markup and most page furniture."""
    import trafilatura

    text = trafilatura.extract(
        html, include_comments=False, include_tables=True, favor_recall=True, deduplicate=False
    )
    if not text:  # very small pages: fall back to all visible text
        text = trafilatura.html2txt(html) or ""
    note = None
    find_sections = sections
    longest = max(map(len, html.split("<")))
    if longest >= PARSER_TEXT_LIMIT and len(text) < longest:
        text = _visible_text(html)
        note = (
            f"a text run of {longest:,} characters, longer than the HTML parser reads "
            f"({PARSER_TEXT_LIMIT:,}): read as plain text, page furniture left to the cleaner"
        )
        find_sections = False
    elif not text.strip():  # lxml keeps nothing nested deeper than 255 levels
        text = _visible_text(html)
        find_sections = False
    meta = trafilatura.extract_metadata(html)
    title = meta.title if meta is not None and meta.title else None
    return text, title, note, heading_lines(text, html_headings(html), title) if find_sections else ()


# For pages lxml cannot read: comments, scripts and styles (to their end, or the page's), tags, and runs
# of block tags (one paragraph break). A tag never spans a "<", so unclosed ones cost no rescans.
_HIDDEN = re.compile(r"<!--.*?(?:-->|\Z)|<(script|style|template|noscript)\b.*?(?:</\1\s*>|\Z)", re.S | re.I)
_BLOCK_TAGS = re.compile(r"(?:\s*</?(?:p|div|br|li|tr|h[1-6]|section|article)\b[^<>]*>)+\s*", re.I)
_TAG = re.compile(r"</?[A-Za-z][^<>]*>")


def _html_only(html: str) -> str:
    """The HTML path for HTML inside other formats (e-mail bodies, e-book chapters: their places
    are the message and the chapter, not the headings)."""
    return _html_text(html, sections=False)[0]


def _visible_text(page: str) -> str:
    """All text of a page outside markup, by regular expressions in linear time: lxml keeps nothing
    nested deeper than 255 levels, and the standard library's parser is quadratic on "<a<a<a…"."""
    import html

    text = _BLOCK_TAGS.sub("\n\n", _HIDDEN.sub(" ", page))
    return html.unescape(_TAG.sub("", text))
