//===- Passes.td - blkrew transformation passes -----------*- tablegen -*-===//
//
// Part of the blkrew project, under the Apache License v2.0 with LLVM
// Exceptions.
//
//===----------------------------------------------------------------------===//

#ifndef BLKREW_TRANSFORMS_PASSES
#define BLKREW_TRANSFORMS_PASSES

include "mlir/Pass/PassBase.td"

def BlkRewSparsify : Pass<"blkrew-sparsify", "func::FuncOp"> {
  let summary = "Rewrite matmuls with constant block-sparse weights to blkrew ops";
  let description = [{
    Finds matrix products whose weight is a compile-time constant, reads the
    weight, packs it in the blkrew format for the configured block shape and
    rewrites the product to `blkrew.bsr_matmul`. A weight whose packed form
    stores more than `max-density` of the dense values counts as dense: with
    `pack-dense` (the default) it is packed with every column kept and marked
    `blkrew.dense`, so dense layers run the same register-tiled kernel (a
    dense GEMM with regular, sequential weight reads); without it the product
    is left to the linalg path. Products that do not match stay unchanged.

    Recognized forms (tensor semantics, static shapes):

    * `linalg.matmul ins(%W, %B)` with `%W` constant: `W[M, K] x B[K, N]`
      becomes one `blkrew.bsr_matmul`.
    * `linalg.matmul ins(%X, %T)` with `%T = linalg.transpose %W` (permutation
      `[1, 0]`) and `%W` constant: the `nn.Linear` form torch-mlir emits,
      `X[N, K] x W[M, K]^T`. It becomes `(W x X^T)^T`: the activations and the
      accumulator are transposed around a `blkrew.bsr_matmul`.
    * `linalg.batch_matmul ins(%X, %B)` with `%B` a broadcast over the leading
      dimension of such a transposed constant: the GRU/LSTM input projection
      over all time steps. Time and batch fold into `N`.
    * `linalg.conv_2d_nchw_fchw` with a constant filter (any stride,
      dilation; padding is a separate `tensor.pad`), through im2col: the
      filter is `W[F, C*KH*KW]`, the patches a strided copy
      `B[C*KH*KW, N*OH*OW]`, the accumulator viewed as `[F, N*OH*OW]`.
      Depthwise convolutions stay linalg (a kernel of their own later).
      With `image-loop-min-pixels` > 0, one larger than 1x1 at a batch
      above 1 whose output images have at least that many pixels becomes
      an `scf.for` over the images (marked `blkrew.image_loop`), each
      iteration the batch-1 product of one image's slice into its slice of
      the output, in NCHW: no transposes, and the patches of one image
      only (read in place at stride 1 by `blkrew-fold-im2col`). A bias
      broadcast or fill that produces the convolution's init is applied
      again right before the product (after its patch copy; in the loop,
      to each image's slice), where the CPU kernel folds it.
    * `linalg.conv_1d_ncw_fcw` with a constant filter (`nn.Conv1d`): first
      rewritten as the 2-D convolution of height 1 (unit-height input,
      filter and output; strides and dilations `[1, s]`), then as above.
    * `linalg.conv_2d_ngchw_gfchw` with a constant filter (a grouped
      convolution): first rewritten as the ungrouped 2-D convolution on the
      merged channels, its filter block diagonal (output channels of group
      `g` see the input channels of group `g` only; zeros elsewhere), then
      as above: at a density of `1/groups` it packs as a sparse weight.

    Weights may be `dense<...>` or `dense_resource<...>` f32 constants (the
    latter is how torch-mlir stores parameters), reshapes or static slices
    of them (`tensor.extract_slice`: cross-attention's query and key/value
    parts of one packed projection), or a `linalg.generic` that gathers
    from them: no inputs, its body index arithmetic on `linalg.index` and
    a yielded `tensor.extract` of a constant (the flipped filter
    torch-mlir builds for a transposed convolution), evaluated at compile
    time.

    #### Input invariant

    Tensor-level linalg IR, as imported by torch-mlir (`linalg-on-tensors`).

    #### Output IR

    Packed weights as three `arith.constant` tensors (`row_ptr`, `col_idx`,
    `values`) feeding `blkrew.bsr_matmul` with a
    `#blkrew.layout<block = [p, q], scheme = column>`; the dense weight
    constant is left for DCE/canonicalization to remove.
  }];
  let options = [
    Option<"blockRows", "block-rows", "int64_t", /*default=*/"8",
           "Rows per packed group (p)">,
    Option<"blockCols", "block-cols", "int64_t", /*default=*/"4",
           "Block width the pruner used (q), recorded in the layout">,
    Option<"maxDensity", "max-density", "double", /*default=*/"0.5",
           "Above this fraction of stored values a layer counts as dense">,
    Option<"packDense", "pack-dense", "bool", /*default=*/"true",
           "Run dense constant-weight layers through the same kernel, every "
           "column kept (marked blkrew.dense); false leaves them to linalg">,
    Option<"imageLoopMinPixels", "image-loop-min-pixels", "int64_t",
           /*default=*/"0",
           "Run a convolution at a batch above 1 image by image (scf.for), "
           "each product in NCHW, where an output image has at least this "
           "many pixels (0: never; for the CPU, the SPIR-V export takes no "
           "host loops)">
  ];
  let dependentDialects = ["::mlir::blkrew::BlkRewDialect",
                           "::mlir::arith::ArithDialect",
                           "::mlir::linalg::LinalgDialect",
                           "::mlir::scf::SCFDialect",
                           "::mlir::tensor::TensorDialect"];
}

def BlkRewReorder : Pass<"blkrew-reorder", "func::FuncOp"> {
  let summary = "Regroup the rows of packed weights so each group's rows "
                "share their kept columns";
  let description = [{
    The matrix reorder of BLK-REW's compiler. For every `blkrew.bsr_matmul`
    on constant packed arrays (as `blkrew-sparsify` writes them, no
    permutation yet), it reads each row's kept columns and forms new groups
    of `group-rows` rows (the op's own `p` by default) greedily: the row
    with the most kept columns opens a group, and the rows that add the
    fewest new columns to the group's union join it. Rows with the same
    pattern therefore land together, and a loaded `rhs` row feeds every row
    of its group (the register-level load redundancy the kernel exploits).

    The op is rewritten only when the new grouping is cheaper for the
    kernel: each stored column costs `p` FMAs plus a fixed overhead (its
    index and `rhs` loads and loop control, estimated at 4 FMAs), so
    regrouping pays when it stores fewer columns, or when a taller group
    stores each column once for more rows. Its layout then carries the
    permutation (`perm[i]` is the
    original row of packed row `i`) and the kernels store each result row
    back to its original place, so consumers see no change. With a taller
    `group-rows` than the pruning block, this is how rows pruned in short
    blocks are packed into taller register tiles.

    Layouts that already carry a permutation are left alone. A layer
    `blkrew-sparsify` packed whole (`blkrew.dense`, too dense as grouped)
    is reordered like any other, and loses the marker when its new groups
    no longer keep every column: rows pruned in an interleaved pattern are
    sparse once regrouped.
  }];
  let options = [
    Option<"groupRows", "group-rows", "int64_t", /*default=*/"0",
           "Rows per group after reordering; 0 keeps each op's p">
  ];
}

def BlkRewFuseActivations : Pass<"blkrew-fuse-activations", "func::FuncOp"> {
  let summary = "Fold a ReLU (or bias) that follows a block-sparse product "
                "into it";
  let description = [{
    On tensors. A `linalg.generic` that applies ReLU element by element
    (one input, identity maps, all loops parallel, yielding
    `select(cmpf ugt x, 0, x, 0)` as torch-mlir imports `torch.relu`, or
    `maximumf(x, 0)`) to the result of a `blkrew.bsr_matmul`, directly or
    through reshapes and transposes (ReLU commutes with moving elements),
    is removed and the product gets `relu`: its kernel stores `max(sum, 0)`
    instead of the activation being read and written again. Each value on
    the way must have no other use. Both forms keep NaN (`ugt` is true for
    NaN; `maximumf` propagates it).

    A clamp to constants `[lo, hi]` in the form torch-mlir gives ReLU6 and
    hardtanh (`select(cmpf ogt x, lo, x, lo)`, then
    `select(cmpf olt hi, a, hi, a)`: NaN gives `lo`) becomes the product's
    `clamp [lo, hi]` the same way.

    A ReLU of a sum, `relu(y + r)` (one element-wise op, as elementwise
    fusion leaves a residual block's end), with `y` from a `bsr_matmul`
    the same way, is removed too: `r` (when it is computed after the
    product, e.g. a downsampling shortcut, the product and the moves after
    it go down to the sum first; nothing else uses them), moved back into
    the product's `[M, N]` space, joins its `init`
    (added to the bias, whose `linalg.broadcast` becomes a generic so that
    elementwise fusion merges the two) and the product gets `relu`.

    A bias added after the product, `y + b` or `relu(y + b)` (one
    element-wise op: `y` through transposes only, `b` 1-D along the
    dimension that was the product's rows, defined before it), is
    removed when the product has `overwrite`: `b` is broadcast into the
    product's init instead (its kernel starts each row from the bias) and
    the product gets `relu` where there was one. This is a linear layer's
    bias at a batch above 1, which torch-mlir adds to `y[N, M]` after the
    product's `[M, N]` has been transposed back; between two linear layers
    the transpose out of one and into the next then cancel.

    ```mlir
    %y = blkrew.bsr_matmul <block = [8, 4], scheme = column> ins(...)
        outs(%bias : tensor<64x1024xf32>) -> tensor<64x1024xf32>
    %e = tensor.expand_shape %y [[0, 1], [2, 3]] output_shape [1, 64, 32, 32]
        : tensor<64x1024xf32> into tensor<1x64x32x32xf32>
    %r = linalg.generic {... ReLU ...} ins(%e : tensor<1x64x32x32xf32>) ...
    // becomes
    %y = blkrew.bsr_matmul <block = [8, 4], scheme = column> relu ins(...)
        outs(%bias : tensor<64x1024xf32>) -> tensor<64x1024xf32>
    %e = tensor.expand_shape %y ...   // used where %r was
    ```
  }];
  let dependentDialects = ["::mlir::blkrew::BlkRewDialect"];
}

def BlkRewFoldIm2col : Pass<"blkrew-fold-im2col", "func::FuncOp"> {
  let summary = "Read a convolution's patch matrix in place instead of "
                "writing it out";
  let description = [{
    On tensors. Where the `rhs` of a `blkrew.bsr_matmul` is the im2col patch
    matrix of a stride-1 convolution, as `blkrew-sparsify` writes it for a
    batch-1 input (a `linalg.generic` copying image element
    `[c, y + dy, x + dx]` to `[c, dy, dx, y, x]`, then reshapes to
    `[C * KH * KW, OH * OW]`), the product takes the image itself with
    `window [KH, KW]`: its kernel computes each patch element's address
    instead of reading a matrix that was written out just before (for a
    3x3 convolution, nine times the image). The copy is removed when
    nothing else uses it.

    `row-multiple` restricts the fold to output widths that are a multiple
    of it: the CPU pipeline passes its vector width, so that every vector
    its kernel loads lies in one image row; the SPIR-V pipeline folds every
    one (1).

    ```mlir
    %p = linalg.generic {indexing_maps = [
           affine_map<(d0, d1, d2, d3, d4) -> (d0, d1 + d3, d2 + d4)>,
           affine_map<(d0, d1, d2, d3, d4) -> (d0, d1, d2, d3, d4)>], ...}
        ins(%img : tensor<64x34x34xf32>) outs(%e : tensor<64x3x3x32x32xf32>)
    %x = tensor.collapse_shape %p [[0, 1, 2], [3, 4]]
        : tensor<64x3x3x32x32xf32> into tensor<576x1024xf32>
    %y = blkrew.bsr_matmul <block = [8, 4], scheme = column> ins(..., %x ...)
    // becomes
    %y = blkrew.bsr_matmul <block = [8, 4], scheme = column> window [3, 3]
        ins(..., %img : ..., tensor<64x34x34xf32>) ...
    ```
  }];
  let options = [
    Option<"rowMultiple", "row-multiple", "int64_t", /*default=*/"1",
           "Fold only where the output width is a multiple of this">,
  ];
  let dependentDialects = ["::mlir::blkrew::BlkRewDialect"];
}

def BlkRewHalfWeights : Pass<"blkrew-half-weights", "func::FuncOp"> {
  let summary = "Store the block-sparse kernels' packed weights as f16";
  let description = [{
    On tensors. Every `blkrew.bsr_matmul` whose packed values are an f32
    constant gets them as an f16 constant instead (each weight rounded to
    the nearest f16, ties to even); its rhs, init and result stay f32, and
    the kernels extend each weight to f32 as they read it, so the products
    and sums are f32 as before. The weights take half the bytes: the
    kernels that wait on their weights rather than on their FMAs (small N:
    batch-1 linear layers, RNN steps, late convolutions on small maps) read
    half as much, and twice as many of a model's weights stay in a cache.
    The price is the rounding (a relative error of at most 2^-11 per
    weight in f16's normal range, |w| >= 2^-14; below it, an absolute error
    of at most 2^-25); a weight beyond f16's range (|w| > 65504) is an
    error, not an infinity.

    With `vector-width=V` (the CPU pipeline passes its own), only the
    products that `convert-blkrew-to-vector` runs in its small-N shape at
    V lanes are narrowed: N below V (and at most 16), groups of 4 rows or
    more. There each kept column's weights are one vector, extended by one
    instruction, and each feeds only N FMAs. Elsewhere every weight feeds a
    whole register tile, the FMAs set the time, and extending each weight
    before its broadcast cost more than the halved bytes saved (1 thread:
    FC 1024 x 1024 at 90%, N = 256, 3-4x slower; 512 x 4608 at 87.5%,
    N = 16, 1.1-1.2x slower). 0 narrows every product.

    ```mlir
    %v = arith.constant dense<[[0.1, 0.2]]> : tensor<1x2xf32>
    %y = blkrew.bsr_matmul #blkrew.layout<block = [2, 1], scheme = column>
        ins(%rp, %ci, %v, %x : ..., tensor<1x2xf32>, tensor<4x8xf32>)
        outs(%c : tensor<2x8xf32>) -> tensor<2x8xf32>
    // becomes
    %v = arith.constant dense<[[9.997550e-02, 1.999510e-01]]> : tensor<1x2xf16>
    %y = blkrew.bsr_matmul #blkrew.layout<block = [2, 1], scheme = column>
        ins(%rp, %ci, %v, %x : ..., tensor<1x2xf16>, tensor<4x8xf32>)
        outs(%c : tensor<2x8xf32>) -> tensor<2x8xf32>
    ```
  }];
  let options = [
    Option<"vectorWidth", "vector-width", "int64_t", /*default=*/"0",
           "Narrow only the products the CPU kernel runs in its small-N "
           "shape at this many lanes; 0 narrows all">
  ];
  let dependentDialects = ["::mlir::arith::ArithDialect"];
}

def BlkRewApproximateMath : Pass<"blkrew-approximate-math"> {
  let summary = "Approximate the math ops no target lowers (erf, erfc); "
                "keep exp on the vector library's fast path";
  let description = [{
    `math.erf` and `math.erfc` (GELU's exact form imports as
    `x * 0.5 * (1 + erf(x / sqrt(2)))`) have no LLVM intrinsic and no
    GLSL.std.450 instruction, so neither the CPU nor the SPIR-V lowering
    takes them. This pass rewrites them as upstream's f32 polynomial
    approximations (`populatePolynomialApproximateErfPattern` and its erfc
    twin): plain `arith` ops, vectorized by LLVM like any element-wise loop.
    Against PyTorch's `torch.erf` on [-12, 12] the approximation is within
    2.4e-7 (GELU: see `test/python/test_layers.py`). An erf or erfc
    left over (on f64, say) is an error naming the op, not a failure later
    in a lowering. Runs on any op (both pipelines run it first on the
    module).

    With `guard-exp=true` (the CPU pipeline runs it so once more, after
    `math-expand-ops` has written tanh and friends with exp), each f32
    `math.exp(x)` becomes `x < -87.33654 ? 0 : exp(max(x, -87.33654))`:
    below that, exp's result is under 2^-126, and glibc's vector `expf`
    (libmvec) leaves its fast path for the whole vector when one lane is
    there, about 6x the time per call. A causal softmax's masked scores
    (-inf) sent most of its vectors there. Results are libmvec's, except
    that those below 2^-126 become 0 (the max propagates NaN; large
    inputs, where exp nears overflow, still take the slow path: 88 did,
    80 did not; the bound between was not measured).

    ```mlir
    %y = math.erf %x : f32
    // becomes a clamp of |x| and rational polynomials in it, selected by
    // interval, with the sign copied back
    ```
  }];
  let options = [
    Option<"guardExp", "guard-exp", "bool", /*default=*/"false",
           "Take f32 math.exp's results below 2^-126 as 0 without calling "
           "it (see the description)">,
  ];
  let dependentDialects = ["::mlir::arith::ArithDialect",
                           "::mlir::math::MathDialect",
                           "::mlir::vector::VectorDialect"];
}

def BlkRewDemote64Bit : Pass<"blkrew-demote-64bit", "func::FuncOp"> {
  let summary = "Compute a function's f64 and i64 arithmetic in 32 bits "
                "(for GPUs)";
  let description = [{
    torch-mlir computes some f32 layers through f64 (LayerNorm's mean and
    variance, Softplus's `x > threshold` test) and some index arithmetic
    in i64 (Upsample's source coordinates, reflection padding). Mobile
    GPUs rarely have 64-bit types, and the SPIR-V target asks for neither
    `Float64` nor `Int64`, so such a model did not compile for it. This
    pass retypes every f64 value in the function's body as f32 and every
    i64 value as i32 (scalars, and the elements of tensors, memrefs and
    vectors, block arguments included), rounds f64 constants to f32
    (beyond f32's range to an infinity), narrows i64 constants (dense ones
    and `dense_resource` ones, as torch-mlir stores GroupNorm's index
    tables, alike), and drops
    the extensions and truncations (`arith.extf`, `truncf`, `extsi`,
    `extui`, `trunci`) that now go from a type to itself. PyTorch computes
    these layers in f32 itself; the GPU path's indices are 32-bit already.

    An i64 constant outside i32's range, a function whose arguments or
    results are 64-bit, or a 64-bit constant other than a dense, resource
    or scalar one is an error: the pass changes only what is inside a function, and
    no value it narrows can be out of range unless a constant is. The CPU
    pipeline does not run it (CPUs have both types).

    ```mlir
    %e = arith.extf %x : f32 to f64
    %s = arith.mulf %e, %c : f64        // %c = arith.constant 2.0 : f64
    %t = arith.truncf %s : f64 to f32
    // becomes
    %s = arith.mulf %x, %c : f32        // %c = arith.constant 2.0 : f32
    ```
  }];
  let dependentDialects = ["::mlir::arith::ArithDialect"];
}

def BlkRewWidenBools : Pass<"blkrew-widen-bools", "func::FuncOp"> {
  let summary = "Store a function's boolean tensors as i32 (for GPUs)";
  let description = [{
    A tensor of `i1` that lives between two ops (a boolean reduction's
    result: PyTorch's softmax in attention checks each row for being all
    `-inf` so) bufferizes to a buffer of `i1`, which the Vulkan path cannot
    store: SPIR-V has no 1-bit storage, and the runner's buffers hold
    32-bit elements. On tensors, this pass makes every `i1` tensor in the
    function an `i32` tensor of 0 and 1: a `linalg.generic` truncates such
    operands to `i1` where its body reads them and extends the booleans it
    yields into them, a `linalg.fill` extends its value, and empty tensors,
    reshapes and slices take the new type. Any other op on a boolean
    tensor, or a function taking or returning one, is an error. The CPU
    pipeline does not run it.

    ```mlir
    %m = linalg.generic ... outs(%e : tensor<4xi1>) {
    ^bb0(%in: f32, %out: i1):
      %c = arith.cmpf oeq, %in, %ninf : f32
      linalg.yield %c : i1
    } -> tensor<4xi1>
    // becomes
    %m = linalg.generic ... outs(%e : tensor<4xi32>) {
    ^bb0(%in: f32, %out: i32):
      %o = arith.trunci %out : i32 to i1
      %c = arith.cmpf oeq, %in, %ninf : f32
      %w = arith.extui %c : i1 to i32
      linalg.yield %w : i32
    } -> tensor<4xi32>
    ```
  }];
  let dependentDialects = ["::mlir::arith::ArithDialect"];
}

def BlkRewPadToGenerate : Pass<"blkrew-pad-to-generate", "func::FuncOp"> {
  let summary = "Write a padded tensor in one pass: each element its "
                "source's or the padding value";
  let description = [{
    On tensors, for the GPU. A `tensor.pad` with static shapes and a
    constant padding value becomes a `tensor.generate` whose element at
    `i` is `source[i - low]` where that is inside the source and the
    padding value elsewhere (a select, the source read at a clamped index).
    Bufferized, a pad is a fill of the whole padded buffer and then a copy
    of the source into its interior: two kernels on a GPU, and the
    interior written twice; the generate is one kernel writing each
    element once. The CPU pipeline keeps the fill and the copy (its
    vectorized row copies are faster than a select per element).

    ```mlir
    %p = tensor.pad %x low[0, 0, 1, 1] high[0, 0, 1, 1] {
    ^bb0(%i: index, %j: index, %k: index, %l: index):
      tensor.yield %zero : f32
    } : tensor<1x3x32x32xf32> to tensor<1x3x34x34xf32>
    // becomes
    %p = tensor.generate {
    ^bb0(%i: index, %j: index, %k: index, %l: index):
      // inside = 1 <= %k < 33 and 1 <= %l < 33
      %v = tensor.extract %x[%i, %j, clamp(%k - 1), clamp(%l - 1)]
      %e = arith.select %inside, %v, %zero : f32
      tensor.yield %e : f32
    } : tensor<1x3x34x34xf32>
    ```
  }];
  let dependentDialects = ["::mlir::arith::ArithDialect",
                           "::mlir::tensor::TensorDialect"];
}

def BlkRewDepthwiseToGenerate
    : Pass<"blkrew-depthwise-to-generate", "func::FuncOp"> {
  let summary = "One GPU kernel per depthwise convolution: bias, taps and "
                "activation per output element";
  let description = [{
    On tensors, for the GPU. A `linalg.depthwise_conv_2d_nchw_chw` with
    static f32 shapes becomes a `tensor.generate` whose element
    `[n, c, y, x]` is its initial value (the channel's bias where the init
    is a `linalg.broadcast` of one, else the init's element) plus the
    `KH x KW` taps `in[n, c, y * sh + ky * dh, x * sw + kx * dw] *
    w[c, ky, kx]`, unrolled; an element-wise `linalg.generic` that is the
    convolution's only user (a ReLU6) is applied to it in the same body.
    Canonicalization then inlines a padded input written by a
    `tensor.generate` (`blkrew-pad-to-generate`) into the taps' reads.
    Bufferized, the bias broadcast, the padding, the convolution and the
    activation were four kernels; this is one, reading the unpadded input.
    The CPU pipeline has its own depthwise kernels
    (`blkrew-fold-depthwise-padding`, `blkrew-prepare-loops`).
  }];
  let dependentDialects = ["::mlir::arith::ArithDialect",
                           "::mlir::tensor::TensorDialect"];
}

def BlkRewFoldDepthwisePadding
    : Pass<"blkrew-fold-depthwise-padding", "func::FuncOp"> {
  let summary = "Read a depthwise convolution's zero padding implicitly";
  let description = [{
    On buffers, before `blkrew-plan-buffers`. A bufferized `tensor.pad`
    feeding a `linalg.depthwise_conv_2d_nchw_chw` is a new buffer, filled
    with zeros, then a copy of the activation into its interior: two
    passes over memory that write an activation-sized buffer, which cost
    MobileNetV2 as much as its depthwise convolutions themselves (perf,
    CIFAR, batch 1). Making the fill cover only the frame does not help:
    the copy then pays for bringing the lines in.

    This pass removes the padded buffer. The convolution becomes loops
    over `(n, c)` around a loop over output rows that carries a window of
    input rows in registers: each step loads the rows it needs that the
    previous step did not (a zero vector above and below the image) and
    takes each tap's shifted (and, with a width stride, strided) view of
    the new row with one `vector.shuffle` against a zero vector (the left
    and right padding); the window carries the views, so each input row is
    loaded and shuffled once. The output row accumulates in one vector per
    kernel row (short FMA chains), summed before the store.

    Bufferization often writes the convolution's output over its input
    (the input was dead once copied into the padded buffer). Because every
    row is loaded into the window before the output row at its place is
    stored, the rewrite stays correct in place when the output has the
    input's shape and the top padding is at most `kh - 1`. In place, the
    op that initializes the output (a per-channel bias `linalg.broadcast`
    or a fill, the last op touching memory before the convolution) would
    overwrite the input, so it must be folded: the rows start from the
    bias or the constant. Otherwise input and output must be distinct
    allocations (or one an allocation and the other an argument).

    An element-wise op that transforms the output in place right after the
    convolution (its body a chain of vectorizable element-wise ops on its
    one input: the ReLU6 of MobileNetV2) is applied to each output row
    before it is stored, and goes: one pass over the activation less.

    Rows wider than 64 elements (ImageNet-sized maps) would not fit the
    registers: there each `(n, c)` gets a ring of `kh` rows of the padded
    width in a small buffer (zeroed once; the sides stay zero), input row
    `r` in slot `(r + top) mod kh`. Each output row copies in the rows the
    previous one did not (zeros outside the image), then each chunk of
    the output row (64, 32 or 16 lanes dividing it) loads its taps from
    the ring (a span and a shuffle with a width stride). In place, the
    ring holds every input row the output overwrites before it is needed
    again. The padded activation (the whole map, written twice) becomes
    `kh` rows per channel, written once.

    Conditions: static shapes, f32, padding value 0, height dilation 1,
    at most 49 taps, output rows of at least 4 (in registers: input and
    output rows of at most 64; through the ring: chunks that divide the
    output and input rows), nothing touching memory between the fill and
    the convolution but the copy and the folded initialization. Anything
    else is left to `blkrew-prepare-loops`.
    With `parallel`, the `(n, c)` loops form an `scf.parallel` when the
    convolution runs at least `parallel-min-iterations` iterations.
  }];
  let options = [
    Option<"parallel", "parallel", "bool", /*default=*/"false",
           "Split large convolutions across threads (scf.parallel)">,
    Option<"parallelMinIterations", "parallel-min-iterations", "int64_t",
           /*default=*/"2097152",
           "With parallel, a convolution whose loops run fewer times than "
           "this in all stays on the calling thread">
  ];
  let dependentDialects = ["::mlir::scf::SCFDialect",
                           "::mlir::vector::VectorDialect"];
}

def BlkRewFuseElementwise : Pass<"blkrew-fuse-elementwise"> {
  let summary = "Upstream's elementwise fusion, without recomputing a "
                "producer inside a contraction";
  let description = [{
    The patterns of upstream's `linalg-fuse-elementwise-ops` (elementwise
    fusion, reshape folding by expansion, constant folding and their
    canonicalizations), under upstream's rule (a producer with one use)
    and one more: a producer is not fused into a contraction (a matmul, a
    batch matmul, a generic whose body multiplies and adds) that reads it
    through an indexing map that is not a permutation of the contraction's
    loops. There its body would run once per iteration of the loops the
    map skips, not once per element: in attention, the softmax's `exp`
    and division ran inside the weights-times-`v` product, once per column
    of `v`, and `q`'s scaling inside `q kᵀ`, once per row of `kᵀ`'s
    columns. The products also stay plain contractions, which
    `blkrew-vectorize-matmuls` gives register tiles. With both, a
    transformer encoder layer (d_model 256, 4 heads, 128 tokens, 1 thread)
    went from 7.3 ms to 2.2 ms (torch eager: 2.3 ms).

    ```mlir
    %s = linalg.generic ... { %e = math.exp ... ; %d = arith.divf %e, ... }
    %o = linalg.batch_matmul ins(%s, %v ...)
    // stay two ops: %s is computed once per element
    ```
  }];
  let dependentDialects = ["::mlir::affine::AffineDialect",
                           "::mlir::linalg::LinalgDialect",
                           "::mlir::tensor::TensorDialect"];
}

def BlkRewFuseRows : Pass<"blkrew-fuse-rows", "func::FuncOp"> {
  let summary = "Run a row reduction's chain (a softmax) a few rows at a time";
  let description = [{
    A softmax is four ops over the whole tensor (row maxima, exponentials,
    row sums, division), each its own loop nest reading what the previous
    one left: beyond the L2, four trips to memory where PyTorch makes one.
    This pass takes each all-parallel `linalg.generic` (on tensors, static
    shapes) whose chain of `linalg.generic` / `linalg.fill` producers holds
    a reduction over the innermost loop, tiles it along its rows (the
    innermost loop whole, the one around it by about `tile-bytes` of its
    result, the others by 1) and fuses the chain into the tile (upstream's
    `tileConsumerAndFuseProducersUsingSCF`). Only producers whose every
    user is in the chain move, so nothing is computed both inside and
    outside; an op that two others in the tile read is computed once per
    tile for each (`cse` after this pass merges the copies). Results under
    `min-bytes` are left alone: they stay in cache between the ops.

    ```mlir
    %m = linalg.generic {reduction} ins(%x) ...     // row maxima
    %e = linalg.generic ins(%x, %m) ...             // exp(x - max)
    %s = linalg.generic {reduction} ins(%e) ...     // row sums
    %y = linalg.generic ins(%e, %s) ...             // e / sum
    // becomes
    %y = scf.for %i = 0 to 256 step 1 iter_args(%acc = %init) {
      // the four ops on rows [%i, %i + 1) of %x
    }
    ```
  }];
  let options = [
    Option<"minBytes", "min-bytes", "int64_t", /*default=*/"262144",
           "Leave chains whose last result is smaller than this (>= 0)">,
    Option<"tileBytes", "tile-bytes", "int64_t", /*default=*/"4096",
           "Bytes of the last op's result per tile (>= 1; whole rows, at "
           "least one)">
  ];
  let dependentDialects = ["::mlir::linalg::LinalgDialect",
                           "::mlir::scf::SCFDialect",
                           "::mlir::tensor::TensorDialect"];
}

def BlkRewVectorizeMatmuls
    : Pass<"blkrew-vectorize-matmuls", "func::FuncOp"> {
  let summary = "Register tiles for the dense products of two activations";
  let description = [{
    Products with no constant operand (attention's `q kᵀ` and its weights
    times `v`) are not blkrew kernels: they reach the CPU pipeline as
    `linalg.matmul`, `linalg.batch_matmul` or a multiply-add
    `linalg.generic` on buffers, and as the loops of
    `convert-linalg-to-loops` they ran about 20x slower than torch's GEMM
    (a 128x64 by 64x128 product: 322 us against 15 us). This pass gives
    each such product (f32, static shapes, a body that is exactly
    `acc + lhs * rhs`, loops `(batch..., m, n, k)` with the maps
    `(batch..., m, k)`, `(batch..., k, n)`, `(batch..., m, n)`) register
    tiles with upstream's machinery:

    1. `scf::tileUsingSCF` into tiles of `rows` x `tile-vectors` vectors of
       `vector-width` lanes over `depth` of the reduction (one index of
       each batch loop at a time), each tile a 2-D `linalg.matmul` on
       views without the unit batch dimensions;
    2. `scf::peelForLoopAndSimplifyBounds` on each tile loop, so every tile
       but the last of each dimension has the full static shape;
    3. `linalg::vectorize` of each tile at its static shape into
       `vector.contract`, without masks (masked to the full tile's shape,
       the last tiles' contractions lowered to one reduction per element);
    4. the contraction lowered to outer products, each a broadcast lhs
       element times an rhs row accumulated by `vector.fma`, and the
       transposed transfers to plain ones (the 2-D transfers become one
       per row in the pipeline's `convert-vector-to-scf` after it);
    5. the result tile kept in registers through the reduction's loop:
       its rows read before the loop, carried through it as loop values
       and written after it (upstream's `hoistRedundantVectorTransfers`
       does this only for buffers that are no views).

    A fill of the whole result right before the product (a `linalg.fill`,
    or the generic broadcasting a scalar into a reshape of the result that
    `blkrew-prepare-loops` makes of one; nothing touching memory in
    between) moves into the tiles: each tile starts the reduction loop as
    the fill value, so the result is written once rather than filled as a
    whole first (attention's `q kᵀ` over 4 heads x 512 tokens x 64
    1.47-1.74x faster than with the whole fill and the tile read and
    written every 16 steps, 1.06-1.08x `torch.bmm`; 1 thread, AVX-512).
    Other contractions (transposed or broadcast maps, integer or f64
    products, a body with more in it) are left to the loops.

    ```mlir
    linalg.matmul ins(%a, %b : memref<128x64xf32>, memref<64x128xf32>)
        outs(%c : memref<128x128xf32>)
    // becomes loops over 8x32 tiles of %c, each carrying the tile's rows
    // through a loop over 8-deep slices of the reduction that reads rows
    // of %b as vectors and broadcasts elements of %a into vector.fma
    ```
  }];
  let options = [
    Option<"rows", "rows", "int64_t", /*default=*/"8",
           "Rows of the lhs (and of the result) in one register tile">,
    Option<"vectorWidth", "vector-width", "int64_t", /*default=*/"16",
           "f32 lanes per vector">,
    Option<"tileVectors", "tile-vectors", "int64_t", /*default=*/"2",
           "Vectors of each result row in one register tile">,
    Option<"depth", "depth", "int64_t", /*default=*/"8",
           "Steps of the reduction in one iteration of its loop">
  ];
  let dependentDialects = ["::mlir::affine::AffineDialect",
                           "::mlir::arith::ArithDialect",
                           "::mlir::linalg::LinalgDialect",
                           "::mlir::memref::MemRefDialect",
                           "::mlir::scf::SCFDialect",
                           "::mlir::vector::VectorDialect"];
}

def BlkRewCollapseTransposes
    : Pass<"blkrew-collapse-transposes", "func::FuncOp"> {
  let summary = "Transposes whose dimensions move in runs as transposes of "
                "the runs";
  let description = [{
    On buffers, before `convert-blkrew-to-vector`: a static
    `linalg.transpose` whose dimensions move in runs (adjacent and in
    order on both sides) becomes the transpose of those runs, each
    collapsed to one dimension (`memref.collapse_shape` of both sides), as
    `blkrew-prepare-loops` does for its vector blocks. A linear layer on a
    3-D input (`[B, T, D]`, a transformer's) reaches its kernel through
    the transpose `[B, T, D] -> [D, B, T]` of the input and leaves through
    `[M, B, T] -> [B, T, M]`, which reshape propagation made 3-D: the
    kernel reads the collapse of one and writes the collapse of the other.
    Collapsed (and CSE'd) first, they are the 2-D transposes of the
    kernel's operands that `convert-blkrew-to-vector` folds into its
    panels, so neither whole transpose is left.

    ```mlir
    linalg.transpose ins(%x : memref<4x64x256xf32>)
        outs(%t : memref<256x4x64xf32>) permutation = [2, 0, 1]
    // becomes
    %a = memref.collapse_shape %x [[0, 1], [2]]
        : memref<4x64x256xf32> into memref<256x256xf32>
    %b = memref.collapse_shape %t [[0], [1, 2]]
        : memref<256x4x64xf32> into memref<256x256xf32>
    linalg.transpose ins(%a : memref<256x256xf32>)
        outs(%b : memref<256x256xf32>) permutation = [1, 0]
    ```
  }];
  let dependentDialects = ["::mlir::memref::MemRefDialect"];
}

def BlkRewPrepareLoops : Pass<"blkrew-prepare-loops", "func::FuncOp"> {
  let summary = "Shape the dense ops that become plain loops for LLVM's "
                "vectorizers";
  let description = [{
    Everything that is not a blkrew kernel (padding copies, depthwise
    convolutions, element-wise ops) becomes loops through
    `convert-linalg-to-loops`, and clang `-O3` vectorizes their innermost
    loop. This pass, on buffers, reshapes five kinds of op that defeat that,
    lets sums be reassociated and divisions by a row's value use its
    reciprocal:

    * 2-D `linalg.transpose`s of static f32 buffers with unit inner stride
      (the input and output transposes around a linear layer's kernel at a
      batch above 1): LLVM vectorized the loop nest with gathers. They
      become loops over `transpose-tile` x `transpose-tile` blocks, each
      loaded as rows, transposed by `vector.transpose` lowered to shuffles
      right here (the 16x16 unpack-and-permute sequence for 16, one
      shuffle otherwise) and stored as rows; the strips past the last full
      block stay transposes of subviews. A static transpose of higher rank
      whose dimensions move in runs (adjacent and in order on both sides:
      `[s, b, d] -> [b, d, s]`, attention's split and merge of heads) is
      first rewritten as the transpose of the runs, each collapsed to one
      dimension (`memref.collapse_shape` of both sides): a 2-D one is then
      taken here, one that keeps the last dimension in place moves rows
      (below). A pruned two-layer transformer encoder with a 1000-word
      head at 4 x 64 tokens went from 5.30 ms to 3.92 ms (torch 7.74 ms). A 256x1024 transpose went from
      0.54 ms to 0.20 ms (torch's `copy_` of the transposed view: 0.45 ms
      in the same run), a 90%-pruned 1024x1024 `nn.Linear` at batch 256
      from 1.31 ms to 0.82 ms (its kernel alone: 0.54 ms).
    * A `memref.copy` between buffers that are not both contiguous (the
      interior of a padded activation) would lower to a call to the runner
      library's generic `memrefCopy`, one element at a time with index
      arithmetic. It becomes `linalg.copy`, a loop nest like any other.
      Contiguous copies stay `memref.copy` (a `memcpy`).
    * Row copies: a `linalg.copy`, `linalg.transpose` or `linalg.generic`
      that only moves its one input (im2col patches, padded interiors), whose innermost loop
      runs along the last, unit-stride dimension of both operands (the
      input indexed `e + d` there, `e` free of that loop). As scalar loops,
      LLVM fully unrolls their short rows and then cannot vectorize them:
      it cannot tell that source and destination are apart. They become
      loops over the outer dimensions around one `vector.load` and
      `vector.store` per row (rows longer than 64 in chunks of 64, 32 or 16
      that divide them; rows shorter than 4 are left alone).
    * `linalg.depthwise_conv_2d_nchw_chw` iterates `(n, oh, ow, c, kh, kw)`:
      its innermost parallel loop walks channels, `H*W` elements apart in
      NCHW. With static shapes, f32 throughout, at most 49 taps and output
      rows of at least 4, it becomes loops over `(n, c, oh)` and chunks of
      the output row, each accumulating one vector row of outputs across
      the unrolled taps (`vector.fma` of a shifted input row and the
      broadcast weight; a width stride `s` loads the span of inputs and
      shuffles out every `s`-th): LLVM's cost model left the loop form
      scalar. A per-channel bias `linalg.broadcast` into the output, when it
      is the last op touching memory before the convolution, is folded:
      each row starts from its channel's bias; an element-wise op on the
      output in place right after it (a ReLU6) is applied to each row
      before the store. Other depthwise convolutions
      are generalized and interchanged to `(n, c, oh, kh, kw, ow)`, so each
      tap runs along an output row.
    * Element-wise `linalg.generic`s, `linalg.broadcast` and `linalg.fill`
      (every loop parallel, static shapes, projected-permutation maps,
      identity-layout buffers): adjacent loops that stay adjacent in every
      operand are merged into one (`linalg::collapseOpIterationDims`). LLVM
      fully unrolls a short innermost loop (a 32-wide activation row) and
      then vectorizes the loop around it across rows, with gathers and
      scatters; one long loop vectorizes along memory. This made
      MobileNetV2 (whose ReLU6 after each depthwise convolution is such an
      op) 18% faster.
    * Sums: in a `linalg.generic` with a reduction loop, the `arith.addf`
      that folds a value into the accumulator (`acc + x`, yielded into the
      output `acc` belongs to) is marked `fastmath<reassoc>`. LLVM keeps a
      sum in order, one add after the other, unless it may reassociate; so
      marked, it sums in vector lanes (a softmax's row sums, a layer norm's
      means). The rounding differs from the sequential loop's as PyTorch's
      own vectorized sums do.
    * Divisions by a value that is the same all along the innermost loop
      (an operand read through a map without that loop, as a softmax's row
      sum is, or a value from outside the op) are marked
      `fastmath<arcp>`: LLVM's LICM then takes the reciprocal once per row
      and multiplies by it, as PyTorch's softmax does (each quotient within
      an ulp or so of the correctly rounded one). A softmax over 256 x 1024
      took 1.10x less time; the division had been a quarter of it.
    * A row maximum (`arith.maximumf` folding a value into a reduction's
      accumulator) whose temporary is read, until it is overwritten, only
      as the subtrahend of `x - max` feeding an exp (a softmax's shift) is
      marked `fastmath<nsz>`: exp(x - max) is the same whichever zero the
      maximum is, and a NaN still propagates. LLVM then drops the
      sign-of-zero blends of the vector maximum (7 to 4 instructions a
      vector on AVX-512): a softmax over 256 x 1024 1.045-1.049x, causal
      attention over 512 tokens 1.026-1.033x.
    * Max poolings (`linalg.pooling_nchw_max`, `linalg.pooling_nhwc_max`)
      are generalized and their `arith.maximumf` marked `fastmath<nsz>`:
      PyTorch's max pooling keeps a window's first of equal values, so it
      does not order -0 and +0 either; a NaN still propagates. VGG-16's
      first conv + pool block (64 x 32 x 32) 1.07x faster.

    With `parallel`, ops whose loops run at least `parallel-min-iterations`
    times in all are split across threads (an `scf.parallel` that
    `convert-scf-to-openmp` turns into a worksharing loop): the row copies
    and depthwise kernels above over their first loop longer than 1, the
    transposes over their row blocks (not one inside a loop: a kernel's
    panel, packed by the thread that runs it), and
    every other linalg op (element-wise chains, padding fills, pooling)
    over slices of its first parallel loop longer than 1, each slice the
    same op on subviews (that loop is kept out of the merge above). Their
    iterations write disjoint elements.

    ```mlir
    memref.copy %a, %sub : memref<1x8x4x4xf32>
        to memref<1x8x4x4xf32, strided<[288, 36, 6, 1], offset: 7>>
    // becomes
    linalg.copy ins(%a : memref<1x8x4x4xf32>)
        outs(%sub : memref<1x8x4x4xf32, strided<[288, 36, 6, 1], offset: 7>>)
    ```
  }];
  let options = [
    Option<"parallel", "parallel", "bool", /*default=*/"false",
           "Split large ops across threads (scf.parallel)">,
    Option<"parallelMinIterations", "parallel-min-iterations", "int64_t",
           /*default=*/"2097152",
           "With parallel, an op whose loops run fewer times than this in "
           "all stays on the calling thread">,
    Option<"transposeTile", "transpose-tile", "int64_t", /*default=*/"16",
           "Side of the square blocks 2-D transposes move as vectors (the "
           "target's f32 vector width; below 2: leave transposes alone)">
  ];
  let dependentDialects = ["::mlir::affine::AffineDialect",
                           "::mlir::linalg::LinalgDialect",
                           "::mlir::scf::SCFDialect",
                           "::mlir::vector::VectorDialect"];
}

def BlkRewPlanBuffers : Pass<"blkrew-plan-buffers", "ModuleOp"> {
  let summary = "Place a function's temporary buffers in one static arena";
  let description = [{
    On buffers, before deallocation is inserted. Every `memref.alloc` in a
    function's body block with a static shape and identity layout that does
    not escape (returned, passed to a call, yielded, or turned into a memref
    by an op that is not a view) becomes a `memref.view` into one
    uninitialized module-level `memref.global` per function,
    `@__blkrew_arena_<function>`. Offsets come from the buffers' live ranges
    (from the allocation to the last op using it or a view of it): largest
    buffer first, each at the lowest aligned offset that overlaps no buffer
    live at the same time. `memref.dealloc`s of planned buffers are erased.
    The module attribute `blkrew.arena_views` records each view as
    (offset, bytes), by arena, for `blkrew-arena-alias-scopes`.

    A call then allocates nothing: heap allocation of activations that are
    megabytes each made glibc return and re-fault their pages on every call,
    and a reused arena stays in cache. The price: the function is no longer
    reentrant. Two calls of it must not overlap (the blkrew runtime
    serializes them).

    ```mlir
    %a = memref.alloc() {alignment = 64 : i64} : memref<64x1024xf32>
    // becomes
    %arena = memref.get_global @__blkrew_arena_forward : memref<1310720xi8>
    %c0 = arith.constant 0 : index
    %a = memref.view %arena[%c0][] : memref<1310720xi8> to memref<64x1024xf32>
    ```
  }];
  let options = [
    Option<"alignment", "alignment", "int64_t", /*default=*/"64",
           "Byte alignment of the arena and of every offset in it">
  ];
  let dependentDialects = ["::mlir::arith::ArithDialect",
                           "::mlir::memref::MemRefDialect"];
}

def BlkRewArenaAliasScopes : Pass<"blkrew-arena-alias-scopes", "ModuleOp"> {
  let summary = "Alias scopes that keep the arena's disjoint views apart";
  let description = [{
    On the LLVM dialect, at the end of the CPU pipeline. After
    `blkrew-plan-buffers`, all of a function's temporaries are views of one
    global arena, and LLVM sees two of them as offsets into one object. Once
    an index is dynamic it cannot tell them apart, so a loop that reads one
    temporary and writes another reloads and stores around every access
    and does not vectorize: with a softmax's row sums so, attention (8 x 128
    tokens x 64, 1 thread) took twice its time.

    The pass reads the views that `blkrew-plan-buffers` recorded in the
    module attribute `blkrew.arena_views` (per arena, (offset, bytes)
    pairs), follows the address of every `llvm.load` and `llvm.store` back
    through GEPs and memref descriptors (`llvm.insertvalue` /
    `llvm.extractvalue`) to the arena's `llvm.mlir.addressof`, and gives it
    the bytes it may touch:

    - all GEPs constant: exactly the bytes accessed;
    - otherwise the union of the views that hold the constant offset of the
      GEPs nearest the arena (where the memref lowering puts the view's
      start).

    Each such extent gets an alias scope (one domain per arena); an access
    is in its extent's scope and declared apart (`noalias_scopes`) from the
    scopes of the extents it shares no byte with. Views that overlap (the
    plan lets temporaries that are never live at once share bytes) claim
    nothing about each other, nor do accesses whose address the pass cannot
    follow, or that already carry scopes. The attribute is removed.

    ```mlir
    %p = llvm.getelementptr %arena[524288] : (!llvm.ptr) -> !llvm.ptr, i8
    %q = llvm.getelementptr %p[%i] : (!llvm.ptr, i64) -> !llvm.ptr, f32
    %s = llvm.load %q : !llvm.ptr -> f32
    // with the views [0, 524288) and [524288, 528384) becomes
    %s = llvm.load %q {alias_scopes = [#alias_scope1],
                       noalias_scopes = [#alias_scope]} : !llvm.ptr -> f32
    // #alias_scope1: [524288, 528384), #alias_scope: [0, 524288)
    ```
  }];
  let dependentDialects = ["::mlir::LLVM::LLVMDialect"];
}

#endif // BLKREW_TRANSFORMS_PASSES
