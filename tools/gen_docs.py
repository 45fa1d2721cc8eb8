#!/usr/bin/env python3
"""Generates docs/reference/*.md from the TableGen sources with mlir-tblgen.

Plain markdown (no Hugo shortcodes, unlike add_mlir_doc's output) so the
pages read well in any viewer. `make docs` runs this; test/python/test_docs.py
checks the committed pages are current.
"""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TBLGEN = Path("/usr/lib/llvm-22/bin/mlir-tblgen")
INCLUDES = [
    f"-I{ROOT / 'dialect/include'}",
    f"-I{ROOT / 'passes/include'}",
    "-I/usr/lib/llvm-22/include",
]
PAGES = {
    "BlkRewOps.md": ("dialect/include/blkrew/Dialect/BlkRewOps.td", "-gen-op-doc"),
    "BlkRewAttrs.md": (
        "dialect/include/blkrew/Dialect/BlkRewAttrs.td",
        "-gen-attrdef-doc",
    ),
    "BlkRewTransformsPasses.md": (
        "passes/include/blkrew/Transforms/Passes.td",
        "-gen-pass-doc",
    ),
    "BlkRewConversionPasses.md": (
        "passes/include/blkrew/Conversion/Passes.td",
        "-gen-pass-doc",
    ),
}


def generate() -> dict[str, str]:
    """Returns {page name: markdown} for every reference page."""
    pages = {}
    for name, (td, flag) in PAGES.items():
        pages[name] = subprocess.run(
            [str(TBLGEN), flag, *INCLUDES, str(ROOT / td)],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
    return pages


def main() -> int:
    out = ROOT / "docs" / "reference"
    out.mkdir(parents=True, exist_ok=True)
    for name, text in generate().items():
        (out / name).write_text(text)
        print(f"wrote {out / name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
