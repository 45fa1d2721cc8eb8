"""The committed reference docs match what mlir-tblgen generates now."""

import importlib.util
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _gen_docs():
    spec = importlib.util.spec_from_file_location(
        "gen_docs", ROOT / "tools/gen_docs.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_reference_docs_are_current():
    for name, text in _gen_docs().generate().items():
        committed = (ROOT / "docs/reference" / name).read_text()
        assert text == committed, f"docs/reference/{name} is stale: run `make docs`"
