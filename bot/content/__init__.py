"""Content: the dialogue tree as validated, immutable data."""

from bot.content.loader import (
    ContentError,
    Problem,
    default_content_dir,
    load_content,
    read_content,
    stale_nodes,
)
from bot.content.models import Content, Node

__all__ = [
    "Content",
    "ContentError",
    "Node",
    "Problem",
    "default_content_dir",
    "load_content",
    "read_content",
    "stale_nodes",
]
