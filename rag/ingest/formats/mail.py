"""E-mail (.eml) as text through the standard library's `email` (policy.default): the Subject, From,
To and Date lines, a blank line, then the plain-text body (an HTML-only body through the HTML path),
then the attachments' names, listed and not indexed.

Its locator, for every quote, is who sent it and when ("from Greta Lind, 1 Dec 2026"): an e-mail has
no pages or sections worth naming, while a mailbox holds many messages under one subject (the
replies of a thread) and is searched by sender and date; the subject is already the title."""

from __future__ import annotations

import email
from collections.abc import Callable
from email import policy
from email.message import EmailMessage, MIMEPart
from pathlib import Path

from rag.errors import LoadError
from rag.ingest.formats.untrusted import failing_as

HEADERS = ("Subject", "From", "To", "Date")


def eml_text(
    raw: bytes, path: Path, html_to_text: Callable[[str], str]
) -> tuple[str, str | None, tuple[str, ...], tuple[tuple[int, str], ...]]:
    """An e-mail's headers, body and attachment list, its subject as the title, a note when it has
    no body but attachments (only its headers and their names are indexed), and its locator."""
    with failing_as(path, "unreadable e-mail"):
        message = email.message_from_bytes(raw, policy=policy.default)
        assert isinstance(message, EmailMessage)
        lines = []
        for name in HEADERS:
            value = message.get(name)
            if value is not None and str(value).strip():
                lines.append(f"{name}: {' '.join(str(value).split())}")
        if not lines:
            raise LoadError(f"{path}: not an e-mail (no Subject, From, To or Date header)")
        body = message.get_body(preferencelist=("plain", "html"))
        text = ""
        if body is not None:
            content = _content(body)
            text = html_to_text(content) if body.get_content_subtype() == "html" else content
        names = [
            part.get_filename() or part.get_content_type()
            for part in message.iter_attachments()
            if part is not body
        ]
        subject = message.get("Subject")
        sent = _sent(message)
    blocks = ["\n".join(lines), text.strip()]
    if names:
        blocks.append("Attachments (not indexed): " + ", ".join(" ".join(n.split()) for n in names))
    title = " ".join(str(subject).split()) if subject else None
    notes: tuple[str, ...] = ()
    if names and not text.strip():
        notes = (
            f"{path}: no message text, only {len(names)} attachment(s): "
            "their names are indexed, not their content",
        )
    return "\n\n".join(b for b in blocks if b), title or None, notes, ((0, sent),) if sent else ()


NAME_CHARS = 60
MONTHS = (
    "Jan",
    "Feb",
    "Mar",
    "Apr",
    "May",
    "Jun",
    "Jul",
    "Aug",
    "Sep",
    "Oct",
    "Nov",
    "Dec",
)  # not the locale's


def _sent(message: EmailMessage) -> str:
    """The locator "from NAME, D Mon YYYY" (either part alone when the other is missing or unreadable),
    else "": a damaged header costs the locator, never the message."""
    try:
        addresses = getattr(message.get("From"), "addresses", ())
        name = (addresses[0].display_name or addresses[0].addr_spec) if addresses else ""
        when = getattr(message.get("Date"), "datetime", None)
    except Exception:  # untrusted headers
        return ""
    name = " ".join(str(name).split())[:NAME_CHARS]
    day = f"{when.day} {MONTHS[when.month - 1]} {when.year}" if when is not None else ""
    return ", ".join(part for part in (f"from {name}" if name else "", day) if part)


def _content(part: MIMEPart) -> str:
    """A text part decoded; an unknown or wrong charset read as UTF-8 with replacement characters."""
    try:
        return str(part.get_content())
    except (LookupError, UnicodeError, ValueError):
        payload = part.get_payload(decode=True)
        return payload.decode("utf-8", errors="replace") if isinstance(payload, bytes) else ""
