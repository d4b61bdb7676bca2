"""`rag serve` refuses unsafe or malformed starts at once, with one line and exit code 2."""

from __future__ import annotations

import os
import subprocess
import sys

from tests.conftest import ROOT
from tests.test_cli import assert_user_error


def serve(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "rag.cli", "serve", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env={k: v for k, v in os.environ.items() if k != "RAG_AUTH"} | (env or {}),
    )


def test_another_host_needs_a_login_unless_insecure() -> None:
    assert_user_error(serve("--host", "0.0.0.0"), "--host 0.0.0.0", "--auth USER:PASSWORD", "--insecure")


def test_a_malformed_login_is_refused() -> None:
    assert_user_error(serve("--auth", "nopassword"), "USER:PASSWORD")
    assert_user_error(serve("--host", "0.0.0.0", env={"RAG_AUTH": "user:"}), "USER:PASSWORD")
