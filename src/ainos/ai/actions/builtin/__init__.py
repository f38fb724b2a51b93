"""The actions ainos ships. Each is an ordinary provider with its definition file beside it,
registered in the ``ainos.actions`` entry-point group — copy one to make your own."""

from ainos.ai.actions.builtin._codebase import AnalyzeCodebaseProvider, analyze_codebase
from ainos.ai.actions.builtin._common import (
    SKIPPED_DIRS,
    TreeWalk,
    WalkLimits,
    is_binary,
    walk_files,
)
from ainos.ai.actions.builtin._photo import DescribePhotoProvider, photo_metadata
from ainos.ai.actions.builtin._search import SearchFilesProvider, search_files
from ainos.ai.actions.builtin._summarize import (
    ExtractiveSummarizer,
    Summarizer,
    SummarizeTextProvider,
    default_summarizer,
    set_default_summarizer,
)
from ainos.ai.actions.builtin._table import ConvertTableProvider, parse_table, to_csv, to_markdown
from ainos.ai.actions.builtin._words import CountWordsProvider, count_words

__all__ = [
    "SKIPPED_DIRS",
    "AnalyzeCodebaseProvider",
    "ConvertTableProvider",
    "CountWordsProvider",
    "DescribePhotoProvider",
    "ExtractiveSummarizer",
    "SearchFilesProvider",
    "SummarizeTextProvider",
    "Summarizer",
    "TreeWalk",
    "WalkLimits",
    "analyze_codebase",
    "count_words",
    "default_summarizer",
    "is_binary",
    "parse_table",
    "photo_metadata",
    "search_files",
    "set_default_summarizer",
    "to_csv",
    "to_markdown",
    "walk_files",
]
