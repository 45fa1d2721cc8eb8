"""blkrew.prune.fit under DistributedDataParallel: 2 gloo ranks on the CPU
finish with identical masks (and weights), progress bars on rank 0 only."""

import socket

import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp

import ddp_worker


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.skipif(not dist.is_available(), reason="torch.distributed unavailable")
def test_two_ranks_finish_with_identical_masks(tmp_path):
    mp.spawn(ddp_worker.run, args=(2, _free_port(), str(tmp_path)), nprocs=2, join=True)
    r0 = torch.load(tmp_path / "rank0.pt", weights_only=False)
    r1 = torch.load(tmp_path / "rank1.pt", weights_only=False)
    assert r0["masks"].keys() == r1["masks"].keys() and r0["masks"]
    for name, m in r0["masks"].items():
        assert torch.equal(m, r1["masks"][name]), name
        assert not bool(m.all())  # really pruned
    for k, v in r0["state"].items():
        if "running_" in k or "num_batches" in k:
            continue  # BN statistics: DDP syncs them before each forward only
        torch.testing.assert_close(v, r1["state"][k], msg=k)
    assert r0["acc"] == r1["acc"]  # validation counts are summed over ranks
    for row in r0["stats"]:
        if row["pruned"]:
            assert row["compression"] == 4.0
    assert "retrain" in (tmp_path / "rank0.err").read_text()
    assert "retrain" not in (tmp_path / "rank1.err").read_text()
