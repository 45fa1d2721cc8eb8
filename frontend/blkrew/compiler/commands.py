"""``blkrew compile`` and ``blkrew run``: the compiler on the command line.

    blkrew compile --model digits-cnn --checkpoint out/prune/model.pt \\
        --target host --batch 1 --out out/compiled
    blkrew run out/compiled --input x.npy --output y.npy
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import torch

from blkrew.compiler.api import TARGETS
from blkrew.prune import MASK_SUFFIX, parse_block

__all__ = [
    "configure_compile",
    "configure_run",
    "load_checkpoint",
    "run_compile",
    "run_run",
]


def load_checkpoint(model: torch.nn.Module, path: str | Path) -> torch.nn.Module:
    """Loads a state_dict written by ``blkrew prune`` (or plain PyTorch) into
    ``model``. Pruning masks stored beside the weights are applied to them
    and dropped, so the model is a plain module with zeros in its weights."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"checkpoint {path} does not exist")
    state = torch.load(path, map_location="cpu", weights_only=True)
    if not isinstance(state, dict):
        raise ValueError(f"{path} is not a state_dict")
    for key in [k for k in state if k.endswith(MASK_SUFFIX)]:
        mask = state.pop(key)
        weight = key[: -len(MASK_SUFFIX)]
        if weight not in state:
            raise ValueError(f"{path}: mask {key} has no weight {weight}")
        state[weight] = state[weight] * mask.to(state[weight].dtype)
    missing, unexpected = model.load_state_dict(state, strict=False)
    if missing or unexpected:
        raise ValueError(
            f"{path} does not fit the model: missing {sorted(missing)}, "
            f"unexpected {sorted(unexpected)}"
        )
    return model


def _block_arg(text: str) -> tuple[int, int]:
    """``--block``: the pruner's own parser, reported the argparse way."""
    try:
        return parse_block(text)
    except ValueError as e:
        raise argparse.ArgumentTypeError(str(e)) from None


def configure_compile(p: argparse.ArgumentParser) -> None:
    from blkrew.models import MODELS

    p.add_argument("--model", required=True, choices=sorted(MODELS), help="zoo model")
    p.add_argument(
        "--checkpoint", help="state_dict to load (e.g. blkrew prune's model.pt)"
    )
    p.add_argument("--target", default="host", choices=list(TARGETS))
    p.add_argument("--batch", type=int, default=1, help="batch size compiled for")
    p.add_argument("--block", type=_block_arg, default=(8, 4), help="PxQ, e.g. 8x4")
    p.add_argument("--max-density", type=float, default=0.5)
    p.add_argument(
        "--no-fold-bn",
        action="store_true",
        help="keep BatchNorms as separate ops (by default each one after a "
        "convolution or linear layer is folded into it)",
    )
    p.add_argument(
        "--no-implicit-im2col",
        action="store_true",
        help="CPU targets: give stride-1 convolutions an explicit patch matrix "
        "(by default the sparse kernel reads its patches from the image in "
        "place; the SPIR-V target always does)",
    )
    p.add_argument(
        "--threads",
        type=int,
        default=None,
        help="host: OpenMP threads for the sparse kernels and large dense ops "
        "(default: OMP_NUM_THREADS or all cores; 1 compiles single-threaded "
        "code)",
    )
    p.add_argument(
        "--half-weights",
        action="store_true",
        help="CPU targets: the sparse kernels that wait on their weights "
        "(N below the vector width: batch-1 linear layers, late convolutions) "
        "store them as f16, each rounded to f16 and extended to f32 as read",
    )
    p.add_argument(
        "--tune",
        action="store_true",
        help="time each sparse kernel's candidate tiles and keep the fastest "
        "(cached in $BLKREW_CACHE_DIR or ~/.cache/blkrew)",
    )
    p.add_argument("--out", type=Path, required=True, help="artifact folder")


def _print_tuned(op: str, choice: dict) -> None:
    print(
        f"  tuned {op}: tile_vectors {choice['tile_vectors']}, prefetch "
        f"{choice['prefetch_distance']} ({choice['cost']:.4g} {choice['unit']})",
        flush=True,
    )


def run_compile(args: argparse.Namespace) -> int:
    from blkrew.compiler.api import compile
    from blkrew.models import example_input, get_model

    model = get_model(args.model).eval()
    if args.checkpoint:
        load_checkpoint(model, args.checkpoint)
    if args.batch < 1:
        raise ValueError(f"--batch must be >= 1, got {args.batch}")
    x = example_input(args.model, batch=args.batch)
    start = time.perf_counter()
    compiled = compile(
        model,
        x,
        target=args.target,
        block=args.block,
        max_density=args.max_density,
        fold_bn=not args.no_fold_bn,
        implicit_im2col=not args.no_implicit_im2col,
        threads=args.threads,
        half_weights=args.half_weights,
        tune=args.tune,
        workdir=args.out,
        progress=_print_tuned if args.tune else None,
    )
    print(
        f"compiled {args.model} for {args.target} in "
        f"{time.perf_counter() - start:.1f} s -> {compiled.directory}"
    )
    for key, value in compiled.layers.items():
        print(f"  {key:22s} {value}")
    print(f"  {'folded_batchnorms':22s} {compiled.manifest['folded_batchnorms']}")
    if "arena_bytes" in compiled.manifest:
        arena = compiled.manifest["arena_bytes"] / 2**20
        print(f"  {'temporaries (arena)':22s} {arena:.2f} MiB")
    spirv = compiled.manifest.get("spirv")
    if spirv:
        print(
            f"  SPIR-V: {spirv['kernels']} kernels, {spirv['dispatches']} dispatches "
            f"({spirv['workgroups_total']} workgroups), spirv-val "
            f"{'passed' if spirv['spirv_val'] else 'not run (spirv-val missing)'}"
        )
    with torch.no_grad():
        err = (compiled(x) - model(x)).abs().max().item()
    print(f"  max |compiled - torch| on a random input: {err:.2e}")
    return 0


def configure_run(p: argparse.ArgumentParser) -> None:
    p.add_argument("artifact", type=Path, help="folder written by blkrew compile")
    p.add_argument(
        "--input",
        type=Path,
        action="append",
        help=".npy input (repeat for several; integers for index inputs); "
        "random if omitted (index inputs: 0)",
    )
    p.add_argument("--output", type=Path, help=".npy file for the (first) output")
    p.add_argument("--repeat", type=int, default=1, help="runs to time (median)")
    p.add_argument(
        "--profile",
        action="store_true",
        help="spirv: also time every launch on the device (GPU timestamps)",
    )


def _print_profile(compiled, inputs) -> None:
    compiled.profile(*inputs)  # the driver compiles the shaders on first use
    launches = compiled.profile(*inputs)
    total = sum(p["ms"] for p in launches)
    sparse = [p for p in launches if p["block_sparse"]]
    print(
        f"  device time {total:.3f} ms over {len(launches)} launches; the "
        f"block-sparse kernel {sum(p['ms'] for p in sparse):.3f} ms in "
        f"{len(sparse)} of them"
    )
    print("  slowest launches:")
    for p in sorted(launches, key=lambda p: -p["ms"])[:5]:
        kind = "block-sparse" if p["block_sparse"] else "other"
        print(
            f"    #{p['dispatch']:<4} {p['ms']:.4f} ms  {kind:<12} kernel "
            f"{p['kernel']}, {p['grid'][0]}x{p['grid'][1]}x{p['grid'][2]} workgroups"
        )


def run_run(args: argparse.Namespace) -> int:
    from blkrew.compiler.api import load

    compiled = load(args.artifact)
    if args.profile and compiled.target != "spirv":
        raise ValueError(
            f"--profile times Vulkan launches; {args.artifact} is compiled for "
            f"{compiled.target!r}, not 'spirv'"
        )
    if args.input:
        if len(args.input) != len(compiled.input_specs):
            raise ValueError(
                f"{args.artifact} takes {len(compiled.input_specs)} input(s), "
                f"got {len(args.input)} --input file(s)"
            )
        inputs = []
        for path, spec in zip(args.input, compiled.input_specs, strict=True):
            array = np.load(path)
            if spec.dtype == "int32":
                # Indices (an embedding's token ids): kept integers.
                if not np.issubdtype(array.dtype, np.integer):
                    raise ValueError(
                        f"{path}: the model takes integer indices for this "
                        f"input, got {array.dtype}"
                    )
                inputs.append(torch.from_numpy(array.astype(np.int64)))
            else:
                inputs.append(torch.from_numpy(array.astype(np.float32)))
    else:
        # Random floats; integer inputs (indices) all 0, which every
        # embedding holds.
        gen = torch.Generator().manual_seed(0)
        inputs = [
            torch.zeros(s.shape, dtype=torch.int64)
            if s.dtype == "int32"
            else torch.randn(s.shape, generator=gen)
            for s in compiled.input_specs
        ]
    times = []
    for _ in range(max(1, args.repeat)):
        start = time.perf_counter()
        out = compiled(*inputs)
        times.append(time.perf_counter() - start)
    first = out if isinstance(out, torch.Tensor) else out[0]
    print(f"{compiled!r}")
    print(f"  output {list(first.shape)}: min {first.min():.4g} max {first.max():.4g}")
    median_ms = sorted(times)[len(times) // 2] * 1e3
    where = ""
    if compiled.target == "spirv":
        # lavapipe is Mesa's CPU driver: its times are not GPU figures.
        where = f" on Vulkan device {compiled.device_name!r}"
    print(f"  median of {len(times)} run(s){where}: {median_ms:.3f} ms")
    if args.profile:
        _print_profile(compiled, inputs)
    if args.output:
        np.save(args.output, first.numpy())
        print(f"  wrote {args.output}")
    return 0
