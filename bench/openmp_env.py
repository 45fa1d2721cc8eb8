"""OpenMP settings for benchmarks that time torch and blkrew in one process.

torch (libgomp) and blkrew (LLVM's libomp) each keep a pool of worker
threads. By default an idle worker spins before it sleeps (libomp: 200 ms),
so one runtime's workers would spin on the cores the other is being timed
on; passive waiting instead makes every parallel region of a call wake its
workers, which on this VM costs more than a small kernel takes. Here each
runtime's workers spin for about a millisecond at most (between the parallel
regions of one call, as in deployment), and the benchmarks pause SETTLE_S
after each timed call at 2 threads so the next contender starts with the
other runtime's workers asleep.

Import this module before torch or blkrew: both runtimes read their
environment when they load.
"""

import os

BOUNDED_SPIN = {"KMP_BLOCKTIME": "1", "GOMP_SPINCOUNT": "10000"}
SETTLE_S = 0.005

for _key, _value in BOUNDED_SPIN.items():
    os.environ.setdefault(_key, _value)
