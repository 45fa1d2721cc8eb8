"""The SPIR-V target: zoo models, BLK-REW-pruned, compiled for a mobile
Vulkan GPU and run through Vulkan (lavapipe, Mesa's CPU driver, here) equal
PyTorch; every emitted kernel passes spirv-val; the artifacts save and load;
a machine without a Vulkan device gets a clear error."""

import json
import os
import shutil
import subprocess
import sys

import numpy as np
import pytest
import torch

import blkrew
from blkrew.compiler.api import compile
from blkrew.models import example_input
from test_zoo import check as check_zoo
from test_zoo import pruned_zoo_model

MODELS = ["digits-cnn", "digits-gru", "digits-lstm"]
CIFAR = ["vgg16-cifar", "resnet18-cifar", "mobilenetv2-cifar"]


def check(name, batch, workdir, **options):
    """The pruned zoo model through target="spirv" equals PyTorch."""
    x = example_input(name, batch=batch, seed=batch)
    return check_zoo(pruned_zoo_model(name), x, "spirv", workdir, **options)


@pytest.mark.parametrize("batch", [1, 3])
@pytest.mark.parametrize("name", MODELS)
def test_small_models(name, batch, tmp_path):
    check(name, batch, tmp_path)


@pytest.mark.parametrize("rows", [1, 4, 0])
def test_rows_per_invocation(rows, tmp_path):
    """Every kernel shape computes the model (the CNN's 8-row groups: 1, 4
    or all 8 rows an invocation); the manifest records the choice; CPU
    targets refuse the option."""
    compiled = check("digits-cnn", 3, tmp_path, rows_per_invocation=rows)
    assert compiled.manifest["spirv"]["rows_per_invocation"] == rows
    with pytest.raises(ValueError, match="spirv target only"):
        compile(torch.nn.Linear(4, 4), torch.randn(1, 4), rows_per_invocation=rows)


@pytest.mark.parametrize("name", CIFAR)
def test_cifar_models(name, tmp_path):
    compiled = check(name, 1, tmp_path)
    spirv = compiled.manifest["spirv"]
    # Launches of the same computation share a kernel; every kernel was
    # validated at compile time.
    assert spirv["spirv_val"] is True
    assert 0 < spirv["kernels"] <= spirv["dispatches"]
    # Stride-1 convolutions read the image in place: VGG-16 (all 3x3,
    # stride 1) has no device buffer shaped like patches [C, 3, 3, H, W];
    # ResNet-18's stride-2 convolutions keep theirs.
    plan = json.loads((tmp_path / "plan.json").read_text())
    patches = [b["shape"] for b in plan["buffers"] if len(b["shape"]) == 5]
    assert (patches == []) == (name != "resnet18-cifar"), patches


@pytest.mark.skipif(shutil.which("spirv-val") is None, reason="spirv-tools missing")
def test_every_kernel_passes_spirv_val(tmp_path):
    compiled = check("digits-cnn", 1, tmp_path)
    plan = json.loads((tmp_path / "plan.json").read_text())
    assert len(plan["kernels"]) == compiled.manifest["spirv"]["kernels"]
    for kernel in plan["kernels"]:
        subprocess.run(
            ["spirv-val", "--target-env", "vulkan1.1", str(tmp_path / kernel["file"])],
            check=True,
        )
        # Mobile target: no 64-bit or half types (OpCapability Int64 = 11,
        # Float64 = 10, Float16 = 9 would be declared as words 0x00020011, N).
        words = (tmp_path / kernel["file"]).read_bytes()
        for cap in (9, 10, 11):
            assert (0x00020011).to_bytes(4, "little") + cap.to_bytes(
                4, "little"
            ) not in words


def test_save_load_and_repeat(tmp_path):
    compiled = check("digits-gru", 1, tmp_path / "a")
    x = example_input("digits-gru", batch=1, seed=5)
    first = compiled(x)
    assert torch.equal(compiled(x), first)  # buffers are reused across calls
    loaded = blkrew.load(compiled.save(tmp_path / "b"))
    assert loaded.target == "spirv"
    torch.testing.assert_close(loaded(x), first, rtol=0, atol=0)
    (tmp_path / "b" / "kernel0.spv").write_bytes(b"\x00" * 8)
    with pytest.raises(ValueError, match="does not match its manifest hash"):
        blkrew.load(tmp_path / "b")


def test_cpu_only_options_are_rejected():
    model = torch.nn.Linear(4, 4)
    with pytest.raises(ValueError, match="CPU targets only"):
        compile(model, torch.randn(1, 4), target="spirv", threads=2)
    with pytest.raises(ValueError, match="CPU targets only"):
        compile(model, torch.randn(1, 4), target="spirv", implicit_im2col=False)


def test_no_vulkan_device_is_a_clear_error(tmp_path):
    compiled = check("digits-cnn", 1, tmp_path)
    script = (
        "import sys, torch, blkrew\n"
        "from blkrew.runtime.vulkan import VulkanError\n"
        f"m = blkrew.load({str(tmp_path)!r})\n"
        "try:\n"
        "    m(torch.zeros(1, 1, 8, 8))\n"
        "except VulkanError as e:\n"
        "    print('ERROR', e)\n"
    )
    # No driver manifest: the loader finds no device.
    env = dict(os.environ, VK_ICD_FILENAMES=str(tmp_path / "none.json"))
    env.pop("VK_DRIVER_FILES", None)
    proc = subprocess.run(
        [sys.executable, "-c", script], env=env, capture_output=True, text=True
    )
    assert proc.returncode == 0, proc.stderr
    assert "ERROR" in proc.stdout
    assert "driver" in proc.stdout  # says what to install
    assert compiled.manifest["spirv"]["dispatches"] > 0


def run_on_vulkan(module: str, inputs, out_shape, workdir, pipeline=""):
    """blkrew-spirv-pipeline (with options ``pipeline``) +
    blkrew-export-vulkan on ``module`` (a function @forward), then the
    Vulkan runner."""
    from blkrew.compiler.opt import run_blkrew_opt
    from blkrew.runtime.vulkan import VulkanRunner

    run_blkrew_opt(
        module,
        [
            "--blkrew-spirv-pipeline" + (f"={pipeline}" if pipeline else ""),
            f"--blkrew-export-vulkan=output-dir={workdir}",
        ],
    )
    out = torch.empty(out_shape)
    VulkanRunner(workdir).run([torch.from_numpy(x) for x in inputs], [out])
    return out.numpy()


@pytest.mark.parametrize("rows", [1, 2, 0])
@pytest.mark.parametrize(
    "m,k,n,block,permuted",
    [(13, 20, 70, (4, 2), True), (16, 9, 5, (8, 4), False), (5, 33, 130, (1, 4), True)],
)
def test_bsr_matmul_and_to_dense_on_vulkan(m, k, n, block, permuted, rows, tmp_path):
    """The blkrew ops themselves on the GPU: a permuted layout, a padded last
    group, N not a multiple of the workgroup; to_dense's scatter. ``rows``
    of a group per invocation: 1, 2 (13 rows in groups of 4: the last
    invocation's second row is outside) and the whole group."""
    from blkrew.compiler.format import pack
    from blkrew.compiler.reference import dense_attr

    rng = np.random.default_rng(m * k + n)
    w = rng.standard_normal((m, k)).astype(np.float32)
    w[:, rng.random(k) < 0.5] = 0.0  # pruned columns
    perm = rng.permutation(m) if permuted else None
    packed = pack(w, block, perm=perm)
    x = rng.standard_normal((k, n)).astype(np.float32)
    layout = packed.layout_attr()
    arrays = (
        f"  %rp = arith.constant {dense_attr(packed.row_ptr)}\n"
        f"  %ci = arith.constant {dense_attr(packed.col_idx)}\n"
        f"  %v = arith.constant {dense_attr(packed.values)}\n"
        "  %zero = arith.constant 0.0 : f32\n"
    )
    types = (
        f"tensor<{packed.row_ptr.size}xi32>, tensor<{packed.col_idx.size}xi32>, "
        f"tensor<{packed.values.shape[0]}x{block[0]}xf32>"
    )
    out = f"tensor<{m}x{n}xf32>"
    spmm = f"""
func.func @forward(%x: tensor<{k}x{n}xf32>) -> {out} {{
{arrays}  %e = tensor.empty() : {out}
  %init = linalg.fill ins(%zero : f32) outs(%e : {out}) -> {out}
  %y = blkrew.bsr_matmul {layout} ins(%rp, %ci, %v, %x : {types}, tensor<{k}x{n}xf32>)
      outs(%init : {out}) -> {out}
  return %y : {out}
}}"""
    got = run_on_vulkan(
        spmm, [x], (m, n), tmp_path / "spmm", f"rows-per-invocation={rows}"
    )
    np.testing.assert_allclose(got, w @ x, rtol=1e-5, atol=1e-5)
    if rows != 1:
        return  # to_dense has one kernel shape

    to_dense = f"""
func.func @forward(%x: tensor<1xf32>) -> tensor<{m}x{k}xf32> {{
{arrays}  %e = tensor.empty() : tensor<{m}x{k}xf32>
  %d = blkrew.to_dense {layout} ins(%rp, %ci, %v : {types})
      outs(%e : tensor<{m}x{k}xf32>) -> tensor<{m}x{k}xf32>
  return %d : tensor<{m}x{k}xf32>
}}"""
    got = run_on_vulkan(to_dense, [np.zeros(1, np.float32)], (m, k), tmp_path / "dense")
    np.testing.assert_array_equal(got, w)


@pytest.fixture(scope="module")
def digits_cnn_plan(tmp_path_factory):
    """The pruned digits CNN compiled for SPIR-V: (folder, input, PyTorch's
    output)."""
    workdir = tmp_path_factory.mktemp("spirv-cnn")
    model = pruned_zoo_model("digits-cnn")
    x = example_input("digits-cnn", batch=2, seed=5)
    compile(model, x, target="spirv", workdir=workdir)
    with torch.no_grad():
        return workdir, x, model(x), model


@pytest.mark.parametrize(
    "requested,placed",
    [
        ("auto", "unified"),
        ("unified", "unified"),
        ("staged", "staged"),
        ("host", "host"),
    ],
)
def test_memory_placements_agree(digits_cnn_plan, requested, placed):
    """Each placement of the buffers computes the model: ``staged`` (device
    memory, arguments copied around the launches, weights uploaded once
    through a staging buffer: a discrete GPU's) included. lavapipe offers
    device-local host-visible memory, so ``auto`` is ``unified`` here."""
    from blkrew.runtime.vulkan import VulkanRunner

    directory, x, want, _ = digits_cnn_plan
    runner = VulkanRunner(directory, memory=requested)
    try:
        assert runner.memory_mode == placed
        for _ in range(2):  # the second run re-uses the recorded copies
            got = torch.full_like(want, float("nan"))
            runner.run([x], [got])
            torch.testing.assert_close(got, want, rtol=1e-4, atol=1e-4)
    finally:
        runner.close()


def test_memory_placement_from_the_environment(digits_cnn_plan, monkeypatch):
    from blkrew.runtime.vulkan import VulkanRunner

    directory, _, _, _ = digits_cnn_plan
    monkeypatch.setenv("BLKREW_VULKAN_MEMORY", "staged")
    runner = VulkanRunner(directory)
    assert runner.memory_mode == "staged"
    runner.close()
    monkeypatch.setenv("BLKREW_VULKAN_MEMORY", "device")
    with pytest.raises(ValueError, match="unified, staged, host.*BLKREW_VULKAN_MEMORY"):
        VulkanRunner(directory)


def test_profile_times_every_launch(digits_cnn_plan):
    """``profile=True``: one GPU time per launch, in plan order, inside the
    call's wall time; without it no timestamps are recorded."""
    import time

    from blkrew.runtime.vulkan import VulkanRunner

    directory, x, want, _ = digits_cnn_plan
    plan = json.loads((directory / "plan.json").read_text())
    plain = VulkanRunner(directory)
    plain.run([x], [torch.empty_like(want)])
    assert plain.last_profile is None
    plain.close()
    runner = VulkanRunner(directory, profile=True)
    got = torch.empty_like(want)
    runner.run([x], [got])  # the first run also compiles the shaders
    start = time.perf_counter()
    runner.run([x], [got])
    wall_ms = (time.perf_counter() - start) * 1e3
    torch.testing.assert_close(got, want, rtol=1e-4, atol=1e-4)
    profile = runner.last_profile
    assert [p["dispatch"] for p in profile] == list(range(len(plan["dispatches"])))
    assert [p["grid"] for p in profile] == [d["grid"] for d in plan["dispatches"]]
    assert all(p["ms"] >= 0 for p in profile)
    assert 0 < sum(p["ms"] for p in profile) <= wall_ms
    runner.close()
    # The same through the API; the conv and FC layers run the block-sparse
    # kernel, the pooling and activations others.
    launches = blkrew.load(directory).profile(x)
    assert len(launches) == len(plan["dispatches"])
    assert 0 < sum(p["block_sparse"] for p in launches) < len(launches)


def test_runners_share_one_device(digits_cnn_plan):
    """Every runner of a process uses one Vulkan instance and device
    (NVIDIA's driver refused new instances after 27 had come
    and gone in one process), and runners alive at once each keep their
    own buffers."""
    from blkrew.runtime.vulkan import VulkanRunner

    directory, x, want, model = digits_cnn_plan
    runners = [VulkanRunner(directory) for _ in range(3)]
    assert len({r.device for r in runners}) == 1
    outs = [torch.empty_like(want) for _ in runners]
    for scale, (r, y) in enumerate(zip(runners, outs, strict=True)):
        r.run([x * (scale + 1)], [y])
    runners[1].close()  # closing one leaves the shared device to the others
    runners[2].run([x * 3], [outs[2]])
    runners[0].run([x], [outs[0]])
    with torch.no_grad():
        for scale in (0, 2):
            want = model(x * (scale + 1))
            torch.testing.assert_close(outs[scale], want, rtol=1e-4, atol=1e-4)
    for r in (runners[0], runners[2]):
        r.close()
