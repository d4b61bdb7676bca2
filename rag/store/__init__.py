"""The index: chunks embedded (`Embedder`) and indexed for BM25 (`LexicalIndex`), kept in generations of an
index folder that `IndexWriter` writes and swaps in atomically and `IndexReader` reads; `build_index`
runs ingest into it, its per-document work (`Runner`, rag.store.steps) here or on a cluster. The folder's
layout and manifest: rag.store.manifest. ONNX Runtime sessions and int8 exports (`cpu_session`,
`export_int8`) serve the encoder and the trained reader alike. With `store` a `postgresql://` URL the
index lives in a database instead (rag.store.postgres); `open_reader` and `open_writer` pick the backend."""

from rag.store.backend import (
    Lexical,
    Reader,
    Writer,
    copy_into_database,
    open_reader,
    open_writer,
    stored_manifest,
    where,
)
from rag.store.embed import Embedder
from rag.store.faiss_kind import dense_search, new_faiss, train
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
from rag.store.onnx_encoder import encode_batches
from rag.store.onnx_runtime import cpu_session, export_int8, is_runtime_error
from rag.store.reader import IndexReader
from rag.store.steps import (
    Embedded,
    Loaded,
    Prepared,
    Runner,
    embedding_texts,
    parse_one,
    prepare_document,
    with_vectors,
)
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
    "Embedded",
    "Embedder",
    "IndexReader",
    "IndexWriter",
    "Lexical",
    "LexicalIndex",
    "Loaded",
    "Prepared",
    "Reader",
    "Runner",
    "Warn",
    "Writer",
    "build_index",
    "check_settings",
    "copy_into_database",
    "cpu_session",
    "cross_encoder",
    "current_generation",
    "dense_search",
    "embedding_texts",
    "encode_batches",
    "export_int8",
    "is_runtime_error",
    "new_faiss",
    "open_reader",
    "open_writer",
    "parse_one",
    "prepare_document",
    "read_manifest",
    "resolve_model",
    "stored_manifest",
    "tokenize",
    "train",
    "where",
    "with_vectors",
]
