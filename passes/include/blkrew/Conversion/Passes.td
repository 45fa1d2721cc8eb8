//===- Passes.td - blkrew conversion passes ---------------*- tablegen -*-===//
//
// Part of the blkrew project, under the Apache License v2.0 with LLVM
// Exceptions.
//
//===----------------------------------------------------------------------===//

#ifndef BLKREW_CONVERSION_PASSES
#define BLKREW_CONVERSION_PASSES

include "mlir/Pass/PassBase.td"

def ConvertBlkRewToSCF : Pass<"convert-blkrew-to-scf", "ModuleOp"> {
  let summary = "Lower bufferized blkrew ops to reference scf loops";
  let description = [{
    The reference lowering of the packed block-sparse format: every
    `blkrew.bsr_matmul` and `blkrew.to_dense` on memrefs becomes plain
    `scf.for` loops with scalar `memref.load`/`memref.store` and `arith`
    arithmetic. It is deliberately simple; faster lowerings are tested
    against it.

    #### Input invariant

    blkrew ops have memref operands (run `one-shot-bufferize` first). Ops on
    tensors are reported as errors.

    #### Output IR

    For `bsr_matmul`: a loop over row groups, over the group's kept columns
    (bounds read from `row_ptr`), over the `p` rows of the group (guarded by
    `i < M` for the padded last group) and over the `N` columns of `rhs`,
    accumulating `values[j, r] * rhs[col_idx[j], n]` into
    `init[perm(i), n]`. A layout permutation is stored once as a private
    `memref.global` of `i32`.

    For `to_dense`: loops that zero `init`, then the same group/column/row
    nest storing `values[j, r]` at `init[perm(i), col_idx[j]]`.
  }];
  let dependentDialects = ["::mlir::arith::ArithDialect",
                           "::mlir::memref::MemRefDialect",
                           "::mlir::scf::SCFDialect"];
}

def ConvertBlkRewToVector : Pass<"convert-blkrew-to-vector", "ModuleOp"> {
  let summary = "Lower bufferized blkrew.bsr_matmul to a register-tiled vector kernel";
  let description = [{
    The CPU kernel for the packed format. For every row group and every
    `U*V`-wide slice of the dense dimension `N` (`V` = `vector-width`, `U` =
    `tile-vectors`), the `p` rows of the group accumulate in `p*U` vector
    registers (a `p x U*V` tile, loaded from and stored to `init` once); the
    loop over the group's kept columns loads the row slice
    `rhs[col, n:n+U*V]` once (`U` vectors) and each of the column's `p`
    weights once, as a broadcast (x86 folds it into the FMA's memory
    operand), and issues `p*U` `vector.fma`s. Where `p` rows would leave
    each fewer than 3 vectors of the `accumulators` (an 8-row group on
    AVX2's 16 registers), the group is walked in slabs of `p/2`, `p/4`, ...
    rows, each its own loop over the kept columns, the later ones finding
    the slice's rhs rows in L1 (only the first slab prefetches); with
    `slab-chunk-bytes`, where the average group keeps more columns than
    twice that many bytes of slices and values hold, the slabs take the columns
    in such chunks, every slab over one chunk before the next, so the
    later slabs still find them in L1. With `prefetch-distance`, it
    also prefetches the rhs row of the kept column that many ahead (the
    rows are irregular, so the hardware prefetcher cannot guess them). With
    `weight-prefetch-bytes` and a static `N` of at most 64, each kept
    column also prefetches the packed values that far ahead (clamped to
    the last kept column): a model's weights are read once per call, from
    beyond the core's L2 when they do not fit it, and its late layers (few
    outputs, each value feeding few FMAs) wait on them; the hardware's
    streamer did not run far enough ahead. Measured on the x86 host, 4096
    bytes, pruned CIFAR models at batch 1, two runs: VGG-16 9-12% and
    ResNet-18 4-9% faster, MobileNetV2 within 1%; with larger `N` the
    prefetch only cost instructions (FC 1024, `N` = 256: 5% slower). With
    a constant `col_idx` and a static `rhs`, each kept column's offset into
    the flattened `rhs` (or image) is computed at compile time, followed by
    `prefetch-distance` zero offsets, so the prefetch of a column past the
    group's last reads a valid offset and needs no clamp. With
    `panel-bytes`, a static K x N `rhs` (not an image) larger than twice
    that, each of whose elements feeds at least 64 FMAs, is read in panels of
    whole tiles of `N`, each as wide as `panel-bytes` of `rhs` allows:
    per panel, a copy into a packed, 64-byte-aligned K x panel buffer
    (`memref.alloc`, freed after the last panel), then every group's tiles
    over it, reading the copy, so the rows that several groups keep stay
    in L2 between them and a slice's rows do not crowd into a few cache
    sets as they do on an `rhs` whose rows lie a power of two bytes apart.
    What the whole tiles leave of `N` is copied last, zero-filled past
    `N`. With `parallel`, each thread takes a stripe of consecutive groups
    of about equal work (split like the chunks below, one per OpenMP
    thread) and runs it over every panel and the columns left, copying
    each into its own buffer: one parallel region without a barrier, and
    each core streams only its share of the weights per panel. Where the
    output's transpose is folded (below), threads take whole panels
    instead, each with its own buffers, and the columns left are copied
    and run by all threads. When
    the last op touching memory before the product is a 2-D
    `linalg.transpose` into `rhs` from a static source (a linear layer's
    x[N, K]) and `rhs` is a temporary (`memref.view` or `memref.alloc`)
    that nothing reads after the product before overwriting or freeing it,
    each panel is transposed from the source's rows instead and the
    transpose is erased; such an `rhs` is read in panels whatever its size
    (the packing replaces the transpose), each one tile wide (nn.Linear
    1024 x 1024 at batch 128-512: 1.07-1.36x faster on 1 thread than
    unpacked, where panels of a quarter of the L2 gained 0.97-1.22x; on 2
    threads 1.20-1.57x, against 0.95-1.19x).
    Likewise, when the first op touching memory after
    the product transposes `init` (a temporary, dead afterwards) into a
    static destination and the tiles do not load `init` (`overwrite`, or
    a folded bias), each panel's tiles store into an M x panel buffer
    that is transposed into the destination's rows after the panel, and
    that transpose is erased: the layer's input and output are each
    walked once instead of twice. Neither fold is made where the source
    may share memory with what the kernel writes, or the destination with
    what it reads (views of one buffer, such as the planner's arena, whose
    bytes overlap: buffers never live at the same time before the fold).
    What
    is left of `N` runs in one narrower tile where `N` is static, else in
    `p x V` tiles, the last partial vector masked. Rows past `M` in the last
    group are neither loaded nor stored. When the last op touching memory
    before the product is a `linalg.broadcast` of a 1-D bias along the rows
    of `init` (or of the buffer `init` collapses), the tile starts from each
    row's bias instead of loading `init`, and the broadcast is erased (run
    this pass before ops that generalize it). An op's own `blkrew.tile_vectors`
    and `blkrew.prefetch_distance` integer attributes (the auto-tuner's
    choices) override the options for that op.

    A static `N` below `vector-width` (batch-1 FC layers, late
    convolutions on small maps), with groups of at least 4 rows, is
    vectorized along the group's rows instead: one `p`-lane accumulator per
    column of `N`; each kept column loads its `p` values as one vector and
    broadcasts each of its `N` rhs elements. To keep 8 FMA chains in
    flight, `ceil(8 / N)` sets of accumulators (at most `accumulators` in
    all) take consecutive kept columns, the columns left after the last
    whole step go into the first set, and the sets are summed.

    Groups taller than `max-unroll-rows` and `blkrew.to_dense` use the
    reference loops of `convert-blkrew-to-scf`.

    #### Input invariant

    blkrew ops on memrefs whose last dimension is contiguous (identity or
    unit-stride-innermost layouts), as One-Shot Bufferize produces with
    identity layouts at function boundaries.

    #### Output IR

    With panels, an `scf.for` over them, each copying its panel (or
    `linalg.transpose` of views, which `blkrew-prepare-loops` vectorizes)
    and looping over groups; with `parallel`, that inside an `scf.parallel`
    over stripes of groups split like the chunks below, as many as
    `omp_get_max_threads()` returns at the call (an `llvm.call`, its
    declaration added to the module) and at most the groups, each stripe
    with its own buffers; or, where the output's transpose is folded, an
    `scf.parallel` over the panels. Otherwise
    `scf.for` over groups (with `parallel`: an `scf.parallel` over up to 24
    chunks of consecutive groups of about equal work, kept columns plus one
    per group, each chunk's first group found by an `scf.while` binary
    search of `row_ptr`, then an `scf.for` over the chunk), `scf.for`
    over `N` slices, per slab of the group's rows an `scf.for` over kept
    columns carrying the slab's accumulators, `vector.load`/`vector.maskedload`,
    `vector.broadcast`, `vector.fma`, `vector.store`/`vector.maskedstore`.
  }];
  let options = [
    Option<"vectorWidth", "vector-width", "int64_t", /*default=*/"8",
           "f32 lanes per vector along N (16 for AVX-512, 4 for NEON)">,
    Option<"maxUnrollRows", "max-unroll-rows", "int64_t", /*default=*/"32",
           "Largest group height kept in registers">,
    Option<"tileVectors", "tile-vectors", "int64_t", /*default=*/"0",
           "Vectors per row in the register tile (the tile is q x "
           "tile-vectors*vector-width, q the rows of a slab: the group's p "
           "halved while q x tile-vectors exceeds accumulators); 0 picks "
           "per op clamp(accumulators / q, 1, 4), q halved from p while "
           "that is under 3 vectors (or as many as N has)">,
    Option<"accumulators", "accumulators", "int64_t", /*default=*/"24",
           "Accumulator registers the tile may take (24 of the 32 that "
           "AVX-512 and NEON have, 12 of AVX2's 16: the rest hold the rhs "
           "slices and the broadcast weight)">,
    Option<"prefetchDistance", "prefetch-distance", "int64_t",
           /*default=*/"0",
           "Prefetch the rhs row this many kept columns ahead (0: none)">,
    Option<"weightPrefetchBytes", "weight-prefetch-bytes", "int64_t",
           /*default=*/"0",
           "Prefetch the packed values this many bytes ahead of the kept "
           "column being read (0: none)">,
    Option<"panelBytes", "panel-bytes", "int64_t", /*default=*/"0",
           "Split a static N into panels whose rhs takes at most this many "
           "bytes, every row group running over one panel before the next "
           "(0: one panel)">,
    Option<"parallel", "parallel", "bool", /*default=*/"false",
           "Emit the loop over row groups as scf.parallel (groups write "
           "disjoint rows), over chunks of groups of about equal work">,
    Option<"parallelMinFmas", "parallel-min-fmas", "int64_t",
           /*default=*/"1048576",
           "With parallel, an op whose static work (kept values x N) is "
           "below this many FMAs stays a sequential loop: waking another "
           "thread costs more than such a kernel takes">,
    Option<"parallelMinOutputs", "parallel-min-outputs", "int64_t",
           /*default=*/"262144",
           "With parallel, an op whose init has fewer elements than this "
           "needs 8 x parallel-min-fmas of work to run in parallel: on "
           "the x86 host, kernels with outputs that fit a core's L2 and a "
           "few million FMAs (batch-1 CIFAR convolutions at 8x) ran "
           "slower on 2 threads than on 1">,
    Option<"slabChunkBytes", "slab-chunk-bytes", "int64_t", /*default=*/"0",
           "A group walked in slabs takes its kept columns in chunks whose "
           "rhs slices and packed values fill at most this many bytes, all "
           "slabs over one chunk before the next (0: no chunks)">,
    Option<"tileChains", "tile-chains", "int64_t", /*default=*/"16",
           "FMA chains a slab keeps in flight: a tile of fewer "
           "accumulators runs ceil(tile-chains / accumulators) sets of "
           "them over consecutive kept columns (within the accumulators "
           "budget), summed before they are stored; 1: one set">
  ];
  let dependentDialects = ["::mlir::arith::ArithDialect",
                           "::mlir::LLVM::LLVMDialect",
                           "::mlir::memref::MemRefDialect",
                           "::mlir::scf::SCFDialect",
                           "::mlir::vector::VectorDialect"];
}

//===----------------------------------------------------------------------===//
// GPU / SPIR-V path
//===----------------------------------------------------------------------===//

def ConvertBlkRewToParallelLoops
    : Pass<"convert-blkrew-to-parallel-loops", "ModuleOp"> {
  let summary = "Lower bufferized blkrew ops to scf.parallel nests for GPUs";
  let description = [{
    The GPU form of the packed format: every output element is one
    parallel iteration, so the loops map onto workgroups and invocations.

    For `bsr_matmul`: `scf.parallel` over (row group `g`, tile `t` of
    `rows-per-invocation` rows of the group, column `n` of `rhs`); each
    iteration reads its group's bounds from `row_ptr` and runs an `scf.for`
    over the group's kept columns, carrying one accumulator per row of its
    tile in registers: each `rhs` element loaded feeds every row of the
    tile (the rows of a group share their kept columns), and each
    accumulator is stored once to `init[perm(g*p + t*tile + k), n]`.
    Iterations of neighbouring `n` read the same `col_idx`/`values` entries
    and consecutive `rhs` elements, which is what a GPU coalesces. A
    weight with no kept column (statically empty `col_idx`) adds nothing and
    is erased.

    For `to_dense`: a parallel zero fill of `init`, then a parallel loop
    over (group, row) scattering the kept values.

    #### Input invariant

    blkrew ops on memrefs (run `one-shot-bufferize` first).
  }];
  let options = [
    Option<"rowsPerInvocation", "rows-per-invocation", "int64_t",
           /*default=*/"1",
           "Rows of a group one iteration of a bsr_matmul computes: the "
           "largest divisor of the group's height p not above it; 0 takes "
           "the whole group">,
  ];
  let dependentDialects = ["::mlir::arith::ArithDialect",
                           "::mlir::memref::MemRefDialect",
                           "::mlir::scf::SCFDialect"];
}

def BlkRewMapLoopsToGPU : Pass<"blkrew-map-loops-to-gpu", "ModuleOp"> {
  let summary = "Tile every parallel loop nest into workgroups and map it to "
                "the GPU";
  let description = [{
    Prepares bufferized, loop-level IR for `convert-parallel-loops-to-gpu`:
    after it, every outermost `scf.parallel` of a function carries GPU
    mapping attributes and every `memref.copy` has become such a loop, so
    the host side is left with allocations, globals, views and launches.
    Device work a function body does outside any parallel loop (an op
    without results that loads or stores memory: the `scf.for` of a
    reduction over a whole tensor, the store filling its rank-0
    accumulator) is wrapped in a one-iteration `scf.parallel` first, so it
    runs as a one-invocation kernel instead of failing on the host side.

    Each outermost parallel loop (static bounds required) is tiled with
    `scf::tileParallelLoop` so that one tile holds at most
    `workgroup-size` iterations: powers of two handed out from the innermost
    (contiguous) dimension outwards, at most three dimensions. Tiles map to
    workgroups (`block_x` = innermost tiled dimension), iterations within a
    tile to invocations (`thread_x` = innermost). Dimensions beyond the
    three a grid has, nested parallel loops and tile dimensions of size
    one run sequentially inside the kernel.

    `cf.assert` inside the loops is dropped: a GPU kernel cannot abort.
    (torch-mlir emits them for preconditions such as a non-zero batch-norm
    variance, which the CPU targets keep checking.) `arith.truncf` of a
    constant is folded, rounding to nearest even as the CPU does at run
    time: torch-mlir builds the batch-norm epsilon as an f64 constant, and
    mobile GPUs have no `Float64`.
  }];
  let options = [
    Option<"workgroupSize", "workgroup-size", "int64_t", /*default=*/"64",
           "Invocations per workgroup (a power of two)">,
    Option<"maxWorkgroupCount", "max-workgroup-count", "int64_t",
           /*default=*/"65535",
           "Largest number of workgroups in one grid dimension">
  ];
  let dependentDialects = ["::mlir::gpu::GPUDialect",
                           "::mlir::memref::MemRefDialect",
                           "::mlir::scf::SCFDialect"];
}

def BlkRewAttachSPIRVTarget : Pass<"blkrew-attach-spirv-target", "ModuleOp"> {
  let summary = "Attach the mobile Vulkan target environment and kernel ABIs";
  let description = [{
    Sets `spirv.target_env` on the module to a mobile Vulkan 1.1 class
    device (SPIR-V 1.3, `Shader` only: no `Int64`, `Float64` or `Float16`;
    the Vulkan minimum limits that Mali and Adreno parts meet: 128
    invocations and 16 KiB of shared memory per workgroup) and gives every
    `gpu.func` kernel a `spirv.entry_point_abi` whose workgroup size is the
    block size of its launches (which must be constant and agree).
    Fails when a kernel needs more storage buffers than
    `max-storage-buffers` (descriptors per stage) or a workgroup larger
    than the target allows.
  }];
  let options = [
    Option<"maxStorageBuffers", "max-storage-buffers", "int64_t",
           /*default=*/"8",
           "Storage buffers one kernel may bind (Mali Bifrost reports 8)">
  ];
  let dependentDialects = ["::mlir::gpu::GPUDialect",
                           "::mlir::spirv::SPIRVDialect"];
}

def BlkRewExportVulkan : Pass<"blkrew-export-vulkan", "ModuleOp"> {
  let summary = "Write the SPIR-V kernels and a dispatch plan for the "
                "Vulkan runner";
  let description = [{
    Reads a module lowered by `blkrew-spirv-pipeline` and writes, into
    `output-dir`:

    - `kernel<i>.spv`: each distinct `spirv.module`, serialized (launches
      whose modules serialize to the same words share one kernel);
    - `constants.bin`: the contents of every `memref.global` the host
      function reads, back to back;
    - `plan.json`: the buffers (function arguments, allocations and
      globals, with byte sizes and offsets into `constants.bin`), the
      kernels (file, entry point, workgroup size, bindings) and the host
      function's launches in order (kernel, workgroup counts, the buffer
      bound to each binding).

    The host function may only allocate, read globals and launch kernels;
    anything else (a view passed to a kernel, a dynamic size, a host-side
    loop) is reported as an error. The module itself is left unchanged.
  }];
  let options = [
    Option<"outputDir", "output-dir", "std::string", /*default=*/"",
           "Folder to write the plan, kernels and constants into">,
    Option<"function", "function", "std::string", /*default=*/"\"forward\"",
           "The host function to export">
  ];
}

#endif // BLKREW_CONVERSION_PASSES
