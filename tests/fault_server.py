"""Loaded by the fork server of tests/store/test_faults.py before it forks any child: the model, FAISS and
the test module, all on this one thread. Torch and FAISS are held to one thread before anything
runs, so no OpenMP pool starts here, and every child is forked from a process with a single thread:
nothing another thread held at the moment of the fork can stay locked in the child."""

from __future__ import annotations

import os

os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import faiss
import torch

torch.set_num_threads(1)
faiss.omp_set_num_threads(1)

import tests.store.test_faults  # noqa: E402,F401 - what the children run, unpickled without an import
from rag.config import Config  # noqa: E402
from rag.store.embed import Embedder  # noqa: E402

Embedder(Config()).model  # noqa: B018 - loaded once here, shared by every child
