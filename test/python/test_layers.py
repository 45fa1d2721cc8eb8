"""Layers beyond the zoo's, compiled for the host and for SPIR-V (lavapipe;
the activation MLP also for AArch64, under qemu), differential against
PyTorch: GELU's exact form (erf, which neither LLVM nor GLSL has:
blkrew-approximate-math), its tanh form (imported through PyTorch's own
decomposition: torch-mlir's took sqrt(2/pi) as 0.797724), the layers
torch-mlir computes through f64 or i64 (LayerNorm, Softplus, Upsample,
reflection padding, GroupNorm: blkrew-demote-64bit on the GPU), reductions over a
whole tensor (a batch-1 softmax: one-invocation kernels on the GPU), and
integer inputs (an nn.Embedding's token ids, taken as int32)."""

import pytest
import torch
from torch import nn

from blkrew.compiler.api import CompileError, compile
from test_sparsify import column_prune_

TARGETS = ["host", "spirv"]


class Elementwise(nn.Module):
    def __init__(self, fn):
        super().__init__()
        self.fn = fn

    def forward(self, x):
        return self.fn(x)


@pytest.mark.parametrize("target", TARGETS)
@pytest.mark.parametrize(
    "fn",
    [
        torch.erf,
        nn.GELU(),
        nn.GELU(approximate="tanh"),
    ],
    ids=["erf", "gelu", "gelu-tanh"],
)
def test_erf_and_gelu_elementwise(fn, target, tmp_path):
    """Over [-12, 12], where erf goes from -1 to 1 and GELU from its tail
    to linear: within a few f32 ulps of PyTorch (4.8e-7 is one ulp at 4;
    torch-mlir's own tanh-form constant was 5e-5 off at 1.3)."""
    x = torch.linspace(-12, 12, 4801).reshape(1, -1)
    model = Elementwise(fn).eval()
    compiled = compile(model, x, target=target, workdir=tmp_path)
    with torch.no_grad():
        want = model(x)
    torch.testing.assert_close(compiled(x), want, rtol=0, atol=1e-6)


@pytest.mark.parametrize(
    "fn", [torch.sigmoid, torch.tanh, torch.exp], ids=["sigmoid", "tanh", "exp"]
)
def test_exp_is_vectorized_on_the_host(fn, tmp_path):
    """The host build links glibc's vector math library (clang
    -fveclib=libmvec): an element-wise exp (sigmoid and tanh expand to
    one) calls its vector expf, not libm's scalar one per element. Inputs
    whose exp is below 2^-126 get 0 without the call (blkrew-approximate-math
    guard-exp); all stay within a few ulps of PyTorch, past the ends of
    exp's f32 range too (0, inf and nan where PyTorch has them)."""
    inf, nan = float("inf"), float("nan")
    ends = [-inf, -200.0, -87.0, 88.0, 88.8, 200.0, inf, nan]
    x = torch.cat([torch.linspace(-20, 20, 4088), torch.tensor(ends)])
    x = x.reshape(4, -1)
    model = Elementwise(fn).eval()
    compiled = compile(model, x, workdir=tmp_path)
    assert b"_ZGV" in (tmp_path / "model.so").read_bytes()
    with torch.no_grad():
        torch.testing.assert_close(
            compiled(x), model(x), rtol=2e-6, atol=1e-7, equal_nan=True
        )


class LayerNormThenSoftmax(nn.Module):
    def __init__(self):
        super().__init__()
        self.norm = nn.LayerNorm(1024)

    def forward(self, x):
        return torch.softmax(self.norm(x), dim=-1)


def test_row_chains_run_a_tile_of_rows_at_a_time(tmp_path):
    """A layer norm and a softmax over 1024 rows of 1024 (4 MiB each: half
    the L2 or more of any core with up to 8 MiB of it) run a few rows at a
    time (blkrew-fuse-rows): their temporaries are a tile's, not whole
    tensors, so the arena holds less than one such tensor; and the results
    match PyTorch's."""
    rows = 1024
    torch.manual_seed(5)
    model = LayerNormThenSoftmax().eval()
    with torch.no_grad():
        model.norm.weight.uniform_(0.5, 1.5)
        model.norm.bias.uniform_(-0.5, 0.5)
    x = torch.randn(rows, 1024) * 3
    compiled = compile(model, x, workdir=tmp_path)
    assert compiled.manifest["arena_bytes"] < rows * 1024 * 4
    with torch.no_grad():
        torch.testing.assert_close(compiled(x), model(x), rtol=1e-5, atol=1e-7)


class Softmax(nn.Module):
    def forward(self, x):
        return torch.softmax(x, dim=-1)


@pytest.mark.parametrize("rows", [8, 512])
def test_softmax_rows_with_zeros_infinities_and_nan(rows, tmp_path):
    """The row maximum may return either zero (blkrew-prepare-loops marks it
    nsz: it is only subtracted before an exp); rows of signed zeros, -inf,
    +inf and NaN still match PyTorch's softmax, NaN where it has NaN. 512
    rows of 1024 go through blkrew-fuse-rows' row tiles too."""
    inf, nan = float("inf"), float("nan")
    torch.manual_seed(3)
    x = torch.randn(rows, 1024)
    x[0] = 0.0
    x[1, ::2] = -0.0
    x[2] = -inf
    x[3, 5] = inf
    x[4, 7] = nan
    x[5, :512] = -inf
    x[6] = -0.0
    model = Softmax().eval()
    compiled = compile(model, x, workdir=tmp_path)
    if rows == 8:
        assert "call nsz" in (tmp_path / "model.ll").read_text()
    torch.testing.assert_close(
        compiled(x), model(x), rtol=1e-5, atol=1e-7, equal_nan=True
    )


class MaxPool(nn.Module):
    def forward(self, x):
        return nn.functional.max_pool2d(x, 2)


def test_max_pool_of_zeros_infinities_and_nan(tmp_path):
    """A max pooling's maximum may return either zero (blkrew-prepare-loops
    marks it nsz, as PyTorch's keeps a window's first of equal values):
    windows of signed zeros, -inf, +inf and NaN still match PyTorch, NaN
    where it has NaN."""
    inf, nan = float("inf"), float("nan")
    torch.manual_seed(4)
    x = torch.randn(1, 4, 32, 32)
    x[0, 0, :2, :2] = torch.tensor([[-0.0, 0.0], [-0.0, -0.0]])
    x[0, 0, 2:4, :2] = -0.0
    x[0, 1, :2, :2] = -inf
    x[0, 1, 2, 2] = inf
    x[0, 2, 5, 5] = nan
    x[0, 2, 6:8, 6:8] = torch.tensor([[-inf, nan], [0.0, -0.0]])
    model = MaxPool().eval()
    compiled = compile(model, x, workdir=tmp_path)
    assert "nsz" in (tmp_path / "model.ll").read_text()
    got, want = compiled(x), model(x)
    torch.testing.assert_close(got, want, rtol=0, atol=0, equal_nan=True)
    assert got[0, 2, 2, 2].isnan() and got[0, 2, 3, 3].isnan()


def activation_mlp():
    """A block-pruned MLP through the activations and normalizations the
    import lowers in its own ways."""
    torch.manual_seed(0)
    model = nn.Sequential(
        nn.Linear(32, 64),
        nn.GELU(),
        nn.Linear(64, 64),
        nn.LayerNorm(64),
        nn.Softplus(),
        nn.Linear(64, 64),
        nn.GELU(approximate="tanh"),
        nn.Linear(64, 64),
        nn.SiLU(),
        nn.Linear(64, 64),
        nn.Mish(),
        nn.Linear(64, 64),
        nn.ELU(),
        nn.Linear(64, 16),
        nn.Hardswish(),
    ).eval()
    for layer in model:
        if isinstance(layer, nn.Linear) and layer.out_features == 64:
            column_prune_(layer.weight)
    return model


@pytest.mark.parametrize("target", [*TARGETS, "aarch64"])
def test_activation_mlp(target, tmp_path):
    model = activation_mlp()
    x = torch.randn(4, 32) * 2
    compiled = compile(model, x, target=target, workdir=tmp_path)
    with torch.no_grad():
        want = model(x)
    torch.testing.assert_close(compiled(x), want, rtol=1e-5, atol=1e-5)
    # The pruned layers run as block-sparse kernels.
    assert compiled.manifest["layers"]["sparse_matmuls"] >= 5


def test_layernorm_keeps_f64_on_host(tmp_path):
    """The CPU keeps torch-mlir's f64 mean and variance (only the GPU
    pipeline demotes them): the host's LayerNorm agrees with PyTorch at
    batch 1 and 3."""
    model = nn.Sequential(nn.Linear(16, 32), nn.LayerNorm(32)).eval()
    for batch in (1, 3):
        x = torch.randn(batch, 16)
        compiled = compile(model, x, workdir=tmp_path / str(batch))
        assert "f64" in (tmp_path / str(batch) / "imported.mlir").read_text()
        with torch.no_grad():
            torch.testing.assert_close(compiled(x), model(x), rtol=1e-5, atol=1e-5)


def test_f64_erf_is_a_clear_error(tmp_path):
    """An erf in f64 (a model run in double) has no approximation: the
    compile fails naming the op, not deep in the LLVM translation."""

    class Erf64(nn.Module):
        def forward(self, x):
            return torch.erf(x.double()).float()

    with pytest.raises(CompileError, match="math.erf' op has no lowering"):
        compile(Erf64(), torch.randn(2, 8), workdir=tmp_path)


def conv_then(*layers, pad_mode="zeros"):
    """A block-pruned 3x3 convolution (16 filters) and then `layers`."""
    torch.manual_seed(0)
    conv = nn.Conv2d(8, 16, 3, padding=1, padding_mode=pad_mode)
    with torch.no_grad():
        conv.weight.view(16, -1).mul_(
            (torch.rand(16 // 8, 72 // 4) < 0.3)
            .repeat_interleave(8, 0)
            .repeat_interleave(4, 1)
        )
    return nn.Sequential(conv, *layers).eval()


LAYERS = {
    # i64 source coordinates.
    "upsample-nearest": lambda: conv_then(nn.Upsample(scale_factor=2)),
    "upsample-bilinear": lambda: conv_then(
        nn.Upsample(scale_factor=2, mode="bilinear")
    ),
    # i64 index tables.
    "reflect-pad": lambda: conv_then(pad_mode="reflect"),
    # f64 statistics and i64 index tables (resources).
    "groupnorm": lambda: conv_then(nn.GroupNorm(4, 16)),
    # Reductions over every element once the unit batch is folded away.
    "softmax-batch1": lambda: conv_then(nn.Flatten(), nn.Softmax(1)),
    "sum-all": lambda: conv_then(Elementwise(lambda y: y.sum().reshape(1, 1))),
}


@pytest.mark.parametrize("target", TARGETS)
@pytest.mark.parametrize("name", LAYERS)
def test_layers(name, target, tmp_path):
    model = LAYERS[name]()
    x = torch.randn(1, 8, 12, 12)
    compiled = compile(model, x, target=target, workdir=tmp_path)
    with torch.no_grad():
        want = model(x)
    torch.testing.assert_close(compiled(x), want, rtol=1e-5, atol=1e-5)


class EmbeddingGRU(nn.Module):
    """Token ids -> embedding -> GRU -> linear: a text model's shape."""

    def __init__(self):
        super().__init__()
        torch.manual_seed(0)
        self.embed = nn.Embedding(50, 16)
        self.gru = nn.GRU(16, 32, batch_first=True)
        self.head = nn.Linear(32, 5)
        for name, weight in self.gru.named_parameters():
            if name.startswith("weight"):
                column_prune_(weight)

    def forward(self, tokens):
        hidden, _ = self.gru(self.embed(tokens))
        return self.head(hidden[:, -1])


@pytest.mark.parametrize("target", [*TARGETS, "aarch64"])
def test_embedding_token_inputs(target, tmp_path):
    model = EmbeddingGRU().eval()
    tokens = torch.randint(0, 50, (2, 7))
    compiled = compile(model, tokens, target=target, workdir=tmp_path)
    assert compiled.manifest["input_dtypes"] == ["int32"]
    with torch.no_grad():
        want = model(tokens)
    # int64 (PyTorch's) and int32 tokens alike.
    torch.testing.assert_close(compiled(tokens), want, rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(
        compiled(tokens.to(torch.int32)), want, rtol=1e-5, atol=1e-5
    )
    with pytest.raises(TypeError, match="must be integer indices"):
        compiled(tokens.float())
    # Out of the table: an IndexError as from PyTorch, not an abort in the
    # compiled code (host, qemu) or a read out of bounds (SPIR-V).
    assert compiled.manifest["index_bounds"] == {"0": 50}
    for bad in (50, -1):
        wrong = tokens.clone()
        wrong[1, 3] = bad
        with pytest.raises(
            IndexError, match=f"index {bad}, outside the embedding's 50 rows"
        ):
            compiled(wrong)


def test_token_inputs_survive_save_and_load(tmp_path):
    import blkrew

    model = EmbeddingGRU().eval()
    tokens = torch.randint(0, 50, (1, 5))
    compiled = compile(model, tokens, workdir=tmp_path / "c")
    loaded = blkrew.load(compiled.save(tmp_path / "saved"))
    assert "int32[1, 5]" in repr(loaded)
    with torch.no_grad():
        torch.testing.assert_close(loaded(tokens), model(tokens), rtol=1e-5, atol=1e-5)


def test_other_input_dtypes_are_refused(tmp_path):
    with pytest.raises(TypeError, match="float32 tensor .or int64/int32"):
        compile(nn.Linear(4, 4), torch.randn(1, 4).double(), workdir=tmp_path)


def test_cli_runs_token_inputs(tmp_path, capsys):
    """`blkrew run` keeps an index input's .npy integers (and refuses
    floats for it); without --input the indices are 0."""
    import numpy as np

    from blkrew.cli import main

    model = EmbeddingGRU().eval()
    tokens = torch.randint(0, 50, (2, 7))
    compile(model, tokens, workdir=tmp_path / "c").save(tmp_path / "art")
    np.save(tmp_path / "tokens.npy", tokens.numpy())
    out = tmp_path / "y.npy"
    args = ["run", str(tmp_path / "art"), "--input", str(tmp_path / "tokens.npy")]
    assert main([*args, "--output", str(out)]) == 0
    with torch.no_grad():
        want = model(tokens)
    torch.testing.assert_close(
        torch.from_numpy(np.load(out)), want, rtol=1e-5, atol=1e-5
    )
    assert main(["run", str(tmp_path / "art")]) == 0
    np.save(tmp_path / "floats.npy", tokens.float().numpy())
    capsys.readouterr()
    assert (
        main(["run", str(tmp_path / "art"), "--input", str(tmp_path / "floats.npy")])
        == 2
    )
    assert "integer indices" in capsys.readouterr().err
    # One --input file per input: a second one is an error, not dropped.
    tokens_file = str(tmp_path / "tokens.npy")
    assert main([*args, "--input", tokens_file]) == 2
    assert "takes 1 input(s), got 2 --input file(s)" in capsys.readouterr().err


class ModuloEmbedding(nn.Module):
    """Indices computed before the lookup: no bound to check them by."""

    def __init__(self):
        super().__init__()
        self.embed = nn.Embedding(50, 8)

    def forward(self, tokens):
        return self.embed(tokens % 50)


def test_computed_indices_have_no_bound_but_int32_range(tmp_path):
    model = ModuloEmbedding().eval()
    tokens = torch.randint(0, 1000, (3, 4))
    compiled = compile(model, tokens, workdir=tmp_path)
    assert compiled.manifest["index_bounds"] == {}
    with torch.no_grad():
        torch.testing.assert_close(compiled(tokens), model(tokens))
    with pytest.raises(ValueError, match="outside int32's range"):
        compiled(tokens + 2**31)


def test_layer_coverage_tool_runs(capsys):
    """tools/layer_coverage.py (docs/layers.md's table) still runs: one row."""
    import importlib.util
    from pathlib import Path

    path = Path(__file__).resolve().parents[2] / "tools" / "layer_coverage.py"
    spec = importlib.util.spec_from_file_location("layer_coverage", path)
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)
    assert tool.main(["--targets", "host", "--only", "Conv1d"]) == 0
    out = capsys.readouterr().out
    assert "| layer | host |" in out
    row = next(line for line in out.splitlines() if line.startswith("| Conv1d"))
    assert float(row.split("|")[2]) < tool.ATOL


class FunctionalEmbedding(nn.Module):
    """F.embedding of a parameter table: bounded like the module."""

    def __init__(self):
        super().__init__()
        self.table = nn.Parameter(torch.randn(30, 8))

    def forward(self, tokens):
        return torch.nn.functional.embedding(tokens, self.table).sum(1)


def test_functional_embedding_is_bounded(tmp_path):
    model = FunctionalEmbedding().eval()
    tokens = torch.randint(0, 30, (2, 5))
    compiled = compile(model, tokens, workdir=tmp_path)
    assert compiled.manifest["index_bounds"] == {"0": 30}
    with torch.no_grad():
        torch.testing.assert_close(compiled(tokens), model(tokens))
    with pytest.raises(IndexError, match="outside the embedding's 30 rows"):
        compiled(tokens + 30)


@pytest.mark.parametrize("target", TARGETS)
def test_transformer_encoder_layer(target, tmp_path):
    """Attention's softmax guards rows of -inf with a boolean reduction,
    stored between kernels: as i32 on SPIR-V (blkrew-widen-bools)."""
    torch.manual_seed(0)
    model = nn.TransformerEncoderLayer(32, 4, 64, dropout=0.0, batch_first=True)
    model.eval()
    x = torch.randn(2, 6, 32)
    compiled = compile(model, x, target=target, workdir=tmp_path)
    with torch.no_grad():
        want = model(x)
    torch.testing.assert_close(compiled(x), want, rtol=1e-5, atol=1e-5)


def test_multihead_attention_output_projection_writes_in_place(tmp_path):
    """nn.MultiheadAttention at batch 2: the output projection's kernel
    writes y[N, M] straight into the transpose's destination, whose arena
    view the planner had put after the kernel. It failed to compile
    ("operand #0 does not dominate this use") until the view moved before
    the kernel; both outputs (values and averaged weights) against torch."""
    torch.manual_seed(0)
    model = nn.MultiheadAttention(128, 4, batch_first=True).eval()
    x = torch.randn(2, 64, 128)
    compiled = compile(model, (x, x, x), threads=1, workdir=tmp_path)
    with torch.no_grad():
        want = model(x, x, x)
    for got, expected in zip(compiled(x, x, x), want, strict=True):
        torch.testing.assert_close(got, expected, rtol=1e-5, atol=1e-5)
