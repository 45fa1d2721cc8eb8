"""The Python side of blkrew-opt: finding it, running it, reporting errors."""

import shutil
import subprocess
from pathlib import Path

import pytest

import blkrew
from blkrew.compiler import opt

VALID = """
func.func @f(%x: tensor<4x8xf32>, %c: tensor<4x8xf32>) -> tensor<4x8xf32> {
  %rp = arith.constant dense<[0, 1, 2]> : tensor<3xi32>
  %ci = arith.constant dense<[0, 3]> : tensor<2xi32>
  %v = arith.constant dense<1.0> : tensor<2x2xf32>
  %y = blkrew.bsr_matmul #blkrew.layout<block = [2, 2], scheme = column>
      ins(%rp, %ci, %v, %x
          : tensor<3xi32>, tensor<2xi32>, tensor<2x2xf32>, tensor<4x8xf32>)
      outs(%c : tensor<4x8xf32>) -> tensor<4x8xf32>
  return %y : tensor<4x8xf32>
}
"""

# col_idx[1] = 4 is out of range for the 4-column rhs.
INVALID = VALID.replace("dense<[0, 3]>", "dense<[0, 4]>")


def test_finds_build_tree_tool():
    tool = blkrew.find_blkrew_opt()
    assert tool.name == "blkrew-opt"
    assert tool.is_file()


def test_help_lists_blkrew_passes():
    out = subprocess.run(
        [str(blkrew.find_blkrew_opt()), "--help"], capture_output=True, text=True
    ).stdout
    assert "--convert-blkrew-to-scf" in out
    assert "--blkrew-reference-to-llvm-pipeline" in out


def test_round_trip_is_stable():
    once = blkrew.run_blkrew_opt(VALID)
    twice = blkrew.run_blkrew_opt(once)
    assert "blkrew.bsr_matmul" in once
    assert once == twice


def test_invalid_ir_raises_with_diagnostic(tmp_path):
    with pytest.raises(blkrew.BlkRewOptError) as info:
        blkrew.run_blkrew_opt(INVALID, keep_dir=tmp_path)
    err = info.value
    assert (
        "col_idx[1] = 4 is out of range for a matrix with 4 columns" in err.diagnostics
    )
    assert err.returncode != 0
    # The message carries the diagnostic and a command that reproduces it.
    assert "out of range" in str(err)
    assert err.command.startswith(str(blkrew.find_blkrew_opt()))
    assert (tmp_path / "input.mlir").read_text() == INVALID
    rerun = subprocess.run(err.command, shell=True, capture_output=True, text=True)
    assert "out of range" in rerun.stderr


def test_failing_pass_keeps_input_in_temp_dir():
    # A tensor op cannot go through the buffer-level lowering.
    with pytest.raises(blkrew.BlkRewOptError) as info:
        blkrew.run_blkrew_opt(VALID, ["--convert-blkrew-to-scf"])
    assert "run one-shot-bufferize before it" in info.value.diagnostics
    assert "--convert-blkrew-to-scf" in info.value.command
    kept = Path(info.value.input_path)
    assert kept.read_text() == VALID
    shutil.rmtree(kept.parent)  # the test's, not a user's to look at


def test_parse_error_is_reported(tmp_path):
    with pytest.raises(
        blkrew.BlkRewOptError, match="custom op 'blkrew.nope' is unknown"
    ):
        blkrew.run_blkrew_opt(
            "func.func @f() { blkrew.nope return }", keep_dir=tmp_path
        )


def test_missing_tool_says_how_to_build(monkeypatch, tmp_path):
    monkeypatch.delenv("BLKREW_OPT", raising=False)
    monkeypatch.setattr(opt, "_PACKAGE_DIR", tmp_path / "a" / "b" / "blkrew")
    with pytest.raises(FileNotFoundError, match="make build"):
        opt.find_blkrew_opt()


def test_env_override(monkeypatch):
    real = blkrew.find_blkrew_opt()
    monkeypatch.setenv("BLKREW_OPT", str(real))
    assert opt.find_blkrew_opt() == real
