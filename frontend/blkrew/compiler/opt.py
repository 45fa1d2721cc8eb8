"""Find and run ``blkrew-opt``, the MLIR driver built from this project.

The Python API drives ``blkrew-opt`` as a subprocess (the way IREE's Python
API drives ``iree-compile``): MLIR text in, MLIR text out. On failure it keeps
the input in a file and raises :class:`BlkRewOptError` with the diagnostics
and the exact command line that reproduces them.
"""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import tempfile
from collections.abc import Sequence
from pathlib import Path

__all__ = ["BlkRewOptError", "find_blkrew_opt", "run_blkrew_opt"]

_PACKAGE_DIR = Path(__file__).resolve().parent.parent


class BlkRewOptError(RuntimeError):
    """``blkrew-opt`` rejected its input or a pass failed.

    Attributes:
        diagnostics: what ``blkrew-opt`` printed on stderr.
        command: the command line that reproduces the failure.
        input_path: the file holding the input IR (kept for reproduction).
        returncode: the process exit status.
    """

    def __init__(
        self, diagnostics: str, command: str, input_path: str, returncode: int
    ):
        self.diagnostics = diagnostics
        self.command = command
        self.input_path = input_path
        self.returncode = returncode
        super().__init__(
            f"blkrew-opt failed (exit {returncode}):\n{diagnostics.rstrip()}\n"
            f"reproduce with:\n  $ {command}"
        )


def find_blkrew_opt() -> Path:
    """Locates the ``blkrew-opt`` executable.

    Looks, in order, at ``$BLKREW_OPT`` (an explicit override), the copy
    installed inside the package (``pip install .``), and the build tree of
    the checkout the package lives in (``make build`` / ``pip install -e .``).
    """
    candidates = []
    override = os.environ.get("BLKREW_OPT")
    if override:
        candidates.append(Path(override))
    candidates.append(_PACKAGE_DIR / "_bin" / "blkrew-opt")
    # frontend/blkrew -> repository root -> build/bin
    candidates.append(_PACKAGE_DIR.parent.parent / "build" / "bin" / "blkrew-opt")
    for path in candidates:
        if path.is_file() and os.access(path, os.X_OK):
            return path
    tried = "\n  ".join(str(p) for p in candidates)
    raise FileNotFoundError(
        "blkrew-opt not found; build it with `make build` in the blkrew checkout "
        f"(or install the package with `pip install .`). Looked in:\n  {tried}"
    )


def run_blkrew_opt(
    ir: str,
    args: Sequence[str] = (),
    *,
    keep_dir: str | os.PathLike | None = None,
    timeout: float | None = None,
) -> str:
    """Runs ``blkrew-opt`` with ``args`` on the MLIR text ``ir``.

    Returns the printed output module. On failure raises
    :class:`BlkRewOptError`; the input is then kept in ``keep_dir`` (a fresh
    temporary directory by default) so the printed command reproduces it.
    """
    tool = find_blkrew_opt()
    workdir = (
        Path(keep_dir)
        if keep_dir is not None
        else Path(tempfile.mkdtemp(prefix="blkrew-"))
    )
    workdir.mkdir(parents=True, exist_ok=True)
    input_path = workdir / "input.mlir"
    input_path.write_text(ir)
    cmd = [str(tool), str(input_path), *args]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    if proc.returncode != 0:
        raise BlkRewOptError(
            proc.stderr, shlex.join(cmd), str(input_path), proc.returncode
        )
    if keep_dir is None:
        shutil.rmtree(workdir, ignore_errors=True)
    return proc.stdout
