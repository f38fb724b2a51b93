"""What the model is told before the conversation: ainos's instructions and the project's.

Project instructions are the ``AGENTS.md`` files from the git root down to the working
directory (outer first, so the nearer file has the last word), capped at 32 KiB in all as
Codex caps them.
"""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path

__all__ = ["PROJECT_DOC_CAP", "Instructions", "find_git_root", "project_docs"]

PROJECT_DOC_CAP = 32 * 1024
_DOC_NAME = "AGENTS.md"

BASE_INSTRUCTIONS = """\
You are ainos, a coding agent running on the user's machine. You work in the directory \
{cwd}. You can call tools to list, read and search files, run commands in a sandbox, edit \
files with apply_patch, keep a plan, and invoke the machine's AI actions.
Use the tools to find facts before you answer; never invent file names or figures. Quote \
the figures the tools returned. When you have what you need, answer briefly and stop."""


def find_git_root(start: Path) -> Path | None:
    for directory in (start, *start.parents):
        if (directory / ".git").exists():
            return directory
    return None


def project_docs(cwd: Path, cap: int = PROJECT_DOC_CAP) -> tuple[str, list[Path]]:
    """The AGENTS.md texts that apply in ``cwd`` joined (outermost first), and their paths."""
    cwd = cwd.resolve()
    root = find_git_root(cwd) or cwd
    chain = [cwd, *cwd.parents]
    directories = list(reversed(chain[: chain.index(root) + 1]))
    texts: list[str] = []
    used: list[Path] = []
    left = cap
    for directory in directories:
        path = directory / _DOC_NAME
        if not path.is_file() or left <= 0:
            continue
        data = path.read_bytes()[:left]
        left -= len(data)
        texts.append(data.decode("utf-8", "replace"))
        used.append(path)
    return "\n\n".join(texts), used


@dataclass(frozen=True)
class Instructions:
    """The system message of a turn: the base (or a caller's replacement), the developer's
    additions and the project's docs."""

    base: str
    developer: str = ""
    project: str = ""

    @classmethod
    def for_workspace(
        cls, cwd: Path, *, base: str | None = None, developer: str = ""
    ) -> Instructions:
        project, _ = project_docs(cwd)
        return cls(base or BASE_INSTRUCTIONS.format(cwd=cwd), developer, project)

    def system_message(self) -> str:
        parts = [self.base]
        if self.developer:
            parts.append(self.developer)
        if self.project:
            parts.append(f"Project instructions (AGENTS.md):\n{self.project}")
        return "\n\n".join(parts)


def is_git_repository(path: Path) -> bool:
    """Whether ``path`` is inside a git work tree (git itself decides, worktrees included)."""
    try:
        done = subprocess.run(
            ["git", "-C", str(path), "rev-parse", "--is-inside-work-tree"],
            capture_output=True,
            text=True,
            timeout=10,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return find_git_root(path) is not None
    return done.returncode == 0 and done.stdout.strip() == "true"
