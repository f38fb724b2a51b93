"""The supervisor's deterministic checks: facts a sub-agent reports before a model explains
them — TODO markers, hard-coded secrets, dangerous calls, untested public code, complex
functions, where terms occur.

Each check walks the text files under a root (bounded: at most 20,000 files, none over
1 MiB, no binary files, no build or vendored directories) in sorted order, never fails on
a file it cannot read or parse, and returns findings worst first, then by path and line,
with paths relative to the root. :func:`check_tools` gives them to an agent as tools.
"""

from ainos.app.supervisor.checks._complexity import find_complex_functions
from ainos.app.supervisor.checks._dangerous import scan_dangerous_calls
from ainos.app.supervisor.checks._goal import goal_terms
from ainos.app.supervisor.checks._names import CHECK_NAMES, CHECK_TOOLS
from ainos.app.supervisor.checks._search import search_terms
from ainos.app.supervisor.checks._secret_patterns import SECRET_PATTERNS, SecretPattern, mask_secret
from ainos.app.supervisor.checks._secrets import scan_secrets
from ainos.app.supervisor.checks._todo import find_todos
from ainos.app.supervisor.checks._tools import check_tools
from ainos.app.supervisor.checks._untested import find_untested

__all__ = [
    "CHECK_NAMES",
    "CHECK_TOOLS",
    "SECRET_PATTERNS",
    "SecretPattern",
    "check_tools",
    "find_complex_functions",
    "find_todos",
    "find_untested",
    "goal_terms",
    "mask_secret",
    "scan_dangerous_calls",
    "scan_secrets",
    "search_terms",
]
