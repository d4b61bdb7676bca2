"""Indexing throughput against the embedding model's own throughput, and peak memory.

Measures, in one process and on the same chunks:

* pipeline: a fresh `build_index` (discover → load → clean → chunk → embed → store), in chunks/s;
* encode-only: `Embedder.encode` alone on the same texts the pipeline encodes, read back from that
  index: every chunk's text plus, per document, its chunks' sentences de-duplicated by span (the
  indexer embeds both in one call, the sentence vectors being for the reranker), in chunks/s;
* their ratio (pipeline time / encode time for the same texts; the goal is under 1.2: the pipeline
  adds little beyond the model), an unchanged re-run, the peak resident memory, and a per-stage
  breakdown of the pipeline run (its functions wrapped with timers for the run, nothing else changed).

The model is loaded and warmed up first, so its import and load count in neither figure. The
corpus is the seed articles plus `--copies` variants of them (paragraphs shuffled, each paragraph
tagged with its copy number so no chunk or paragraph repeats across copies), in a temp folder.
With `--one-line` the same text is one file on one line (paragraph breaks become spaces): a page
that lost its breaks, the case where a superlinear step (a sentence splitter on a huge paragraph)
would show as a ratio far above the goal.

Run: `make bench`, i.e. `.venv/bin/python benchmarks/bench_index.py [--copies N] [--batch-size B]`.
Figures are printed as a table and written as JSON to benchmarks/results/bench_index.json.
"""

from __future__ import annotations

import argparse
import cProfile
import functools
import os
import pstats
import random
import re
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from measure import ROOT, SEEDS, cpu_seconds, machine, other_cores_busy, peak_rss_mb, result_path, write_json

import rag.store.indexer
from rag.config import Config
from rag.store import Embedder, IndexReader, IndexWriter, build_index

GOAL = 1.2
_BLANK = re.compile(r"\n[ \t\r\f\v]*\n")


def make_corpus(target: Path, copies: int, seed: int = 0, one_line: bool = False) -> int:
    """The seed files plus `copies` variants of each (or all of that as one line of one file);
    returns the number of files written."""
    target.mkdir(parents=True, exist_ok=True)
    rng = random.Random(seed)
    files: dict[str, str] = {}
    for src in sorted(SEEDS.glob("*.txt")):
        text = src.read_text(encoding="utf-8")
        files[src.name] = text
        paragraphs = [p.strip() for p in _BLANK.split(text) if p.strip()]
        for k in range(1, copies + 1):
            shuffled = list(paragraphs)
            rng.shuffle(shuffled)
            # The tag makes each paragraph's key differ between copies, so the cleaner does not drop
            # it as "repeated across documents" and chunk ids differ; repeats within a copy remain.
            files[f"{src.stem}_copy{k:03d}.txt"] = "\n\n".join(f"{p} [{k}]" for p in shuffled) + "\n"
    if one_line:
        line = " ".join(" ".join(text.split()) for text in files.values())
        (target / "one_line.txt").write_text(line + "\n", encoding="utf-8")
        return 1
    for name, text in files.items():
        (target / name).write_text(text, encoding="utf-8")
    return len(files)


def encoded_texts(index_dir: Path) -> tuple[list[str], int, int]:
    """What `build_index` encodes for this index: the chunk texts, then per document the text of each
    distinct sentence span of its chunks; with the numbers of chunks and of sentences."""
    reader = IndexReader(index_dir)
    try:
        chunks = list(reader.chunks())
        spans: dict[str, set[tuple[int, int]]] = defaultdict(set)
        for chunk in chunks:
            spans[chunk.doc].update(chunk.sentences)
        sentences: list[str] = []
        for doc in sorted(spans):
            text = reader.document_text(doc)
            sentences += [" ".join(text[a:b].split()) for a, b in sorted(spans[doc])]
    finally:
        reader.close()
    return [c.text for c in chunks] + sentences, len(chunks), len(sentences)


def warmup_texts(n: int) -> list[str]:
    """`n` passages of about chunk size from the seeds, so warm-up sees full-length sequences."""
    text = " ".join(p.read_text(encoding="utf-8") for p in sorted(SEEDS.glob("*.txt")))
    words = text.split()
    return [" ".join(words[i * 150 : (i + 1) * 150]) for i in range(n)]


class StageTimer:
    """Wall time spent inside chosen functions while `build_index` runs (wrapped, not changed)."""

    # (owner, attribute, stage): rag.store.indexer's own names, so only calls made by the pipeline count.
    TARGETS: tuple[tuple[Any, str, str], ...] = (
        (rag.store.indexer, "discover", "discover"),
        (rag.store.indexer, "load", "load"),
        (rag.store.indexer, "classify", "clean"),
        (rag.store.indexer, "chunk_document", "chunk"),
        (Embedder, "count_tokens", "token_count"),  # called by the chunker: part of "chunk"
        (Embedder, "encode", "embed"),
        (IndexWriter, "add", "store"),
        (IndexWriter, "commit", "store"),
    )

    def __init__(self) -> None:
        self.seconds: dict[str, float] = defaultdict(float)

    def _wrap(self, stage: str, fn: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(fn)
        def timed(*args: Any, **kwargs: Any) -> Any:
            t = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                self.seconds[stage] += time.perf_counter() - t

        return timed

    @contextmanager
    def active(self) -> Iterator[StageTimer]:
        originals = [(owner, name, getattr(owner, name)) for owner, name, _ in self.TARGETS]
        try:
            for (owner, name, stage), (_, _, fn) in zip(self.TARGETS, originals, strict=True):
                setattr(owner, name, self._wrap(stage, fn))
            yield self
        finally:
            for owner, name, fn in originals:
                setattr(owner, name, fn)

    def breakdown(self, total: float) -> dict[str, float]:
        """Seconds per stage; chunking without token counting, and the rest as "other"."""
        s = self.seconds
        out = {
            "discover": s["discover"],
            "load": s["load"],
            "clean": s["clean"],
            "chunk_excl_token_count": s["chunk"] - s["token_count"],
            "token_count": s["token_count"],
            "embed": s["embed"],
            "store": s["store"],
        }
        out["other"] = total - sum(out.values())
        return out


def profile_build(corpus: Path, config: Config, top: int) -> list[dict[str, Any]]:
    """Profile a fresh build; the `rag/` functions with the largest cumulative time."""
    profiler = cProfile.Profile()
    profiler.enable()
    build_index([corpus], config, rebuild=True)
    profiler.disable()
    stats = pstats.Stats(profiler)
    rows: list[dict[str, Any]] = []
    for (filename, line, name), (_cc, ncalls, tottime, cumtime, _) in stats.stats.items():  # type: ignore[attr-defined]
        if f"{os.sep}rag{os.sep}" in filename:
            rel = Path(filename).relative_to(ROOT) if filename.startswith(str(ROOT)) else filename
            rows.append(
                {
                    "function": f"{rel}:{line}({name})",
                    "calls": ncalls,
                    "tottime_s": round(tottime, 3),
                    "cumtime_s": round(cumtime, 3),
                }
            )
    rows.sort(key=lambda r: r["cumtime_s"], reverse=True)
    return rows[:top]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--copies", type=int, default=12, help="variants of each seed file (default 12)")
    parser.add_argument("--batch-size", type=int, default=Config().batch_size, help="encode batch")
    parser.add_argument("--repeat", type=int, default=1, help="pipeline/encode rounds; the fastest counts")
    parser.add_argument("--one-line", action="store_true", help="the corpus as one file on one line")
    parser.add_argument("--json-out", type=Path, help="where to write JSON (default: results/)")
    parser.add_argument(
        "--profile",
        choices=("auto", "always", "never"),
        default="auto",
        help="cProfile a fresh build (auto: only when the ratio misses the goal)",
    )
    args = parser.parse_args(argv)
    json_out = args.json_out or result_path("bench_index_one_line" if args.one_line else "bench_index")
    if args.copies < 0 or args.repeat < 1 or args.batch_size < 1:
        parser.error("--copies must be >= 0, --repeat and --batch-size >= 1")

    import torch

    with tempfile.TemporaryDirectory(prefix="bench_index_") as tmp_name:
        tmp = Path(tmp_name)
        corpus = tmp / "corpus"
        n_files = make_corpus(corpus, args.copies, one_line=args.one_line)
        corpus_bytes = sum(p.stat().st_size for p in corpus.iterdir())
        embedder = Embedder(Config(batch_size=args.batch_size))

        t = time.perf_counter()
        embedder.model  # noqa: B018 - load once; build_index reuses it (lru_cache per process)
        embedder.encode(warmup_texts(args.batch_size))
        model_load_s = time.perf_counter() - t
        rss_after_load = peak_rss_mb()

        # A then B, `--repeat` times; the fastest of each is kept (other load only slows a run).
        cpu_start, wall_start = cpu_seconds(), time.perf_counter()
        pipeline_runs: list[float] = []
        encode_runs: list[float] = []
        timers: list[StageTimer] = []
        for r in range(args.repeat):
            config = Config(index_dir=tmp / f"index{r}", batch_size=args.batch_size)
            # A: the full pipeline on a fresh index, its stages timed from inside.
            with StageTimer().active() as timer:
                t = time.perf_counter()
                report = build_index([corpus], config)
                pipeline_runs.append(time.perf_counter() - t)
            timers.append(timer)
            # B: the model alone, on the same texts (chunks + sentences) and batch size.
            texts, n_chunks, n_sentences = encoded_texts(config.index_dir)
            t = time.perf_counter()
            embedder.encode(texts)
            encode_runs.append(time.perf_counter() - t)
        pipeline_s, encode_s = min(pipeline_runs), min(encode_runs)
        fastest = pipeline_runs.index(pipeline_s)
        stages = timers[fastest].breakdown(pipeline_s)
        rss_after_runs = peak_rss_mb()
        # Average cores busy with other processes while A and B ran: noise in both figures.
        other_cores = other_cores_busy(cpu_start, time.perf_counter() - wall_start)

        # An unchanged re-run: stat checks only, no model work.
        t = time.perf_counter()
        rerun = build_index([corpus], config)
        rerun_s = time.perf_counter() - t

        ratio = pipeline_s / encode_s
        meets = ratio < GOAL
        profile: list[dict[str, Any]] = []
        if args.profile == "always" or (args.profile == "auto" and not meets):
            profile = profile_build(corpus, config, top=15)
        peak = peak_rss_mb()

    n_texts = len(texts)
    overhead_s = pipeline_s - stages["embed"]
    # Less sensitive to the model's run-to-run speed swings than A/B: A's own non-model time over B.
    stage_ratio = (overhead_s + encode_s) / encode_s
    results: dict[str, Any] = {
        "machine": {
            **machine(),
            "other_processes_cores_busy": None if other_cores is None else round(other_cores, 2),
        },
        "corpus": {
            "copies": args.copies,
            "one_line": args.one_line,
            "files": n_files,
            "bytes": corpus_bytes,
            "documents": report.documents,
            "chunks": n_chunks,
            "sentences": n_sentences,
            "texts_encoded": n_texts,
            "dropped_paragraphs": report.dropped_paragraphs,
        },
        "batch_size": args.batch_size,
        "model_load_and_warmup_s": round(model_load_s, 3),
        "repeat": args.repeat,
        "pipeline_runs_s": [round(x, 3) for x in pipeline_runs],
        "encode_runs_s": [round(x, 3) for x in encode_runs],
        "pipeline_s": round(pipeline_s, 3),
        "pipeline_chunks_per_s": round(n_chunks / pipeline_s, 2),
        "encode_s": round(encode_s, 3),
        "encode_chunks_per_s": round(n_chunks / encode_s, 2),
        "pipeline_texts_per_s": round(n_texts / pipeline_s, 2),
        "encode_texts_per_s": round(n_texts / encode_s, 2),
        "ratio": round(ratio, 3),
        "goal": GOAL,
        "meets_goal": meets,
        "unchanged_rerun_s": round(rerun_s, 3),
        "unchanged_rerun_changed": rerun.changed,
        "pipeline_stages_s": {k: round(v, 3) for k, v in stages.items()},
        "pipeline_non_embed_s": round(overhead_s, 3),
        "ratio_from_stages": round(stage_ratio, 3),
        "peak_rss_mb": {
            "after_model_load": round(rss_after_load, 1),
            "after_build_and_encode": round(rss_after_runs, 1),
            "end": round(peak, 1),
        },
        "profile_top_rag_cumulative": profile,
    }

    rows = [
        ("corpus", f"{n_files} files, {corpus_bytes / 1e3:.0f} kB" + (", one line" if args.one_line else "")),
        ("texts encoded", f"{n_texts} = {n_chunks} chunks + {n_sentences} sentences (distinct per doc)"),
        ("machine", f"{os.cpu_count()} CPUs, torch threads {torch.get_num_threads()}"),
        ("other processes' CPU", "unknown" if other_cores is None else f"{other_cores:.2f} cores"),
        ("batch size", str(args.batch_size)),
        ("model load + warm-up", f"{model_load_s:.2f} s (not counted)"),
        ("rounds (fastest counts)", str(args.repeat)),
        ("pipeline runs (A)", ", ".join(f"{x:.2f}" for x in pipeline_runs) + " s"),
        ("encode-only runs (B)", ", ".join(f"{x:.2f}" for x in encode_runs) + " s"),
        (
            "pipeline (build_index)",
            f"{pipeline_s:.2f} s = {n_chunks / pipeline_s:.1f} chunks/s ({n_texts / pipeline_s:.1f} texts/s)",
        ),
        (
            "encode only (same texts)",
            f"{encode_s:.2f} s = {n_chunks / encode_s:.1f} chunks/s ({n_texts / encode_s:.1f} texts/s)",
        ),
        ("ratio A/B", f"{ratio:.3f} ({'meets' if meets else 'MISSES'} goal < {GOAL})"),
        ("stages of the fastest A", "(timed by wrapping the functions build_index calls)"),
        *((f"  {name.replace('_', ' ')}", f"{sec:7.3f} s") for name, sec in stages.items()),
        ("  all but embed", f"{overhead_s:7.3f} s = {overhead_s / encode_s:.1%} of encode-only"),
        ("ratio (B + A's non-embed)/B", f"{stage_ratio:.3f} (steadier than A/B)"),
        ("unchanged re-run", f"{rerun_s:.3f} s, {rerun.changed} changed"),
        ("peak RSS after model load", f"{rss_after_load:.0f} MB"),
        ("peak RSS", f"{peak:.0f} MB"),
    ]
    width = max(len(k) for k, _ in rows)
    print("citerag indexing benchmark")
    if other_cores is not None and other_cores > 0.1:
        print("  warning: other processes used the CPU during the runs; figures are noisy")
    for key, value in rows:
        print(f"  {key:<{width}}  {value}")
    if profile:
        print("  top rag/ functions by cumulative time (cProfile of a fresh build):")
        for row in profile:
            print(f"    {row['cumtime_s']:8.3f} s  {row['calls']:>7}  {row['function']}")

    write_json(json_out, results)
    print(f"  written to {json_out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
