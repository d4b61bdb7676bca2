"""`rag index --ray` on a real two-node cluster: the same index as a local build (documents, chunks,
offsets, vectors), nothing sent when nothing changed, a worker killed mid-job retried, an
unreachable address refused in one line with nothing written."""

from __future__ import annotations

import json
import os
import shutil
import signal
import sqlite3
import subprocess
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from rag.config import Config
from rag.store import DB, current_generation
from rag.store.indexer import build_index
from tests.conftest import RAG, ROOT, run_rag
from tests.distributed.conftest import small_corpus
from tests.ray_cluster import ClusterError, RayCluster

pytestmark = pytest.mark.slow

DOCUMENT_COLUMNS = "doc, path, kind, sha256, size, title, text, paragraphs, block_keys, n_chunks, n_dropped"
CHUNK_COLUMNS = 'doc, chunk_id, ord, start, "end", text, page, title, locator, sentences'


def index_contents(index_dir: Path) -> dict[str, Any]:
    """Every stored column of every document and chunk, and the vectors, read from the live generation."""
    gen = current_generation(index_dir)
    assert gen is not None, f"no index in {index_dir}"
    db = sqlite3.connect(gen / DB)
    try:
        documents = db.execute(f"SELECT {DOCUMENT_COLUMNS} FROM documents ORDER BY doc").fetchall()
        chunks = db.execute(f"SELECT {CHUNK_COLUMNS} FROM chunks ORDER BY chunk_id").fetchall()
        vectors = db.execute("SELECT vector, sentence_vectors FROM chunks ORDER BY chunk_id").fetchall()
    finally:
        db.close()
    return {
        "documents": documents,
        "chunks": chunks,
        "vectors": np.stack([np.frombuffer(v, np.float32) for v, _ in vectors]),
        "sentence_vectors": np.concatenate([np.frombuffer(s, np.float32) for _, s in vectors]),
    }


def assert_same_index(built: Path, expected: dict[str, Any]) -> None:
    got = index_contents(built)
    assert got["documents"] == expected["documents"]
    assert got["chunks"] == expected["chunks"]
    np.testing.assert_allclose(got["vectors"], expected["vectors"], atol=1e-5)
    np.testing.assert_allclose(got["sentence_vectors"], expected["sentence_vectors"], atol=1e-5)


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return small_corpus(tmp_path_factory.mktemp("corpus"))


def ray_index(cluster: RayCluster, corpus: Path, index_dir: Path) -> subprocess.CompletedProcess[str]:
    return run_rag(
        "index",
        str(corpus),
        "--index-dir",
        str(index_dir),
        "--ray",
        cluster.address,
        "--json",
        env=cluster.env,
    )


@pytest.fixture(scope="module")
def local_index(corpus: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    index_dir = tmp_path_factory.mktemp("local-index")
    build_index([corpus], Config(index_dir=index_dir))
    return index_contents(index_dir)


@pytest.fixture(scope="module")
def ray_built(
    ray_cluster: RayCluster, corpus: Path, tmp_path_factory: pytest.TempPathFactory
) -> tuple[Path, dict[str, Any]]:
    index_dir = tmp_path_factory.mktemp("ray-index")
    done = ray_index(ray_cluster, corpus, index_dir)
    assert done.returncode == 0, done.stderr
    return index_dir, json.loads(done.stdout)


def test_a_ray_build_equals_a_local_build(ray_built: tuple[Path, dict[str, Any]], local_index: dict) -> None:
    index_dir, report = ray_built
    assert report["ray"]["actors"] == 2  # one per node
    assert report["ray"]["files_sent"] == len(local_index["documents"]) == report["documents"]
    assert_same_index(index_dir, local_index)


def test_an_unchanged_rerun_sends_nothing(
    ray_cluster: RayCluster, corpus: Path, ray_built: tuple[Path, Any]
) -> None:
    index_dir, _ = ray_built
    before = current_generation(index_dir)
    again = ray_index(ray_cluster, corpus, index_dir)
    assert again.returncode == 0, again.stderr
    report = json.loads(again.stdout)
    assert report["changed"] == 0
    assert report["ray"] == {"address": ray_cluster.address, "actors": 0, "files_sent": 0}
    assert current_generation(index_dir) == before


def test_a_worker_killed_mid_job_is_retried(
    ray_cluster: RayCluster, corpus: Path, tmp_path: Path, local_index: dict[str, Any]
) -> None:
    index_dir = tmp_path / "index"
    command = [*RAG, "index", str(corpus), "--index-dir", str(index_dir), "--ray", ray_cluster.address]
    build = subprocess.Popen(
        command, cwd=ROOT, env=ray_cluster.env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    killed = None
    deadline = time.monotonic() + 120
    while killed is None and build.poll() is None and time.monotonic() < deadline:
        busy = ray_cluster.worker_pids("ray::IndexWorker.encode")
        if busy:
            killed = busy[0]
            os.kill(killed, signal.SIGKILL)
        time.sleep(0.02)
    _, err = build.communicate(timeout=300)
    assert killed is not None, f"no worker was seen embedding: {err}"
    assert build.returncode == 0, err
    assert_same_index(index_dir, local_index)


def test_a_driver_killed_mid_job_leaves_the_index_as_it_was(
    ray_cluster: RayCluster, corpus: Path, ray_built: tuple[Path, Any], tmp_path: Path, local_index: dict
) -> None:
    """Only the driver writes, into a generation it swaps in at the end: killed while the cluster
    embeds a new file, it leaves the previous index, and Ray stops its actors."""
    index_dir = tmp_path / "index"
    shutil.copytree(ray_built[0], index_dir)
    before = current_generation(index_dir)
    extra = tmp_path / "extra"
    extra.mkdir()
    shutil.copy2(ROOT / "seeds" / "001_9915dc2b03620208.txt", extra / "new.txt")
    command = [
        *RAG,
        "index",
        str(corpus),
        str(extra),
        "--index-dir",
        str(index_dir),
        "--ray",
        ray_cluster.address,
    ]
    build = subprocess.Popen(command, cwd=ROOT, env=ray_cluster.env, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    while build.poll() is None and not ray_cluster.worker_pids("ray::IndexWorker.encode"):
        assert time.monotonic() < deadline, "no worker was seen embedding"
        time.sleep(0.02)
    build.kill()
    build.communicate(timeout=30)
    assert build.returncode == -signal.SIGKILL
    assert current_generation(index_dir) == before
    assert_same_index(index_dir, local_index)
    while ray_cluster.worker_pids("ray::IndexWorker") and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not ray_cluster.worker_pids("ray::IndexWorker")


def test_an_unreachable_address_is_one_line_and_writes_nothing(tmp_path: Path) -> None:
    index_dir = tmp_path / "index"
    done = run_rag("index", str(ROOT / "seeds"), "--index-dir", str(index_dir), "--ray", "127.0.0.1:9")
    assert done.returncode == 2
    assert done.stderr.startswith("rag: error: cannot reach the Ray cluster at 127.0.0.1:9")
    assert len(done.stderr.strip().splitlines()) == 1
    assert not index_dir.exists()


def test_rag_does_not_import_ray_without_the_flag() -> None:
    code = (
        "import sys, rag.cli, rag.store, rag.evaluation; rag.cli.build_parser(); print('ray' in sys.modules)"
    )
    done = subprocess.run([RAG[0], "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "False"


def test_a_worker_out_of_memory_is_one_line_and_writes_nothing(corpus: Path, tmp_path: Path) -> None:
    """A one-node cluster whose memory monitor finds the node full at 2% use: Ray kills every worker it
    starts, as it would one that filled the node, until the actor may restart no more."""
    cluster = RayCluster()
    cluster.env["RAY_memory_usage_threshold"] = "0.02"
    try:
        cluster.start(nodes=1)
    except ClusterError as exc:
        pytest.fail(str(exc))
    try:
        index_dir = tmp_path / "index"
        done = run_rag(
            "index", str(corpus), "--index-dir", str(index_dir), "--ray", cluster.address, env=cluster.env
        )
    finally:
        cluster.stop()
    assert done.returncode == 2
    assert done.stderr.startswith("rag: error: a Ray worker ran out of memory; give the nodes more memory")
    assert len(done.stderr.splitlines()) == 1
    assert current_generation(index_dir) is None
