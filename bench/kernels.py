"""Block-sparse GEMM kernels: blkrew against its peers and the limit.

For GEMM shapes from the zoo (W[M, K] constant, X[K, N]), sparsities and
block shapes, all measured in one run at 1 and 2 threads (medians of
repeated runs; the machine is shared, so read the ratios):

- blkrew: ``blkrew.compile`` of ``W @ X`` (the packed kernel of
  ``convert-blkrew-to-vector``), threads as compiled; at 2 threads every
  kernel is threaded (``parallel_min_outputs=0``: by default, a kernel
  with fewer than 2^18 outputs needs 8 x 2^20 FMAs to be threaded, which
  most rows here do not have; see docs/compile.md), so the rows show what
  the kernel itself scales to;
- torch eager dense: ``W @ X`` (MKL);
- oneDNN dense: ``torch.utils.mkldnn.to_mkldnn(nn.Linear)`` on an mkldnn
  input (``X^T``, the same GEMM);
- torch sparse: ``W.to_sparse_csr() @ X`` and ``W.to_sparse_bsr(block) @ X``,
  the faster of the two (BSR is not supported on every shape on CPU);
- MLIR's sparsifier: ``linalg.matmul`` with W in a BSR encoding of the same
  block, lowered by upstream ``mlir-opt --sparsifier`` (bench/sparsifier.py;
  one thread: the upstream CPU pipeline does not thread);
- the limit: the useful FLOPs (2 * nonzeros * N) run as independent FMAs
  (``bench/native/fma_peak.c``) on as many threads as the row, timed in the
  same rounds;
- blkrew hot: blkrew's call timed right after an untimed one (operands in
  cache); every other figure is cache-cold, the peers having run between.

    .venv/bin/python bench/kernels.py             # or: make bench-kernels
    .venv/bin/python bench/kernels.py --quick     # the FC row only

Writes bench/results/kernels.json and bench/results/kernels.md.
"""

from __future__ import annotations

import argparse
import ctypes
import statistics
import subprocess
import tempfile
import time
import warnings
from pathlib import Path

# isort: off
# Before torch: bounded OpenMP spinning for both runtimes (see the module).
from openmp_env import SETTLE_S

# isort: on
import torch
import torch.utils.mkldnn
from torch import nn

from bench_io import run_meta, write_results
from blkrew.compiler.api import compile
from blkrew.compiler.mca import aarch64_assembly, inner_loop, mca_cycles
from blkrew.compiler.toolchain import LLVM_ROOT, llvm_tool
from blkrew.timing import interleaved_ms
from sparsifier import SparsifierBSR

HERE = Path(__file__).resolve().parent

# name: (M, K, N, where it comes from)
SHAPES = {
    "fc1024": (1024, 1024, 256, "FC 1024x1024, batch 256"),
    "vgg-conv3": (256, 2304, 64, "VGG-16 CIFAR conv3_x via im2col (8x8 maps)"),
    "vgg-conv4": (512, 4608, 16, "VGG-16 CIFAR conv4_x via im2col (4x4 maps)"),
    "gru-gates": (3072, 1024, 64, "GRU 1024 hidden, gates of 64 steps x batch"),
}
# N below the vector width: the kernel vectorizes along each row group
# instead (docs/compile.md). Fewer sparsities: these rows are short.
SMALL_N_SHAPES = {
    "fc1024-b1": (1024, 1024, 1, "FC 1024x1024, batch 1"),
    "vgg-conv5": (512, 4608, 4, "VGG-16 CIFAR conv5_x via im2col (2x2 maps)"),
}
SPARSITIES = (0.5, 0.75, 0.875, 0.9, 0.95)
SMALL_N_SPARSITIES = (0.75, 0.875, 0.9)
BLOCKS = ((4, 1), (8, 1), (4, 4), (8, 4), (16, 1))
THREADS = (1, 2)


# 2-thread rows also time "steady" calls: this many untimed calls (the
# warm-up of interleaved_ms runs the whole batch), then as many back to
# back, timed together (their mean). Between them the runtime's
# worker spins (KMP_BLOCKTIME=1 ms, see openmp_env) instead of sleeping, as
# in a loop serving one request after another; the plain and hot times
# include waking it.
STEADY_CALLS = 3


def block_pruned(m: int, k: int, sparsity: float, block, seed: int = 0):
    """A random W with a `sparsity` fraction of its p x q blocks zero."""
    p, q = block
    gen = torch.Generator().manual_seed(seed)
    w = torch.randn(m, k, generator=gen)
    gm, gk = -(-m // p), -(-k // q)
    keep = torch.rand(gm, gk, generator=gen) >= sparsity
    mask = keep.repeat_interleave(p, 0)[:m].repeat_interleave(q, 1)[:, :k]
    return w * mask


class WX(nn.Module):
    def __init__(self, w: torch.Tensor):
        super().__init__()
        self.w = nn.Parameter(w)

    def forward(self, x):
        return self.w @ x


def fma_kernel(workdir: Path):
    """``bench/native/fma_peak.c`` built here: ``fn(rounds, seed, threads)``
    runs ``rounds`` x ``fn.flops_per_round`` FLOPs of independent FMAs split
    over ``threads`` OpenMP threads (libomp, as blkrew's kernels)."""
    lib = workdir / "fma_peak.so"
    llvm_lib = LLVM_ROOT / "lib"
    subprocess.run(
        [
            str(llvm_tool("clang")),
            "-O3",
            "-march=native",
            "-fopenmp",
            "-shared",
            "-fPIC",
            str(HERE / "native" / "fma_peak.c"),
            "-o",
            str(lib),
            f"-L{llvm_lib}",
            f"-Wl,-rpath,{llvm_lib}",
        ],
        check=True,
    )
    native = ctypes.CDLL(str(lib))
    per_round = native.blkrew_fma_flops_per_round
    per_round.restype = ctypes.c_int64
    fn = native.blkrew_fma_peak_threads
    fn.argtypes = [ctypes.c_int64, ctypes.c_float, ctypes.c_int]
    fn.restype = ctypes.c_float
    fn.flops_per_round = per_round()
    return fn


def fma_peak_gflops(fma) -> float:
    """One core's f32 FMA peak, measured (median of 5)."""
    iterations = 20_000_000
    rates = []
    for _ in range(5):
        start = time.perf_counter()
        fma(iterations, 1e-4, 1)
        elapsed = time.perf_counter() - start
        rates.append(iterations * fma.flops_per_round / elapsed / 1e9)
    return statistics.median(rates)


def measure(name, sparsity, block, fma, repeat, workdir, threads_list=THREADS):
    m, k, n, _ = {**SHAPES, **SMALL_N_SHAPES}[name]
    w = block_pruned(m, k, sparsity, block)
    x = torch.randn(k, n)
    useful = 2 * int((w != 0).sum()) * n / 1e9  # GFLOP
    model = WX(w).eval()
    linear = nn.Linear(k, m, bias=False)
    with torch.no_grad():
        linear.weight.copy_(w)
    rows = []
    single = None  # the 1-thread build, timed again beside the threaded one
    for threads in threads_list:
        torch.set_num_threads(threads)
        compiled = compile(
            model,
            x,
            block=block,
            max_density=1.0,
            threads=threads,
            parallel_min_outputs=0 if threads > 1 else None,
            workdir=workdir / f"{name}-{sparsity}-{block[0]}x{block[1]}-{threads}",
        )
        with torch.no_grad():
            want = model(x)
            torch.testing.assert_close(compiled(x), want, rtol=1e-3, atol=1e-3)
            mkl = torch.utils.mkldnn.to_mkldnn(linear)
            xt = x.t().contiguous().to_mkldnn()
            # The limit is timed in the same rounds: the useful FLOPs as
            # independent FMAs on this many cores (the machine's speed
            # drifts by tens of percent between phases; a peak taken once
            # would not match every row). "blkrew_hot" is the same call
            # again right after an untimed one: caches warm, what the kernel
            # itself reaches; every peer is timed cache-cold like "blkrew".
            rounds = max(1, round(useful * 1e9 / fma.flops_per_round))
            fns = {
                "blkrew": lambda c=compiled: c(x),
                "blkrew_hot": lambda c=compiled: c(x),
            }
            if name in SMALL_N_SHAPES:
                # The small-N kernel waits on its weights: the same kernel
                # with them stored as f16 (compile(half_weights=True)),
                # checked against the product with the weights so rounded.
                # Timed hot, like "blkrew_hot": a cold call's time depends on
                # which contender ran before it (after oneDNN's dense weights
                # the f16 build was 0.86x as fast as the f32 one after a
                # sparse kernel; right after blkrew's hot call, 2.5x).
                half = compile(
                    model,
                    x,
                    block=block,
                    max_density=1.0,
                    threads=threads,
                    half_weights=True,
                    workdir=workdir / f"{name}-{sparsity}-{block[0]}x{block[1]}-f16",
                )
                torch.testing.assert_close(
                    half(x), w.half().float() @ x, rtol=1e-3, atol=1e-3
                )
                fns["blkrew_f16_hot"] = lambda c=half: c(x)
            fns |= {
                "dense": lambda: w @ x,
                "onednn": lambda f=mkl, a=xt: f(a),
                "limit": lambda n=rounds, t=threads: fma(n, 1e-4, t),
                # The limit timed as blkrew_hot is: right after an untimed
                # call, so at 2 threads with the workers awake; the cold
                # limit wakes them, and blkrew's hot time over it read 132%.
                "limit_hot": lambda n=rounds, t=threads: fma(n, 1e-4, t),
            }
            warm = {"blkrew_hot", "blkrew_f16_hot", "limit_hot"} & fns.keys()
            # Scaling is read from the same rounds: the machine's slow phases
            # last seconds, longer than one configuration's measurement. The
            # FMA loop's own scaling is the machine's ceiling for it.
            if threads == 1:
                single = compiled
            else:
                fns["blkrew_1thr"] = lambda c=single: c(x)
                fns["blkrew_1thr_hot"] = lambda c=single: c(x)
                fns["limit_1thr"] = lambda n=rounds: fma(n, 1e-4, 1)
                warm.add("blkrew_1thr_hot")
                steady = {
                    "blkrew_steady": lambda c=compiled: c(x),
                    "blkrew_1thr_steady": lambda c=single: c(x),
                    "limit_steady": lambda n=rounds, t=threads: fma(n, 1e-4, t),
                    "limit_1thr_steady": lambda n=rounds: fma(n, 1e-4, 1),
                }
                for key, fn in steady.items():
                    fns[key] = lambda fn=fn: [fn() for _ in range(STEADY_CALLS)]
                warm.update(steady)
            if threads == 1 and min(block) > 1:  # see sparsifier.UNSUPPORTED_1D
                spz = SparsifierBSR(
                    w,
                    block,
                    n,
                    workdir / f"{name}-{sparsity}-{block[0]}x{block[1]}-spz",
                )
                torch.testing.assert_close(spz(x), want, rtol=1e-3, atol=1e-3)
                fns["sparsifier"] = lambda f=spz: f(x)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                sparse_formats = {"csr": w.to_sparse_csr()}
                if m % block[0] == 0 and k % block[1] == 0:
                    sparse_formats["bsr"] = w.to_sparse_bsr(block)
                for fmt, ws in sparse_formats.items():
                    try:
                        ws @ x
                    except (RuntimeError, NotImplementedError):
                        continue  # torch has no CPU kernel for this format
                    fns[fmt] = lambda ws=ws: ws @ x
                # A fixed order: each cold call follows the other
                # contenders, not a hot call on its own operands.
                t = interleaved_ms(
                    fns,
                    repeat,
                    warm=warm,
                    settle_s=SETTLE_S if threads > 1 else 0.0,
                    shuffle=False,
                )
            t_blkrew, t_dense, t_onednn = t["blkrew"], t["dense"], t["onednn"]
            formats = [f for f in ("csr", "bsr") if f in t]
            best = min(formats, key=t.get) if formats else None
            sparse = (t[best], best) if best else None
        limit = t["limit"]

        def steady_ms(key, t=t):
            return t[key] / STEADY_CALLS if key in t else None

        rows.append(
            {
                "shape": name,
                "small_n": name in SMALL_N_SHAPES,
                "M": m,
                "K": k,
                "N": n,
                "sparsity": sparsity,
                "block": list(block),
                "threads": threads,
                "useful_gflop": useful,
                "blkrew_ms": t_blkrew,
                "blkrew_hot_ms": t["blkrew_hot"],
                "torch_dense_ms": t_dense,
                "onednn_dense_ms": t_onednn,
                "torch_sparse_ms": sparse[0] if sparse else None,
                "torch_sparse_format": sparse[1] if sparse else None,
                "mlir_sparsifier_ms": t.get("sparsifier"),
                "blkrew_f16_weights_hot_ms": t.get("blkrew_f16_hot"),
                "blkrew_1thr_same_rounds_ms": t.get("blkrew_1thr", t_blkrew),
                "blkrew_1thr_hot_same_rounds_ms": t.get(
                    "blkrew_1thr_hot", t["blkrew_hot"]
                ),
                "limit_ms": limit,
                "limit_hot_ms": t["limit_hot"],
                "limit_1thr_same_rounds_ms": t.get("limit_1thr", limit),
                "blkrew_steady_ms": steady_ms("blkrew_steady"),
                "blkrew_1thr_steady_same_rounds_ms": steady_ms("blkrew_1thr_steady"),
                "limit_steady_ms": steady_ms("limit_steady"),
                "limit_1thr_steady_same_rounds_ms": steady_ms("limit_1thr_steady"),
            }
        )
        print(
            f"  {name} {sparsity:.3f} {block[0]}x{block[1]} t={threads}: blkrew "
            f"{t_blkrew:.3f} ms ({useful / t_blkrew * 1e3:.0f} GFLOP/s; hot "
            f"{t['blkrew_hot']:.3f}, {t['limit_hot'] / t['blkrew_hot']:.0%} of peak)"
            f", dense "
            f"{t_dense:.3f}, oneDNN {t_onednn:.3f}, torch sparse "
            f"{sparse[0] if sparse else float('nan'):.3f}, MLIR sparsifier "
            f"{t.get('sparsifier', float('nan')):.3f}, limit {limit:.3f}"
            + (
                f", steady scaling {t['blkrew_1thr_steady'] / t['blkrew_steady']:.2f}x"
                f" (FMA {t['limit_1thr_steady'] / t['limit_steady']:.2f}x)"
                if threads > 1
                else ""
            ),
            flush=True,
        )
    return rows


MCA_CPUS = ("cortex-a76", "neoverse-n1")


def mca_estimates(workdir: Path) -> list[dict]:
    """llvm-mca cycle estimates for the AArch64 inner loop of the FC kernel,
    per block shape and CPU model: estimates, not measurements. The peak is
    the same model's, from a loop of 24 independent 128-bit FMLAs (LLVM's
    cortex-a76 model reuses Cortex-A57's 64-bit FP pipes and so halves
    the real A76 peak; neoverse-n1, the A76's server sibling, models two
    128-bit pipes)."""
    peak_loop = [f"fmla v{i}.4s, v30.4s, v31.4s" for i in range(24)]
    peaks = {cpu: 24 * 8 / mca_cycles(peak_loop, cpu) for cpu in MCA_CPUS}
    out = []
    m, k, n, _ = SHAPES["fc1024"]
    for block in ((8, 4), (4, 4), (16, 1)):
        w = block_pruned(m, k, 0.9, block)
        d = workdir / f"mca-{block[0]}x{block[1]}"
        compile(
            WX(w).eval(),
            torch.randn(k, n),
            target="aarch64",
            block=block,
            max_density=1.0,
            workdir=d,
        )
        asm = aarch64_assembly(d / "model.ll")
        loop = inner_loop(asm)
        if loop is None:
            continue
        fmas = sum(i.startswith("fmla") for i in loop)
        flops = fmas * 4 * 2  # 4 f32 lanes per NEON register
        for cpu in MCA_CPUS:
            cycles = mca_cycles(loop, cpu)
            out.append(
                {
                    "block": list(block),
                    "cpu": cpu,
                    "instructions": len(loop),
                    "fmla": fmas,
                    "cycles_per_iteration": cycles,
                    "flops_per_cycle": flops / cycles,
                    "model_peak_flops_per_cycle": peaks[cpu],
                }
            )
            print(
                f"  llvm-mca {cpu} {block[0]}x{block[1]}: {cycles:.1f} cycles per "
                f"kept column, {flops / cycles:.1f} FLOP/cycle (model peak "
                f"{peaks[cpu]:.0f})",
                flush=True,
            )
    return out


def markdown(rows, meta) -> str:
    large = [r for r in rows if not r.get("small_n")]
    small = [r for r in rows if r.get("small_n")]
    text = header_markdown(meta) + table_markdown(large, full=True)
    if small:
        text += (
            "\n## Small N: batch-1 FC and late convolutions\n\n"
            "N below the vector width: the kernel vectorizes along each row\n"
            "group (one accumulator per column of N, several sets of them over\n"
            "consecutive kept columns). Each weight feeds only N FMAs, so the\n"
            "weights' traffic weighs more than on the first table's rows;\n"
            "every time includes the call's own overhead (Python, the\n"
            "runtime), a visible share at these sizes.\n"
            "No limit columns: a few microseconds of FMAs, the limit's timed\n"
            "call would measure its own overhead. 1 thread only: so little\n"
            "work stays on the calling thread (parallel-min-fmas).\n"
            "f16 weights: the same kernel compiled with `half_weights=True`\n"
            "(each weight rounded to f16, extended to f32 as read; checked\n"
            "against the product with the rounded weights), timed hot in the\n"
            "same rounds; in brackets its speedup over the f32 build's hot\n"
            "time. Hot, because a cold call's time here depends on which\n"
            "contender ran before it (docs/bench.md).\n\n"
        ) + table_markdown(small, full=False)
    return text


def header_markdown(meta) -> str:
    lines = [
        "# Block-sparse GEMM kernels: blkrew, its peers and the limit",
        "",
        f"Measured {meta['date']} on {meta['machine']} with `{meta['command']}`;",
        f"medians of {meta['repeat']} interleaved rounds (each contender once per",
        "round, so slow phases of the shared machine hit all alike) after a",
        "warm-up. FMA peak measured at the start:",
        f"{meta['fma_peak_gflops']:.0f} GFLOP/s per core (`bench/native/fma_peak.c`).",
        "The machine is shared: read the ratios, which come from the same run.",
        "`x` columns are blkrew's speedup over each peer; GFLOP/s are *useful*",
        "(2 x nonzeros x N per second). limit = the useful FLOPs run as",
        "independent FMAs (`fma_peak.c`) on the row's thread count (OpenMP,",
        "libomp like blkrew), timed in the same rounds; % peak = limit over",
        "blkrew's time; % peak hot = the limit timed hot (right after an",
        "untimed call, as blkrew's hot call: at 2 threads the workers are",
        "awake) over blkrew's hot time. Every contender",
        "is timed cache-cold (the others ran in between); hot = blkrew's call",
        "again right after an untimed one, in the same rounds: what the kernel",
        "reaches with its operands in cache. Scaling: the 1-thread build's time",
        "over this row's, both timed in the same rounds, cold and hot (1.00x on",
        "1-thread rows); FMA scaling: the limit's own, 1 thread over N, the",
        "ceiling this machine puts on any kernel's (2-thread rows wake the",
        "runtime's sleeping worker each call, as the limit does). Steady",
        f"(2-thread rows): {STEADY_CALLS} untimed calls, then {STEADY_CALLS} back",
        "to back timed together, the worker spinning between them as in a",
        "serving loop;",
        "scaling steady and FMA scaling steady compare them with the 1-thread",
        "build and the 1-thread limit timed the same way in the same rounds.",
        "MLIR sparsifier: 1 thread only (the",
        "upstream CPU pipeline does not thread) and blocks with both sides > 1",
        "(`bench/sparsifier.py`: p x 1 encodings fail or crash in mlir-opt 22.1).",
        "",
    ]
    return "\n".join(lines) + "\n"


def limit_hot(row) -> float:
    """The limit timed hot in the row's rounds; rows written before that
    column had only the cold one."""
    return row.get("limit_hot_ms") or row["limit_ms"]


def steady_scaling(row, what: str) -> float | None:
    """The 1-thread steady time of `what` ("blkrew" or "limit") over the
    row's: None on rows without steady times (1-thread rows, runs from
    before the steady columns)."""
    num = row.get(f"{what}_1thr_steady_same_rounds_ms")
    den = row.get(f"{what}_steady_ms")
    return num / den if num and den else None


def table_markdown(rows, full: bool) -> str:
    # (column, on the large-N rows, on the small-N rows): those have no
    # limit (see markdown) and one thread; they have f16 weights.
    columns = [
        ("shape (MxKxN)", True, True),
        ("sparsity", True, True),
        ("block", True, True),
        ("thr", True, True),
        ("blkrew ms", True, True),
        ("GFLOP/s", True, True),
        ("% peak", True, False),
        ("hot ms", True, True),
        ("% peak hot", True, False),
        ("vs torch dense", True, True),
        ("vs oneDNN", True, True),
        ("vs torch sparse", True, True),
        ("vs MLIR sparsifier", True, True),
        ("limit ms", True, False),
        ("scaling", True, False),
        ("scaling hot", True, False),
        ("FMA scaling", True, False),
        ("scaling steady", True, False),
        ("FMA scaling steady", True, False),
        ("f16 weights hot ms", False, True),
    ]
    head = [h for h, _, _ in columns]
    keep = [large if full else small for _, large, small in columns]
    lines = [
        "| " + " | ".join(h for h, k in zip(head, keep, strict=True) if k) + " |",
        "|" + "---|" * sum(keep),
    ]
    for r in rows:
        gflops = r["useful_gflop"] / r["blkrew_ms"] * 1e3
        sparse = (
            f"{r['torch_sparse_ms'] / r['blkrew_ms']:.1f}x ({r['torch_sparse_format']})"
            if r["torch_sparse_ms"]
            else "n/a"
        )
        spz = (
            f"{r['mlir_sparsifier_ms'] / r['blkrew_ms']:.1f}x"
            if r.get("mlir_sparsifier_ms")
            else "n/a"
        )
        cells = [
            f"{r['shape']} ({r['M']}x{r['K']}x{r['N']})",
            f"{r['sparsity']:.1%}",
            f"{r['block'][0]}x{r['block'][1]}",
            f"{r['threads']}",
            f"{r['blkrew_ms']:.3f}",
            f"{gflops:.0f}",
            f"{r['limit_ms'] / r['blkrew_ms']:.0%}",
            f"{r['blkrew_hot_ms']:.3f}",
            f"{limit_hot(r) / r['blkrew_hot_ms']:.0%}",
            f"{r['torch_dense_ms'] / r['blkrew_ms']:.1f}x",
            f"{r['onednn_dense_ms'] / r['blkrew_ms']:.1f}x",
            sparse,
            spz,
            f"{r['limit_ms']:.3f}",
            f"{r['blkrew_1thr_same_rounds_ms'] / r['blkrew_ms']:.2f}x",
            f"{r['blkrew_1thr_hot_same_rounds_ms'] / r['blkrew_hot_ms']:.2f}x",
            f"{r['limit_1thr_same_rounds_ms'] / r['limit_ms']:.2f}x",
            *(
                f"{v:.2f}x" if v else "n/a"
                for v in (steady_scaling(r, "blkrew"), steady_scaling(r, "limit"))
            ),
            (
                f"{r['blkrew_f16_weights_hot_ms']:.3f} "
                f"({r['blkrew_hot_ms'] / r['blkrew_f16_weights_hot_ms']:.2f}x)"
                if r.get("blkrew_f16_weights_hot_ms")
                else "n/a"
            ),
        ]
        lines.append(
            "| " + " | ".join(c for c, k in zip(cells, keep, strict=True) if k) + " |"
        )
    return "\n".join(lines) + "\n"


def summary_markdown(rows, meta) -> str:
    """Medians over the table's rows, per thread count: blkrew's speedup
    over each peer, its share of the peak, and thread scaling; the small-N
    rows on their own lines."""
    lines = [
        "",
        "## Summary: medians over all shapes, sparsities and blocks",
        "",
        "Large N (the first table) and small N (the second) apart.",
        "",
        "| N | threads | rows | vs torch dense | vs oneDNN | vs torch sparse |"
        " vs MLIR sparsifier | % peak | % peak hot | scaling 1 -> N threads |"
        " scaling hot | FMA scaling | scaling steady | FMA scaling steady |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]

    def med(values):
        values = [v for v in values if v is not None]
        return f"{statistics.median(values):.2f}x" if values else "n/a"

    groups = [
        (label, threads)
        for label in ("large", "small")
        for threads in sorted({r["threads"] for r in rows})
    ]
    for label, threads in groups:
        sel = [
            r
            for r in rows
            if r["threads"] == threads and bool(r.get("small_n")) == (label == "small")
        ]
        if not sel:
            continue

        def ratio(key, sel=sel):
            return [r[key] / r["blkrew_ms"] if r.get(key) else None for r in sel]

        peak = [r["limit_ms"] / r["blkrew_ms"] for r in sel]
        hot = [limit_hot(r) / r["blkrew_hot_ms"] for r in sel]
        scaling = [r["blkrew_1thr_same_rounds_ms"] / r["blkrew_ms"] for r in sel]
        scaling_hot = [
            r["blkrew_1thr_hot_same_rounds_ms"] / r["blkrew_hot_ms"] for r in sel
        ]
        fma_scaling = [r["limit_1thr_same_rounds_ms"] / r["limit_ms"] for r in sel]

        def steady(what, sel=sel):
            return [steady_scaling(r, what) for r in sel]

        lines.append(
            f"| {label} | {threads} | {len(sel)} | {med(ratio('torch_dense_ms'))} |"
            f" {med(ratio('onednn_dense_ms'))} | {med(ratio('torch_sparse_ms'))} |"
            f" {med(ratio('mlir_sparsifier_ms'))} |"
            + (
                f" {statistics.median(peak):.0%} | {statistics.median(hot):.0%} |"
                if label == "large"
                else " n/a | n/a |"  # no limit on small rows (see their table)
            )
            + f" {med(scaling)} | {med(scaling_hot)} |"
            + (f" {med(fma_scaling)} |" if label == "large" else " n/a |")
            + f" {med(steady('blkrew'))} | {med(steady('limit'))} |"
        )
    return "\n".join(lines) + "\n" + target_markdown(rows)


def target_markdown(rows) -> str:
    """What the FC row #6 sets targets on (FC 1024, N = 256, 90%, 8 x 4, 1
    thread) can reach against torch dense at all: the limit's own ratio."""
    row = next(
        (
            r
            for r in rows
            if r["shape"] == "fc1024"
            and r["sparsity"] == 0.9
            and list(r["block"]) == [8, 4]
            and r["threads"] == 1
        ),
        None,
    )
    if row is None:
        return ""
    m, k, n = row["M"], row["K"], row["N"]
    peak = row["useful_gflop"] / row["limit_ms"] * 1e3  # GFLOP/s, same rounds
    dense = 2 * m * k * n / 1e9 / row["torch_dense_ms"] * 1e3
    return (
        "\nThe FC row the targets are set on (FC 1024 x 1024, N = 256, 90%,"
        " 8 x 4, 1 thread): blkrew"
        f" {row['torch_dense_ms'] / row['blkrew_ms']:.1f}x torch dense cold,"
        f" {row['torch_dense_ms'] / row['blkrew_hot_ms']:.1f}x hot. The limit"
        " itself (the useful FLOPs at the FMA peak, same rounds) is"
        f" {row['torch_dense_ms'] / row['limit_ms']:.1f}x torch dense: torch's"
        f" dense GEMM ran at {dense:.0f} GFLOP/s, {dense / peak:.0%} of that peak"
        f" ({peak:.0f} GFLOP/s), so no kernel doing {row['sparsity']:.0%} fewer"
        " FLOPs can be more than that many times faster here.\n"
    )


def mca_markdown(mca) -> str:
    lines = [
        "",
        "## AArch64 (NEON) inner loop: llvm-mca estimates, not measurements",
        "",
        "FC 1024x1024, 90% sparse, compiled for AArch64; the loop over a row",
        "group's kept columns, `llvm-mca -mcpu=cortex-a76`. One iteration is",
        "one kept column of one p x (U*4) register tile. LLVM's cortex-a76",
        "model reuses Cortex-A57's 64-bit FP pipes (its peak is half a real",
        "A76's); neoverse-n1, the A76's server sibling, has two 128-bit pipes.",
        "",
        "| block | llvm-mca CPU model | instructions | fmla | cycles / iteration |"
        " FLOP / cycle | model's peak | % of peak |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in mca:
        lines.append(
            f"| {r['block'][0]}x{r['block'][1]} | {r['cpu']} | {r['instructions']} |"
            f" {r['fmla']} | {r['cycles_per_iteration']:.1f} |"
            f" {r['flops_per_cycle']:.1f} | {r['model_peak_flops_per_cycle']:.0f} |"
            f" {r['flops_per_cycle'] / r['model_peak_flops_per_cycle']:.0%} |"
        )
    return "\n".join(lines) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--quick",
        action="store_true",
        help="FC 1024 at 75 and 90%%, FC batch 1 and VGG conv5 at 8x4 only",
    )
    parser.add_argument("--repeat", type=int, default=30)
    args = parser.parse_args()
    if args.quick:
        grid = [("fc1024", s, (8, 4)) for s in (0.75, 0.9)]
        grid += [("fc1024-b1", 0.9, (8, 4)), ("vgg-conv5", 0.875, (8, 4))]
    else:
        grid = [(n, s, b) for n in SHAPES for s in SPARSITIES for b in BLOCKS]
        grid += [
            (n, s, b)
            for n in SMALL_N_SHAPES
            for s in SMALL_N_SPARSITIES
            for b in BLOCKS
        ]
    rows = []
    with tempfile.TemporaryDirectory(prefix="blkrew-bench-") as tmp:
        fma = fma_kernel(Path(tmp))
        peak = fma_peak_gflops(fma)
        print(f"FMA peak: {peak:.0f} GFLOP/s per core", flush=True)
        for name, sparsity, block in grid:
            threads = (1,) if name in SMALL_N_SHAPES else THREADS
            rows += measure(name, sparsity, block, fma, args.repeat, Path(tmp), threads)
        mca = mca_estimates(Path(tmp))
    meta = run_meta(
        "bench/kernels.py" + (" --quick" if args.quick else ""),
        args.repeat,
        fma_peak_gflops=peak,
    )
    write_results(
        "kernels-quick" if args.quick else "kernels",
        {"meta": meta, "rows": rows, "llvm_mca": mca},
        markdown(rows, meta) + summary_markdown(rows, meta) + mca_markdown(mca),
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
