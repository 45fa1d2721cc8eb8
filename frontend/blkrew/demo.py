"""``make demo``: prune, compile and run a model on bundled data.

1. Trains the digits CNN (scikit-learn's bundled 8x8 digits) densely.
2. Prunes a copy with BLK-REW (8x4 blocks, column scheme, 8x per pruned
   layer): reweighted group regularization, hard prune, masked retraining;
   writes the per-layer table and block-mask images.
3. Compiles the pruned model for the host, for AArch64 (NEON) and for a
   mobile GPU (SPIR-V / Vulkan), and the dense model for the host, through
   torch-mlir and blkrew-opt.
4. Runs the digits test set through the compiled host module and prints:
   dense vs pruned accuracy, PyTorch vs compiled agreement, per-layer
   sparsity, and batch-1 latency of compiled sparse vs compiled dense vs
   PyTorch (medians, one thread each); checks the AArch64 build under qemu
   and runs the test set through the SPIR-V build on the Vulkan device at
   hand (lavapipe, Mesa's CPU driver, when there is no GPU).
"""

from __future__ import annotations

import argparse
import copy
import itertools
import json
import time
from pathlib import Path

import torch
from torch.utils.data import DataLoader

from blkrew.timing import interleaved_ms

__all__ = ["main"]


def _median_ms(fns: dict, inputs) -> dict:
    """Median latency (ms) of each function over `inputs`, interleaved
    (blkrew.timing): each round runs the next input through every function
    in turn, so the machine's slow phases and cache state hit all alike.
    Timed one after another, the first module measured looked slower than
    it is."""
    streams = {name: itertools.cycle(inputs) for name in fns}
    calls = {
        name: (lambda fn=fn, xs=streams[name]: fn(next(xs))) for name, fn in fns.items()
    }
    return interleaved_ms(calls, len(inputs))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("demo-out"))
    parser.add_argument("--dense-epochs", type=int, default=15)
    parser.add_argument("--reg-epochs", type=int, default=15)
    parser.add_argument("--retrain-epochs", type=int, default=10)
    parser.add_argument("--compression", type=float, default=8.0)
    parser.add_argument("--qemu-samples", type=int, default=16)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--no-progress", action="store_true")
    args = parser.parse_args(argv)

    import blkrew
    from blkrew.compiler.api import compile
    from blkrew.data import get_datasets
    from blkrew.models import get_model
    from blkrew.prune import evaluate, fit, format_table, train_epochs, write_report

    out = args.out
    out.mkdir(parents=True, exist_ok=True)
    progress = not args.no_progress
    torch.manual_seed(args.seed)
    train_ds, test_ds = get_datasets("digits-image", seed=args.seed)
    gen = torch.Generator().manual_seed(args.seed)
    train = DataLoader(train_ds, batch_size=64, shuffle=True, generator=gen)
    test = DataLoader(test_ds, batch_size=512)
    t_start = time.perf_counter()

    print(
        f"== 1. dense training: digits CNN, {len(train_ds)} train / "
        f"{len(test_ds)} test images"
    )
    dense = get_model("digits-cnn")
    train_epochs(
        dense, train, args.dense_epochs, lr=2e-3, phase="dense", progress=progress
    )
    dense_acc = evaluate(dense, test)

    print(f"== 2. BLK-REW: 8x4 blocks, column scheme, {args.compression:g}x")
    pruned = copy.deepcopy(dense)
    cfg = blkrew.BlockPruneConfig(
        block=(8, 4), scheme="column", compression=args.compression
    )
    result = fit(
        pruned,
        train,
        test,
        cfg,
        reg_epochs=args.reg_epochs,
        retrain_epochs=args.retrain_epochs,
        lr=2e-3,
        progress=progress,
    )
    stats = result.pruner.layer_stats()
    summary = result.pruner.summary()
    paths = write_report(
        result.pruner,
        out / "prune",
        extra={"dense_accuracy": dense_acc, "schedule": result.schedule},
    )
    result.pruner.remove()  # a plain nn.Module again, zeros in its weights
    pruned.eval()
    dense.eval()
    torch.save(pruned.state_dict(), out / "prune" / "model.pt")

    print("== 3. compiling (torch-mlir -> blkrew-opt -> LLVM / SPIR-V)")
    x1 = test_ds[0][0].unsqueeze(0)
    # One thread everywhere, so the latencies compare like with like.
    sparse_host = compile(
        pruned, x1, target="host", threads=1, workdir=out / "compiled-host"
    )
    dense_host = compile(
        dense, x1, target="host", threads=1, workdir=out / "compiled-dense"
    )
    sparse_arm = compile(pruned, x1, target="aarch64", workdir=out / "compiled-aarch64")
    sparse_spirv = compile(pruned, x1, target="spirv", workdir=out / "compiled-spirv")

    print("== 4. running the test set through the compiled host module")
    torch.set_num_threads(1)  # as the compiled modules
    xs = [x.unsqueeze(0) for x, _ in test_ds]
    ys = torch.tensor([int(y) for _, y in test_ds])
    with torch.no_grad():
        ref = torch.cat([pruned(x) for x in xs])
    got = torch.cat([sparse_host(x) for x in xs])
    compiled_acc = (got.argmax(1) == ys).float().mean().item() * 100
    agree = (got.argmax(1) == ref.argmax(1)).float().mean().item() * 100
    max_diff = (got - ref).abs().max().item()
    with torch.no_grad():
        t = _median_ms(
            {"torch": pruned, "sparse": sparse_host, "dense": dense_host}, xs
        )
    t_torch, t_sparse, t_dense = t["torch"], t["sparse"], t["dense"]
    arm_x = xs[: args.qemu_samples]
    arm_got = torch.cat([sparse_arm(x) for x in arm_x])
    arm_diff = (arm_got - ref[: len(arm_x)]).abs().max().item()
    from blkrew.runtime.vulkan import VulkanError

    try:
        gpu_got = torch.cat([sparse_spirv(x) for x in xs])
        gpu_diff = (gpu_got - ref).abs().max().item()
        spirv = sparse_spirv.manifest["spirv"]
        gpu_line = (
            f"max |diff| {gpu_diff:.1e} over {len(xs)} images on "
            f"{sparse_spirv.device_name}; {spirv['kernels']} kernels, "
            f"{spirv['dispatches']} launches, spirv-val "
            f"{'passed' if spirv['spirv_val'] else 'not run'}"
        )
    except VulkanError as e:  # no Vulkan on this machine: say so, go on
        gpu_diff = None
        gpu_line = f"not run: {e}"

    print()
    print(format_table(stats))
    print()
    lines = [
        ("dense accuracy (PyTorch)", f"{dense_acc:.2f} %"),
        ("pruned accuracy (PyTorch)", f"{result.acc_final:.2f} %"),
        ("pruned accuracy (compiled host)", f"{compiled_acc:.2f} %"),
        (
            "pruned layers compression",
            f"{summary['pruned_layers_compression']:.2f}x "
            f"(all weights {summary['overall_compression']:.2f}x)",
        ),
        (
            "PyTorch vs compiled",
            f"argmax agree {agree:.1f} %, max |diff| "
            f"{max_diff:.1e} over {len(xs)} images",
        ),
        ("AArch64 under qemu", f"max |diff| {arm_diff:.1e} on {len(arm_x)} images"),
        ("SPIR-V through Vulkan", gpu_line),
        (
            "kernels (host, pruned)",
            ", ".join(f"{k} {v}" for k, v in sparse_host.layers.items()),
        ),
        (
            "latency, batch 1, 1 thread",
            f"compiled sparse {t_sparse:.3f} ms | "
            f"compiled dense {t_dense:.3f} ms | "
            f"PyTorch {t_torch:.3f} ms (medians)",
        ),
        ("report", f"{paths['md']} and {out / 'prune' / 'masks'}/"),
        ("total time", f"{time.perf_counter() - t_start:.0f} s"),
    ]
    for label, text in lines:
        print(f"  {label:<32} {text}")
    report = {label: text for label, text in lines}
    report.update(
        {
            "dense_accuracy": dense_acc,
            "pruned_accuracy": result.acc_final,
            "compiled_accuracy": compiled_acc,
            "agreement": agree,
            "max_abs_diff": max_diff,
            "aarch64_max_abs_diff": arm_diff,
            "spirv_max_abs_diff": gpu_diff,
            "latency_ms": {
                "compiled_sparse": t_sparse,
                "compiled_dense": t_dense,
                "pytorch": t_torch,
            },
        }
    )
    (out / "demo.json").write_text(json.dumps(report, indent=2))
    print(f"\nwrote {out / 'demo.json'}")
    ok = (
        agree == 100.0
        and max_diff < 1e-3
        and arm_diff < 1e-3
        and (gpu_diff is None or gpu_diff < 1e-3)
    )
    if not ok:
        print("MISMATCH between PyTorch and the compiled model")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
