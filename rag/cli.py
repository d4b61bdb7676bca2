"""The `rag` command: argument parsing and printing only; the work happens in the library.

argparse (standard library) keeps `rag --help` instant; heavy modules load inside each command.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rag.config import Config
from rag.errors import UserError
from rag.types import where

if TYPE_CHECKING:
    from rag.engine import Engine
    from rag.types import Answer


def _warn(message: str) -> None:
    print(f"rag: warning: {message}", file=sys.stderr)


def _config(args: argparse.Namespace) -> Config:
    """The settings file's, then CITERAG_STORE, then the flags."""
    base = Config.from_file(args.config) if args.config else Config()
    return base.with_(index_dir=args.index_dir, store=args.store or os.environ.get("CITERAG_STORE"))


def cmd_index(args: argparse.Namespace) -> int:
    from rag.store import build_index, copy_into_database, open_reader, where

    config = _config(args)
    if args.from_dir is not None:
        if args.paths:
            raise UserError("give files to index or --from DIR, not both")
        documents, chunks = copy_into_database(config, args.from_dir, rebuild=args.rebuild)
        print(f"{documents} documents, {chunks} chunks copied from {args.from_dir} → {where(config)}")
        return 0
    runner = _distributed().RayRunner(args.ray, config, sys.stderr.isatty()) if args.ray else None
    try:
        report = build_index(
            args.paths or ["seeds"],
            config,
            rebuild=args.rebuild,
            progress=sys.stderr.isatty(),
            warn=_warn,
            runner=runner,
        )
    finally:
        if runner is not None:
            runner.close()
    dropped: dict[str, list[dict[str, Any]]] = {}
    if args.show_dropped:
        reader = open_reader(config)
        try:
            dropped = reader.dropped()
        finally:
            reader.close()
    if args.json:
        out = report.to_dict()
        if args.show_dropped:
            out["dropped"] = dropped
        if runner is not None:
            out["ray"] = runner.summary()
        print(json.dumps(out, ensure_ascii=False))
        return 0
    for doc, paragraphs in dropped.items():
        print(f"{doc}: {len(paragraphs)} paragraphs dropped")
        for p in paragraphs:
            snippet = p["text"] if len(p["text"]) <= 100 else p["text"][:99] + "…"
            print(f"  - [{p['reason']}] {snippet}")
    print(
        f"{report.documents} documents, {report.chunks} chunks, {report.dropped_paragraphs} paragraphs "
        f"dropped; {report.changed} changed ({len(report.added)} added, {len(report.updated)} updated, "
        f"{len(report.removed)} removed) in {report.seconds:.2f} s → {report.index_dir}"
    )
    return 0


def cmd_inspect(args: argparse.Namespace) -> int:
    from rag.store import open_reader

    reader = open_reader(_config(args))
    try:
        for chunk in reader.chunks():
            print(json.dumps(chunk.to_dict(), ensure_ascii=False))
    finally:
        reader.close()
    return 0


def cmd_search(args: argparse.Namespace) -> int:
    from rag.engine import Engine, clean_question

    clean_question(args.question)  # an empty question fails before the model loads
    engine = Engine(_config(args))
    try:
        result = engine.search(args.question, args.k)
    finally:
        engine.close()
    if result.truncated:
        _warn("the question is longer than the model's window; only its start was embedded")
    if args.json:
        print(json.dumps(result.to_dict(), ensure_ascii=False))
        return 0
    if not result.passages:
        print("No passages found.")
    for p in result.passages:
        snippet = p.text if len(p.text) <= 240 else p.text[:239] + "…"
        stages = "  ".join(f"{name} {value:.3f}" for name, value in p.scores.items())
        named = where(p.doc, p.title, p.locator)
        print(f"{p.rank}. {named} [{p.start}:{p.end}]  score {p.score:.3f}  ({stages})")
        print(f"   {snippet}\n")
    return 0


def _print_sources(answer: Answer) -> None:
    """A refusal's related passages, or the numbered sources and the sentences they do not support."""
    if answer.abstained:
        if answer.passages:
            print("\nRelated passages (not evidence for an answer):")
            for p in answer.passages[:3]:
                print(f"  - {where(p.doc, _snippet(p.title or '', 80), p.locator)}: {_snippet(p.text, 160)}")
        return
    print()
    for c in answer.citations:
        print(f'[{c.n}] {where(c.doc, _snippet(c.title or "", 80), c.locator)}: "{_snippet(c.quote, 200)}"')
    attributed = [s for s in answer.sentences if s.attributed]
    if attributed:  # the streamed text had no marker for these
        print("\nCited by the checker (the model gave no marker):")
        for s in attributed:
            print(f'  - "{_snippet(s.text, 200)}" [{s.citations[0]}]')
    unsupported = [s for s in answer.sentences if not s.supported]
    if unsupported:
        print("\nNot supported by its sources:")
        for s in unsupported:
            print(f'  - "{_snippet(s.text, 200)}" (not supported by its sources)')


def _snippet(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _check_generator(config: Config, mode: str) -> None:
    """In llm mode, a missing extra or server URL is reported before any model loads."""
    if mode == "llm":
        from rag.generation import make_generator

        make_generator(config)


def _answer(
    engine: Engine, question: str, history: list[dict[str, Any]] | None, k: int | None, mode: str, echo: bool
) -> Answer:
    """The answer; with `echo`, printed for a person: a generator's text as it streams, then the
    sources, the unsupported sentences and any note (a failed generator's fallback in full)."""
    final: Answer | None = None
    streamed = False
    for item in engine.ask_stream(question, history, k, mode):
        if isinstance(item, str):
            if echo:
                print(item, end="", flush=True)
                streamed = True
        else:
            final = item
    assert final is not None
    if not echo:
        return final
    if streamed:
        print()  # ends the streamed text
    if final.note:
        print(f"{chr(10) if streamed else ''}Note: {final.note}")
    if not (streamed and final.mode == "llm"):  # extractive, a fallback, or a refusal before generating
        if streamed or final.note:
            print()
        if final.short_answer is not None:  # the asked fact first, then the sentences it stands in
            print(f"Answer: {final.short_answer.text}\n")
        print(final.answer)
    _print_sources(final)
    return final


def cmd_ask(args: argparse.Namespace) -> int:
    from rag.engine import Engine, clean_question

    clean_question(args.question)
    config = _config(args)
    _check_generator(config, args.mode)
    engine = Engine(config)
    try:
        answer = _answer(engine, args.question, None, args.k, args.mode, echo=not args.json)
    finally:
        engine.close()
    if args.json:
        print(json.dumps(answer.to_dict(), ensure_ascii=False))
    return 0


def cmd_chat(args: argparse.Namespace) -> int:
    """An interactive terminal chat; follow-up questions use the conversation so far."""
    import readline  # noqa: F401 - line editing and history for input()

    from rag.engine import Engine

    config = _config(args)
    _check_generator(config, args.mode)
    engine = Engine(config)
    history: list[dict[str, Any]] = []
    print("Ask about your documents. An empty line or Ctrl-D quits; /new starts a new chat.")
    try:
        while True:
            try:
                question = input("\n> ").strip()
            except EOFError:
                print()
                break
            if not question:
                break
            if question == "/new":
                history.clear()
                continue
            try:
                answer = _answer(engine, question, history, args.k, args.mode, echo=True)
            except UserError as exc:
                print(f"rag: error: {exc}", file=sys.stderr)
                continue
            history += [
                {"role": "user", "content": question},
                {"role": "assistant", "content": answer.answer, "citations": answer.to_dict()["citations"]},
            ]
    finally:
        engine.close()
    return 0


def cmd_eval(args: argparse.Namespace) -> int:
    """A file of questions answered and scored into a folder; or two such folders compared."""
    if args.compare:
        if args.questions:
            raise UserError("give a question file or --compare DIR_A DIR_B, not both")
        from rag.evaluation import compare_runs

        print(compare_runs(*args.compare))
        return 0
    if args.questions is None:
        raise UserError("rag eval needs a question file (.jsonl or .csv), or --compare DIR_A DIR_B")
    from rag.engine import Engine
    from rag.evaluation import (
        check_workers,
        default_out_dir,
        execute,
        execute_with,
        read_questions,
        run_settings,
        start_run,
        terminal_table,
    )

    check_workers(args.workers, cluster=bool(args.ray))  # before the model loads
    config = _config(args).with_(k=args.k)
    _check_generator(config, args.mode)
    questions = read_questions(args.questions, _warn)
    answerer = _distributed().RayAnswerer(args.ray, config, args.mode) if args.ray else None
    out = args.out or default_out_dir()
    run = start_run(out, questions, run_settings(config, args.mode), args.resume, _warn)
    if answerer is not None:
        try:
            summary = execute_with(run, answerer, bar=sys.stderr.isatty())
        finally:
            answerer.close()
    else:
        engine = Engine(config)
        try:
            summary = execute(run, engine, args.workers, bar=sys.stderr.isatty())
        finally:
            engine.close()
    print(terminal_table(summary))
    print(f"\nresults.jsonl, summary.json and report.html in {out}")
    return 0


def _distributed() -> Any:
    """rag.distributed, which needs Ray: imported only for --ray, and its absence said in one line."""
    try:
        import rag.distributed
    except ModuleNotFoundError as exc:
        if exc.name != "ray":
            raise
        raise UserError("--ray needs Ray: pip install 'citerag[ray]' (or make setup)") from None
    return rag.distributed


def cmd_serve(args: argparse.Namespace) -> int:
    """The browser chat: the index brought up to date first, then the server until interrupted."""
    from rag.malloc import cap_arenas

    cap_arenas()  # before any thread starts (importing gradio may start some): memory stays flat
    from rag.library import ensure_index
    from ui.server import check_access, serve  # the one place rag/ reaches into ui/, lazily

    credentials = check_access(args.host, args.auth, args.insecure)
    config = _config(args)
    ensure_index(config, Path("seeds"), progress=True, warn=_warn)
    serve(config, args.host, args.port, credentials)
    return 0


def build_parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--index-dir", type=Path, help="index folder (default: index/)")
    common.add_argument("--config", type=Path, help="TOML file of settings (see rag/config.py)")
    common.add_argument(
        "--store", metavar="URL", help="a postgresql:// database to keep the index in (or CITERAG_STORE)"
    )

    parser = argparse.ArgumentParser(
        prog="rag", description="Question answering over your documents, every sentence cited."
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("index", parents=[common], help="index files or folders (incremental)")
    p.add_argument("paths", nargs="*", metavar="PATH", help="files or folders (default: seeds/)")
    p.add_argument("--rebuild", action="store_true", help="build from scratch, ignoring the old index")
    p.add_argument(
        "--from", dest="from_dir", type=Path, metavar="DIR", help="copy this index folder into --store URL"
    )
    p.add_argument("--show-dropped", action="store_true", help="list every paragraph the cleaner dropped")
    p.add_argument("--json", action="store_true", help="print the summary as one JSON object")
    p.add_argument(
        "--ray", metavar="ADDRESS", help="run on the Ray cluster at HOST:PORT (README: Past one machine)"
    )
    p.set_defaults(func=cmd_index)

    p = sub.add_parser("inspect", parents=[common], help="print every chunk as one JSON object per line")
    p.set_defaults(func=cmd_inspect)

    p = sub.add_parser("search", parents=[common], help="the passages that best match a question")
    p.add_argument("question", help="the question, in quotes")
    p.add_argument("--k", type=int, help="passages to return (default 5)")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(func=cmd_search)

    p = sub.add_parser("ask", parents=[common], help="a cited answer, or an honest refusal")
    p.add_argument("question", help="the question, in quotes")
    p.add_argument("--k", type=int, help="passages to draw the answer from (default 5)")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.add_argument("--mode", choices=["extractive", "llm"], default="extractive")
    p.set_defaults(func=cmd_ask)

    p = sub.add_parser("chat", parents=[common], help="an interactive chat in the terminal")
    p.add_argument("--k", type=int, help="passages per answer (default 5)")
    p.add_argument("--mode", choices=["extractive", "llm"], default="extractive")
    p.set_defaults(func=cmd_chat)

    p = sub.add_parser("serve", parents=[common], help="the browser chat on http://127.0.0.1:7860")
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=7860, help="port (default 7860)")
    p.add_argument("--auth", metavar="USER:PASS", help="require this login (or set RAG_AUTH)")
    p.add_argument("--insecure", action="store_true", help="allow another --host without a login")
    p.set_defaults(func=cmd_serve)

    p = sub.add_parser("eval", parents=[common], help="score a file of questions; report in a folder")
    p.add_argument("questions", nargs="?", type=Path, metavar="QUESTIONS", help="a .jsonl or .csv file")
    p.add_argument("--out", type=Path, help="output folder (default: runs/<timestamp>/)")
    p.add_argument("--k", type=int, help="passages per answer (default 5)")
    p.add_argument("--mode", choices=["extractive", "llm"], default="extractive")
    p.add_argument("--resume", action="store_true", help="continue a run in --out, skipping finished ids")
    p.add_argument("--workers", type=int, default=1, help="questions answered in parallel (default 1)")
    p.add_argument("--compare", nargs=2, type=Path, metavar=("DIR_A", "DIR_B"), help="compare two runs")
    p.add_argument(
        "--ray", metavar="ADDRESS", help="run on the Ray cluster at HOST:PORT (README: Past one machine)"
    )
    p.set_defaults(func=cmd_eval)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        code: int = args.func(args)
        return code
    except UserError as exc:
        print(f"rag: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("rag: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # e.g. `rag inspect | head`
        sys.stderr.close()
        return 0


if __name__ == "__main__":
    sys.exit(main())
