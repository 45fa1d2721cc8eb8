"""Worker for test_ddp.py: one rank of a 2-process gloo run of blkrew.prune.fit
under DistributedDataParallel (started by torch.multiprocessing.spawn)."""

import os
import sys
from pathlib import Path

import torch
import torch.distributed as dist
from torch.nn.parallel import DistributedDataParallel
from torch.utils.data import DataLoader, Subset
from torch.utils.data.distributed import DistributedSampler


def run(rank: int, world: int, port: int, out_dir: str) -> None:
    """Trains, prunes and retrains on a digits subset; saves what it got."""
    import blkrew
    from blkrew.data import digits_dataset

    os.environ["MASTER_ADDR"] = "127.0.0.1"
    os.environ["MASTER_PORT"] = str(port)
    torch.set_num_threads(1)
    out = Path(out_dir)
    err = open(out / f"rank{rank}.err", "w")  # noqa: SIM115
    sys.stderr = err  # tqdm writes here: only rank 0 may draw bars
    dist.init_process_group("gloo", rank=rank, world_size=world)
    try:
        # Different initial weights per rank on purpose: DDP broadcasts rank
        # 0's, and masks must still agree.
        torch.manual_seed(100 + rank)
        model = blkrew.models.digits_cnn(width=8, hidden=32)
        ddp = DistributedDataParallel(model)
        train = Subset(digits_dataset("image", "train"), range(256))
        test = Subset(digits_dataset("image", "test"), range(128))
        loader = DataLoader(
            train, batch_size=32, sampler=DistributedSampler(train, seed=0)
        )
        val = DataLoader(
            test, batch_size=64, sampler=DistributedSampler(test, shuffle=False)
        )
        cfg = blkrew.BlockPruneConfig(block=(8, 4), scheme="column", compression=4.0)
        res = blkrew.prune.fit(
            ddp,
            loader,
            val,
            cfg,
            pretrain_epochs=1,
            reg_epochs=1,
            retrain_epochs=1,
            progress=True,
        )
        torch.save(
            {
                "masks": res.pruner.masks,
                "state": model.state_dict(),
                "acc": res.acc_final,
                "stats": res.pruner.layer_stats(),
            },
            out / f"rank{rank}.pt",
        )
    finally:
        dist.destroy_process_group()
        err.flush()
