"""`blkrew prune` -> `blkrew compile` -> `blkrew run` on the command line."""

import json

import numpy as np
import pytest
import torch

from blkrew.cli import main
from blkrew.compiler.commands import load_checkpoint
from blkrew.models import get_model


def compile_cmd(checkpoint, out, *extra):
    return [
        "compile",
        "--model",
        "digits-cnn",
        "--checkpoint",
        str(checkpoint),
        "--out",
        str(out),
        *extra,
    ]


@pytest.fixture(scope="module")
def pruned_checkpoint(tmp_path_factory):
    out = tmp_path_factory.mktemp("prune")
    args = [
        "prune",
        "--model",
        "digits-cnn",
        "--epochs",
        "3",
        "--limit",
        "128",
        "--no-images",
        "--no-progress",
        "--out",
        str(out),
    ]
    assert main(args) == 0
    return out / "model.pt"


def test_checkpoint_masks_are_applied(pruned_checkpoint):
    model = load_checkpoint(get_model("digits-cnn"), pruned_checkpoint)
    state = torch.load(pruned_checkpoint, weights_only=True)
    mask = state["features.3.weight_blkrew_mask"]
    assert not mask.all()  # the layer was pruned
    w = model.features[3].weight
    assert torch.equal(w[~mask], torch.zeros_like(w[~mask]))
    assert not any(name.endswith("_blkrew_mask") for name, _ in model.named_buffers())


@pytest.mark.parametrize("target", ["host", "aarch64", "spirv"])
def test_compile_then_run(pruned_checkpoint, target, tmp_path, capsys):
    art = tmp_path / "art"
    assert (
        main(compile_cmd(pruned_checkpoint, art, "--target", target, "--batch", "2"))
        == 0
    )
    printed = capsys.readouterr().out
    assert f"for {target}" in printed and "sparse_matmuls" in printed
    x = np.random.default_rng(0).standard_normal((2, 1, 8, 8)).astype(np.float32)
    np.save(tmp_path / "x.npy", x)
    assert (
        main(
            [
                "run",
                str(art),
                "--input",
                str(tmp_path / "x.npy"),
                "--output",
                str(tmp_path / "y.npy"),
            ]
        )
        == 0
    )
    model = load_checkpoint(get_model("digits-cnn"), pruned_checkpoint).eval()
    with torch.no_grad():
        want = model(torch.from_numpy(x)).numpy()
    np.testing.assert_allclose(np.load(tmp_path / "y.npy"), want, rtol=1e-4, atol=1e-4)
    capsys.readouterr()
    # --profile: each launch's device time, on the Vulkan path only.
    if target == "spirv":
        assert main(["run", str(art), "--profile"]) == 0
        printed = capsys.readouterr().out
        assert "launches; the block-sparse kernel" in printed
        assert "slowest launches:" in printed
    else:
        assert main(["run", str(art), "--profile"]) == 2
        assert "not 'spirv'" in capsys.readouterr().err


def test_compile_options_reach_the_artifact(pruned_checkpoint, tmp_path, capsys):
    art = tmp_path / "art"
    extra = ("--no-implicit-im2col", "--threads", "2", "--half-weights")
    assert main(compile_cmd(pruned_checkpoint, art, *extra)) == 0
    manifest = json.loads((art / "manifest.json").read_text())
    assert manifest["implicit_im2col"] is False
    assert manifest["threads"] == 2 and manifest["parallel"] is True
    assert manifest["half_weights"] is True
    capsys.readouterr()
    # The SPIR-V path always reads patches in place: asking otherwise is an
    # error, not a silently ignored flag.
    spirv = compile_cmd(
        pruned_checkpoint, tmp_path / "s", "--target", "spirv", "--no-implicit-im2col"
    )
    assert main(spirv) == 2
    assert "implicit_im2col" in capsys.readouterr().err


def test_bad_input_is_one_line_error(tmp_path, capsys):
    assert main(["run", str(tmp_path)]) == 2
    assert "not a blkrew artifact" in capsys.readouterr().err
    assert main(compile_cmd(tmp_path / "nope.pt", tmp_path / "o")) == 2
    assert "does not exist" in capsys.readouterr().err
