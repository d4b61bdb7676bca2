"""E-books (.epub) as text, chapter by chapter in reading (spine) order: the archive read with the
standard library's zipfile and xml.etree (EbookLib is AGPL), each XHTML chapter through the HTML path
(trafilatura) that .html files take."""

from __future__ import annotations

import posixpath
import xml.etree.ElementTree as ET
from collections.abc import Callable
from pathlib import Path

from rag.errors import LoadError
from rag.ingest.formats.pages import join_pages
from rag.ingest.formats.sections import XML_DECLARATION
from rag.ingest.formats.untrusted import failing_as
from rag.ingest.formats.zipguard import open_zip

_CONTAINER = "{urn:oasis:names:tc:opendocument:xmlns:container}"
_OPF = "{http://www.idpf.org/2007/opf}"
_DC = "{http://purl.org/dc/elements/1.1/}"
_HTML_TYPES = ("application/xhtml+xml", "text/html")


def epub_text(
    raw: bytes, path: Path, max_bytes: int | None, html_to_text: Callable[[str], str]
) -> tuple[str, str | None, tuple[int, ...]]:
    """The book's chapters, a blank line apart, its title, and where each chapter begins."""
    archive = open_zip(raw, path, "e-book (.epub)", max_bytes)
    with failing_as(path, "unreadable e-book (.epub)"), archive:
        container = ET.fromstring(archive.read("META-INF/container.xml"))
        rootfile = container.find(f".//{_CONTAINER}rootfile")
        if rootfile is None or not rootfile.get("full-path"):
            raise LoadError(f"{path}: not a readable e-book (.epub): no package file named")
        opf_path = str(rootfile.get("full-path"))
        opf = ET.fromstring(archive.read(opf_path))
        base = posixpath.dirname(opf_path)
        manifest = {
            item.get("id"): item
            for item in opf.iter(f"{_OPF}item")
            if item.get("media-type") in _HTML_TYPES and "nav" not in (item.get("properties") or "")
        }
        chapters = []
        for ref in opf.iter(f"{_OPF}itemref"):
            item = manifest.get(ref.get("idref"))
            if item is None or not item.get("href"):
                continue
            name = posixpath.normpath(posixpath.join(base, str(item.get("href"))))
            page = XML_DECLARATION.sub("", archive.read(name).decode("utf-8", errors="replace"))
            chapters.append(html_to_text(page).strip())
        title_el = opf.find(f".//{_DC}title")
        title = " ".join((title_el.text or "").split()) if title_el is not None else ""
    text, starts = join_pages([c for c in chapters if c])
    return text, title or None, starts
