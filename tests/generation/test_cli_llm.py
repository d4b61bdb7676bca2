"""`rag ask|chat|eval --mode llm`: the JSON contract against llama-cpp-python's real server running
SmolLM2 (citations verbatim at their offsets, every sentence judged), the streamed terminal output,
an evaluation run recording mode and supported sentences, and setup mistakes as one line."""

from __future__ import annotations

import io
import json
import re
from pathlib import Path
from typing import Any

import pytest

from rag.cli import main
from rag.config import Config
from tests.conftest import SEEDS, collapse, run_rag
from tests.llm_fixtures import FakeChat
from tests.test_cli import assert_user_error

QUESTION = "How often is a child killed by a parent in England and Wales?"
ENV = ("CITERAG_LLM_BASE_URL", "CITERAG_LLM_MODEL")


def settings_file(folder: Path, base_url: str, **extra: Any) -> str:
    path = folder / "llm.toml"
    lines = ['generator = "openai"', f'llm_base_url = "{base_url}"']
    lines += [f"{key} = {json.dumps(value)}" for key, value in extra.items()]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return str(path)


def test_ask_json_in_llm_mode_keeps_the_contract(llm_server: str, seed_index: Config, tmp_path: Path) -> None:
    # A short prompt and answer keep the tiny model quick on a busy CI machine.
    config = settings_file(tmp_path, llm_server, llm_max_tokens=48, llm_context_chars=1500)
    result = run_rag(
        "ask",
        QUESTION,
        "--mode",
        "llm",
        "--json",
        "--k",
        "3",
        "--config",
        config,
        "--index-dir",
        str(seed_index.index_dir),
    )
    assert result.returncode == 0, result.stderr
    answer = json.loads(result.stdout)
    assert answer["mode"] == "llm" and answer["generator"] and answer["note"] in ("", answer["note"])
    assert "failed" not in answer["note"]  # the real server answered
    assert {"first_token", "generate", "total"} <= set(answer["timings_ms"])
    assert answer["timings_ms"]["first_token"] <= answer["timings_ms"]["total"]
    markers = {int(n) for n in re.findall(r"\[(\d+)\]", answer["answer"])}
    assert markers == {c["n"] for c in answer["citations"]} <= set(range(1, len(answer["passages"]) + 1))
    for c in answer["citations"]:
        source = (SEEDS / c["doc"]).read_text(encoding="utf-8")
        assert collapse(source[c["start"] : c["end"]]) == c["quote"]
        assert answer["passages"][c["n"] - 1]["chunk_id"] == c["chunk_id"]
    if answer["abstained"]:
        assert answer["citations"] == [] and answer["sentences"] == []
    else:
        assert answer["sentences"]
        for s in answer["sentences"]:
            assert isinstance(s["supported"], bool) and s["text"] in answer["answer"]
            assert set(s["citations"]) <= markers


def ask(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    code = main(list(args))
    return code, capsys.readouterr().out


def test_ask_streams_then_lists_sources_and_unsupported_sentences(
    fake_chat: FakeChat, seed_index: Config, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    fake_chat.pieces = ["A child is killed every 10 days [1]. ", "Every council was rated outstanding [9]."]
    config = settings_file(tmp_path, fake_chat.url)
    code, out = ask(
        capsys, "ask", QUESTION, "--mode", "llm", "--config", config, "--index-dir", str(seed_index.index_dir)
    )
    assert code == 0
    lines = out.splitlines()
    assert lines[0] == "".join(fake_chat.pieces)  # the text as it streamed
    assert "Note: removed citation markers that name no given passage: [9]" in out
    assert re.search(r'^\[1\] .*002_325d7f82ffdefe65\.txt\)?: ".*every 10 days', out, re.M)
    assert '  - "Every council was rated outstanding." (not supported by its sources)' in lines


def test_a_failed_generator_prints_the_extractive_answer_with_a_note(
    fake_chat: FakeChat, seed_index: Config, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    fake_chat.status = 503
    config = settings_file(tmp_path, fake_chat.url)
    code, out = ask(
        capsys, "ask", QUESTION, "--mode", "llm", "--config", config, "--index-dir", str(seed_index.index_dir)
    )
    assert code == 0
    assert out.startswith("Note: the generator fake-model failed (the server answered HTTP 503")
    assert "showing the extractive answer" in out and "every 10 days" in out
    assert re.search(r"^\[1\] .*002_325d7f82ffdefe65\.txt\)?: ", out, re.M)


def test_chat_in_llm_mode_streams_each_answer(
    fake_chat: FakeChat,
    seed_index: Config,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    fake_chat.pieces = ["A child is killed", " every 10 days [1]."]
    config = settings_file(tmp_path, fake_chat.url)
    monkeypatch.setattr("sys.stdin", io.StringIO(f"{QUESTION}\nWhat about neglect?\n\n"))
    code, out = ask(
        capsys, "chat", "--mode", "llm", "--config", config, "--index-dir", str(seed_index.index_dir)
    )
    assert code == 0 and out.count("A child is killed every 10 days [1].") == 2
    assert len(fake_chat.requests) == 2
    follow_up = fake_chat.requests[1]["messages"][1]["content"]
    assert f"Earlier question: {QUESTION}" in follow_up  # "what about…" leans on the question before


def test_eval_in_llm_mode_records_mode_and_supported_sentences(
    fake_chat: FakeChat, seed_index: Config, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    fake_chat.pieces = ["In England and Wales a child is killed every 10 days [1]. ", "Ofsted agrees [4]."]
    questions = tmp_path / "q.jsonl"
    questions.write_text(
        json.dumps({"id": "a", "question": QUESTION, "answers": ["every 10 days"]})
        + "\n"
        + json.dumps(
            {
                "id": "b",
                "question": "What are the opening hours of the advice phone line?",
                "answerable": False,
            }
        )
        + "\n",
        encoding="utf-8",
    )
    out = tmp_path / "run"
    config = settings_file(tmp_path, fake_chat.url)
    code, printed = ask(
        capsys,
        "eval",
        str(questions),
        "--mode",
        "llm",
        "--out",
        str(out),
        "--config",
        config,
        "--index-dir",
        str(seed_index.index_dir),
    )
    assert code == 0 and "supported sentences" in printed
    results = [json.loads(line) for line in (out / "results.jsonl").read_text(encoding="utf-8").splitlines()]
    assert [r["mode"] for r in results] == ["llm", "llm"]
    assert results[0]["metrics"]["supported_sentences"] == 0.5 and results[0]["metrics"]["all_facts"] == 1.0
    assert results[1]["abstained"] and results[1]["metrics"]["supported_sentences"] is None
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    assert summary["settings"]["mode"] == "llm" and summary["answer"]["supported_sentences"] == 0.5
    assert summary["generation"]["fallbacks"] == 0 and summary["generation"]["n"] == 1  # b: weak evidence
    assert "first token ms" in printed


@pytest.mark.parametrize("command", [["ask", QUESTION], ["chat"], ["eval", "eval/seed_questions.jsonl"]])
def test_llm_mode_without_a_server_url_is_one_line(
    command: list[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ENV:
        monkeypatch.delenv(name, raising=False)
    config = tmp_path / "c.toml"
    config.write_text('generator = "openai"\n', encoding="utf-8")
    result = run_rag(*command, "--mode", "llm", "--config", str(config))  # fails before any output
    assert_user_error(result, "needs llm_base_url")
