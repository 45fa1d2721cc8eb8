"""The model zoo: forward shapes and what the pruner finds in each model."""

import pytest
import torch

import blkrew
from blkrew.models import MODELS, example_input, get_model


@pytest.mark.parametrize("name", sorted(MODELS))
def test_forward_shape(name):
    torch.manual_seed(0)
    model = get_model(name).eval()
    x = example_input(name, batch=2)
    with torch.no_grad():
        y = model(x)
    assert y.shape == (2, 10)
    assert torch.isfinite(y).all()


def test_zoo_sizes_and_prunable_layers():
    def n_params(m):
        return sum(p.numel() for p in m.parameters())

    assert n_params(blkrew.models.digits_cnn()) < 100_000  # trains in seconds
    assert n_params(blkrew.models.vgg16_cifar()) > 14_000_000
    assert 11_000_000 < n_params(blkrew.models.resnet18_cifar()) < 11_300_000
    assert 2_000_000 < n_params(blkrew.models.mobilenetv2_cifar()) < 2_500_000
    p = blkrew.ReweightedPruner(blkrew.models.vgg16_cifar(), blkrew.BlockPruneConfig())
    assert len(p.targets) == 12  # 13 convs minus the first; classifier skipped
    with pytest.raises(ValueError, match="unknown model 'alexnet'"):
        get_model("alexnet")


def test_digits_rnn_cells():
    assert isinstance(blkrew.models.digits_gru().rnn, torch.nn.GRU)
    assert isinstance(blkrew.models.digits_lstm().rnn, torch.nn.LSTM)
    with pytest.raises(ValueError, match="unknown cell"):
        blkrew.models.DigitsRNN("rnn")
