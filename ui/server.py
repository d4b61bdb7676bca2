"""Starting the browser chat: who may connect, then the gradio server (imported only here, lazily,
so that a refused start is instant)."""

from __future__ import annotations

import os

from rag.config import Config
from rag.errors import UserError

LOOPBACK = ("127.0.0.1", "localhost", "::1")
AUTH_ENV = "RAG_AUTH"
# Questions take ~50 ms of CPU: a few at once keeps every tab responsive on a small machine.
CONCURRENCY = 4


def parse_auth(value: str) -> tuple[str, str]:
    user, sep, password = value.partition(":")
    if not (sep and user and password):
        raise UserError("--auth (or RAG_AUTH) must look like USER:PASSWORD")
    return user, password


def check_access(host: str, auth: str | None, insecure: bool) -> tuple[str, str] | None:
    """The login to require, if any. Beyond this machine a login is required unless `insecure`:
    the chat can add and remove documents."""
    value = auth or os.environ.get(AUTH_ENV)
    credentials = parse_auth(value) if value else None
    if host not in LOOPBACK and credentials is None and not insecure:
        raise UserError(
            f"--host {host} lets other machines in: give --auth USER:PASSWORD (or set {AUTH_ENV}), "
            "or --insecure to serve without a login"
        )
    return credentials


def serve(config: Config, host: str, port: int, credentials: tuple[str, str] | None) -> None:
    """Open the index, warm the engine, serve until interrupted."""
    os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
    from ui.temp_files import QUOTA_FILES, UploadQuota, own_temp_folder

    temp = own_temp_folder(config.index_dir)  # before gradio is imported: it reads the folder then
    from starlette.middleware import Middleware

    from rag.library import Library
    from ui.app import CSS, build
    from ui.evaluate import runs_dir

    library = Library(config)
    library.engine()  # load the model and the index now, not on the first question
    demo = build(library)
    try:
        demo.queue(default_concurrency_limit=CONCURRENCY).launch(
            server_name=host,
            server_port=port,
            auth=credentials,
            share=False,
            ssr_mode=False,
            show_error=False,
            max_file_size=int(config.max_file_mb * 1e6),
            css=CSS,
            allowed_paths=[str(runs_dir(config))],  # evaluation runs to download, wherever the index is
            app_kwargs={
                "middleware": [
                    Middleware(UploadQuota, folder=temp, limit=int(QUOTA_FILES * config.max_file_mb * 1e6))
                ]
            },
        )
    except OSError as exc:  # the port is taken
        raise UserError(f"cannot serve on {host}:{port}: {exc}") from None
