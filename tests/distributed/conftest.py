"""A real two-node Ray cluster on 127.0.0.1 (tests/ray_cluster.py), started once for these tests and
stopped after them. A cluster that cannot be started fails the tests with Ray's reason; they are
never skipped."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import SEEDS
from tests.ray_cluster import ClusterError, RayCluster

SMALL = ("000_44c9ebb48a3e38a5.txt", "003_e0cbf722bd5f4062.txt", "004_e56172278690337e.txt")


def small_corpus(folder: Path) -> Path:
    """The three shortest seed articles (11 chunks): a real corpus that embeds in seconds."""
    folder.mkdir(parents=True, exist_ok=True)
    for name in SMALL:
        shutil.copy2(SEEDS / name, folder / name)
    return folder


@pytest.fixture(scope="session")
def ray_cluster() -> Iterator[RayCluster]:
    cluster = RayCluster()
    try:
        cluster.start(nodes=2)
    except ClusterError as exc:
        pytest.fail(str(exc))
    try:
        yield cluster
    finally:
        cluster.stop()
