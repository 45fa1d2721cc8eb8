"""Configuration of BLK-REW block pruning: block shape, scheme, method, targets.

A :class:`BlockPruneConfig` holds the model-wide defaults and per-layer
overrides. :func:`resolve_layers` turns it into one :class:`LayerSettings` per
prunable weight: the ``weight`` of ``nn.Linear``/``nn.Conv1d``/``nn.Conv2d``, every
``weight_ih_l*``/``weight_hh_l*`` (and ``_reverse``, and LSTM ``weight_hr_l*``)
of ``nn.GRU``/``nn.LSTM``, and the input projections of
``nn.MultiheadAttention``: ``in_proj_weight`` (query, key and value stacked,
pruned as three gates like an RNN's) or, where the key and value dimensions
differ from the embedding's, ``q_proj_weight``, ``k_proj_weight`` and
``v_proj_weight``. Its output projection ``out_proj`` is an ``nn.Linear``.

Defaults (see ``docs/pruning.md``): every such weight is pruned with the
config's block, scheme and compression, except

* the **first convolution** of the model (``skip_first_conv=True``): it sees
  the raw image and has very few columns (``C*kh*kw`` = 9 or 27), so it costs
  little compute and loses the most accuracy when pruned;
* the **classifier**, i.e. the last ``nn.Linear`` of the model
  (``skip_classifier=True``): it is tiny (``classes x features``) and every row
  is one class score;
* the **input matrix of the first RNN**, ``weight_ih_l0`` (and
  ``weight_ih_l0_reverse``) of the model's first GRU/LSTM
  (``skip_rnn_input=True``): the RNN analog of the first conv. It has only
  ``input_size`` columns per gate (8 on digits) and pruning it cuts raw input
  features away from whole blocks of hidden units; on the digits GRU, 8x on
  ``weight_ih_l0`` alone costs ~4 points while 8x on ``weight_hh_l0`` costs
  none (see ``docs/pruning.md``). Deeper layers' ``weight_ih_l{k}`` are pruned;
* **depthwise convolutions** (``groups`` equal to the input channels): a
  filter has only ``kh*kw`` weights, and the compiler runs them with a kernel
  of their own that has no use for zeros. They are skipped with that reason
  unless an override sets ``skip=False``, in which case each filter is pruned
  in the per-group view ``W[F, kh*kw]``. Other grouped convolutions are
  pruned in that per-group view ``W[F, C/groups*kh*kw]``: the compiler runs
  them as the ungrouped convolution with a block-diagonal filter, whose
  blocks keep the kept columns of their group.

Overrides take precedence over these defaults: ``overrides={"fc1": {"skip":
True}, "Conv2d": {"block": (4, 4)}, nn.GRU: {"compression": 4.0},
"rnn.weight_ih_l0": {"skip": False}}``. A key is a module name (as in
``model.named_modules()``), a prunable parameter's full name, a module type, or
a type's name (``"Linear"``, ``"Conv1d"``, ``"Conv2d"``, ``"GRU"``, ``"LSTM"``,
``"MultiheadAttention"``). Precedence:
type < module name < parameter name.
"""

from __future__ import annotations

import math
import operator
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from typing import Any

from torch import nn

__all__ = [
    "BlockPruneConfig",
    "LayerOverride",
    "LayerSettings",
    "METHODS",
    "PRUNABLE_TYPES",
    "SCHEMES",
    "parse_block",
    "resolve_layers",
]

SCHEMES = ("column", "row", "bcr")
METHODS = ("reweighted", "group_lasso", "magnitude")
PRUNABLE_TYPES: tuple[type[nn.Module], ...] = (
    nn.Linear,
    nn.Conv1d,
    nn.Conv2d,
    nn.GRU,
    nn.LSTM,
    nn.MultiheadAttention,
)
_TYPE_NAMES = {t.__name__: t for t in PRUNABLE_TYPES}


def parse_block(block: Any) -> tuple[int, int]:
    """Validates a block shape ``(p, q)``; accepts ``"8x4"`` strings as well.

    Raises ``ValueError`` unless both sizes are positive integers.
    """
    if isinstance(block, str):
        parts = block.lower().replace(",", "x").split("x")
        try:
            block = tuple(int(s) for s in parts)
        except ValueError:
            raise ValueError(
                f"invalid block {block!r}: expected 'PxQ' with positive integers, "
                "e.g. '8x4'"
            ) from None
    try:
        p, q = block
    except (TypeError, ValueError):
        raise ValueError(
            f"invalid block {block!r}: expected two positive integers (p rows, "
            "q columns), e.g. (8, 4)"
        ) from None
    try:
        if isinstance(p, bool) or isinstance(q, bool):
            raise TypeError
        p, q = operator.index(p), operator.index(q)
    except TypeError:
        p = q = 0
    if p <= 0 or q <= 0:
        raise ValueError(
            f"invalid block {block!r}: both sizes must be positive integers "
            "(p rows x q columns of the GEMM view), e.g. (8, 4)"
        )
    return int(p), int(q)


def _check_compression(c: Any, where: str) -> float:
    try:
        value = float(c)
    except (TypeError, ValueError):
        raise ValueError(
            f"{where}: compression must be a number >= 1, got {c!r}"
        ) from None
    if not math.isfinite(value) or value < 1.0:
        raise ValueError(
            f"{where}: compression must be a finite number >= 1 (total weights / "
            f"kept weights; 1 keeps everything), got {c!r}"
        )
    return value


def _check_scheme(s: Any, where: str) -> str:
    if s not in SCHEMES:
        raise ValueError(
            f"{where}: unknown scheme {s!r}; allowed: {', '.join(SCHEMES)}"
        )
    return s


def _check_lam(v: Any, where: str) -> float:
    value = float(v)
    if not math.isfinite(value) or value < 0:
        raise ValueError(f"{where}: lam must be a finite number >= 0, got {v!r}")
    return value


def _check_eps(v: Any, where: str) -> float:
    value = float(v)
    if not math.isfinite(value) or value <= 0:
        raise ValueError(f"{where}: eps must be a finite number > 0, got {v!r}")
    return value


@dataclass(frozen=True)
class LayerOverride:
    """Per-layer settings; ``None`` means "use the model-wide value"."""

    block: tuple[int, int] | str | None = None
    scheme: str | None = None
    compression: float | None = None
    skip: bool | None = None
    lam: float | None = None
    eps: float | None = None

    @classmethod
    def coerce(cls, value: Any, key: Any) -> LayerOverride:
        """Builds an override from a mapping (or returns it unchanged)."""
        if isinstance(value, LayerOverride):
            out = value
        elif isinstance(value, Mapping):
            allowed = {f.name for f in fields(cls)}
            bad = sorted(str(k) for k in value if k not in allowed)
            if bad:
                raise ValueError(
                    f"override for {key!r}: unknown key(s) {', '.join(bad)}; "
                    f"allowed: {', '.join(sorted(allowed))}"
                )
            out = cls(**dict(value))
        else:
            raise ValueError(
                f"override for {key!r} must be a dict or LayerOverride, got "
                f"{type(value).__name__}"
            )
        where = f"override for {key!r}"
        if out.block is not None:
            out = replace(out, block=parse_block(out.block))
        if out.scheme is not None:
            _check_scheme(out.scheme, where)
        if out.compression is not None:
            out = replace(out, compression=_check_compression(out.compression, where))
        if out.lam is not None:
            out = replace(out, lam=_check_lam(out.lam, where))
        if out.eps is not None:
            out = replace(out, eps=_check_eps(out.eps, where))
        return out


@dataclass
class BlockPruneConfig:
    """Model-wide BLK-REW settings.

    Args:
        block: ``(p, q)``: p rows by q columns of the GEMM view of a weight.
        scheme: ``"column"`` (inside each block, whole columns of p elements
            are kept or removed), ``"row"`` (whole rows of q elements) or
            ``"bcr"`` (both; a weight survives when its block-column and its
            block-row both survive).
        compression: target per layer, total weights / kept weights (>= 1).
        method: ``"reweighted"`` (BLK-REW: ``lam * sum alpha_g ||W_g||^2``
            with ``alpha_g <- 1/(||W_g||^2 + eps)`` at every reweight),
            ``"group_lasso"`` (``lam * sum ||W_g||_2``, the usual unsquared
            group lasso, alpha fixed) or ``"magnitude"`` (no regularizer;
            hard prune by group norm).
        lam: regularization strength (per layer via ``overrides``).
        eps: the reweighting epsilon.
        skip_first_conv: leave the model's first convolution (``nn.Conv1d``
            or ``nn.Conv2d``) dense.
        skip_classifier: leave the model's last ``nn.Linear`` dense.
        skip_rnn_input: leave ``weight_ih_l0`` (and ``_reverse``) of the
            model's first GRU/LSTM dense: it reads the raw input features.
        overrides: per-layer :class:`LayerOverride` (or dicts), keyed by
            module name, module type or type name.
    """

    block: tuple[int, int] | str = (8, 4)
    scheme: str = "column"
    compression: float = 8.0
    method: str = "reweighted"
    lam: float = 1e-4
    eps: float = 1e-5
    skip_first_conv: bool = True
    skip_classifier: bool = True
    skip_rnn_input: bool = True
    overrides: dict[Any, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.block = parse_block(self.block)
        _check_scheme(self.scheme, "BlockPruneConfig")
        self.compression = _check_compression(self.compression, "BlockPruneConfig")
        if self.method not in METHODS:
            raise ValueError(
                f"BlockPruneConfig: unknown method {self.method!r}; allowed: "
                f"{', '.join(METHODS)}"
            )
        self.lam = _check_lam(self.lam, "BlockPruneConfig")
        self.eps = _check_eps(self.eps, "BlockPruneConfig")
        if not isinstance(self.overrides, Mapping):
            raise ValueError("BlockPruneConfig: overrides must be a dict")
        self.overrides = {
            k: LayerOverride.coerce(v, k) for k, v in dict(self.overrides).items()
        }

    def to_dict(self) -> dict[str, Any]:
        """A JSON-friendly description (used by reports and state dicts)."""

        def key(k: Any) -> str:
            return k.__name__ if isinstance(k, type) else str(k)

        return {
            "block": list(self.block),
            "scheme": self.scheme,
            "compression": self.compression,
            "method": self.method,
            "lam": self.lam,
            "eps": self.eps,
            "skip_first_conv": self.skip_first_conv,
            "skip_classifier": self.skip_classifier,
            "skip_rnn_input": self.skip_rnn_input,
            "overrides": {
                key(k): {f.name: getattr(v, f.name) for f in fields(v)}
                for k, v in self.overrides.items()
            },
        }


@dataclass(frozen=True)
class LayerSettings:
    """The resolved settings of one prunable weight (one parameter)."""

    name: str  # full parameter name, e.g. "features.3.weight", "rnn.weight_hh_l0"
    module: str  # owning module's name
    param: str  # attribute name on the module, e.g. "weight", "weight_hh_l0"
    kind: str  # module type name
    gates: int  # matrices stacked along dim 0 (GRU 3, LSTM 4, else 1)
    block: tuple[int, int]
    scheme: str
    compression: float
    lam: float
    eps: float
    skip: bool
    reason: str = ""

    @property
    def pruned(self) -> bool:
        """Whether the pruner acts on this weight."""
        return not self.skip and self.compression > 1.0


def _weights(name: str, mod: nn.Module) -> list[tuple[str, str, int]]:
    """``(full name, attribute, gates)`` of the prunable weights of a module."""
    out = []
    if isinstance(mod, nn.RNNBase):
        gates = 3 if isinstance(mod, nn.GRU) else 4
        for pname, _ in mod.named_parameters(recurse=False):
            if pname.startswith(("weight_ih_l", "weight_hh_l")):
                g = gates
            elif pname.startswith("weight_hr_l"):  # LSTM projection: one matrix
                g = 1
            else:
                continue  # biases
            out.append((f"{name}.{pname}" if name else pname, pname, g))
    elif isinstance(mod, nn.MultiheadAttention):
        # Query, key and value projections: stacked in one matrix (three
        # gates, each blocked on its own) or three separate ones.
        if mod.in_proj_weight is not None:
            params = [("in_proj_weight", 3)]
        else:
            params = [
                (p, 1) for p in ("q_proj_weight", "k_proj_weight", "v_proj_weight")
            ]
        for pname, g in params:
            out.append((f"{name}.{pname}" if name else pname, pname, g))
    else:
        out.append((f"{name}.weight" if name else "weight", "weight", 1))
    return out


def _apply(settings: dict[str, Any], ov: LayerOverride, source: str) -> None:
    for f in fields(ov):
        value = getattr(ov, f.name)
        if value is None:
            continue
        settings[f.name] = value
        if f.name == "skip":
            settings["reason"] = f"skipped by override {source}" if value else ""
            settings["forced"] = not value


def resolve_layers(model: nn.Module, cfg: BlockPruneConfig) -> list[LayerSettings]:
    """One :class:`LayerSettings` per prunable weight, in module order.

    Precedence: model-wide values and default skips < type overrides <
    module-name overrides < parameter-name overrides. Raises ``ValueError``
    when an override key names nothing in the model.
    """
    all_modules = dict(model.named_modules())
    modules = [(n, m) for n, m in all_modules.items() if isinstance(m, PRUNABLE_TYPES)]
    weights = {full: (n, m, a, g) for n, m in modules for full, a, g in _weights(n, m)}
    for key in cfg.overrides:
        if isinstance(key, type):
            if not issubclass(key, nn.Module):
                raise ValueError(f"override key {key!r} is not an nn.Module type")
            continue
        if not isinstance(key, str):
            raise ValueError(
                f"override key {key!r} must be a module name, a parameter name, "
                "a module type or a type name"
            )
        if key in weights or any(n == key for n, _ in modules):
            continue
        if key in all_modules:
            raise ValueError(
                f"override for {key!r}: that module is a "
                f"{type(all_modules[key]).__name__}, which is not prunable; "
                f"prunable types: {', '.join(_TYPE_NAMES)}"
            )
        if key in _TYPE_NAMES:
            continue
        names = ", ".join(n for n, _ in modules) or "(none)"
        raise ValueError(
            f"override for {key!r}: no such layer in the model; prunable layers: "
            f"{names} (or one of their weights, e.g. 'rnn.weight_hh_l0'); or a "
            f"type name ({', '.join(_TYPE_NAMES)})"
        )

    convs = (nn.Conv1d, nn.Conv2d)
    first_conv = next((n for n, m in modules if isinstance(m, convs)), None)
    first_rnn = next((n for n, m in modules if isinstance(m, nn.RNNBase)), None)
    classifier = next(
        (n for n, m in reversed(modules) if isinstance(m, nn.Linear)), None
    )
    out = []
    for full, (name, mod, attr, gates) in weights.items():
        s: dict[str, Any] = {
            "block": cfg.block,
            "scheme": cfg.scheme,
            "compression": cfg.compression,
            "lam": cfg.lam,
            "eps": cfg.eps,
            "skip": False,
            "reason": "",
            "forced": False,
        }
        if cfg.skip_first_conv and name == first_conv:
            s["skip"], s["reason"] = True, "first convolution (skip_first_conv=True)"
        if cfg.skip_classifier and name == classifier:
            s["skip"], s["reason"] = True, "classifier (skip_classifier=True)"
        if (
            cfg.skip_rnn_input
            and name == first_rnn
            and attr in ("weight_ih_l0", "weight_ih_l0_reverse")
        ):
            s["skip"] = True
            s["reason"] = "input matrix of the first RNN (skip_rnn_input=True)"
        for key, ov in cfg.overrides.items():
            if isinstance(key, type) and isinstance(mod, key):
                _apply(s, ov, f"for type {key.__name__}")
            elif (
                isinstance(key, str)
                and key in _TYPE_NAMES
                and key not in all_modules
                and isinstance(mod, _TYPE_NAMES[key])
            ):
                _apply(s, ov, f"for type {key}")
        if name in cfg.overrides:
            _apply(s, cfg.overrides[name], f"for {name!r}")
        if full in cfg.overrides:
            _apply(s, cfg.overrides[full], f"for {full!r}")
        if (
            isinstance(mod, convs)
            and mod.groups > 1
            and mod.groups == mod.in_channels
            and not s["forced"]
        ):
            s["skip"] = True
            s["reason"] = (
                f"depthwise convolution (groups={mod.groups}): kh*kw weights per "
                "filter, run by a kernel of its own; an override with "
                "skip=False prunes it in the per-group view"
            )
        if not s["skip"] and s["compression"] == 1.0:
            s["reason"] = "compression 1 (kept dense)"
        out.append(
            LayerSettings(
                name=full,
                module=name,
                param=attr,
                kind=type(mod).__name__,
                gates=gates,
                block=s["block"],
                scheme=s["scheme"],
                compression=s["compression"],
                lam=s["lam"],
                eps=s["eps"],
                skip=bool(s["skip"]),
                reason=s["reason"],
            )
        )
    return out
