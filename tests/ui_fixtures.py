"""Fixtures for the browser-chat tests: one real `rag serve` per session on a copy of the seed index,
and Debian's Chromium driven by Playwright (never `playwright install`)."""

from __future__ import annotations

import os
import shutil
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from rag.config import Config
from rag.processes import free_port, stop
from tests.conftest import RAG, ROOT

# Before gradio_client is imported anywhere: no telemetry, no hub look-ups, nothing leaves the machine.
OFFLINE_ENV = {
    "GRADIO_ANALYTICS_ENABLED": "False",
    "HF_HUB_OFFLINE": "1",
    "HF_HUB_DISABLE_TELEMETRY": "1",
    "TRANSFORMERS_OFFLINE": "1",
}
os.environ.update(OFFLINE_ENV)

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
START_TIMEOUT = 90.0


@dataclass(frozen=True)
class Server:
    url: str
    index_dir: Path
    log: Path
    pid: int


@dataclass
class Tab:
    """A browser page and the JavaScript dialogs (alert, confirm) it opened: there must be none."""

    page: Any
    dialogs: list[str] = field(default_factory=list)


def wait_until_up(url: str, proc: subprocess.Popen[bytes], log: Path, what: str) -> None:
    """Until `url` answers 200; the test fails with the server's log if it exits or takes too long."""
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"{what} exited with {proc.returncode}:\n{log.read_text()}")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError):
            pass
        time.sleep(0.2)  # polling interval, not synchronisation: the loop waits on the server's answer
    pytest.fail(f"{what} did not answer within {START_TIMEOUT:.0f} s:\n{log.read_text()}")


@contextmanager
def rag_serve(index: Path, root: Path, settings: str) -> Iterator[Server]:
    """`rag serve` on a free port over `index` with these settings (TOML), its log in `root`."""
    port = free_port()
    log = root / "server.log"
    config = root / "settings.toml"
    config.write_text(settings, encoding="utf-8")
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [*RAG, "serve", "--port", str(port), "--index-dir", str(index), "--config", str(config)],
            cwd=ROOT,
            env={**os.environ, **OFFLINE_ENV},
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}/"
    try:
        wait_until_up(url + "gradio_api/info", proc, log, "rag serve")
        yield Server(url, index, log, proc.pid)
    finally:
        stop(proc)


@pytest.fixture(scope="session")
def ui_server(tmp_path_factory: pytest.TempPathFactory, seed_index: Config) -> Iterator[Server]:
    """`rag serve` on a private copy of the seed index (uploads land beside it); generative mode
    with the default local model, kept brief."""
    root = tmp_path_factory.mktemp("ui")
    shutil.copytree(seed_index.index_dir, root / "index")
    with rag_serve(root / "index", root, "llm_max_tokens = 48\nllm_context_chars = 1500\n") as server:
        yield server


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    if not Path(CHROMIUM).exists():
        pytest.fail("Chromium is missing: `make browser` installs Debian's chromium")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def tab(browser: Any, ui_server: Server) -> Iterator[Tab]:
    """A fresh browser session (own cookies, own chat) on the served page, ready to type into."""
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    context.set_default_timeout(15_000)
    page = context.new_page()
    opened = Tab(page)

    def on_dialog(dialog: Any) -> None:
        opened.dialogs.append(dialog.message)
        dialog.dismiss()

    page.on("dialog", on_dialog)
    page.goto(ui_server.url)
    page.locator("#msg textarea").wait_for()
    yield opened
    context.close()
