"""Indexing (`RayRunner`) and evaluation (`RayAnswerer`) on a Ray cluster, for `--ray ADDRESS`.
Imported only then: Ray is the optional `citerag[ray]` extra, and `import rag` never loads it."""

from rag.distributed.eval_runner import RayAnswerer
from rag.distributed.index_runner import RayRunner

__all__ = ["RayAnswerer", "RayRunner"]
