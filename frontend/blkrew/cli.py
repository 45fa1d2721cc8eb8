"""The ``blkrew`` command line.

Subcommands live in one table, :data:`COMMANDS`: each entry has a help line, a
function that adds its arguments to an ``argparse`` parser and a function that
runs it and returns the exit status. Adding ``compile``/``run``/``demo``/
``bench`` is one :func:`register` call each.

    blkrew prune --model digits-cnn --compression 8 --block 8x4 \\
        --scheme column --out out/prune
    blkrew compile --model digits-cnn --checkpoint out/prune/model.pt \\
        --target host --out out/compiled
    blkrew run out/compiled --repeat 100
    blkrew demo
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

__all__ = ["COMMANDS", "Command", "build_parser", "main", "register"]


@dataclass(frozen=True)
class Command:
    """One subcommand: ``configure(parser)`` adds arguments, ``run(args)``
    executes and returns the exit status."""

    help: str
    configure: Callable[[argparse.ArgumentParser], None]
    run: Callable[[argparse.Namespace], int]


COMMANDS: dict[str, Command] = {}


def register(
    name: str,
    help: str,
    configure: Callable[[argparse.ArgumentParser], None],
    run: Callable[[argparse.Namespace], int],
) -> None:
    """Adds a subcommand to :data:`COMMANDS`."""
    COMMANDS[name] = Command(help, configure, run)


# --------------------------------------------------------------------- prune


def _configure_prune(p: argparse.ArgumentParser) -> None:
    from blkrew.models import MODELS
    from blkrew.prune import METHODS, SCHEMES

    p.add_argument("--model", required=True, choices=sorted(MODELS), help="zoo model")
    p.add_argument("--compression", type=float, default=8.0, help="per layer, >= 1")
    p.add_argument("--block", default="8x4", help="PxQ block (rows x columns)")
    p.add_argument("--scheme", default="column", choices=SCHEMES)
    p.add_argument("--method", default="reweighted", choices=METHODS)
    p.add_argument("--lam", type=float, default=None, help="regularization strength")
    p.add_argument("--eps", type=float, default=None, help="reweighting epsilon")
    p.add_argument("--pretrain-epochs", type=int, default=5)
    p.add_argument("--reg-epochs", type=int, default=10)
    p.add_argument("--retrain-epochs", type=int, default=5)
    p.add_argument(
        "--epochs",
        type=int,
        default=None,
        help="shortcut: split N epochs 1:2:1 over the three phases",
    )
    p.add_argument("--lr", type=float, default=2e-3)
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--reweight-every", type=int, default=1, help="epochs")
    p.add_argument(
        "--prune-first-conv",
        action="store_true",
        help="also prune the first convolution (skipped by default)",
    )
    p.add_argument(
        "--prune-classifier",
        action="store_true",
        help="also prune the last Linear layer (skipped by default)",
    )
    p.add_argument(
        "--prune-rnn-input",
        action="store_true",
        help="also prune the first RNN's weight_ih_l0 (skipped by default)",
    )
    p.add_argument(
        "--data",
        type=Path,
        default=None,
        help="CIFAR-10 python batches folder (CIFAR models only)",
    )
    p.add_argument(
        "--limit",
        type=int,
        default=None,
        help="use only the first N training samples (smoke tests)",
    )
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=None, help="torch threads")
    p.add_argument("--out", type=Path, required=True, help="output folder")
    p.add_argument("--no-images", action="store_true", help="skip mask PNGs")
    p.add_argument("--no-progress", action="store_true", help="no progress bars")


def _run_prune(args: argparse.Namespace) -> int:
    import torch
    from torch.utils.data import DataLoader, Subset

    import blkrew
    from blkrew.data import get_datasets
    from blkrew.models import MODELS, get_model
    from blkrew.prune import fit, format_table, write_report

    if args.threads:
        torch.set_num_threads(args.threads)
    if args.epochs is not None:
        if args.epochs < 3:
            raise ValueError(f"--epochs must be >= 3, got {args.epochs}")
        quarter = max(1, args.epochs // 4)
        args.pretrain_epochs = quarter
        args.retrain_epochs = quarter
        args.reg_epochs = args.epochs - 2 * quarter
    kwargs = {}
    if args.lam is not None:
        kwargs["lam"] = args.lam
    if args.eps is not None:
        kwargs["eps"] = args.eps
    cfg = blkrew.BlockPruneConfig(
        block=args.block,
        scheme=args.scheme,
        compression=args.compression,
        method=args.method,
        skip_first_conv=not args.prune_first_conv,
        skip_classifier=not args.prune_classifier,
        skip_rnn_input=not args.prune_rnn_input,
        **kwargs,
    )
    spec = MODELS[args.model]
    train_ds, test_ds = get_datasets(spec.dataset, root=args.data)
    if args.limit is not None:
        train_ds = Subset(train_ds, range(min(args.limit, len(train_ds))))
    torch.manual_seed(args.seed)
    model = get_model(args.model)
    gen = torch.Generator().manual_seed(args.seed)
    train = DataLoader(
        train_ds, batch_size=args.batch_size, shuffle=True, generator=gen
    )
    test = DataLoader(test_ds, batch_size=512)
    t0 = time.perf_counter()
    res = fit(
        model,
        train,
        test,
        cfg,
        pretrain_epochs=args.pretrain_epochs,
        reg_epochs=args.reg_epochs,
        retrain_epochs=args.retrain_epochs,
        lr=args.lr,
        reweight_every=args.reweight_every,
        progress=not args.no_progress,
    )
    args.out.mkdir(parents=True, exist_ok=True)
    extra = {
        "model": args.model,
        "accuracy_before_prune": res.acc_before_prune,
        "accuracy_after_prune": res.acc_after_prune,
        "accuracy_final": res.acc_final,
        "train_seconds": time.perf_counter() - t0,
        "schedule": res.schedule,
        "history": res.history,
    }
    paths = write_report(res.pruner, args.out, extra=extra, images=not args.no_images)
    torch.save(model.state_dict(), args.out / "model.pt")
    print(format_table(res.pruner.layer_stats()))
    s = res.pruner.summary()
    print(
        f"\n{args.model}: accuracy {res.acc_before_prune:.2f} before prune, "
        f"{res.acc_after_prune:.2f} right after, {res.acc_final:.2f} after "
        f"retraining; pruned layers {s['pruned_layers_compression']:.2f}x, all "
        f"weights {s['overall_compression']:.2f}x"
    )
    print(f"report: {paths['md']}  {paths['json']}  model: {args.out / 'model.pt'}")
    return 0


register(
    "prune",
    "BLK-REW: train, block-prune and retrain a zoo model",
    _configure_prune,
    _run_prune,
)


# ------------------------------------------------------ compile / run / demo


def _configure_compile(p: argparse.ArgumentParser) -> None:
    from blkrew.compiler.commands import configure_compile

    configure_compile(p)


def _run_compile(args: argparse.Namespace) -> int:
    from blkrew.compiler.commands import run_compile

    return run_compile(args)


def _configure_run(p: argparse.ArgumentParser) -> None:
    from blkrew.compiler.commands import configure_run

    configure_run(p)


def _run_run(args: argparse.Namespace) -> int:
    from blkrew.compiler.commands import run_run

    return run_run(args)


def _configure_demo(p: argparse.ArgumentParser) -> None:
    p.add_argument("demo_args", nargs=argparse.REMAINDER, help="see make demo")


def _run_demo(args: argparse.Namespace) -> int:
    from blkrew.demo import main as demo_main

    return demo_main(args.demo_args)


register(
    "compile",
    "compile a (pruned) zoo model for the host or AArch64",
    _configure_compile,
    _run_compile,
)
register(
    "run",
    "run a compiled artifact folder (AArch64 ones under qemu)",
    _configure_run,
    _run_run,
)
register("demo", "prune, compile and run the digits CNN", _configure_demo, _run_demo)


# ---------------------------------------------------------------------- main


def build_parser() -> argparse.ArgumentParser:
    """The top-level parser with one sub-parser per :data:`COMMANDS` entry."""
    parser = argparse.ArgumentParser(
        prog="blkrew", description="BLK-REW block pruning and block-sparse compiler"
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name, cmd in COMMANDS.items():
        cmd.configure(sub.add_parser(name, help=cmd.help, description=cmd.help))
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``blkrew`` script; returns the exit status.

    ``ValueError``/``TypeError``/``FileNotFoundError`` from a subcommand (bad
    input) print one ``blkrew <command>: error: ...`` line and return 2; a
    failed compile or tool run prints ``... failed: ...`` and returns 1.
    """
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(COMMANDS[args.command].run(args) or 0)
    except (ValueError, TypeError, FileNotFoundError, NotADirectoryError) as e:
        print(f"blkrew {args.command}: error: {e}", file=sys.stderr)
        return 2
    except RuntimeError as e:  # CompileError, BlkRewOptError, ToolchainError
        print(f"blkrew {args.command}: failed: {e}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    raise SystemExit(main())
