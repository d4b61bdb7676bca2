"""The index: chunks embedded (`Embedder`) and indexed for BM25 (`LexicalIndex`), kept in generations of
an index folder that `IndexWriter` writes and swaps in atomically and `IndexReader` reads; `build_index`
runs ingest into it. The folder's layout and manifest: rag.store.manifest. ONNX Runtime sessions and
int8 exports (`cpu_session`, `export_int8`) serve the encoder and the trained reader alike."""

from rag.store.embed import Embedder
from rag.store.faiss_kind import new_faiss, train
from rag.store.indexer import Warn, build_index
from rag.store.lexical import QUESTION_WORDS, LexicalIndex, tokenize
from rag.store.manifest import (
    BM25,
    CURRENT,
    DB,
    LOCK,
    MANIFEST,
    VECTORS,
    check_settings,
    current_generation,
    read_manifest,
)
from rag.store.models import cross_encoder, resolve_model
from rag.store.onnx_runtime import cpu_session, export_int8, is_runtime_error
from rag.store.reader import IndexReader
from rag.store.writer import DocRecord, IndexWriter

__all__ = [
    "BM25",
    "CURRENT",
    "DB",
    "LOCK",
    "MANIFEST",
    "QUESTION_WORDS",
    "VECTORS",
    "DocRecord",
    "Embedder",
    "IndexReader",
    "IndexWriter",
    "LexicalIndex",
    "Warn",
    "build_index",
    "check_settings",
    "cpu_session",
    "cross_encoder",
    "current_generation",
    "export_int8",
    "is_runtime_error",
    "new_faiss",
    "read_manifest",
    "resolve_model",
    "tokenize",
    "train",
]
