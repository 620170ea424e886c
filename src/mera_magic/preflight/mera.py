"""MERA's task folders: what ``./benchmark_tasks`` (and ``./multimodal_tasks``) is and how to get it, said when it
is missing or when MERA tasks are asked for without it."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ..findings import Finding
from ..spec import RunSpec
from .say import finding


@dataclass(frozen=True)
class TaskFolder:
    """A MERA task folder: the repository it comes from."""

    folder: str
    repo: str

    @property
    def clone_dir(self) -> str:
        return self.repo.rsplit("/", 1)[-1]

    def get(self) -> str:
        return f"git clone --depth 1 {self.repo}.git"

    def include_path(self) -> str:
        return f"./{self.clone_dir}/{self.folder}"


#: MERA's task folders by folder name (see shared/reference/mera.md)
FOLDERS = {
    "benchmark_tasks": TaskFolder("benchmark_tasks", "https://github.com/MERA-Evaluation/MERA"),
    "multimodal_tasks": TaskFolder("multimodal_tasks", "https://github.com/MERA-Evaluation/MERA_MULTIMODAL"),
}


def missing_folder(include: str) -> Finding | None:
    """The explanation for a missing ``--include_path`` that names one of MERA's task folders, or None."""
    known = FOLDERS.get(Path(include.rstrip("/\\")).name)
    if known is None:
        return None
    return finding("error", "include-path-missing", "options.include_path", text_code="mera-folder-missing",
                   path=include, cwd=str(Path.cwd()), repo=known.repo, folder=known.folder, get=known.get(),
                   fixed=known.include_path())


def mera_tasks_without_folder(spec: RunSpec, missing: list[str]) -> tuple[list[Finding], list[str]]:
    """For tasks not found with no ``--include_path``: one finding for those that are MERA's, and the rest."""
    from .. import catalog

    mera = [name for name in missing if catalog.parse_name(name) is not None]
    if not mera or spec.options.get("include_path"):
        return [], missing
    known = FOLDERS["benchmark_tasks"]
    found = finding("error", "unknown-task", "tasks", text_code="mera-task-without-folder",
                    tasks=", ".join(f"`{n}`" for n in mera), repo=known.repo, get=known.get(),
                    fixed=known.include_path())
    return [found], [n for n in missing if n not in mera]

