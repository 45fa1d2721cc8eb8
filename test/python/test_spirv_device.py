"""bench/spirv_device.py, the GPU check's three steps, end to end on the
Vulkan device at hand (lavapipe here): the export the GPU machine gets,
the run there, and the report. Keeps the script that only runs where a GPU
is lent from rotting between such sessions."""

import json
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[2] / "bench"
sys.path.insert(0, str(BENCH))

import bench_io  # noqa: E402
import spirv_device  # noqa: E402


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    folder = tmp_path_factory.mktemp("gpu") / "models"
    spirv_device.export(folder, ["digits-cnn"], [4, 0])
    return folder


def test_variants_share_their_weights(exported):
    """Kernel-shape variants point at the first one's weights (the GPU
    machine takes 64 MiB)."""
    first, second = exported / "digits-cnn.rows4", exported / "digits-cnn.rows0"
    assert (first / "constants.bin").is_file()
    assert not (second / "constants.bin").exists()
    plan = json.loads((second / "plan.json").read_text())
    assert plan["constants"] == "../digits-cnn.rows4/constants.bin"
    case = json.loads((second / "case.json").read_text())
    assert case == {"model": "digits-cnn", "batch": 1, "rows_per_invocation": 0}


def test_run_then_report(exported, tmp_path, monkeypatch):
    result = tmp_path / "result.json"
    modes = ["unified", "staged"]
    assert spirv_device.run(exported, result, 2, [], modes) == 0
    data = json.loads(result.read_text())
    assert [r["case"] for r in data["rows"]] == ["digits-cnn.rows0", "digits-cnn.rows4"]
    for row in data["rows"]:
        for mode in modes:
            entry = row[mode]
            assert entry["ok"] and entry["max_abs_err"] < 1e-4
            assert len(entry["gpu_launch_ms"]) == row["dispatches"]
            assert 0 < entry["gpu_sparse_ms"] < entry["gpu_ms"]
    monkeypatch.setattr(bench_io, "RESULTS", tmp_path / "results")
    spirv_device.report(result, result)
    table = (tmp_path / "results" / "spirv-gpu.md").read_text()
    assert "| digits-cnn.rows4 | 1 |" in table
    assert "## Kernel shape: rows of a group per invocation" in table
    assert "| digits-cnn | 1 |" in table  # the variants side by side
