"""Pin every library to offline behaviour before it is imported: nothing is fetched at run time."""

from __future__ import annotations

import os
from importlib.util import find_spec
from pathlib import Path


def enforce_offline() -> None:
    """Point tiktoken at llama-index's bundled cache and switch off hub lookups and analytics."""
    spec = find_spec("llama_index.core")
    if spec is not None and spec.origin is not None:
        cache = Path(spec.origin).parent / "_static" / "tiktoken_cache"
        os.environ.setdefault("TIKTOKEN_CACHE_DIR", str(cache))
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
    os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")
