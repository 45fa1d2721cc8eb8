"""`blkrew prune` end to end on a tiny budget, and its input errors."""

import json

import torch

import blkrew
from blkrew.cli import COMMANDS, build_parser, main


def test_prune_end_to_end(tmp_path, capsys):
    out = tmp_path / "out"
    rc = main(
        [
            "prune",
            "--model",
            "digits-cnn",
            "--compression",
            "8",
            "--block",
            "8x4",
            "--scheme",
            "column",
            "--epochs",
            "3",
            "--limit",
            "128",
            "--threads",
            "1",
            "--no-progress",
            "--out",
            str(out),
        ]
    )
    assert rc == 0
    printed = capsys.readouterr().out
    assert (
        "| features.3.weight | Conv2d | 32x16x3x3 | 32x144 | 8x4 | column |" in printed
    )
    report = json.loads((out / "prune_report.json").read_text())
    layers = {r["name"]: r for r in report["layers"]}
    for name in ("features.3.weight", "features.7.weight", "fc1.weight"):
        assert layers[name]["pruned"] and layers[name]["compression"] == 8.0
        assert (out / "masks" / f"{name}.png").read_bytes()[:4] == b"\x89PNG"
    assert not layers["features.0.weight"]["pruned"]
    assert report["schedule"]["reg_epochs"] == 1
    assert "accuracy_final" in report
    md = (out / "prune_report.md").read_text()
    assert "| fc1.weight | Linear | 128x256 |" in md and "masks/fc1.weight.png" in md
    # the saved model loads, with its masks, into a fresh model + pruner
    fresh = blkrew.models.digits_cnn()
    pruner = blkrew.ReweightedPruner(fresh, blkrew.BlockPruneConfig())
    fresh.load_state_dict(torch.load(out / "model.pt", weights_only=True))
    assert int(pruner.masks["fc1.weight"].sum()) == 128 * 256 // 8


def test_prune_bad_input(tmp_path, capsys):
    base = ["prune", "--model", "digits-gru", "--out", str(tmp_path)]
    assert main([*base, "--block", "0x4"]) == 2
    assert "positive integers" in capsys.readouterr().err
    assert main([*base, "--compression", "0.5"]) == 2
    assert ">= 1" in capsys.readouterr().err
    assert main(["prune", "--model", "vgg16-cifar", "--out", str(tmp_path)]) == 2
    assert "needs a local data directory" in capsys.readouterr().err
    rc = main(
        [
            "prune",
            "--model",
            "resnet18-cifar",
            "--data",
            str(tmp_path / "missing"),
            "--out",
            str(tmp_path),
        ]
    )
    assert rc == 2
    assert "does not exist" in capsys.readouterr().err


def test_subcommand_table():
    assert "prune" in COMMANDS
    parser = build_parser()
    args = parser.parse_args(["prune", "--model", "digits-lstm", "--out", "x"])
    assert args.command == "prune" and args.scheme == "column"
