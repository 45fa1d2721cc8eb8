"""The BLK-REW training recipe: (dense pretraining) -> regularized training ->
hard prune -> masked retraining, with tqdm progress bars.

Works on a plain model or on a ``torch.nn.parallel.DistributedDataParallel``
wrapper (e.g. under ``torchrun``, gloo on CPU): the regularizer is computed
per parameter on each rank, gradients are averaged by DDP as usual, masks are
computed from the synchronized weights and broadcast from rank 0, validation
counts are summed over ranks, and only rank 0 draws progress bars.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import nn
from tqdm.auto import tqdm

from blkrew.prune.config import BlockPruneConfig
from blkrew.prune.reweighted import ReweightedPruner, unwrap

__all__ = ["FitResult", "evaluate", "fit", "train_epochs"]

OPTIMIZERS = ("adam", "sgd")


def _dist() -> tuple[int, int]:
    d = torch.distributed
    if d.is_available() and d.is_initialized():
        return d.get_rank(), d.get_world_size()
    return 0, 1


def _device_of(model: nn.Module) -> torch.device:
    p = next(model.parameters(), None)
    return p.device if p is not None else torch.device("cpu")


@torch.no_grad()
def evaluate(model: nn.Module, loader: Iterable) -> float:
    """Top-1 accuracy in percent (summed over ranks under torch.distributed).

    Uses the unwrapped module, so no DDP collective runs per batch.
    """
    net = unwrap(model)
    was_training = net.training
    net.eval()
    device = _device_of(net)
    correct = torch.zeros(2, dtype=torch.float64)
    for x, y in loader:
        out = net(x.to(device))
        correct[0] += (out.argmax(1).cpu() == y).sum().item()
        correct[1] += y.numel()
    _, world = _dist()
    if world > 1:
        torch.distributed.all_reduce(correct)
    net.train(was_training)
    return 100.0 * float(correct[0] / correct[1]) if correct[1] else math.nan


def _make_optimizer(
    name: str, params: Iterable[nn.Parameter], lr: float, weight_decay: float
) -> torch.optim.Optimizer:
    if name == "adam":
        return torch.optim.Adam(params, lr=lr, weight_decay=weight_decay)
    if name == "sgd":
        return torch.optim.SGD(
            params, lr=lr, momentum=0.9, nesterov=True, weight_decay=weight_decay
        )
    raise ValueError(f"unknown optimizer {name!r}; allowed: {', '.join(OPTIMIZERS)}")


def train_epochs(
    model: nn.Module,
    train_loader: Iterable,
    epochs: int,
    *,
    lr: float = 1e-3,
    optimizer: str = "adam",
    weight_decay: float = 0.0,
    penalty: Callable[[], torch.Tensor] | None = None,
    on_epoch_end: Callable[[int], None] | None = None,
    val_loader: Iterable | None = None,
    loss_fn: Callable[..., torch.Tensor] | None = None,
    phase: str = "train",
    progress: bool = True,
    history: list[dict[str, Any]] | None = None,
) -> list[dict[str, Any]]:
    """Trains ``epochs`` epochs with a fresh optimizer and a cosine learning
    rate; ``penalty()`` (if given) is added to the loss. Returns the history
    (one dict per epoch)."""
    history = [] if history is None else history
    if epochs <= 0:
        return history
    loss_fn = loss_fn or nn.functional.cross_entropy
    rank, _ = _dist()
    device = _device_of(unwrap(model))
    opt = _make_optimizer(optimizer, model.parameters(), lr, weight_decay)
    steps_per_epoch = len(train_loader)  # type: ignore[arg-type]
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, epochs * steps_per_epoch)
    bar = tqdm(
        total=epochs * steps_per_epoch,
        desc=phase,
        disable=not (progress and rank == 0),
        dynamic_ncols=True,
        leave=True,
    )
    model.train()
    try:
        for epoch in range(epochs):
            sampler = getattr(train_loader, "sampler", None)
            if hasattr(sampler, "set_epoch"):
                sampler.set_epoch(epoch)
            t0 = time.perf_counter()
            tot_loss = tot_pen = 0.0
            n = 0
            for x, y in train_loader:
                x, y = x.to(device), y.to(device)
                opt.zero_grad(set_to_none=True)
                loss = loss_fn(model(x), y)
                pen = penalty() if penalty is not None else None
                total = loss + pen if pen is not None else loss
                total.backward()
                opt.step()
                sched.step()
                tot_loss += float(loss.detach())
                tot_pen += float(pen.detach()) if pen is not None else 0.0
                n += 1
                bar.update(1)
                if n % 10 == 0 or n == steps_per_epoch:
                    post = {
                        "epoch": f"{epoch + 1}/{epochs}",
                        "loss": f"{tot_loss / n:.4f}",
                    }
                    if penalty is not None:
                        post["penalty"] = f"{tot_pen / n:.4f}"
                    bar.set_postfix(post)
            if on_epoch_end is not None:
                on_epoch_end(epoch)
            rec: dict[str, Any] = {
                "phase": phase,
                "epoch": epoch + 1,
                "loss": tot_loss / max(1, n),
                "penalty": tot_pen / max(1, n),
                "seconds": time.perf_counter() - t0,
            }
            if val_loader is not None and epoch == epochs - 1:
                rec["val_acc"] = evaluate(model, val_loader)
                bar.set_postfix(
                    epoch=f"{epoch + 1}/{epochs}", val=f"{rec['val_acc']:.2f}"
                )
            history.append(rec)
    finally:
        bar.close()
    return history


@dataclass
class FitResult:
    """What :func:`fit` did and measured."""

    pruner: ReweightedPruner
    history: list[dict[str, Any]] = field(default_factory=list)
    acc_before_prune: float = math.nan
    acc_after_prune: float = math.nan
    acc_final: float = math.nan
    schedule: dict[str, Any] = field(default_factory=dict)


def fit(
    model: nn.Module,
    train_loader: Iterable,
    val_loader: Iterable | None,
    cfg: BlockPruneConfig,
    *,
    pretrain_epochs: int = 0,
    reg_epochs: int = 10,
    retrain_epochs: int = 10,
    lr: float = 1e-3,
    retrain_lr: float | None = None,
    optimizer: str = "adam",
    weight_decay: float = 0.0,
    reweight_every: int = 1,
    loss_fn: Callable[..., torch.Tensor] | None = None,
    progress: bool = True,
    pruner: ReweightedPruner | None = None,
) -> FitResult:
    """Runs BLK-REW on ``model`` (plain or DDP-wrapped) in three phases.

    1. ``pretrain_epochs`` of plain training (optional), then ``reg_epochs``
       with ``loss + pruner.penalty()``; for ``method="reweighted"`` alpha is
       recomputed after every ``reweight_every`` epochs (and once before the
       phase when the model was pretrained here). ``magnitude`` trains without
       a regularizer, ``group_lasso`` keeps alpha at 1.
    2. :meth:`ReweightedPruner.hard_prune` (masks identical on all ranks).
    3. ``retrain_epochs`` of masked retraining (fresh optimizer, cosine LR
       from ``retrain_lr``, default ``lr``).

    Every phase uses a fresh optimizer (``"adam"`` or ``"sgd"`` with Nesterov
    momentum 0.9) and a cosine learning-rate decay. Returns a
    :class:`FitResult` with the pruner, the per-epoch history and the
    validation accuracy before pruning, right after it and at the end.
    """
    if optimizer not in OPTIMIZERS:
        raise ValueError(f"unknown optimizer {optimizer!r}; allowed: adam, sgd")
    for name, v in (
        ("pretrain_epochs", pretrain_epochs),
        ("reg_epochs", reg_epochs),
        ("retrain_epochs", retrain_epochs),
    ):
        if int(v) < 0:
            raise ValueError(f"{name} must be >= 0, got {v}")
    if int(reweight_every) < 1:
        raise ValueError(f"reweight_every must be >= 1, got {reweight_every}")
    pruner = pruner if pruner is not None else ReweightedPruner(model, cfg)
    result = FitResult(pruner=pruner)
    result.schedule = {
        "method": cfg.method,
        "lam": cfg.lam,
        "eps": cfg.eps,
        "pretrain_epochs": pretrain_epochs,
        "reg_epochs": reg_epochs,
        "retrain_epochs": retrain_epochs,
        "lr": lr,
        "retrain_lr": retrain_lr if retrain_lr is not None else lr,
        "optimizer": optimizer,
        "weight_decay": weight_decay,
        "reweight_every": reweight_every,
    }
    common = {
        "optimizer": optimizer,
        "weight_decay": weight_decay,
        "loss_fn": loss_fn,
        "progress": progress,
        "history": result.history,
        "val_loader": val_loader,
    }
    train_epochs(
        model, train_loader, pretrain_epochs, lr=lr, phase="pretrain", **common
    )
    use_penalty = cfg.method != "magnitude"
    if cfg.method == "reweighted" and pretrain_epochs > 0:
        pruner.reweight()

    def after_epoch(epoch: int) -> None:
        if cfg.method == "reweighted" and (epoch + 1) % reweight_every == 0:
            pruner.reweight()

    train_epochs(
        model,
        train_loader,
        reg_epochs,
        lr=lr,
        penalty=pruner.penalty if use_penalty else None,
        on_epoch_end=after_epoch,
        phase="regularize" if use_penalty else "train",
        **common,
    )
    if val_loader is not None:
        result.acc_before_prune = evaluate(model, val_loader)
    pruner.hard_prune()
    if val_loader is not None:
        result.acc_after_prune = evaluate(model, val_loader)
    train_epochs(
        model,
        train_loader,
        retrain_epochs,
        lr=retrain_lr if retrain_lr is not None else lr,
        phase="retrain",
        **common,
    )
    pruner.apply_masks()
    if val_loader is not None:
        result.acc_final = evaluate(model, val_loader)
    return result
