"""Pruning quality on scikit-learn's digits: BLK-REW vs its baselines.

For the digits CNN and the digits GRU, and for each seed, trains

* a dense baseline for the full epoch budget, and
* ``reweighted`` (BLK-REW), ``group_lasso`` and ``magnitude`` at 8x and 16x
  block compression (8x4 blocks, column scheme), each with the same budget:
  pretrain + regularized (or, for magnitude, plain) training + masked retrain;
* for the GRU, one extra honest row: BLK-REW 8x with the first RNN's input
  matrix pruned too (``skip_rnn_input=False``).

Prints a markdown table (mean over seeds; per-seed values in the JSON) and
writes ``bench/results/prune_quality.{json,md}``. Runs the trainings in
``--jobs`` processes with one torch thread each. A benchmark, not a test:
``python bench/prune_quality.py`` (about 5-10 minutes on 2 cores).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).resolve().parent / "results"

# Per-model recipe. The epoch budget is the same for every method and for the
# dense baseline (which trains pretrain + regularize + retrain epochs). lam/eps
# were picked from a small grid (see docs/pruning.md), Adam throughout.
RECIPES: dict[str, dict[str, Any]] = {
    "digits-cnn": {
        "epochs": (10, 15, 5),  # pretrain, regularize, retrain
        "lr": 2e-3,
        "batch_size": 64,
        "reweighted": {"lam": 1e-3, "eps": 1e-6},
        "group_lasso": {"lam": 1e-3},
    },
    "digits-gru": {
        "epochs": (20, 25, 15),
        "lr": 5e-3,
        "batch_size": 64,
        "reweighted": {"lam": 1e-4, "eps": 1e-5},
        "group_lasso": {"lam": 1e-3},
    },
}
METHODS = ("reweighted", "group_lasso", "magnitude")
BLOCK = (8, 4)
SCHEME = "column"


def _model(name: str):
    import blkrew

    if name == "digits-cnn":
        return blkrew.models.digits_cnn()
    return blkrew.models.digits_gru(hidden=128)


def run_one(job: dict[str, Any]) -> dict[str, Any]:
    """One training run (executed in a worker process)."""
    import torch
    from torch.utils.data import DataLoader

    import blkrew
    from blkrew.data import digits_dataset
    from blkrew.prune import evaluate, fit, train_epochs

    torch.set_num_threads(1)
    t0 = time.perf_counter()
    model_name, method, seed = job["model"], job["method"], job["seed"]
    recipe = RECIPES[model_name]
    kind = "image" if model_name == "digits-cnn" else "sequence"
    torch.manual_seed(seed)
    model = _model(model_name)
    gen = torch.Generator().manual_seed(seed)
    train = DataLoader(
        digits_dataset(kind, "train"),
        batch_size=recipe["batch_size"],
        shuffle=True,
        generator=gen,
    )
    test = DataLoader(digits_dataset(kind, "test"), batch_size=512)
    pre, reg, re = recipe["epochs"]
    out = dict(job)
    if method == "dense":
        train_epochs(model, train, pre + reg + re, lr=recipe["lr"], progress=False)
        out["final"] = evaluate(model, test)
    else:
        params = dict(recipe.get(method, {}))
        cfg = blkrew.BlockPruneConfig(
            block=BLOCK,
            scheme=SCHEME,
            compression=job["compression"],
            method=method,
            skip_rnn_input=job.get("skip_rnn_input", True),
            **params,
        )
        res = fit(
            model,
            train,
            test,
            cfg,
            pretrain_epochs=pre,
            reg_epochs=reg,
            retrain_epochs=re,
            lr=recipe["lr"],
            progress=False,
        )
        summary = res.pruner.summary()
        out.update(
            before=res.acc_before_prune,
            after=res.acc_after_prune,
            final=res.acc_final,
            pruned_compression=summary["pruned_layers_compression"],
            overall_compression=summary["overall_compression"],
            lam=cfg.lam if method != "magnitude" else None,
            eps=cfg.eps if method == "reweighted" else None,
        )
    out["seconds"] = time.perf_counter() - t0
    return out


def jobs_for(seeds: list[int]) -> list[dict[str, Any]]:
    """All runs of the benchmark, longest (GRU) first."""
    jobs = []
    for model in ("digits-gru", "digits-cnn"):
        for seed in seeds:
            jobs.append({"model": model, "method": "dense", "seed": seed})
            for comp in (8.0, 16.0):
                for method in METHODS:
                    jobs.append(
                        {
                            "model": model,
                            "method": method,
                            "compression": comp,
                            "seed": seed,
                        }
                    )
            if model == "digits-gru":
                jobs.append(
                    {
                        "model": model,
                        "method": "reweighted",
                        "compression": 8.0,
                        "seed": seed,
                        "skip_rnn_input": False,
                    }
                )
    return jobs


def _mean(xs: list[float]) -> float:
    return statistics.fmean(xs)


def _sd(xs: list[float]) -> float:
    return statistics.stdev(xs) if len(xs) > 1 else 0.0


def aggregate(runs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Mean/sd over seeds per (model, method, compression, variant)."""
    groups: dict[tuple, list[dict[str, Any]]] = {}
    for r in runs:
        key = (
            r["model"],
            r["method"],
            r.get("compression", 1.0),
            r.get("skip_rnn_input", True),
        )
        groups.setdefault(key, []).append(r)
    dense = {
        k[0]: _mean([r["final"] for r in v])
        for k, v in groups.items()
        if k[1] == "dense"
    }
    rows = []
    for (model, method, comp, skip_in), rs in groups.items():
        rs = sorted(rs, key=lambda r: r["seed"])
        finals = [r["final"] for r in rs]
        row = {
            "model": model,
            "method": method,
            "compression": comp,
            "variant": "" if skip_in else "weight_ih_l0 pruned too",
            "seeds": [r["seed"] for r in rs],
            "final_per_seed": finals,
            "final_mean": _mean(finals),
            "final_sd": _sd(finals),
            "drop_vs_dense": dense[model] - _mean(finals),
            "seconds_mean": _mean([r["seconds"] for r in rs]),
        }
        if method != "dense":
            row["after_prune_mean"] = _mean([r["after"] for r in rs])
            row["before_prune_mean"] = _mean([r["before"] for r in rs])
            row["pruned_compression"] = rs[0]["pruned_compression"]
            row["overall_compression"] = rs[0]["overall_compression"]
            row["lam"] = rs[0].get("lam")
            row["eps"] = rs[0].get("eps")
        rows.append(row)
    order = {"dense": 0, "reweighted": 1, "group_lasso": 2, "magnitude": 3}
    rows.sort(
        key=lambda r: (r["model"], r["compression"], r["variant"], order[r["method"]])
    )
    return rows


def checks(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The quality bar, evaluated on the aggregated rows."""

    def find(model: str, method: str, comp: float) -> dict[str, Any]:
        return next(
            r
            for r in rows
            if r["model"] == model
            and r["method"] == method
            and r["compression"] == comp
            and not r["variant"]
        )

    out = []
    for model, limit in (("digits-cnn", 0.3), ("digits-gru", 0.5)):
        r = find(model, "reweighted", 8.0)
        out.append(
            {
                "check": f"{model} reweighted 8x: drop <= {limit} points",
                "value": r["drop_vs_dense"],
                "pass": r["drop_vs_dense"] <= limit,
            }
        )
    for model in ("digits-cnn", "digits-gru"):
        finals = {m: find(model, m, 16.0)["final_mean"] for m in METHODS}
        best = max(finals, key=finals.get)
        out.append(
            {
                "check": f"{model} 16x: reweighted has the best final accuracy",
                "value": {k: round(v, 2) for k, v in finals.items()},
                "pass": best == "reweighted" or finals["reweighted"] == finals[best],
            }
        )
    return out


def markdown(rows: list[dict[str, Any]], chk: list[dict[str, Any]], meta: dict) -> str:
    """The results as a markdown document."""
    lines = [
        "# Pruning quality on digits (BLK-REW vs baselines)",
        "",
        f"Block {BLOCK[0]}x{BLOCK[1]}, scheme `{SCHEME}`, seeds {meta['seeds']}, "
        f"test split = last 20% of a fixed permutation (359 images: one image is "
        f"0.28 points). Default skips: first conv, classifier, first RNN's "
        f"input matrix. Generated by `{meta['command']}` in "
        f"{meta['wall_seconds']:.0f} s with {meta['jobs']} processes.",
        "",
    ]
    for model, rec in RECIPES.items():
        pre, reg, re = rec["epochs"]
        lines.append(
            f"- `{model}`: budget {pre + reg + re} epochs for every row "
            f"(dense: {pre + reg + re} plain; pruned: {pre} pretrain + {reg} "
            f"regularized/plain + {re} masked retrain), Adam lr {rec['lr']:g} with "
            f"cosine decay per phase, batch {rec['batch_size']}; reweighted "
            f"lam {rec['reweighted']['lam']:g} eps {rec['reweighted']['eps']:g} "
            f"(alpha updated after every epoch); group lasso lam "
            f"{rec['group_lasso']['lam']:g}"
        )
    lines += [
        "",
        "| model | method | target | compression (pruned layers / all) "
        "| acc. after hard prune | final acc. (mean ± sd) | drop vs dense "
        "| per seed |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        method = r["method"] + (f" ({r['variant']})" if r["variant"] else "")
        if r["method"] == "dense":
            comp, target, after = "1.00x / 1.00x", "-", "-"
        else:
            comp = f"{r['pruned_compression']:.2f}x / {r['overall_compression']:.2f}x"
            target = f"{r['compression']:g}x"
            after = f"{r['after_prune_mean']:.2f}"
        lines.append(
            f"| {r['model']} | {method} | {target} | {comp} | {after} "
            f"| {r['final_mean']:.2f} ± {r['final_sd']:.2f} "
            f"| {r['drop_vs_dense']:+.2f} "
            f"| {', '.join(f'{x:.2f}' for x in r['final_per_seed'])} |"
        )
    lines += ["", "## Quality bar", ""]
    for c in chk:
        v = c["value"]
        v = f"{v:+.2f}" if isinstance(v, float) else json.dumps(v)
        lines.append(f"- {'PASS' if c['pass'] else 'FAIL'}: {c['check']} ({v})")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--jobs", type=int, default=min(2, os.cpu_count() or 1))
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args(argv)

    t0 = time.perf_counter()
    jobs = jobs_for(args.seeds)
    print(f"{len(jobs)} training runs on {args.jobs} process(es)...", flush=True)
    runs = []
    ctx = get_context("spawn")
    with ProcessPoolExecutor(max_workers=args.jobs, mp_context=ctx) as pool:
        for i, r in enumerate(pool.map(run_one, jobs), 1):
            runs.append(r)
            tag = f"{r['model']} {r['method']} {r.get('compression', 1.0):g}x"
            print(
                f"[{i}/{len(jobs)}] {tag} seed {r['seed']}: final {r['final']:.2f}"
                f" ({r['seconds']:.1f} s)",
                flush=True,
            )
    rows = aggregate(runs)
    chk = checks(rows)
    meta = {
        "seeds": args.seeds,
        "jobs": args.jobs,
        "wall_seconds": time.perf_counter() - t0,
        "command": "python bench/prune_quality.py"
        + (
            f" --seeds {' '.join(map(str, args.seeds))}"
            if args.seeds != [0, 1, 2]
            else ""
        ),
        "block": list(BLOCK),
        "scheme": SCHEME,
        "recipes": RECIPES,
    }
    md = markdown(rows, chk, meta)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "prune_quality.json").write_text(
        json.dumps({"meta": meta, "rows": rows, "checks": chk, "runs": runs}, indent=2)
        + "\n"
    )
    (args.out / "prune_quality.md").write_text(md)
    print()
    print(md)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
