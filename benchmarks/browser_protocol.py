"""Call a `rag serve` page's own handlers the way its browser page does: gradio's queue protocol.

The documents tab's upload and remove handlers are private (not callable by gradio_client, only by
the page), so a benchmark that churns documents speaks the page's protocol: files posted to
`/gradio_api/upload`, an event joined on `/gradio_api/queue/join` by the handler's index and its
trigger component, its result read from the `/gradio_api/queue/data` event stream. One session per
object, like one open browser tab: the handlers' outputs (the remove picker's choices) stay in it.
"""

from __future__ import annotations

import json
import secrets
from pathlib import Path
from typing import Any

import httpx


class Page:
    """One browser tab on `url`; `call(elem_id, event, data)` runs the handler of that trigger."""

    def __init__(self, url: str, timeout: float = 300.0) -> None:
        self.url = url.rstrip("/") + "/"
        self.session = secrets.token_hex(8)
        self.http = httpx.Client(timeout=timeout)
        config = self.http.get(self.url + "config").raise_for_status().json()
        ids = {c["props"].get("elem_id"): c["id"] for c in config["components"] if "props" in c}
        self.handlers: dict[tuple[str, str], tuple[int, int]] = {}
        for dep in config["dependencies"]:
            for target, event in dep["targets"]:
                for elem_id, component in ids.items():
                    if component == target and elem_id:
                        self.handlers[(elem_id, event)] = (dep["id"], component)

    def upload(self, path: Path) -> dict[str, Any]:
        """Post one file as the page's file box does; the FileData its handler receives."""
        with path.open("rb") as f:
            response = self.http.post(self.url + "gradio_api/upload", files={"files": (path.name, f)})
        (stored,) = response.raise_for_status().json()
        return {"path": stored, "orig_name": path.name, "meta": {"_type": "gradio.FileData"}}

    def call(self, elem_id: str, event: str, data: list[Any]) -> list[Any]:
        """Run the handler that `event` on component `elem_id` triggers; its outputs."""
        fn_index, trigger = self.handlers[(elem_id, event)]
        body = {
            "data": data,
            "fn_index": fn_index,
            "trigger_id": trigger,
            "session_hash": self.session,
            "event_data": None,
        }
        self.http.post(self.url + "gradio_api/queue/join", json=body).raise_for_status()
        params = {"session_hash": self.session}
        with self.http.stream("GET", self.url + "gradio_api/queue/data", params=params) as stream:
            for line in stream.iter_lines():
                if not line.startswith("data:"):
                    continue
                message = json.loads(line[5:])
                if message.get("msg") == "process_completed":
                    output = message.get("output", {})
                    if not message.get("success"):
                        raise RuntimeError(f"{elem_id} {event}: {output.get('error') or output}")
                    return list(output["data"])
        raise RuntimeError(f"{elem_id} {event}: the event stream ended without a result")

    def close(self) -> None:
        self.http.close()
