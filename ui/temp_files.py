"""Gradio's copies of uploaded files, kept on a short leash.

Gradio copies every upload into its temp folder and serves it back at /gradio_api/file=…; by default
that folder is shared (/tmp/gradio), kept across restarts, and never cleaned, so a removed document
stayed downloadable there and anyone able to post to /gradio_api/upload could fill the disk. Here the
folder is the server's own (inside the index folder, private, emptied at start); a handler deletes
each copy once it has used it (indexed, refused, or read as questions); gradio's own `delete_cache`
sweeps whatever never reached a handler; and the upload route is refused while the folder holds more
than its quota.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
from collections.abc import Iterable
from pathlib import Path
from typing import Any

TEMP_FOLDER = ".gradio"  # inside the index folder: the store only ever touches gen-* and its files
SWEEP = (60, 600)  # gradio's delete_cache: every minute, copies older than ten minutes
QUOTA_FILES = 4  # the folder may hold this many largest-allowed uploads at once


def own_temp_folder(index_dir: Path) -> Path:
    """The server's private, empty temp folder, made gradio's (call before gradio is imported)."""
    folder = index_dir / TEMP_FOLDER
    shutil.rmtree(folder, ignore_errors=True)  # copies left by an earlier run or a crash
    folder.mkdir(mode=0o700, parents=True)
    os.environ["GRADIO_TEMP_DIR"] = str(folder)
    return folder


def discard(paths: Iterable[str | Path]) -> None:
    """Delete gradio's copies of these uploads, and the per-upload folders gradio made for them.
    Paths outside the temp folder are left alone (a handler's argument is not trusted)."""
    if not os.environ.get("GRADIO_TEMP_DIR"):
        return
    root = Path(os.environ["GRADIO_TEMP_DIR"]).resolve()
    for path in paths:
        copy = Path(path).resolve()
        if root not in copy.parents:
            continue
        copy.unlink(missing_ok=True)
        for folder in copy.parents:
            if folder == root:
                break
            try:
                folder.rmdir()  # only if empty: another upload may share it
            except OSError:
                break


def folder_bytes(folder: Path) -> int:
    total = 0
    for dirpath, _, names in os.walk(folder):
        for name in names:
            with contextlib.suppress(OSError):  # deleted meanwhile
                total += os.lstat(os.path.join(dirpath, name)).st_size
    return total


class UploadQuota:
    """ASGI middleware: POSTs to gradio's upload route are refused with 413 while the temp folder
    and the upload's declared size together exceed `limit` bytes."""

    def __init__(self, app: Any, folder: Path, limit: int) -> None:
        self.app, self.folder, self.limit = app, folder, limit

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "http" and scope["method"] == "POST" and scope["path"].endswith("/upload"):
            headers = dict(scope.get("headers") or [])
            try:
                declared = int(headers.get(b"content-length", b"0"))
            except ValueError:
                declared = 0
            if folder_bytes(self.folder) + declared > self.limit:
                body = json.dumps(
                    {"detail": "the server's upload space is full; try again in a few minutes"}
                ).encode()
                await send(
                    {
                        "type": "http.response.start",
                        "status": 413,
                        "headers": [(b"content-type", b"application/json"), (b"connection", b"close")],
                    }
                )
                await send({"type": "http.response.body", "body": body})
                return
        await self.app(scope, receive, send)
