"""ReweightedPruner: penalty and reweighting formulas, masks in force during
retraining, masks through state_dict, untouched BN/biases, defaults,
overrides and errors."""

import io

import numpy as np
import pytest
import torch
from torch import nn

import blkrew
from blkrew.prune import MASK_SUFFIX


def _cfg(**kw):
    kw.setdefault("skip_classifier", False)
    kw.setdefault("skip_first_conv", False)
    kw.setdefault("skip_rnn_input", False)
    return blkrew.BlockPruneConfig(**kw)


class Small(nn.Module):
    """conv -> BN -> conv -> BN -> fc -> fc (with biases)."""

    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 6, 3, padding=1)
        self.bn1 = nn.BatchNorm2d(6)
        self.conv2 = nn.Conv2d(6, 10, 3, padding=1)
        self.bn2 = nn.BatchNorm2d(10)
        self.fc = nn.Linear(10 * 16, 20)
        self.out = nn.Linear(20, 4)

    def forward(self, x):
        x = torch.relu(self.bn1(self.conv1(x)))
        x = torch.relu(self.bn2(self.conv2(x)))
        return self.out(torch.relu(self.fc(x.flatten(1))))


def _hand_groups(w: np.ndarray, block, scheme):
    """Squared norms of the groups, by explicit loops (the spec's definition)."""
    m, k = w.shape
    p, q = block
    out = []
    if scheme in ("column", "bcr"):
        for r0 in range(0, m, p):
            for c in range(k):
                out.append(float((w[r0 : r0 + p, c] ** 2).sum()))
    if scheme in ("row", "bcr"):
        for r in range(m):
            for c0 in range(0, k, q):
                out.append(float((w[r, c0 : c0 + q] ** 2).sum()))
    return np.array(out)


@pytest.mark.parametrize("scheme", ["column", "row", "bcr"])
def test_penalty_and_reweight_match_hand_computation(scheme):
    torch.manual_seed(0)
    lin = nn.Linear(7, 5)  # W[5, 7], block 2x3: partial edge blocks
    lam, eps = 0.01, 1e-3
    pruner = blkrew.ReweightedPruner(
        nn.Sequential(lin), _cfg(block=(2, 3), scheme=scheme, lam=lam, eps=eps)
    )
    w = lin.weight.detach().numpy().astype(np.float64)
    sq = _hand_groups(w, (2, 3), scheme)

    pen = pruner.penalty()
    assert pen.dim() == 0 and pen.requires_grad
    # alpha starts at 1: lam * sum ||W_g||^2
    torch.testing.assert_close(pen.item(), lam * sq.sum(), rtol=1e-5, atol=1e-8)

    pruner.reweight()
    alpha = 1.0 / (sq + eps)
    pen2 = pruner.penalty()
    torch.testing.assert_close(
        pen2.item(), lam * (alpha * sq).sum(), rtol=1e-5, atol=1e-8
    )
    # the penalty is differentiable: d/dW = 2 lam alpha_g W
    pen2.backward()
    grad = np.zeros_like(w)
    m, k = w.shape
    i = 0
    if scheme in ("column", "bcr"):
        for r0 in range(0, m, 2):
            for c in range(k):
                grad[r0 : r0 + 2, c] += 2 * lam * alpha[i] * w[r0 : r0 + 2, c]
                i += 1
    if scheme in ("row", "bcr"):
        for r in range(m):
            for c0 in range(0, k, 3):
                grad[r, c0 : c0 + 3] += 2 * lam * alpha[i] * w[r, c0 : c0 + 3]
                i += 1
    torch.testing.assert_close(lin.weight.grad.double(), torch.from_numpy(grad))
    assert lin.bias.grad is None  # biases are not regularized
    assert pruner.reweight_count == 1


def test_update_weights_is_reweight_and_other_methods():
    torch.manual_seed(0)
    lin = nn.Linear(8, 8)
    w = lin.weight.detach().numpy().astype(np.float64)
    sq = _hand_groups(w, (4, 4), "column")
    p = blkrew.ReweightedPruner(nn.Sequential(lin), _cfg(block=(4, 4), lam=0.5))
    assert blkrew.ReweightedPruner.update_weights is blkrew.ReweightedPruner.reweight
    p.update_weights()
    torch.testing.assert_close(
        p.penalty().item(), 0.5 * (sq / (sq + p.cfg.eps)).sum(), rtol=1e-5, atol=1e-8
    )

    gl = blkrew.ReweightedPruner(
        nn.Sequential(lin), _cfg(block=(4, 4), lam=0.5, method="group_lasso")
    )
    before = gl.penalty().item()
    torch.testing.assert_close(before, 0.5 * np.sqrt(sq).sum(), rtol=1e-5, atol=1e-8)
    gl.reweight()  # alpha fixed at 1 for group lasso
    assert gl.penalty().item() == before

    mag = blkrew.ReweightedPruner(nn.Sequential(lin), _cfg(method="magnitude"))
    z = mag.penalty()
    assert z.dim() == 0 and z.item() == 0.0


def test_per_layer_lambda_override():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(8, 8), nn.Linear(8, 8))
    p = blkrew.ReweightedPruner(
        model, _cfg(block=(4, 4), lam=1.0, overrides={"1": {"lam": 0.0}})
    )
    w0 = model[0].weight.detach()
    torch.testing.assert_close(p.penalty(), (w0 * w0).sum())
    assert [r["lam"] for r in p.layer_stats()] == [1.0, 0.0]


def test_masks_survive_optimizer_steps_with_momentum_and_weight_decay():
    torch.manual_seed(0)
    model = Small()
    pruner = blkrew.ReweightedPruner(model, _cfg(compression=4.0))
    x, y = torch.randn(16, 1, 4, 4), torch.randint(0, 4, (16,))
    opts = [
        torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9, weight_decay=0.1),
        torch.optim.AdamW(model.parameters(), lr=0.01, weight_decay=0.1),
    ]
    # build up optimizer state (momentum) before pruning
    for opt in opts:
        for _ in range(3):
            opt.zero_grad()
            nn.functional.cross_entropy(model(x), y).backward()
            opt.step()
    masks = pruner.hard_prune()
    for opt in opts:
        for _ in range(3):
            opt.zero_grad()
            nn.functional.cross_entropy(model(x), y).backward()
            for name, t in pruner.named_targets():
                assert torch.all(t.param.grad[~masks[name]] == 0), name
            opt.step()
            for name, t in pruner.named_targets():
                assert torch.all(t.param[~masks[name]] == 0), name
                assert torch.equal(t.param != 0, masks[name]), name


def test_bn_and_biases_untouched():
    torch.manual_seed(0)
    model = Small()
    model.train()
    model(torch.randn(8, 1, 4, 4))  # non-trivial BN running stats
    before = {k: v.clone() for k, v in model.state_dict().items()}
    pruner = blkrew.ReweightedPruner(model, _cfg(compression=4.0))
    pruner.reweight()
    pruner.hard_prune()
    pruner.apply_masks()
    after = model.state_dict()
    pruned = {t.name for t in pruner.targets}
    assert pruned == {"conv1.weight", "conv2.weight", "fc.weight", "out.weight"}
    for k, v in before.items():
        if k not in pruned:
            torch.testing.assert_close(after[k], v, rtol=0, atol=0)
    assert all(k.endswith(MASK_SUFFIX) for k in set(after) - set(before))
    # the penalty never involves BN or bias parameters
    model.zero_grad()
    pruner.penalty().backward()
    for n, p in model.named_parameters():
        if n not in pruned:
            assert p.grad is None, n


def test_masks_persist_through_state_dict_into_fresh_model():
    torch.manual_seed(0)
    model = Small()
    pruner = blkrew.ReweightedPruner(model, _cfg(compression=4.0, scheme="bcr"))
    masks = pruner.hard_prune()
    buf = io.BytesIO()
    torch.save(model.state_dict(), buf)
    buf.seek(0)

    torch.manual_seed(123)
    fresh = Small()
    fresh_pruner = blkrew.ReweightedPruner(fresh, _cfg(compression=4.0, scheme="bcr"))
    assert all(bool(m.all()) for m in fresh_pruner.masks.values())
    fresh.load_state_dict(torch.load(buf, weights_only=True))
    for name, m in fresh_pruner.masks.items():
        assert torch.equal(m, masks[name]), name
    assert fresh_pruner.pruned
    # and they are enforced in retraining
    opt = torch.optim.SGD(fresh.parameters(), lr=0.5, momentum=0.9)
    for _ in range(2):
        opt.zero_grad()
        fresh(torch.randn(4, 1, 4, 4)).sum().backward()
        opt.step()
    for name, t in fresh_pruner.named_targets():
        assert torch.all(t.param[~masks[name]] == 0)

    # the pruner's own state_dict round-trips as well
    state = pruner.state_dict()
    other = Small()
    other_pruner = blkrew.ReweightedPruner(other, _cfg(compression=4.0, scheme="bcr"))
    other_pruner.load_state_dict(state)
    for name, m in other_pruner.masks.items():
        assert torch.equal(m, masks[name])
        assert torch.all(dict(other.named_parameters())[name][~m] == 0)


def test_remove_leaves_a_plain_model_with_zeros():
    torch.manual_seed(0)
    model = Small()
    pruner = blkrew.ReweightedPruner(model, _cfg(compression=4.0))
    masks = pruner.hard_prune()
    pruner.remove()
    assert not any(k.endswith(MASK_SUFFIX) for k in model.state_dict())
    fresh = Small()
    fresh.load_state_dict(model.state_dict())  # strict: loads into a plain model
    for name, m in masks.items():
        assert torch.all(dict(fresh.named_parameters())[name][~m] == 0)


def test_defaults_skip_first_conv_classifier_rnn_input_and_depthwise():
    p = blkrew.ReweightedPruner(blkrew.models.digits_cnn(), blkrew.BlockPruneConfig())
    rows = {r["name"]: r for r in p.layer_stats()}
    assert "first convolution" in rows["features.0.weight"]["reason"]
    assert "classifier" in rows["classifier.weight"]["reason"]
    assert {t.name for t in p.targets} == {
        "features.3.weight",
        "features.7.weight",
        "fc1.weight",
    }
    g = blkrew.ReweightedPruner(blkrew.models.digits_lstm(), blkrew.BlockPruneConfig())
    assert [t.name for t in g.targets] == ["rnn.weight_hh_l0"]
    mb = blkrew.models.mobilenetv2_cifar(width=0.25)
    pm = blkrew.ReweightedPruner(mb, blkrew.BlockPruneConfig())
    stats = pm.layer_stats()
    dw = [r for r in stats if "depthwise" in r["reason"]]
    assert dw and all(not r["pruned"] and r["kind"] == "Conv2d" for r in dw)
    assert any(r["gemm"][1] > 9 for r in stats if r["name"] in pm.masks)  # 1x1 convs
    # a grouped conv (not depthwise) is pruned per group: the compiler runs
    # it as a block-diagonal convolution; an override forces a depthwise in
    conv = nn.Sequential(
        nn.Conv2d(4, 8, 1),
        nn.Conv2d(8, 8, 3, groups=2),
        nn.Conv2d(8, 8, 3, groups=8),
        nn.Conv2d(8, 16, 1),
    )
    pg = blkrew.ReweightedPruner(conv, _cfg(block=(4, 4), compression=2.0))
    assert {t.name for t in pg.targets} == {"0.weight", "1.weight", "3.weight"}
    pd = blkrew.ReweightedPruner(
        conv, _cfg(block=(4, 4), compression=2.0, overrides={"2": {"skip": False}})
    )
    masks = pd.hard_prune()
    assert masks["1.weight"].shape == (8, 4, 3, 3)
    assert masks["2.weight"].shape == (8, 1, 3, 3)


def test_overrides_by_name_type_and_parameter():
    model = blkrew.models.digits_gru()
    cfg = blkrew.BlockPruneConfig(
        overrides={
            "GRU": {"block": (4, 4), "compression": 4.0},
            "rnn.weight_ih_l0": {"skip": False, "scheme": "row"},
            nn.Linear: {"skip": False, "compression": 2.0},
        }
    )
    p = blkrew.ReweightedPruner(model, cfg)
    s = {r["name"]: r for r in p.layer_stats()}
    assert s["rnn.weight_ih_l0"]["scheme"] == "row"
    assert s["rnn.weight_hh_l0"]["block"] == [4, 4]
    assert s["rnn.weight_hh_l0"]["target_compression"] == 4.0
    assert s["classifier.weight"]["target_compression"] == 2.0
    p.hard_prune()
    s = {r["name"]: r for r in p.layer_stats()}
    assert s["rnn.weight_hh_l0"]["compression"] == 4.0
    cnn = blkrew.ReweightedPruner(
        blkrew.models.digits_cnn(),
        blkrew.BlockPruneConfig(overrides={"fc1": {"skip": True}}),
    )
    assert "fc1.weight" not in cnn.masks
    assert (
        "skipped by override"
        in {r["name"]: r for r in cnn.layer_stats()}["fc1.weight"]["reason"]
    )


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"block": (0, 4)}, "positive integers"),
        ({"block": (8, -1)}, "positive integers"),
        ({"block": (8,)}, "two positive integers"),
        ({"block": "8xq"}, "PxQ"),
        ({"compression": 0.5}, ">= 1"),
        ({"compression": float("nan")}, ">= 1"),
        (
            {"scheme": "diagonal"},
            "unknown scheme 'diagonal'; allowed: column, row, bcr",
        ),
        ({"method": "admm"}, "unknown method 'admm'; allowed: reweighted"),
        ({"eps": 0.0}, "eps must be"),
        ({"lam": -1.0}, "lam must be"),
        ({"overrides": {"fc1": {"colour": 1}}}, "unknown key"),
        ({"overrides": {"fc1": {"compression": 0.1}}}, ">= 1"),
    ],
)
def test_config_errors(kwargs, match):
    with pytest.raises(ValueError, match=match):
        blkrew.BlockPruneConfig(**kwargs)


def test_unknown_layer_in_overrides():
    cfg = blkrew.BlockPruneConfig(overrides={"fc9": {"skip": True}})
    with pytest.raises(ValueError, match="'fc9': no such layer.*prunable layers: "):
        blkrew.ReweightedPruner(blkrew.models.digits_cnn(), cfg)
    cfg = blkrew.BlockPruneConfig(overrides={"features.1": {"skip": True}})
    with pytest.raises(ValueError, match="BatchNorm2d, which is not prunable"):
        blkrew.ReweightedPruner(blkrew.models.digits_cnn(), cfg)


def test_nan_and_inf_weights_are_rejected():
    model = nn.Sequential(nn.Linear(8, 8))
    with torch.no_grad():
        model[0].weight[0, 0] = float("nan")
    with pytest.raises(ValueError, match=r"'0\.weight' has 1 NaN/Inf"):
        blkrew.ReweightedPruner(model, _cfg())
    model = nn.Sequential(nn.Linear(8, 8))
    pruner = blkrew.ReweightedPruner(model, _cfg())
    with torch.no_grad():
        model[0].weight[1, 2] = float("inf")
    with pytest.raises(ValueError, match="hard_prune: parameter '0.weight'"):
        pruner.hard_prune()


def test_pruner_accepts_ddp_style_wrapper_names():
    model = nn.DataParallel(nn.Sequential(nn.Linear(8, 8)))
    pruner = blkrew.ReweightedPruner(model, _cfg())
    assert list(pruner.masks) == ["0.weight"]


def test_report_files(tmp_path):
    torch.manual_seed(0)
    model = blkrew.models.digits_gru(hidden=16)
    pruner = blkrew.ReweightedPruner(model, blkrew.BlockPruneConfig(scheme="bcr"))
    pruner.hard_prune()
    paths = blkrew.prune.write_report(pruner, tmp_path, extra={"accuracy": 1.5})
    md = paths["md"].read_text()
    assert "rnn.weight_hh_l0" in md and "| 3 x 16x16 |" in md
    png = paths["mask:rnn.weight_hh_l0"]
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_attention_projections_pruned_per_gate_and_compiled():
    """nn.MultiheadAttention's stacked query/key/value projection is a target,
    its row groups taken within each of its three gates (36 rows each here,
    so a group of 8 rows across the stack would straddle two); with separate
    key/value sizes, the three projections are targets of their own. The
    pruned encoder and decoder layers compile to block-sparse kernels for
    them."""
    torch.manual_seed(0)
    layer = nn.TransformerEncoderLayer(36, 2, 64, dropout=0.0, batch_first=True)
    p = blkrew.ReweightedPruner(layer, _cfg(block=(8, 4), compression=4.0))
    targets = {t.name: t for t in p.targets}
    assert targets["self_attn.in_proj_weight"].gates == 3
    assert {"self_attn.out_proj.weight", "linear1.weight", "linear2.weight"} <= set(
        targets
    )
    masks = p.hard_prune()
    mask = masks["self_attn.in_proj_weight"]  # [108, 36]: q, k, v rows
    for gate in mask.reshape(3, 36, 36):
        for r0 in range(0, 36, 8):
            strip = gate[r0 : r0 + 8]
            # each column of a gate's row group kept or dropped whole
            assert torch.all(strip.all(dim=0) | ~strip.any(dim=0))
        assert abs(gate.float().mean().item() - 0.25) < 0.07
    p.remove()
    layer.eval()
    x = torch.randn(1, 16, 36)
    compiled = blkrew.compile(layer, x, block=(8, 4))
    assert compiled.layers["sparse_matmuls"] >= 3
    with torch.no_grad():
        torch.testing.assert_close(compiled(x), layer(x), rtol=1e-4, atol=1e-5)

    # Cross-attention splits the packed projection into a query part and a
    # key/value part (slices of the constant): both still sparse kernels.
    dec = nn.TransformerDecoderLayer(32, 2, 64, dropout=0.0, batch_first=True)
    pd = blkrew.ReweightedPruner(dec, _cfg(block=(8, 4), compression=4.0))
    pd.hard_prune()
    pd.remove()
    dec.eval()
    tgt, memory = torch.randn(1, 8, 32), torch.randn(1, 12, 32)
    compiled = blkrew.compile(dec, (tgt, memory), block=(8, 4))
    assert compiled.layers["sparse_matmuls"] == 7
    with torch.no_grad():
        torch.testing.assert_close(
            compiled(tgt, memory), dec(tgt, memory), rtol=1e-4, atol=1e-5
        )

    mha = nn.MultiheadAttention(16, 2, kdim=8, vdim=12)
    names = {t.name for t in blkrew.ReweightedPruner(mha, _cfg()).targets}
    assert names == {
        "q_proj_weight",
        "k_proj_weight",
        "v_proj_weight",
        "out_proj.weight",
    }


def test_conv1d_pruned_and_compiled_as_kernels():
    """nn.Conv1d is pruned in its [F, C*k] view (the first one skipped like a
    first Conv2d) and compiles to block-sparse kernels, the 2-D convolution
    of height 1, not to linalg loops."""
    torch.manual_seed(0)
    net = nn.Sequential(
        nn.Conv1d(4, 16, 3, padding=1),
        nn.ReLU(),
        nn.Conv1d(16, 32, 5, stride=2, padding=2),
        nn.ReLU(),
        nn.Conv1d(32, 32, 3, dilation=2, padding=2),
    )
    p = blkrew.ReweightedPruner(net, blkrew.BlockPruneConfig(compression=4.0))
    rows = {r["name"]: r for r in p.layer_stats()}
    assert "first convolution" in rows["0.weight"]["reason"]
    assert {t.name for t in p.targets} == {"2.weight", "4.weight"}
    masks = p.hard_prune()
    assert masks["2.weight"].shape == (32, 16, 5)
    p.remove()
    net.eval()
    x = torch.randn(2, 4, 40)
    compiled = blkrew.compile(net, x, block=(8, 4))
    assert compiled.layers["convolutions"] == 0
    assert compiled.layers["sparse_matmuls"] == 2
    with torch.no_grad():
        torch.testing.assert_close(compiled(x), net(x), rtol=1e-4, atol=1e-5)
