"""Faults: `kill -9` in the middle of `rag index` and of an upload, two writers at once, a full disk
and a read-only index folder. Each leaves an index that opens, answers and holds exactly the old or
the new state, never a mix, and the next run completes the work.

Killed builds run in processes forked from a fork server (multiprocessing's "forkserver") that has
the model, FAISS and this module loaded already: a fresh `rag index` would pay 6–9 s of imports per
kill point. Not forked from the test process itself: after other tests it holds threads (OpenMP and
BLAS pools, executors, servers), and a fork copies only the forking thread, so a lock another thread
held at that moment stays locked in the child forever (one CI run hung so). The fork server loads
everything on one thread (tests/fault_server.py) and forks each child from that single thread.
"""

from __future__ import annotations

import multiprocessing
import os
import random
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import traceback
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Protocol

import faiss
import numpy as np
import pytest
import torch
from fpdf import FPDF

from rag.cli import main as rag_main
from rag.config import Config
from rag.engine import Engine
from rag.errors import UserError
from rag.library import add_files, uploads_dir
from rag.store import BM25, CURRENT, DB, LOCK, MANIFEST, VECTORS, IndexWriter, current_generation
from rag.store.indexer import build_index
from tests.conftest import SEEDS, collapse, run_rag
from tests.store.test_indexer import Snapshot, snapshot
from tests.test_cli import assert_user_error

KILL_POINTS = 20
POLL = 0.0005  # seconds between looks at the index folder while a build runs
PHASES = ("preparing", "writing", "syncing", "swapped")  # a build's progress, as its files show it
SEED_QUESTION = "Who chaired the inquiry into the Cleveland child abuse cases?"
REVISION = (
    "A later review by the same council found that the new arrangements had cut the time families "
    "waited for an assessment, although staff turnover remained high."
)
NOBODY = 65534


# --- forked children ---------------------------------------------------------------------------

FORKS = multiprocessing.get_context("forkserver")
FORKS.set_forkserver_preload(["tests.fault_server"])  # started on first use, once per test session


def _nothing() -> None:
    pass


class Child:
    """A process forked from the fork server running `work` (an int result is its exit code), with
    the model and FAISS already loaded. `setup` runs in the child first (limits, another user).
    `work` and `setup` travel pickled: module-level functions or partials of them."""

    def __init__(
        self, work: Callable[[], object], setup: Callable[[], None] = _nothing, stderr: Path | None = None
    ) -> None:
        self.status: int | None = None
        self.process = FORKS.Process(target=_child_main, args=(work, setup, stderr), daemon=True)
        self.process.start()
        assert self.process.pid is not None
        self.pid = self.process.pid

    def alive(self) -> bool:
        if self.status is None:
            self.status = self.process.exitcode  # None while it runs; -9 when killed
        return self.status is None

    def kill(self) -> bool:
        """SIGKILL it; True when it was still running (a kill point, not a finished run)."""
        running = self.alive()
        if running:
            os.kill(self.pid, signal.SIGKILL)
        self.wait()
        return running

    def wait(self, timeout: float = 300) -> int:
        """Its exit code (-9 when killed), waiting on the process itself (its sentinel), not on a clock."""
        if self.alive():
            self.process.join(timeout)
            ended = self.process.exitcode is not None
            if not ended:
                os.kill(self.pid, signal.SIGKILL)
                self.process.join()
            self.status = self.process.exitcode
            assert ended, f"the forked process did not end within {timeout:.0f} s"
        assert self.status is not None
        return self.status


def _child_main(work: Callable[[], object], setup: Callable[[], None], stderr: Path | None) -> None:
    os._exit(_run_child(work, setup, stderr))  # the exit code as is, no multiprocessing clean-up


def _run_child(work: Callable[[], object], setup: Callable[[], None], stderr: Path | None) -> int:
    try:
        if stderr is not None:
            sys.stderr = stderr.open("w", encoding="utf-8")
        torch.set_num_threads(1)  # as the fork server runs: an OpenMP pool does not survive a fork
        faiss.omp_set_num_threads(1)
        setup()
        result = work()
        return result if isinstance(result, int) else 0
    except BaseException:
        traceback.print_exc()
        return 70
    finally:
        sys.stderr.flush()


def rag_in_child(*args: str, setup: Callable[[], None], tmp_path: Path) -> subprocess.CompletedProcess[str]:
    """The `rag` command line (its `main`, exit code and stderr) in a forked process under `setup`."""
    err = tmp_path / "stderr.txt"
    code = Child(partial(rag_main, list(args)), setup, stderr=err).wait()
    return subprocess.CompletedProcess(["rag", *args], code, "", err.read_text(encoding="utf-8"))


# --- watching a build from outside -------------------------------------------------------------


class Progress(Protocol):
    """What a watched build shows from outside: how far it has got, an index into PHASES (the
    database store's tests watch a database the same way)."""

    def phase(self) -> int: ...


class Watch:
    """How far a build in `index_dir` has got, from the files it leaves (an index into PHASES):
    preparing (loading, embedding), writing its new generation, syncing it (manifest written),
    swapped (CURRENT names it; the old generation is being deleted)."""

    def __init__(self, index_dir: Path) -> None:
        self.index_dir = index_dir
        self.live = current_generation(index_dir)
        self.before = set(index_dir.glob("gen-*"))  # leftovers of killed builds are not its own

    def phase(self) -> int:
        if current_generation(self.index_dir) != self.live:
            return 3
        new = [g for g in self.index_dir.glob("gen-*") if g not in self.before]
        if not new:
            return 0
        return 2 if any((g / MANIFEST).exists() for g in new) else 1

    def reached(self, phase: int) -> Callable[[], bool]:
        return lambda: self.phase() >= phase


def timeline(child: Child, watch: Progress, timeout: float = 300) -> list[float]:
    """Seconds from start until an unkilled build first showed each phase after the first, then
    until it ended: where kill points must land."""
    started = time.monotonic()
    seen = [0.0]
    while child.alive():
        now = time.monotonic() - started
        if now > timeout:
            child.kill()
            pytest.fail("the forked build hung")
        seen += [now] * (watch.phase() + 1 - len(seen))
        time.sleep(POLL)
    ended = time.monotonic() - started
    assert child.wait() == 0, "the reference build failed"
    return seen + [ended] * (len(PHASES) + 1 - len(seen))


def wait_until(child: Child, ready: Callable[[], bool], timeout: float = 300) -> bool:
    """Poll until `ready()` holds (True) or `child` ends first (False)."""
    deadline = time.monotonic() + timeout
    while not ready():
        if not child.alive():
            return False
        if time.monotonic() > deadline:
            child.kill()
            pytest.fail("the forked process hung")
        time.sleep(POLL)
    return True


def kill_when(child: Child, ready: Callable[[], bool], delay: float) -> bool:
    """SIGKILL `child` `delay` seconds after `ready()` first holds; False when it ended first."""
    if not wait_until(child, ready):
        return False
    time.sleep(delay)  # the kill point itself, not a wait for something
    return child.kill()


# --- index states ------------------------------------------------------------------------------


def copy_index(config: Config, dst: Path) -> Config:
    shutil.copytree(config.index_dir, dst)
    return config.with_(index_dir=dst)


def generations(config: Config) -> int:
    return len(list(config.index_dir.glob("gen-*")))


def assert_answers(config: Config) -> None:
    """The index opens and answers a seed question with citations that quote their source."""
    engine = Engine(config)
    try:
        answer = engine.ask(SEED_QUESTION)
        assert not answer.abstained and answer.citations
        for c in answer.citations:
            assert collapse(engine.reader.document_text(c.doc)[c.start : c.end]) == c.quote
    finally:
        engine.close()


def grow(folder: Path, numbers: range) -> None:
    """Generated documents: a title and one paragraph of a seed article (prose the cleaner keeps),
    small so that a build takes about a second and twenty of them fit in the time budget."""
    texts = [p.read_text(encoding="utf-8") for p in sorted(SEEDS.iterdir())]
    for i in numbers:
        paragraphs = texts[i % len(texts)].split("\n\n")
        prose = sorted((p for p in paragraphs if len(p.split()) >= 20 and p.rstrip().endswith(".")), key=len)
        text = f"Copy {i}.\n\n" + random.Random(i).choice(prose[:4])
        (folder / f"gen_{i:03d}.txt").write_text(text, encoding="utf-8")


def mixed_documents(old: Snapshot, new: Snapshot, got: Snapshot) -> list[str]:
    """The documents `got` holds (or lacks) as neither `old` nor `new` does: each must be one or
    the other, whole."""
    return sorted(d for d in {*old, *new, *got} if got.get(d) not in (old.get(d), new.get(d)))


def states(old: Snapshot, new: Snapshot, config: Config) -> str:
    """Which of the two states the index holds, exactly (documents, chunk ids and texts): one must."""
    got = snapshot(config)
    mixed = mixed_documents(old, new, got)
    assert got in (old, new), f"neither the old nor the new index; documents differing from both: {mixed}"
    return "old" if got == old else "new"


@dataclass(frozen=True)
class Scenario:
    """An index of the seeds and three generated documents (`pristine`: copy it, never build in it)
    and a change to build from `sources`: one generated document edited, one deleted, two added."""

    pristine: Config
    sources: list[Path]
    old: Snapshot
    new: Snapshot
    timeline: list[float]  # seconds to each of PHASES[1:] and to the end, for an unkilled build

    def state(self, config: Config) -> str:
        return states(self.old, self.new, config)

    def build(self, config: Config) -> Child:
        """The change, built in a forked process."""
        return Child(partial(build_index, self.sources, config))


@pytest.fixture(scope="module")
def scenario(tmp_path_factory: pytest.TempPathFactory, seed_index: Config) -> Scenario:
    root = tmp_path_factory.mktemp("faults")
    extra = root / "extra"
    extra.mkdir()
    grow(extra, range(3))
    sources = [SEEDS, extra]
    pristine = copy_index(seed_index, root / "pristine")
    build_index(sources, pristine)
    old = snapshot(pristine)
    edited = extra / "gen_000.txt"
    edited.write_text(edited.read_text(encoding="utf-8") + "\n\n" + REVISION, encoding="utf-8")
    (extra / "gen_001.txt").unlink()
    grow(extra, range(3, 5))
    reference = copy_index(pristine, root / "reference")
    times = timeline(Child(partial(build_index, sources, reference)), Watch(reference.index_dir))
    new = snapshot(reference)
    assert set(new) == set(old) - {"gen_001.txt"} | {"gen_003.txt", "gen_004.txt"}
    assert new["gen_000.txt"] != old["gen_000.txt"] and all(new.values())
    return Scenario(pristine, sources, old, new, times)


# --- kill -9 -----------------------------------------------------------------------------------


@pytest.mark.slow
def test_kill_9_at_20_points_of_a_build_leaves_the_old_or_the_new_index(
    scenario: Scenario, tmp_path: Path
) -> None:
    """Kill points: 13 at random moments of a whole build (loading, embedding, writing), 7 triggered
    inside the commit (new generation being written, manifest written, CURRENT just swapped). Each
    killed build's leftovers are the next build's to clean up; it is itself killed or completes."""
    t = scenario.timeline
    rng = random.Random(20)
    plan = [0] * 13 + [1] * 4 + [2] * 2 + [3]  # the phase each kill waits for; 0: a random moment
    rng.shuffle(plan)
    duration = t[4]  # of the shortest build seen: the machine's load varies, a kill must land inside
    config = copy_index(scenario.pristine, tmp_path / "index-0")
    kills: list[tuple[str, str]] = []  # (phase the build was killed in, state it left)
    for attempt in range(1, KILL_POINTS + 11):
        if not plan:
            break
        phase = plan.pop()
        delay = 0.0  # manifest written, CURRENT swapped: kill at once
        if phase == 0:  # a random moment of the whole build
            delay = rng.random() * duration
        elif phase == 1:  # somewhere into writing the new generation
            delay = rng.uniform(0, t[3] - t[1])
        watch = Watch(config.index_dir)
        started = time.monotonic()
        child = scenario.build(config)
        killed = kill_when(child, watch.reached(phase), delay)
        where = PHASES[watch.phase()] if killed else "finished"
        state = scenario.state(config)
        assert_answers(config)
        assert state == "new" or where not in ("swapped", "finished")
        if killed:
            kills.append((where, state))
        else:  # the build ended before its kill point: try another
            assert child.wait() == 0, "a build failed"
            duration = min(duration, time.monotonic() - started)
            plan.append(phase)
        if state == "new":  # nothing left to build; the next run only clears what the kill left
            assert build_index(scenario.sources, config).changed == 0 and generations(config) == 1
            config = copy_index(scenario.pristine, tmp_path / f"index-{attempt}")
    assert len(kills) == KILL_POINTS, f"builds kept finishing before their kill point: {kills}"
    phases = Counter(where for where, _ in kills)
    assert phases["preparing"] >= 5 and phases["writing"] + phases["syncing"] >= 3, kills
    report = build_index(scenario.sources, config)  # the next build completes the last one killed
    assert (report.added, report.updated, report.removed) == (
        ["gen_003.txt", "gen_004.txt"],
        ["gen_000.txt"],
        ["gen_001.txt"],
    )
    assert scenario.state(config) == "new" and generations(config) == 1
    assert not (config.index_dir / f"{CURRENT}.tmp").exists()
    print(f"kill points: {dict(phases)}; states left: {dict(Counter(s for _, s in kills))}")


def _noise_pdf(path: Path, text: str) -> Path:
    """A report with a photograph: one paragraph of text and an 8 MB image (random pixels, so it
    does not compress), so that copying the upload takes long enough to be killed in."""
    from PIL import Image

    pixels = np.random.default_rng(0).integers(0, 256, (1600, 1700, 3), dtype=np.uint8)
    pdf = FPDF()
    pdf.add_page()
    pdf.set_font("helvetica", size=12)
    pdf.multi_cell(0, 8, text)
    pdf.image(Image.fromarray(pixels), w=150)
    pdf.output(str(path))
    return path


def _holds(folder: Path, wanted: Callable[[set[str]], bool]) -> Callable[[], bool]:
    """True once the names in `folder` are `wanted`."""

    def ready() -> bool:
        try:
            return wanted(set(os.listdir(folder)))
        except FileNotFoundError:
            return False

    return ready


def test_kill_9_during_an_upload_leaves_the_old_or_the_new_index_and_only_whole_files(
    seed_index: Config, tmp_path: Path
) -> None:
    """Guaranteed after a kill: the index is the old or the new one; the uploads folder holds each
    file whole under its own name or not at all (a copy is written as a hidden `.NAME.part`, never
    indexed, then renamed); a file copied but not yet indexed is indexed by the next upload."""
    browser = tmp_path / "browser"
    browser.mkdir()
    note = browser / "zorblatt.md"
    note.write_text(
        "# The Zorblatt Institute\n\nThe Zorblatt Institute for Child Welfare was founded in 1931 by "
        "Elena Marchetti in Tromsø.\n",
        encoding="utf-8",
    )
    report = _noise_pdf(
        browser / "annual-report.pdf",
        "The institute's annual report counts 412 foster families trained in 2023, "
        "twice as many as in the year before.",
    )
    files = [note, report]
    pristine = copy_index(seed_index, tmp_path / "pristine")
    old = snapshot(pristine)
    reference = copy_index(pristine, tmp_path / "reference")
    t = timeline(Child(partial(add_files, files, reference)), Watch(reference.index_dir))
    new = snapshot(reference)
    assert set(new) == set(old) | {"zorblatt.md", "annual-report.pdf"}
    rng = random.Random(5)
    names = {f.name for f in files}
    part = f".{report.name}.part"  # the large file, copied last
    # Kill points: mid-copy, all copied but not indexed, writing the new generation, syncing it,
    # just made live.
    points: list[tuple[str, Callable[[Config, Watch], Callable[[], bool]], float]] = [
        ("copying", lambda c, w: _holds(uploads_dir(c), lambda got: part in got), 0.0),
        ("copied", lambda c, w: _holds(uploads_dir(c), names.issubset), 0.0),
        ("writing", lambda c, w: w.reached(1), rng.uniform(0, t[3] - t[1])),
        ("syncing", lambda c, w: w.reached(2), 0.0),
        ("swapped", lambda c, w: w.reached(3), 0.0),
    ]
    for i, (name, trigger, delay) in enumerate(points):
        for attempt in range(5):  # a kill mid-copy must arrive within the few ms the copy takes
            config = copy_index(pristine, tmp_path / f"index-{i}-{attempt}")
            watch = Watch(config.index_dir)
            child = Child(partial(add_files, files, config))
            assert kill_when(child, trigger(config, watch), delay), f"the upload ended before {name}"
            folder = uploads_dir(config)
            stored = set(os.listdir(folder)) if folder.exists() else set()
            if name != "copying" or (
                part in stored and (folder / part).stat().st_size < report.stat().st_size
            ):
                break  # for "copying": a half-written part file was left
        else:
            pytest.fail("no kill arrived while the upload was being copied")
        state = states(old, new, config)
        assert_answers(config)
        for stored_name in stored:
            if not stored_name.startswith("."):
                assert (folder / stored_name).read_bytes() == (browser / stored_name).read_bytes(), name
        indexed = snapshot(config)
        missing = [f for f in files if f.name not in indexed]
        assert bool(missing) == (state == "old")
        if missing:  # the user uploads again what did not arrive
            add_files(missing, config)
        assert snapshot(config) == new, name
        assert set(os.listdir(folder)) == names, name  # no part file left


# --- two writers, full disk, read-only folder --------------------------------------------------


def holds_lock(pid: int, path: Path) -> bool:
    """Whether process `pid` holds a flock on `path`, as the kernel lists it in /proc/locks
    ("1: FLOCK  ADVISORY  WRITE 1234 fd:01:5678 0 EOF")."""
    try:
        st = path.stat()
    except FileNotFoundError:
        return False
    file_id = f"{os.major(st.st_dev):02x}:{os.minor(st.st_dev):02x}:{st.st_ino}"
    for line in Path("/proc/locks").read_text(encoding="ascii").splitlines():
        fields = line.split()
        if fields[1] == "FLOCK" and fields[4] == str(pid) and fields[5] == file_id:
            return True
    return False


def test_a_second_rag_index_process_is_refused_while_the_first_writes(
    scenario: Scenario, tmp_path: Path
) -> None:
    """The first build is paused (SIGSTOP) once it holds the lock, so the second `rag index` (a fresh
    process) certainly runs while the first is mid-build; it is refused and the first completes."""
    config = copy_index(scenario.pristine, tmp_path / "index")
    first = scenario.build(config)
    assert wait_until(first, partial(holds_lock, first.pid, config.index_dir / LOCK))
    os.kill(first.pid, signal.SIGSTOP)
    try:
        second = run_rag("index", *map(str, scenario.sources), "--index-dir", str(config.index_dir))
        assert_user_error(second, "another `rag index` is writing to", str(config.index_dir))
        assert scenario.state(config) == "old"  # readers meanwhile see the old index
        assert_answers(config)
    finally:
        os.kill(first.pid, signal.SIGCONT)
    assert first.wait() == 0
    assert scenario.state(config) == "new" and generations(config) == 1


def _limit_file_size(limit: int) -> None:
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the limit then fails with EFBIG
    resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))


@pytest.mark.parametrize(("room", "reason"), [(0.5, "File too large"), (1.0, "disk I/O error")])
def test_a_full_disk_stops_rag_index_with_one_line_and_the_old_index_intact(
    scenario: Scenario, tmp_path: Path, room: float, reason: str
) -> None:
    """`rag index` may write files of at most `room` × the live database (RLIMIT_FSIZE) plus a page:
    half fails copying the database, all of it fails adding the new chunks."""
    config = copy_index(scenario.pristine, tmp_path / "index")
    live = current_generation(config.index_dir)
    assert live is not None
    limit = int((live / DB).stat().st_size * room) + 4096
    args = ["index", *map(str, scenario.sources), "--index-dir", str(config.index_dir)]
    result = rag_in_child(*args, setup=partial(_limit_file_size, limit), tmp_path=tmp_path)
    assert_user_error(result, "cannot write the index in", reason, "the old index is intact")
    assert scenario.state(config) == "old" and generations(config) == 1
    assert_answers(config)
    build_index(scenario.sources, config)  # with room again, the same build completes
    assert scenario.state(config) == "new"


@pytest.mark.parametrize("name", [VECTORS, f"{BM25}/ids.npy", MANIFEST])
def test_a_full_disk_while_writing_faiss_bm25_or_the_manifest_keeps_the_old_index(
    scenario: Scenario, tmp_path: Path, name: str
) -> None:
    """The new generation's `name` is /dev/full, where every write fails with ENOSPC as on a full
    disk (a file size limit cannot reach these files: the database, written first, is larger)."""
    config = copy_index(scenario.pristine, tmp_path / "index")
    message = r"cannot write the index in .*: No space left on device; the old index is intact"
    with (
        IndexWriter(config.index_dir, config.index_settings()) as writer,
        pytest.raises(UserError, match=message),
    ):
        writer.remove("gen_002.txt")
        assert writer.gen is not None
        (writer.gen / name).parent.mkdir(exist_ok=True)
        (writer.gen / name).symlink_to("/dev/full")
        writer.commit(writer.dimension())
    assert scenario.state(config) == "old" and generations(config) == 1
    assert_answers(config)


@pytest.fixture
def shared_dir() -> Iterator[Path]:
    """A folder another user can reach (pytest's temporary folders are private to root)."""
    folder = Path(tempfile.mkdtemp(prefix="rag-faults-"))
    folder.chmod(0o755)
    yield folder
    for path in [folder, *folder.rglob("*")]:
        path.chmod(0o755 if path.is_dir() else 0o644)
    shutil.rmtree(folder)


def _as_nobody() -> None:
    """Root writes through any permission; an ordinary user is refused as users are."""
    if os.geteuid() == 0:
        os.setgroups([])
        os.setgid(NOBODY)
        os.setuid(NOBODY)


def test_a_read_only_index_folder_stops_rag_index_with_one_line(
    scenario: Scenario, shared_dir: Path, tmp_path: Path
) -> None:
    """The index folder and its files without write permission (`chmod -R a-w`), `rag index` run by
    a user other than root (root ignores permissions). A read-only mount (EROFS) takes the same
    path but cannot be made in a test without mount privileges."""
    config = copy_index(scenario.pristine, shared_dir / "index")
    extra = shutil.copytree(scenario.sources[1], shared_dir / "extra")
    for path in [config.index_dir, *config.index_dir.rglob("*")]:
        path.chmod(0o555 if path.is_dir() else 0o444)
    args = ["index", str(SEEDS), str(extra), "--index-dir", str(config.index_dir)]
    result = rag_in_child(*args, setup=_as_nobody, tmp_path=tmp_path)
    assert_user_error(result, "cannot write to index folder", "Permission denied")
    assert scenario.state(config) == "old" and generations(config) == 1
    assert_answers(config)
