"""blkrew.compile end to end on small models: host (in-process) and AArch64
(qemu), artifacts, save/load and the run-time checks."""

import gc
import json
import shutil
import threading

import pytest
import torch
from torch import nn

from blkrew.compiler.api import CompiledModule, CompileError, compile, load
from test_sparsify import column_prune_


def pruned_mlp(seed=0):
    torch.manual_seed(seed)
    model = nn.Sequential(nn.Linear(40, 32), nn.ReLU(), nn.Linear(32, 10)).eval()
    column_prune_(model[0].weight)
    return model


@pytest.fixture(scope="module")
def host_mlp(tmp_path_factory):
    model = pruned_mlp()
    x = torch.randn(3, 40)
    compiled = compile(
        model, (x,), target="host", workdir=tmp_path_factory.mktemp("mlp")
    )
    return model, compiled


# Batch 37: the transposes into the first linear layer and out of the
# last run as vector blocks (8x8 with AVX2, 4x4 on NEON) plus the strips
# left over; between the layers they cancel (bias and ReLU in the kernel).
@pytest.mark.parametrize("batch", [1, 6, 37])
@pytest.mark.parametrize("target", ["host", "aarch64", "spirv"])
def test_mlp_matches_torch(batch, target, tmp_path):
    model = pruned_mlp(batch)
    x = torch.randn(batch, 40)
    compiled = compile(model, x, target=target, workdir=tmp_path)
    assert compiled.layers["sparse_matmuls"] == 1  # the pruned layer
    # The unpruned classifier: a dense layer run by the same kernel.
    assert compiled.layers["dense_packed_matmuls"] == 1
    for _ in range(2):  # the same compiled module is reusable
        x = torch.randn(batch, 40)
        torch.testing.assert_close(compiled(x), model(x), rtol=1e-4, atol=1e-4)


def test_default_workdir_goes_with_the_module(tmp_path):
    """Without a workdir, compile writes into a new temporary folder that is
    removed once the module is garbage-collected (saved copies stay); a
    given workdir is the caller's and stays."""
    model = pruned_mlp(5)
    x = torch.randn(2, 40)
    compiled = compile(model, x)
    directory = compiled.directory
    assert (directory / "model.so").is_file()
    saved = compiled.save(tmp_path / "kept")
    torch.testing.assert_close(compiled(x), model(x), rtol=1e-4, atol=1e-4)
    del compiled
    gc.collect()
    assert not directory.exists()
    torch.testing.assert_close(load(saved)(x), model(x), rtol=1e-4, atol=1e-4)
    given = compile(model, x, workdir=tmp_path / "given")
    del given
    gc.collect()
    assert (tmp_path / "given" / "model.so").is_file()


def test_save_and_load(host_mlp, tmp_path):
    model, compiled = host_mlp
    saved = compiled.save(tmp_path / "out")
    manifest = json.loads((saved / "manifest.json").read_text())
    assert manifest["target"] == "host"
    assert (saved / manifest["artifact"]).is_file()
    again = load(saved)
    x = torch.randn(3, 40)
    torch.testing.assert_close(again(x), model(x), rtol=1e-4, atol=1e-4)


def test_load_rejects_modified_artifact(host_mlp, tmp_path):
    _, compiled = host_mlp
    saved = compiled.save(tmp_path / "out")
    with open(saved / "model.so", "ab") as f:
        f.write(b"\0")
    with pytest.raises(ValueError, match="does not match its manifest hash"):
        load(saved)


def test_load_rejects_missing_file_and_foreign_folder(host_mlp, tmp_path):
    _, compiled = host_mlp
    saved = compiled.save(tmp_path / "out")
    (saved / "imported.mlir").unlink()
    with pytest.raises(ValueError, match="missing"):
        load(saved)
    with pytest.raises(FileNotFoundError, match="not a blkrew artifact"):
        load(tmp_path)
    shutil.rmtree(saved)


def test_wrong_inputs_are_named(host_mlp):
    _, compiled = host_mlp
    with pytest.raises(
        TypeError, match=r"expected 1 input\(s\) \(float32\[3, 40\]\), got 2"
    ):
        compiled(torch.randn(3, 40), torch.randn(3, 40))
    with pytest.raises(ValueError, match=r"must have shape \[3, 40\].*got \[2, 40\]"):
        compiled(torch.randn(2, 40))
    with pytest.raises(TypeError, match="must be float32, got torch.float64"):
        compiled(torch.randn(3, 40, dtype=torch.float64))


def test_non_contiguous_input_is_accepted(host_mlp):
    model, compiled = host_mlp
    x = torch.randn(40, 3).t()
    assert not x.is_contiguous()
    torch.testing.assert_close(compiled(x), model(x), rtol=1e-4, atol=1e-4)


def test_out_is_written_and_returned(host_mlp):
    model, compiled = host_mlp
    out = torch.full((3, 10), float("nan"))
    for seed in range(2):  # the second call writes over the first's result
        x = torch.randn(3, 40, generator=torch.Generator().manual_seed(seed))
        assert compiled(x, out=out) is out
        torch.testing.assert_close(out, model(x), rtol=1e-4, atol=1e-4)
    with pytest.raises(ValueError, match=r"\[3, 10\], got torch.float32 \[3, 9\]"):
        compiled(x, out=torch.empty(3, 9))
    with pytest.raises(ValueError, match="not contiguous"):
        compiled(x, out=torch.empty(10, 3).t())
    with pytest.raises(TypeError, match="needs 1 tensor"):
        compiled(x, out=(out, out))
    shared = torch.empty(3 * 40)
    with pytest.raises(ValueError, match="must not share memory with an input"):
        compiled(shared.view(3, 40), out=shared[:30].view(3, 10))


class _TwoInTwoOut(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = pruned_mlp(7)[0]

    def forward(self, a, b):
        return self.fc(a) + b, (a * 2.0).relu()


def test_repeated_calls_take_the_fast_path_and_keep_its_checks(tmp_path):
    """After the first call, a call whose tensors are all contiguous CPU
    float32 of the compiled shapes skips the checked path (one pass over
    them, only the runner's pointers reset); every other call still goes
    through the checks, conversions and errors of the checked one."""
    model = _TwoInTwoOut().eval()
    a, b = torch.randn(4, 40), torch.randn(4, 32)
    compiled = compile(model, (a, b), workdir=tmp_path)
    assert compiled._fast_runner is None
    compiled(a, b)
    assert compiled._fast_runner is not None
    outs = (torch.empty(4, 32), torch.empty(4, 40))
    for seed in range(3):
        gen = torch.Generator().manual_seed(seed)
        a, b = torch.randn(4, 40, generator=gen), torch.randn(4, 32, generator=gen)
        want = model(a, b)
        for got in (compiled(a, b), compiled(a, b, out=outs)):
            for g, w in zip(got, want, strict=True):
                torch.testing.assert_close(g, w, rtol=1e-4, atol=1e-4)
        # A transposed input is copied by the checked path; the fast path
        # picks up again on the next call.
        torch.testing.assert_close(
            compiled(a.t().contiguous().t(), b)[1], want[1], rtol=1e-4, atol=1e-4
        )
    with pytest.raises(ValueError, match="must not share memory with an input"):
        compiled(a, b, out=(b, torch.empty(4, 40)))
    with pytest.raises(ValueError, match=r"must have shape \[4, 32\]"):
        compiled(a, torch.randn(4, 33))
    with pytest.raises(TypeError, match="must be float32"):
        compiled(a, b.double())
    with pytest.raises(TypeError, match="needs 2 tensor"):
        compiled(a, b, out=outs[0])


def test_input_that_requires_grad_is_read_as_is(host_mlp):
    """A contiguous input is passed without a copy, autograd flag or not;
    the runner repoints its descriptors on each call."""
    model, compiled = host_mlp
    for _ in range(2):
        x = torch.randn(3, 40, requires_grad=True)
        with torch.no_grad():
            want = model(x)
        torch.testing.assert_close(compiled(x), want, rtol=1e-4, atol=1e-4)


def test_weight_prefetch_reaches_the_kernels(tmp_path):
    """On the host, kernels with N up to 64 prefetch their packed weights
    by default; weight_prefetch_bytes=0 (with the input-row prefetch off
    too) leaves no prefetch in the code."""
    model = pruned_mlp(3)
    x = torch.randn(5, 40)
    compiled = compile(model, x, workdir=tmp_path / "on")
    assert "@llvm.prefetch" in (tmp_path / "on" / "model.ll").read_text()
    torch.testing.assert_close(compiled(x), model(x), rtol=1e-4, atol=1e-4)
    compile(
        model,
        x,
        prefetch_distance=0,
        weight_prefetch_bytes=0,
        workdir=tmp_path / "off",
    )
    assert "@llvm.prefetch" not in (tmp_path / "off" / "model.ll").read_text()
    with pytest.raises(ValueError, match="weight_prefetch_bytes"):
        compile(model, x, weight_prefetch_bytes=-1)
    with pytest.raises(ValueError, match="weight_prefetch_bytes"):
        compile(model, x, target="spirv", weight_prefetch_bytes=64)


def test_bad_arguments():
    model = pruned_mlp()
    x = torch.randn(2, 40)
    with pytest.raises(ValueError, match="unknown target 'riscv'"):
        compile(model, x, target="riscv")
    with pytest.raises(ValueError, match="block sizes must be positive"):
        compile(model, x, block=(0, 4))
    with pytest.raises(TypeError, match="float32"):
        compile(model, x.double())
    with pytest.raises(ValueError, match="vector_width, tile_vectors"):
        compile(model, x, vector_width=-4)


def test_compiled_module_repr(host_mlp):
    _, compiled = host_mlp
    assert isinstance(compiled, CompiledModule)
    assert "target='host'" in repr(compiled)


class SequenceClassifier(nn.Module):
    """A GRU/LSTM over [batch, time, features], classifying the last step."""

    def __init__(self, cell):
        super().__init__()
        self.rnn = cell(8, 16, batch_first=True)
        self.fc = nn.Linear(16, 10)

    def forward(self, x):
        y, _ = self.rnn(x)
        return self.fc(y[:, -1])


def small_cnn():
    torch.manual_seed(0)
    cnn = nn.Sequential(
        nn.Conv2d(3, 16, 3, stride=2, padding=1),
        nn.BatchNorm2d(16),
        nn.ReLU(),
        nn.Conv2d(16, 16, 3, groups=16, padding=1),  # depthwise: stays dense
        nn.Conv2d(16, 24, 3, padding=2, dilation=2),
        nn.MaxPool2d(2),
        nn.AdaptiveAvgPool2d(1),
        nn.Flatten(),
        nn.Linear(24, 10),
    ).eval()
    for conv in (cnn[0], cnn[4]):
        column_prune_(conv.weight.data.view(conv.weight.shape[0], -1))
    with torch.no_grad():
        cnn[1].running_mean.uniform_(-1, 1)
        cnn[1].running_var.uniform_(0.5, 2.0)
    return cnn


def small_rnn(cell):
    torch.manual_seed(1)
    model = SequenceClassifier(cell).eval()
    for name, p in model.rnn.named_parameters():
        if "weight" in name:  # every gate matrix, pruned on its own
            for g in range(p.shape[0] // 16):
                column_prune_(p.data[g * 16 : (g + 1) * 16])
    return model


@pytest.mark.parametrize("target", ["host", "aarch64", "spirv"])
def test_conv_net_matches_torch(target, tmp_path):
    model = small_cnn()
    x = torch.randn(2, 3, 17, 17)  # odd sizes: nothing divides evenly
    compiled = compile(model, x, target=target, workdir=tmp_path)
    assert compiled.layers["sparse_matmuls"] == 2  # both dense-filter convs
    assert compiled.layers["convolutions"] == 1  # the depthwise one
    assert compiled.manifest["folded_batchnorms"] == 1
    torch.testing.assert_close(compiled(x), model(x), rtol=1e-4, atol=1e-4)


def test_batchnorm_stays_when_not_folded(tmp_path):
    model = small_cnn()
    x = torch.randn(2, 3, 17, 17)
    compiled = compile(model, x, fold_bn=False, workdir=tmp_path)
    assert compiled.manifest["folded_batchnorms"] == 0
    # torch-mlir's batch-norm lowering: sqrt(var + eps) per element.
    assert "math.sqrt" in (tmp_path / "imported.mlir").read_text()
    torch.testing.assert_close(compiled(x), model(x), rtol=1e-4, atol=1e-4)


class DataDependent(nn.Module):
    """A branch on a tensor value: torch.fx cannot trace it."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 8, 3)
        self.bn = nn.BatchNorm2d(8)

    def forward(self, x):
        y = self.bn(self.conv(x))
        return y if y.sum() > 0 else -y


def test_untraceable_model_warns_and_keeps_batchnorm():
    from blkrew.compiler.api import fold_batchnorms

    model = DataDependent().eval()
    with pytest.warns(UserWarning, match=r"BatchNorm not folded: torch.fx .*1 Batch"):
        same, n = fold_batchnorms(model)
    assert same is model and n == 0


def test_folding_keeps_pruned_blocks_zero():
    from blkrew.compiler.api import fold_batchnorms

    model = small_cnn()
    folded, n = fold_batchnorms(model)
    assert n == 1
    zero = model[0].weight.detach().reshape(16, -1) == 0
    assert zero.any()
    assert (folded.get_submodule("0").weight.detach().reshape(16, -1)[zero] == 0).all()
    x = torch.randn(2, 3, 17, 17)
    torch.testing.assert_close(folded(x), model(x), rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("cell", [nn.GRU, nn.LSTM])
@pytest.mark.parametrize("target", ["host", "aarch64", "spirv"])
def test_rnn_matches_torch(cell, target, tmp_path):
    model = small_rnn(cell)
    x = torch.randn(3, 8, 8)
    compiled = compile(model, x, target=target, workdir=tmp_path)
    # The input projection (all steps at once) and the 8 recurrent steps.
    assert compiled.layers["sparse_matmuls"] == 9
    torch.testing.assert_close(compiled(x), model(x), rtol=1e-4, atol=1e-4)


def two_convs():
    torch.manual_seed(2)
    model = nn.Sequential(
        nn.Conv2d(8, 16, 3, padding=1), nn.ReLU(), nn.Conv2d(16, 16, 3, padding=1)
    ).eval()
    for conv in (model[0], model[2]):
        column_prune_(conv.weight.data.view(16, -1))
    return model


@pytest.mark.parametrize("target", ["host", "aarch64"])
@pytest.mark.parametrize("size", [16, 12])
def test_implicit_im2col_matches_torch_and_skips_the_patches(target, size, tmp_path):
    """Stride-1 convolutions read their patches from the padded image where
    the output width is a multiple of the vector width (host 16, AArch64
    4); the patch matrix, the largest temporary, then never exists."""
    model = two_convs()
    x = torch.randn(1, 8, size, size)
    on = compile(model, x, target=target, workdir=tmp_path / "on")
    off = compile(
        model, x, target=target, implicit_im2col=False, workdir=tmp_path / "off"
    )
    assert on.manifest["implicit_im2col"] and not off.manifest["implicit_im2col"]
    with torch.no_grad():
        want = model(x)
    torch.testing.assert_close(on(x), want, rtol=1e-4, atol=1e-4)
    torch.testing.assert_close(off(x), want, rtol=1e-4, atol=1e-4)
    folded = size % (16 if target == "host" else 4) == 0
    second_patches = 16 * 9 * size * size * 4
    saved = off.manifest["arena_bytes"] - on.manifest["arena_bytes"]
    assert (saved >= second_patches) == folded, saved


@pytest.mark.parametrize("target", ["host", "aarch64", "spirv"])
def test_relu6_and_hardtanh_run_in_the_kernel(target, tmp_path):
    """ReLU6 and hardtanh after a block-sparse convolution become its
    kernel's clamp (the activation is not a pass of its own)."""
    torch.manual_seed(4)
    model = nn.Sequential(
        nn.Conv2d(8, 16, 1), nn.ReLU6(), nn.Conv2d(16, 16, 1), nn.Hardtanh(-0.5, 0.25)
    ).eval()
    for conv in (model[0], model[2]):
        column_prune_(conv.weight.data.view(16, -1))
    x = 4 * torch.randn(1, 8, 8, 8)
    compiled = compile(model, x, target=target, workdir=tmp_path)
    with torch.no_grad():
        want = model(x)
    assert (want == 0.25).any() and (want == -0.5).any()  # both bounds bite
    torch.testing.assert_close(compiled(x), want, rtol=1e-4, atol=1e-4)
    if target != "spirv":
        ll = (tmp_path / "model.ll").read_text()
        assert "@llvm.minnum" in ll and "@llvm.maxnum" in ll


def test_temporaries_live_in_an_arena_and_calls_are_serialized(tmp_path):
    """blkrew-plan-buffers puts every temporary in one static arena (no
    malloc per call); so calls from several Python threads must not
    overlap, and each must still get its own right answer."""
    model = small_cnn()
    x = torch.randn(4, 3, 48, 48)
    compiled = compile(model, x, target="host", workdir=tmp_path)
    ll = (tmp_path / "model.ll").read_text()
    assert "@__blkrew_arena_forward = " in ll
    assert "@malloc" not in ll
    # At least the first convolution's output and its im2col patches (of
    # one image: it runs image by image) are live at once; all activations
    # together would be several times that.
    assert compiled.layers["image_loops"] == 2
    conv0_out = 4 * 16 * 24 * 24 * 4
    conv0_patches = 27 * 24 * 24 * 4
    assert compiled.manifest["arena_bytes"] >= conv0_out + conv0_patches
    inputs = [torch.randn(4, 3, 48, 48) for _ in range(4)]
    wants = [model(t) for t in inputs]
    results = {}

    def worker(i):
        results[i] = [compiled(inputs[i]) for _ in range(5)]

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for i, want in enumerate(wants):
        for got in results[i]:
            torch.testing.assert_close(got, want, rtol=1e-4, atol=1e-4)


class Sorts(nn.Module):
    def forward(self, x):
        return torch.sort(x).values


def test_unsupported_op_is_named(tmp_path):
    # torch.sort imports as tm_tensor.sort, which blkrew-opt does not know.
    with pytest.raises(
        CompileError, match="could not compile the model: .*tm_tensor.sort"
    ):
        compile(Sorts(), torch.randn(2, 8), workdir=tmp_path)
    # The failing input is kept, with the command line that reproduces it.
    assert (tmp_path / "repro" / "input.mlir").is_file()


@pytest.mark.parametrize("threads", [None, 2])
def test_parallel_kernels_match_torch(threads, tmp_path):
    model = pruned_mlp(7)
    x = torch.randn(33, 40)
    # These kernels are small: parallel_min_fmas=0 threads them anyway.
    compiled = compile(model, x, threads=threads, parallel_min_fmas=0, workdir=tmp_path)
    assert compiled.manifest["parallel"] is True
    assert "__kmpc_fork_call" in (tmp_path / "model.ll").read_text()
    torch.testing.assert_close(compiled(x), model(x), rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("threads", [2, 5])
def test_threads_split_uneven_groups_by_work(threads, tmp_path):
    # Groups of very different work: the first 8 keep every column, the
    # next few one, then empty groups (their outputs are just the bias) in
    # the middle and at the end. Threads take chunks of consecutive groups
    # of about equal work; every group must still be run exactly once, with
    # any thread count (5 does not divide the chunk count).
    torch.manual_seed(5)
    model = nn.Linear(96, 256).eval()
    with torch.no_grad():
        w = model.weight.view(32, 8, 96)
        w[8:16, :, 4:] = 0
        w[16:24] = 0
        w[24:28, :, ::3] = 0
        w[28:] = 0
    x = torch.randn(16, 96)
    compiled = compile(
        model,
        x,
        threads=threads,
        parallel_min_fmas=0,
        parallel_min_outputs=0,
        workdir=tmp_path,
    )
    assert "__kmpc_fork_call" in (tmp_path / "model.ll").read_text()
    with torch.no_grad():
        torch.testing.assert_close(compiled(x), model(x), rtol=1e-4, atol=1e-4)


def test_thread_counts_stay_with_their_models(tmp_path):
    # OpenMP's thread count is per calling thread and outlives a call: set
    # at load, the last model loaded used to decide every model's count (a
    # 1-thread build loaded after a 3-thread one made it run on 1 thread).
    # Now each call sets its model's count and puts the caller's back.
    import ctypes

    from blkrew.compiler.toolchain import LLVM_ROOT

    omp = ctypes.CDLL(str(LLVM_ROOT / "lib" / "libomp.so.5"))
    omp.omp_get_max_threads.restype = ctypes.c_int
    model = pruned_mlp(7)
    x = torch.randn(33, 40)
    before = omp.omp_get_max_threads()
    three = compile(
        model,
        x,
        threads=before + 1,
        parallel_min_fmas=0,
        parallel_min_outputs=0,
        workdir=tmp_path / "many",
    )
    one = compile(model, x, threads=1, workdir=tmp_path / "one")
    with torch.no_grad():
        want = model(x)
    for compiled in (three, one, three):
        torch.testing.assert_close(compiled(x), want, rtol=1e-4, atol=1e-4)
        assert omp.omp_get_max_threads() == before


def test_small_kernels_stay_on_the_calling_thread(tmp_path):
    model = pruned_mlp(7)
    x = torch.randn(33, 40)
    compiled = compile(model, x, threads=2, workdir=tmp_path)
    # A few thousand FMAs per kernel: no OpenMP region at all.
    assert "__kmpc_fork_call" not in (tmp_path / "model.ll").read_text()
    torch.testing.assert_close(compiled(x), model(x), rtol=1e-4, atol=1e-4)
    with pytest.raises(ValueError, match="parallel_min_fmas"):
        compile(model, x, parallel_min_fmas=-1)
    with pytest.raises(ValueError, match="parallel_min_fmas"):
        compile(model, x, target="aarch64", parallel_min_fmas=0)
    with pytest.raises(ValueError, match="parallel_min_outputs"):
        compile(model, x, parallel_min_outputs=-1)


def test_kernels_with_small_outputs_need_more_work_for_threads(tmp_path):
    model = pruned_mlp(7)
    x = torch.randn(33, 40)
    # Outputs of 33 x 32 elements at most, under parallel_min_outputs'
    # default: a kernel needs 8 x parallel_min_fmas of work (each has some
    # 17-21 thousand FMAs) to be threaded.
    compile(model, x, threads=2, parallel_min_fmas=5000, workdir=tmp_path / "a")
    assert "__kmpc_fork_call" not in (tmp_path / "a" / "model.ll").read_text()
    compile(model, x, threads=2, parallel_min_fmas=100, workdir=tmp_path / "b")
    assert "__kmpc_fork_call" in (tmp_path / "b" / "model.ll").read_text()
    # Without the output test, the 5000 FMAs of the first case suffice.
    compile(
        model,
        x,
        threads=2,
        parallel_min_fmas=5000,
        parallel_min_outputs=0,
        workdir=tmp_path / "c",
    )
    assert "__kmpc_fork_call" in (tmp_path / "c" / "model.ll").read_text()


class ConvBlock(nn.Module):
    """A sparse convolution, ReLU, depthwise convolution, ReLU and max
    pooling over ``channels`` maps."""

    def __init__(self, channels):
        super().__init__()
        self.conv = nn.Conv2d(channels, channels, 3, padding=1)
        self.depthwise = nn.Conv2d(channels, channels, 3, padding=1, groups=channels)
        self.pool = nn.MaxPool2d(2)

    def forward(self, x):
        return self.pool(torch.relu(self.depthwise(torch.relu(self.conv(x)))))


@pytest.mark.parametrize(
    "channels, size, regions",
    [
        # 256 x 256 maps, every op at least 2^21 loop iterations: the
        # padding (fill and copy), the sparse kernel, the depthwise
        # convolution (rows wider than 64: its ring form) and the pooling
        # run on the threads.
        (32, 256, 5),
        # 64 x 64 maps: only the sparse kernel (2^18 outputs) and the
        # depthwise convolution (2^21.2 iterations, its register form).
        (64, 64, 2),
    ],
)
def test_ops_split_across_threads_match_torch(channels, size, regions, tmp_path):
    torch.manual_seed(3)
    model = ConvBlock(channels).eval()
    column_prune_(model.conv.weight.data.view(channels, -1), block=(8, 4), keep_every=2)
    x = torch.randn(1, channels, size, size)
    single = compile(model, x, threads=1, workdir=tmp_path / "one")
    double = compile(model, x, threads=2, workdir=tmp_path / "two")
    forks = (
        (tmp_path / "two" / "model.ll")
        .read_text()
        .count("call void (ptr, i32, ptr, ...) @__kmpc_fork_call(")
    )
    assert forks == regions, forks
    assert "__kmpc_fork_call" not in (tmp_path / "one" / "model.ll").read_text()
    with torch.no_grad():
        want = model(x)
    torch.testing.assert_close(double(x), want, rtol=1e-4, atol=1e-4)
    torch.testing.assert_close(double(x), single(x), rtol=1e-5, atol=1e-5)


class Product(nn.Module):
    """``W @ x``; by default a W with whole 8-row groups zero: rows without
    kept columns, which an overwriting kernel must still write (as
    zeros)."""

    def __init__(self, w: torch.Tensor | None = None):
        super().__init__()
        if w is None:
            w = torch.randn(40, 24)
            w[8:16] = 0
            w[32:] = 0
            w[:, 4:12] = 0
        self.w = nn.Parameter(w)

    def forward(self, x):
        return self.w @ x


@pytest.mark.parametrize("threads", [1, 2])
def test_kernel_overwrites_the_whole_output(threads, tmp_path):
    from blkrew.compiler.opt import run_blkrew_opt

    torch.manual_seed(5)
    model = Product().eval()
    x = torch.randn(24, 37)
    compiled = compile(model, x, max_density=1.0, threads=threads, workdir=tmp_path)
    # The zero fill of the output folded into the kernel ...
    lowered = run_blkrew_opt(
        (tmp_path / "imported.mlir").read_text(),
        [
            "--blkrew-sparsify=block-rows=8 block-cols=4 max-density=1.0",
            "--canonicalize",
        ],
    )
    assert "overwrite" in lowered and "linalg.fill" not in lowered
    # ... so the kernel alone must write every element, zero rows included:
    # a destination full of NaN must not show through.
    compiled(x)  # loads the runner
    out = torch.full((40, 37), float("nan"))
    compiled._runner.run([x], [out])
    with torch.no_grad():
        torch.testing.assert_close(out, model(x), rtol=1e-5, atol=1e-5)


class WideProduct(nn.Module):
    """``W @ x``: a 256 x 64 W with 60% of its 8x4 blocks kept, so each
    row of x feeds about 150 FMAs, enough for the kernel to pack x."""

    def __init__(self):
        super().__init__()
        gen = torch.Generator().manual_seed(11)
        keep = torch.rand(32, 16, generator=gen) < 0.6
        mask = keep.repeat_interleave(8, 0).repeat_interleave(4, 1)
        self.w = nn.Parameter(torch.randn(256, 64, generator=gen) * mask)

    def forward(self, x):
        return self.w @ x


def compile_in_panels(model, x, target, threads, panel_bytes, workdir):
    """``model`` compiled with every layer sparse, panels of
    ``panel_bytes``, and with 2 threads every kernel threaded."""
    return compile(
        model,
        x,
        target=target,
        max_density=1.0,
        threads=threads,
        panel_bytes=panel_bytes,
        parallel_min_fmas=0 if threads > 1 else None,
        workdir=workdir,
    )


@pytest.mark.parametrize("target,threads", [("host", 1), ("host", 2), ("aarch64", 1)])
def test_packed_panels_match_torch(target, threads, tmp_path):
    """panel_bytes=1024 splits N = 150 into panels of one tile, each copied
    into a packed buffer (allocated per call) that the groups read, and the
    columns left into another (a tile of fewer vectors and a masked tail);
    0 reads x in place. N spans several tiles at every vector width (48
    columns a tile on AVX-512: at N = 70 there was one, and no panels)."""
    model = WideProduct().eval()
    x = torch.randn(64, 150)
    with torch.no_grad():
        want = model(x)
    for panel_bytes, packs in [(1024, True), (0, False)]:
        workdir = tmp_path / str(panel_bytes)
        compiled = compile_in_panels(model, x, target, threads, panel_bytes, workdir)
        assert ("@malloc" in (workdir / "model.ll").read_text()) == packs
        torch.testing.assert_close(compiled(x), want, rtol=1e-4, atol=1e-4)
    with pytest.raises(ValueError, match="panel_bytes"):
        compile(model, x, panel_bytes=-1)
    with pytest.raises(ValueError, match="panel_bytes"):
        compile(model, x, target="spirv", panel_bytes=1024)


@pytest.mark.parametrize("target,threads", [("host", 1), ("host", 2), ("aarch64", 1)])
def test_linear_panels_read_the_input_in_place(target, threads, tmp_path):
    """nn.Linear layers at a batch above 1: the kernel's K x N input is x
    transposed and its M x N output is y transposed; with panels each
    panel is transposed from x's rows and its output into y's rows (the
    whole transposes go). The biases (and the ReLU) join the kernels, and
    between the two layers the transposes cancel. N = 250 with 24 KiB
    panels (the first layer's 62.5 KiB input is just over two of them):
    panels of unequal width (each with its own transpose) and the columns
    left; N = 150 with 1 KiB panels: equal ones; 0: no panels."""
    torch.manual_seed(5)
    model = nn.Sequential(nn.Linear(64, 256), nn.ReLU(), nn.Linear(256, 64)).eval()
    with torch.no_grad():
        model[0].weight.copy_(WideProduct().w)
    for n, panel_bytes in [(250, 24576), (150, 1024), (150, 0)]:
        x = torch.randn(n, 64)
        workdir = tmp_path / f"{n}-{panel_bytes}"
        compiled = compile_in_panels(model, x, target, threads, panel_bytes, workdir)
        # The panels are there (their buffers are allocated per call).
        assert ("@malloc" in (workdir / "model.ll").read_text()) == (panel_bytes > 0)
        with torch.no_grad():
            torch.testing.assert_close(compiled(x), model(x), rtol=1e-4, atol=1e-4)


def test_long_groups_in_chunks_match_torch(tmp_path):
    """Groups keeping far more columns than fit L1 (1024 kept columns,
    about 128 KiB of rhs slices and weights per 24-wide tile, against
    chunks of 16 KiB) walk their slabs chunk by chunk on AVX2, beside
    short, empty and half-full groups."""
    gen = torch.Generator().manual_seed(3)
    w = torch.randn(48, 1024, generator=gen)
    w[8:16, 8:] = 0  # 8 kept columns
    w[16:24] = 0  # none
    w[40:, ::2] = 0  # half
    model = Product(w).eval()
    x = torch.randn(1024, 40)
    compiled = compile(model, x, max_density=1.0, threads=1, workdir=tmp_path)
    with torch.no_grad():
        torch.testing.assert_close(compiled(x), model(x), rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("rows,threads", [(256, 2), (256, 3), (256, 5), (64, 9)])
def test_panel_stripes_run_every_group_once(rows, threads, tmp_path):
    """With panels and threads, each thread takes a stripe of consecutive
    groups of about equal work (as many as the runtime's threads, at most
    one per group) and runs it over every panel and the columns left. The
    groups' work is uneven (all columns kept, one kept, none, in the middle
    and at the end); at 9 threads the 8 groups are fewer than the
    threads."""
    gen = torch.Generator().manual_seed(7)
    w = torch.randn(rows, 64, generator=gen)
    if rows == 256:
        groups = w.view(32, 8, 64)
        groups[8:16, :, 4:] = 0
        groups[16:24] = 0
        groups[24:28, :, ::3] = 0
        groups[28:] = 0
    model = Product(w).eval()
    x = torch.randn(64, 150)
    compiled = compile_in_panels(model, x, "host", threads, 1024, tmp_path)
    ir = (tmp_path / "model.ll").read_text()
    assert "@malloc" in ir and "__kmpc_fork_call" in ir
    assert "@omp_get_max_threads" in ir
    with torch.no_grad():
        torch.testing.assert_close(compiled(x), model(x), rtol=1e-4, atol=1e-4)


def test_threads_are_checked():
    model = pruned_mlp()
    x = torch.randn(2, 40)
    with pytest.raises(ValueError, match="threads must be >= 1"):
        compile(model, x, threads=0)
    with pytest.raises(ValueError, match="only the host"):
        compile(model, x, target="aarch64", threads=2)


class Interleaved(nn.Module):
    """A layer whose even rows keep the first half of the inputs and odd
    rows the second: packed in natural 8-row groups every group stores all
    columns; blkrew-reorder groups the even rows and the odd rows."""

    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(32, 16, bias=False)
        with torch.no_grad():
            self.fc.weight[0::2, 16:] = 0
            self.fc.weight[1::2, :16] = 0

    def forward(self, x):
        return torch.relu(self.fc(x))


@pytest.mark.parametrize("target", ["host", "aarch64", "spirv"])
def test_reordered_layer_matches_torch(target, tmp_path):
    torch.manual_seed(3)
    model = Interleaved().eval()
    x = torch.randn(5, 32)
    compiled = compile(model, x, target=target, max_density=0.9, workdir=tmp_path)
    assert compiled.layers["reordered_matmuls"] == 1
    with torch.no_grad():
        torch.testing.assert_close(compiled(x), model(x), rtol=1e-5, atol=1e-5)
    plain = compile(
        model,
        x,
        target=target,
        reorder=False,
        max_density=0.9,
        workdir=tmp_path / "plain",
    )
    assert plain.layers["reordered_matmuls"] == 0


@pytest.mark.parametrize("target", ["host", "aarch64"])
def test_tuned_kernels_match_torch_and_are_cached(target, tmp_path, monkeypatch):
    """tune=True measures (host) or costs with llvm-mca (AArch64) each
    kernel's candidate tiles, records the choice on the op and in the
    manifest, and caches it: a second compile reuses it unchanged."""
    monkeypatch.setenv("BLKREW_CACHE_DIR", str(tmp_path / "cache"))
    torch.manual_seed(4)
    model = nn.Sequential(nn.Linear(64, 48), nn.ReLU()).eval()
    with torch.no_grad():
        model[0].weight[:, 1::2] = 0
    x = torch.randn(40, 64)  # N = 40: the column-tiled kernel, tile to tune
    seen = []
    options = dict(target=target, threads=1 if target == "host" else None, tune=True)
    first = compile(
        model,
        x,
        **options,
        workdir=tmp_path / "a",
        progress=lambda op, choice: seen.append(choice),
    )
    tuning = first.manifest["tuning"]
    assert len(tuning) == 1 and seen
    candidates = tuning[0]["candidates"]
    assert len(candidates) == (8 if target == "host" else 4)
    # The cheapest candidate wins.
    best = min(candidates, key=candidates.get)
    chosen = f"{tuning[0]['tile_vectors']},{tuning[0]['prefetch_distance']}"
    assert candidates[chosen] == candidates[best]
    with torch.no_grad():
        torch.testing.assert_close(first(x), model(x), rtol=1e-5, atol=1e-5)
    cache = json.loads((tmp_path / "cache" / "tune.json").read_text())
    assert len(cache) == 1
    again = compile(model, x, **options, workdir=tmp_path / "b")
    assert again.manifest["tuning"] == tuning
    assert again.manifest["timings"]["tune_s"] < first.manifest["timings"]["tune_s"]


@pytest.mark.parametrize("canonical", [False, True])
def test_tuning_choice_lands_on_the_op(canonical, tmp_path, monkeypatch):
    """tune_kernels writes its choice onto the bsr_matmul as attributes the
    kernel lowering reads, keeping attributes already there; also on an op
    whose zero fill was already folded in (`overwrite`)."""
    from blkrew.compiler.api import import_model
    from blkrew.compiler.opt import run_blkrew_opt
    from blkrew.compiler.tune import tune_kernels

    monkeypatch.setenv("BLKREW_CACHE_DIR", str(tmp_path))
    torch.manual_seed(5)
    model = nn.Linear(64, 48, bias=False).eval()
    with torch.no_grad():
        model.weight[:, 1::2] = 0
    x = torch.randn(40, 64)
    imported = import_model(model, (x,)).replace("@main(", "@forward(", 1)
    sparse = run_blkrew_opt(imported, ["--blkrew-sparsify=max-density=1.0"])
    if canonical:
        sparse = run_blkrew_opt(sparse, ["--canonicalize"])
        assert "overwrite" in sparse
    tuned, choices = tune_kernels(sparse, "aarch64", 1)
    (choice,) = choices
    attrs = (
        f"blkrew.tile_vectors = {choice['tile_vectors']} : i64, "
        f"blkrew.prefetch_distance = 0 : i64"
    )
    assert attrs in tuned and attrs not in sparse
    # Still valid IR that the pipeline compiles.
    run_blkrew_opt(tuned, ["--blkrew-cpu-pipeline=target=aarch64"])


@pytest.mark.parametrize("target", ["host", "aarch64"])
def test_small_n_kernel_sums_every_kept_column(target, tmp_path):
    """Batch below the vector width: the kernel vectorizes along each
    group's rows and runs several sets of accumulators over consecutive
    kept columns (one set per FMA chain), the columns left over into the
    first set, then sums the sets. Groups keep 0, 1, a step less one, a
    step, a step plus one and many columns (steps of 8, 4, 2 and 2
    columns at N = 1, 2, 5 and 7 on the host; N = 1 and 3 on NEON)."""
    torch.manual_seed(6)
    kept = [0, 1, 3, 4, 5, 7, 8, 9, 17, 40]
    model = nn.Sequential(nn.Linear(64, 8 * len(kept))).eval()
    with torch.no_grad():
        w = model[0].weight
        w.zero_()
        for g, count in enumerate(kept):
            cols = torch.randperm(64)[:count]
            w[8 * g : 8 * g + 8, cols] = torch.randn(8, count)
    for n in [1, 2, 5, 7] if target == "host" else [1, 3]:
        x = torch.randn(n, 64)
        compiled = compile(model, x, target=target, workdir=tmp_path / str(n))
        assert compiled.layers["sparse_matmuls"] == 1
        with torch.no_grad():
            torch.testing.assert_close(compiled(x), model(x), rtol=1e-4, atol=1e-4)
