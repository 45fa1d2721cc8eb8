"""BLK-REW: reweighted group regularization, hard pruning and masked retraining.

:class:`ReweightedPruner` attaches to a model (or a ``DistributedDataParallel``
wrapper of one) and, for every weight it prunes, keeps:

* ``alpha``: one reweighting factor per group (initially 1);
* a mask, registered as a bool **buffer** ``<param>_blkrew_mask`` on the
  owning module, so it is part of ``model.state_dict()`` and survives
  save/load. Construct the pruner on a fresh model *before*
  ``model.load_state_dict(pruned_state)`` and the masks come back (and are
  enforced right away).

Masks are kept in force by three hooks: a gradient hook on each pruned
parameter (masked gradient), an optimizer step post-hook (re-applies the mask
after any ``torch.optim`` optimizer steps those parameters, so momentum or
weight decay cannot re-grow pruned weights) and a ``load_state_dict`` post-hook
(re-applies after loading). Biases, BatchNorm and every other parameter are
never touched.
"""

from __future__ import annotations

import math
import weakref
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn
from torch.optim.optimizer import register_optimizer_step_post_hook

from blkrew.prune.config import BlockPruneConfig, LayerSettings, resolve_layers
from blkrew.prune.groups import group_sqnorms, select_mask

__all__ = ["MASK_SUFFIX", "PruneTarget", "ReweightedPruner", "unwrap"]

MASK_SUFFIX = "_blkrew_mask"
# Group lasso's sqrt has an infinite derivative at 0: add this inside.
_LASSO_TINY = 1e-12

_LIVE: weakref.WeakSet[ReweightedPruner] = weakref.WeakSet()
_STEP_HOOK: Any = None


def unwrap(model: nn.Module) -> nn.Module:
    """The module inside a DataParallel/DistributedDataParallel wrapper."""
    while isinstance(
        model, nn.DataParallel | nn.parallel.DistributedDataParallel
    ) and hasattr(model, "module"):
        model = model.module
    return model


def _optimizer_step_post_hook(optimizer: torch.optim.Optimizer, *_: Any) -> None:
    ids = {id(p) for group in optimizer.param_groups for p in group["params"]}
    for pruner in list(_LIVE):
        pruner._apply_masks_to(ids)


def _ensure_step_hook() -> None:
    global _STEP_HOOK
    if _STEP_HOOK is None:
        _STEP_HOOK = register_optimizer_step_post_hook(_optimizer_step_post_hook)


@dataclass
class PruneTarget:
    """One pruned weight: ``module.<param_name>`` seen as ``gates`` matrices."""

    name: str  # full parameter name, e.g. "features.3.weight"
    module_name: str
    module: nn.Module
    param_name: str
    gates: int
    settings: LayerSettings

    @property
    def param(self) -> nn.Parameter:
        return getattr(self.module, self.param_name)

    @property
    def mask_buffer(self) -> str:
        return self.param_name + MASK_SUFFIX

    @property
    def mask(self) -> torch.Tensor:
        return getattr(self.module, self.mask_buffer)

    def view(self, t: torch.Tensor) -> torch.Tensor:
        """``[G, M, K]`` GEMM view of a tensor shaped like the parameter."""
        return t.reshape(self.gates, t.shape[0] // self.gates, -1)

    @property
    def gemm_shape(self) -> tuple[int, int]:
        w = self.param
        return w.shape[0] // self.gates, w.numel() // w.shape[0]


def _check_finite(name: str, t: torch.Tensor, when: str) -> None:
    if not bool(torch.isfinite(t).all()):
        bad = int((~torch.isfinite(t)).sum())
        raise ValueError(
            f"{when}: parameter {name!r} has {bad} NaN/Inf value(s); block "
            "pruning needs finite weights (check the training run or the "
            "checkpoint)"
        )


class ReweightedPruner:
    """BLK-REW pruner; see the module docstring and ``docs/pruning.md``.

    Args:
        model: the model (or a DDP/DataParallel wrapper). Mask buffers and
            hooks are added to its modules.
        cfg: a :class:`BlockPruneConfig`.

    Raises:
        ValueError: bad config/overrides, or NaN/Inf in a weight to prune.
    """

    def __init__(self, model: nn.Module, cfg: BlockPruneConfig | None = None) -> None:
        self.cfg = cfg if cfg is not None else BlockPruneConfig()
        if not isinstance(self.cfg, BlockPruneConfig):
            raise ValueError(
                f"cfg must be a BlockPruneConfig, got {type(self.cfg).__name__}"
            )
        self.model = unwrap(model)
        self.layers = resolve_layers(self.model, self.cfg)
        modules = dict(self.model.named_modules())
        self.targets: list[PruneTarget] = [
            PruneTarget(s.name, s.module, modules[s.module], s.param, s.gates, s)
            for s in self.layers
            if s.pruned
        ]
        for t in self.targets:
            _check_finite(t.name, t.param.detach(), "ReweightedPruner")
        self.alpha: dict[str, dict[str, torch.Tensor]] = {}
        self._handles: list[Any] = []
        self._hooked_modules: set[int] = set()
        for t in self.targets:
            self._init_target(t)
        self._active = any(not bool(t.mask.all()) for t in self.targets)
        self.reweight_count = 0
        self.pruned = self._active
        _LIVE.add(self)
        _ensure_step_hook()

    # ------------------------------------------------------------------ setup

    def _init_target(self, t: PruneTarget) -> None:
        w = t.param
        if not hasattr(t.module, t.mask_buffer):
            t.module.register_buffer(
                t.mask_buffer, torch.ones_like(w, dtype=torch.bool), persistent=True
            )
        ones = {
            kind: torch.ones_like(v, dtype=torch.float32)
            for kind, v in group_sqnorms(
                t.view(w.detach()), t.settings.block, t.settings.scheme
            ).items()
        }
        self.alpha[t.name] = ones

        def grad_hook(grad: torch.Tensor, t: PruneTarget = t) -> torch.Tensor | None:
            if not self._active:
                return None
            return grad * t.mask.to(grad.dtype)

        self._handles.append(w.register_hook(grad_hook))
        if id(t.module) not in self._hooked_modules:
            self._hooked_modules.add(id(t.module))

            def load_hook(module: nn.Module, _keys: Any) -> None:
                self._on_load(module)

            self._handles.append(t.module.register_load_state_dict_post_hook(load_hook))

    def _on_load(self, module: nn.Module) -> None:
        targets = [t for t in self.targets if t.module is module]
        if any(not bool(t.mask.all()) for t in targets):
            self._active = True
            self.pruned = True
        if self._active:
            with torch.no_grad():
                for t in targets:
                    t.param.mul_(t.mask.to(t.param.dtype))

    def _apply_masks_to(self, param_ids: set[int]) -> None:
        if not self._active:
            return
        with torch.no_grad():
            for t in self.targets:
                w = t.param
                if id(w) in param_ids:
                    w.mul_(t.mask.to(w.dtype))

    # ------------------------------------------------------------- public API

    @property
    def masks(self) -> dict[str, torch.Tensor]:
        """``{parameter name: bool mask shaped like the weight}`` (all True
        before :meth:`hard_prune`)."""
        return {t.name: t.mask.detach().clone() for t in self.targets}

    def named_targets(self) -> Iterator[tuple[str, PruneTarget]]:
        """The pruned weights, by full parameter name."""
        for t in self.targets:
            yield t.name, t

    def penalty(self) -> torch.Tensor:
        """The regularizer, a differentiable scalar tensor.

        reweighted: ``sum_l lam_l * sum_g alpha_g * ||W_g||_2^2``;
        group_lasso: ``sum_l lam_l * sum_g sqrt(||W_g||_2^2 + 1e-12)``;
        magnitude: 0. For bcr both the column and the row groups count.
        """
        method = self.cfg.method
        total: torch.Tensor | None = None
        if method != "magnitude":
            for t in self.targets:
                s = t.settings
                if s.lam == 0.0:
                    continue
                norms = group_sqnorms(t.view(t.param), s.block, s.scheme)
                term = None
                for kind, sq in norms.items():
                    if method == "reweighted":
                        v = (self.alpha[t.name][kind].to(sq) * sq).sum()
                    else:
                        v = torch.sqrt(sq + _LASSO_TINY).sum()
                    term = v if term is None else term + v
                term = s.lam * term
                total = term if total is None else total + term
        if total is None:
            ref = next(iter(self.model.parameters()), None)
            device = ref.device if ref is not None else None
            return torch.zeros((), device=device)
        return total

    @torch.no_grad()
    def reweight(self) -> None:
        """``alpha_g <- 1 / (||W_g||_2^2 + eps)`` from the current weights.

        Only the ``reweighted`` method reweights; for ``group_lasso`` and
        ``magnitude`` this is a no-op (alpha stays 1).
        """
        if self.cfg.method != "reweighted":
            return
        for t in self.targets:
            s = t.settings
            for kind, sq in group_sqnorms(t.view(t.param), s.block, s.scheme).items():
                self.alpha[t.name][kind] = (1.0 / (sq.float() + s.eps)).detach()
        self.reweight_count += 1

    update_weights = reweight

    @torch.no_grad()
    def hard_prune(self, sync: bool = True) -> dict[str, torch.Tensor]:
        """Fixes the masks at each layer's target compression and zeroes the
        pruned weights; enables the masked-retraining hooks.

        Under ``torch.distributed`` (``sync=True``) the masks are broadcast
        from rank 0 so every rank holds the same masks. Returns :attr:`masks`.
        """
        for t in self.targets:
            _check_finite(t.name, t.param, "hard_prune")
        self.selections: dict[str, list[Any]] = {}
        for t in self.targets:
            s = t.settings
            mask3, sels = select_mask(
                t.view(t.param.detach()), s.block, s.scheme, s.compression
            )
            t.mask.copy_(mask3.reshape(t.param.shape))
            self.selections[t.name] = sels
        if sync:
            self.broadcast_masks(src=0)
        self._active = True
        self.pruned = True
        self.apply_masks()
        return self.masks

    @torch.no_grad()
    def broadcast_masks(self, src: int = 0) -> None:
        """Copies rank ``src``'s masks to every rank (no-op without
        ``torch.distributed`` or with one process)."""
        dist = torch.distributed
        if not (dist.is_available() and dist.is_initialized()):
            return
        if dist.get_world_size() < 2:
            return
        for t in self.targets:
            buf = t.mask.to(torch.uint8)
            dist.broadcast(buf, src=src)
            t.mask.copy_(buf.bool())

    @torch.no_grad()
    def apply_masks(self) -> None:
        """Zeroes the pruned weights (and their gradients, when present)."""
        for t in self.targets:
            w = t.param
            m = t.mask.to(w.dtype)
            w.mul_(m)
            if w.grad is not None:
                w.grad.mul_(m)

    def attach_optimizer(self, optimizer: torch.optim.Optimizer) -> Any:
        """Optional: an explicit post-step hook on one optimizer. The pruner
        already re-applies masks after *every* torch optimizer step through a
        global hook; this exists for optimizers that bypass it."""
        return optimizer.register_step_post_hook(
            lambda opt, *_: self._apply_masks_to(
                {id(p) for g in opt.param_groups for p in g["params"]}
            )
        )

    def set_masks(self, masks: dict[str, torch.Tensor]) -> None:
        """Installs given masks (by parameter name) and applies them."""
        known = {t.name: t for t in self.targets}
        for name, m in masks.items():
            if name not in known:
                raise ValueError(
                    f"set_masks: {name!r} is not a pruned parameter; known: "
                    f"{', '.join(known)}"
                )
            t = known[name]
            if tuple(m.shape) != tuple(t.param.shape):
                raise ValueError(
                    f"set_masks: mask for {name!r} has shape {tuple(m.shape)}, "
                    f"the weight has {tuple(t.param.shape)}"
                )
            with torch.no_grad():
                t.mask.copy_(m.to(torch.bool))
        self._active = True
        self.pruned = True
        self.apply_masks()

    def state_dict(self) -> dict[str, Any]:
        """Masks, alphas and the config; :meth:`load_state_dict` restores it."""
        return {
            "config": self.cfg.to_dict(),
            "masks": self.masks,
            "alpha": {
                n: {k: v.clone() for k, v in a.items()} for n, a in self.alpha.items()
            },
            "pruned": self.pruned,
            "reweight_count": self.reweight_count,
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restores :meth:`state_dict` output (masks are applied)."""
        for name, a in state.get("alpha", {}).items():
            if name in self.alpha:
                self.alpha[name] = {k: v.clone() for k, v in a.items()}
        self.reweight_count = int(state.get("reweight_count", 0))
        if state.get("pruned", True):
            self.set_masks(state["masks"])

    def remove(self, keep_buffers: bool = False) -> None:
        """Detaches the pruner: removes its hooks (and, unless
        ``keep_buffers``, the mask buffers). Pruned weights stay zero, so the
        model is a plain ``nn.Module`` again, e.g. for export/compilation."""
        if self._active:
            self.apply_masks()
        for h in self._handles:
            h.remove()
        self._handles.clear()
        if not keep_buffers:
            for t in self.targets:
                if t.mask_buffer in t.module._buffers:
                    del t.module._buffers[t.mask_buffer]
        self._active = False
        _LIVE.discard(self)

    # -------------------------------------------------------------- reporting

    def layer_stats(self) -> list[dict[str, Any]]:
        """One row per prunable weight: shape, GEMM view, block, scheme, kept
        groups, kept/total weights and the achieved compression (skipped
        weights carry their reason)."""
        rows: list[dict[str, Any]] = []
        targets = {t.name: t for t in self.targets}
        modules = dict(self.model.named_modules())
        for s in self.layers:
            w = getattr(modules[s.module], s.param)
            row: dict[str, Any] = {
                "name": s.name,
                "kind": s.kind,
                "shape": list(w.shape),
                "gemm": [w.shape[0], w.numel() // w.shape[0]],
                "gates": s.gates,
                "block": list(s.block),
                "scheme": s.scheme,
                "lam": s.lam,
                "eps": s.eps,
                "target_compression": s.compression if s.pruned else 1.0,
                "pruned": False,
                "reason": s.reason,
                "total": w.numel(),
                "kept": w.numel(),
                "compression": 1.0,
                "groups_kept": None,
                "groups_total": None,
            }
            t = targets.get(s.name)
            if t is not None:
                kept = int(t.mask.sum())
                ind = group_sqnorms(t.view(t.mask).float(), s.block, s.scheme)
                row.update(
                    pruned=self.pruned,
                    kept=kept,
                    compression=(w.numel() / kept) if kept else math.inf,
                    groups_kept={k: int((v > 0).sum()) for k, v in ind.items()},
                    groups_total={k: v.numel() for k, v in ind.items()},
                )
            rows.append(row)
        return rows

    def summary(self) -> dict[str, Any]:
        """Model-level totals over the GEMM weights of Linear/Conv2d/GRU/LSTM
        layers (BatchNorm and biases excluded): the pruned layers alone, and
        all of them (skipped layers count as dense)."""
        rows = self.layer_stats()
        pruned_total = sum(r["total"] for r in rows if r["pruned"])
        pruned_kept = sum(r["kept"] for r in rows if r["pruned"])
        all_w = sum(r["total"] for r in rows)
        kept_all = sum(r["kept"] for r in rows)
        return {
            "method": self.cfg.method,
            "config": self.cfg.to_dict(),
            "pruned_weights_total": pruned_total,
            "pruned_weights_kept": pruned_kept,
            "pruned_layers_compression": (
                pruned_total / pruned_kept if pruned_kept else math.inf
            ),
            "all_weights_total": all_w,
            "all_weights_kept": kept_all,
            "overall_compression": all_w / kept_all if kept_all else math.inf,
            "reweight_count": self.reweight_count,
        }
