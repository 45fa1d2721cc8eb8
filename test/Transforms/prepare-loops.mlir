// RUN: blkrew-opt %s -pass-pipeline="builtin.module(func.func(blkrew-prepare-loops))" -split-input-file | FileCheck %s
// RUN: blkrew-opt %s -pass-pipeline="builtin.module(func.func(blkrew-prepare-loops{parallel=true parallel-min-iterations=128}))" -split-input-file | FileCheck %s --check-prefix=PAR
// RUN: blkrew-opt %s -pass-pipeline="builtin.module(func.func(blkrew-prepare-loops{transpose-tile=4}))" -split-input-file | FileCheck %s --check-prefix=TILE4
// RUN: blkrew-opt %s -pass-pipeline="builtin.module(func.func(blkrew-prepare-loops{transpose-tile=1}))" -split-input-file | FileCheck %s --check-prefix=NOTR

// A copy into the interior of a padded buffer (a strided subview) becomes
// loops over rows, each row one vector load and store (as scalar loops LLVM
// unrolls the short rows and then cannot vectorize them).
// CHECK-LABEL: func.func @into_padded(
// CHECK-SAME:    %[[A:.*]]: memref<1x8x4x4xf32>, %[[P:.*]]: memref<1x8x6x6xf32>)
// CHECK:         %[[SUB:.*]] = memref.subview %[[P]]
// CHECK-NOT:     memref.copy
// CHECK:         scf.for %[[N:.*]] =
// CHECK:           scf.for %[[C:.*]] =
// CHECK:             scf.for %[[H:.*]] =
// CHECK:               scf.for %[[W:.*]] = %{{.*}} to %{{.*}} step %[[C4:.*]] {
// CHECK:                 %[[ROW:.*]] = vector.load %[[A]][%{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}] : memref<1x8x4x4xf32>, vector<4xf32>
// CHECK:                 vector.store %[[ROW]], %[[SUB]][%{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}] : memref<1x8x4x4xf32, strided<[288, 36, 6, 1], offset: 7>>, vector<4xf32>
// CHECK-NOT:     linalg.copy
// With threads (128 iterations, at the threshold), the leading loops up to
// the first longer than 1 (n, c) are one scf.parallel; the rows nest inside.
// PAR-LABEL:   func.func @into_padded(
// PAR:           scf.parallel (%[[N:.*]], %[[C:.*]]) = (%{{.*}}, %{{.*}}) to (%{{.*}}, %{{.*}}) step (%{{.*}}, %{{.*}}) {
// PAR:             scf.for %[[H:.*]] =
// PAR:               scf.for %[[W:.*]] =
// PAR:                 %[[ROW:.*]] = vector.load %{{.*}}[%[[N]], %[[C]], %[[H]], %[[W]]]
// PAR:                 vector.store %[[ROW]], %{{.*}}[%[[N]], %[[C]], %[[H]], %[[W]]]
// PAR:             scf.reduce
func.func @into_padded(%a: memref<1x8x4x4xf32>, %p: memref<1x8x6x6xf32>) {
  %sub = memref.subview %p[0, 0, 1, 1] [1, 8, 4, 4] [1, 1, 1, 1]
      : memref<1x8x6x6xf32> to memref<1x8x4x4xf32, strided<[288, 36, 6, 1], offset: 7>>
  memref.copy %a, %sub : memref<1x8x4x4xf32> to memref<1x8x4x4xf32, strided<[288, 36, 6, 1], offset: 7>>
  return
}

// -----

// Rows shorter than 4 stay a linalg.copy (loops).
// CHECK-LABEL: func.func @short_rows(
// CHECK:         linalg.copy
// CHECK-NOT:     memref.copy
// CHECK-NOT:     vector.load
// 12 iterations stay on the calling thread.
// PAR-LABEL:   func.func @short_rows(
// PAR-NOT:       scf.parallel
// PAR:           linalg.copy
func.func @short_rows(%a: memref<4x3xf32, strided<[8, 1]>>, %b: memref<4x3xf32>) {
  memref.copy %a, %b : memref<4x3xf32, strided<[8, 1]>> to memref<4x3xf32>
  return
}

// -----

// i1 elements stay scalar: a vector of i1 is packed bits, a memref is not.
// CHECK-LABEL: func.func @bool_rows(
// CHECK:         linalg.copy
// CHECK-NOT:     vector.load
func.func @bool_rows(%a: memref<4x8xi1, strided<[16, 1]>>, %b: memref<4x8xi1>) {
  memref.copy %a, %b : memref<4x8xi1, strided<[16, 1]>> to memref<4x8xi1>
  return
}

// -----

// im2col: patches[c, kh, kw, oh, ow] = x[c, oh + kh, ow + kw]. Each output
// row (ow) is a shifted row of the input: one vector<8xf32> each.
// CHECK-DAG:   #[[ROWIN:.*]] = affine_map<(d0, d1) -> (d0 + d1)>
// CHECK-LABEL: func.func @im2col(
// CHECK-SAME:    %[[X:.*]]: memref<2x10x10xf32>, %[[P:.*]]: memref<2x3x3x8x8xf32>)
// CHECK:         scf.for %[[C:.*]] =
// CHECK:           scf.for %[[KH:.*]] =
// CHECK:             scf.for %[[KW:.*]] =
// CHECK:               scf.for %[[OH:.*]] =
// CHECK:                 scf.for %[[OW:.*]] =
// CHECK-DAG:               %[[H:.*]] = affine.apply #[[ROWIN]](%[[KH]], %[[OH]])
// CHECK-DAG:               %[[W:.*]] = affine.apply #[[ROWIN]](%[[KW]], %[[OW]])
// CHECK:                   %[[ROW:.*]] = vector.load %[[X]][%{{.*}}, %[[H]], %[[W]]] : memref<2x10x10xf32>, vector<8xf32>
// CHECK:                   vector.store %[[ROW]], %[[P]][%{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %[[OW]]] : memref<2x3x3x8x8xf32>, vector<8xf32>
// CHECK-NOT:     linalg.generic
#im2col_in = affine_map<(c, kh, kw, oh, ow) -> (c, oh + kh, ow + kw)>
#im2col_out = affine_map<(c, kh, kw, oh, ow) -> (c, kh, kw, oh, ow)>
func.func @im2col(%x: memref<2x10x10xf32>, %p: memref<2x3x3x8x8xf32>) {
  linalg.generic {indexing_maps = [#im2col_in, #im2col_out],
                  iterator_types = ["parallel", "parallel", "parallel", "parallel", "parallel"]}
      ins(%x : memref<2x10x10xf32>) outs(%p : memref<2x3x3x8x8xf32>) {
  ^bb0(%in: f32, %out: f32):
    linalg.yield %in : f32
  }
  return
}

// -----

// Long rows go in chunks of 64, 32 or 16 that divide them.
// CHECK-LABEL: func.func @long_rows(
// CHECK:         vector.load {{.*}} vector<64xf32>
// CHECK:         vector.store {{.*}} vector<64xf32>
func.func @long_rows(%a: memref<2x192xf32, strided<[200, 1]>>, %b: memref<2x192xf32>) {
  memref.copy %a, %b : memref<2x192xf32, strided<[200, 1]>> to memref<2x192xf32>
  return
}

// -----

// Not row copies: a transpose (the innermost loop strides the source), and
// an element-wise op that computes.
// CHECK-LABEL: func.func @not_row_copies(
// CHECK:         linalg.transpose
// CHECK:         linalg.generic
// CHECK-NOT:     vector.load
#id2 = affine_map<(i, j) -> (i, j)>
func.func @not_row_copies(%a: memref<8x8xf32>, %b: memref<8x8xf32>) {
  linalg.transpose ins(%a : memref<8x8xf32>) outs(%b : memref<8x8xf32>) permutation = [1, 0]
  linalg.generic {indexing_maps = [#id2, #id2], iterator_types = ["parallel", "parallel"]}
      ins(%a : memref<8x8xf32>) outs(%b : memref<8x8xf32>) {
  ^bb0(%in: f32, %out: f32):
    %n = arith.negf %in : f32
    linalg.yield %n : f32
  }
  return
}

// -----

// Contiguous copies stay memref.copy (a memcpy): identity layouts, and a
// strided layout that is still one dense block (a slice of whole rows).
// CHECK-LABEL: func.func @contiguous(
// CHECK-NOT:     linalg.copy
// CHECK:         memref.copy %{{.*}}, %{{.*}} : memref<4x4xf32> to memref<4x4xf32>
// CHECK:         memref.copy %{{.*}}, %{{.*}} : memref<2x4xf32> to memref<2x4xf32, strided<[4, 1], offset: 8>>
// CHECK-NOT:     linalg.copy
func.func @contiguous(%a: memref<4x4xf32>, %b: memref<4x4xf32>, %c: memref<2x4xf32>) {
  memref.copy %a, %b : memref<4x4xf32> to memref<4x4xf32>
  %rows = memref.subview %b[2, 0] [2, 4] [1, 1] : memref<4x4xf32> to memref<2x4xf32, strided<[4, 1], offset: 8>>
  memref.copy %c, %rows : memref<2x4xf32> to memref<2x4xf32, strided<[4, 1], offset: 8>>
  return
}

// -----

// A depthwise convolution with unit width stride: per (n, c, oh) one
// vector row of outputs, accumulated across the unrolled kernel taps
// (height stride 2 and width dilation 2 here).
// CHECK-DAG:   #[[ROW1:.*]] = affine_map<(d0) -> (d0 * 2 + 1)>
// CHECK-DAG:   #[[COL2:.*]] = affine_map<(d0) -> (d0 + 4)>
// CHECK-LABEL: func.func @depthwise(
// CHECK-SAME:    %[[X:.*]]: memref<1x8x9x8xf32>, %[[W:.*]]: memref<8x2x3xf32>, %[[O:.*]]: memref<1x8x4x4xf32>)
// CHECK:         scf.for %[[N:.*]] =
// CHECK:           scf.for %[[C:.*]] =
// CHECK:             scf.for %[[OH:.*]] =
// CHECK:               scf.for %[[OW:.*]] =
// CHECK:                 %[[ACC:.*]] = vector.load %[[O]][%[[N]], %[[C]], %[[OH]], %[[OW]]] : memref<1x8x4x4xf32>, vector<4xf32>
// CHECK-COUNT-3:         vector.fma
// CHECK:                 %[[R:.*]] = affine.apply #[[ROW1]](%[[OH]])
// CHECK-COUNT-2:         vector.fma
// CHECK:                 %[[Q:.*]] = affine.apply #[[COL2]](%[[OW]])
// CHECK:                 %[[WV:.*]] = memref.load %[[W]][%[[C]], %{{.*}}, %{{.*}}] : memref<8x2x3xf32>
// CHECK:                 %[[XV:.*]] = vector.load %[[X]][%[[N]], %[[C]], %[[R]], %[[Q]]] : memref<1x8x9x8xf32>, vector<4xf32>
// CHECK:                 %[[B:.*]] = vector.broadcast %[[WV]] : f32 to vector<4xf32>
// CHECK:                 %[[LAST:.*]] = vector.fma %[[XV]], %[[B]], %{{.*}} : vector<4xf32>
// CHECK:                 vector.store %[[LAST]], %[[O]][%[[N]], %[[C]], %[[OH]], %[[OW]]]
// CHECK-NOT:     linalg.depthwise_conv_2d_nchw_chw
// PAR-LABEL:   func.func @depthwise(
// PAR:           scf.parallel (%[[N:.*]], %[[C:.*]]) =
// PAR:             scf.for %[[OH:.*]] =
// PAR:               scf.for %[[OW:.*]] =
// PAR:                 vector.load %{{.*}}[%[[N]], %[[C]], %[[OH]], %[[OW]]]
// PAR:                 vector.fma
func.func @depthwise(%x: memref<1x8x9x8xf32>, %w: memref<8x2x3xf32>, %o: memref<1x8x4x4xf32>) {
  linalg.depthwise_conv_2d_nchw_chw {dilations = dense<[1, 2]> : vector<2xi64>, strides = dense<[2, 1]> : vector<2xi64>}
    ins(%x, %w : memref<1x8x9x8xf32>, memref<8x2x3xf32>) outs(%o : memref<1x8x4x4xf32>)
  return
}

// -----

// With a width stride of 2 each tap loads the span of inputs its output
// row needs (2 * 4 - 1 = 7) and keeps every other one.
// CHECK-DAG:   #[[COL:.*]] = affine_map<(d0) -> (d0 * 2 + 1)>
// CHECK-LABEL: func.func @depthwise_strided(
// CHECK-SAME:    %[[X:.*]]: memref<1x8x9x9xf32>
// CHECK:         scf.for %[[N:.*]] =
// CHECK:           scf.for %[[C:.*]] =
// CHECK:             scf.for %[[OH:.*]] =
// CHECK:               scf.for %[[OW:.*]] =
// CHECK:                 vector.fma
// CHECK:                 %[[Q:.*]] = affine.apply #[[COL]](%[[OW]])
// CHECK:                 %[[SPAN:.*]] = vector.load %[[X]][%[[N]], %[[C]], %{{.*}}, %[[Q]]] : memref<1x8x9x9xf32>, vector<7xf32>
// CHECK:                 %[[ROW:.*]] = vector.shuffle %[[SPAN]], %[[SPAN]] [0, 2, 4, 6] : vector<7xf32>, vector<7xf32>
// CHECK:                 vector.fma %[[ROW]]
// CHECK-NOT:     linalg.depthwise_conv_2d_nchw_chw
func.func @depthwise_strided(%x: memref<1x8x9x9xf32>, %w: memref<8x3x3xf32>, %o: memref<1x8x4x4xf32>) {
  linalg.depthwise_conv_2d_nchw_chw {dilations = dense<1> : vector<2xi64>, strides = dense<2> : vector<2xi64>}
    ins(%x, %w : memref<1x8x9x9xf32>, memref<8x3x3xf32>) outs(%o : memref<1x8x4x4xf32>)
  return
}

// A per-channel bias broadcast into the output right before: each row
// starts from its channel's bias (one scalar load) instead of loading the
// output, and the broadcast is gone.
// CHECK-LABEL: func.func @depthwise_bias(
// CHECK-SAME:    %[[B:[^:]*]]: memref<8xf32>, %[[O:[^:]*]]: memref<1x8x4x4xf32>)
// CHECK-NOT:     linalg.broadcast
// CHECK:         scf.for %{{.*}} =
// CHECK:           scf.for %[[C:.*]] =
// CHECK:                 %[[BC:.*]] = memref.load %[[B]][%[[C]]] : memref<8xf32>
// CHECK:                 %[[ACC:.*]] = vector.broadcast %[[BC]] : f32 to vector<4xf32>
// CHECK-NOT:             vector.load %[[O]]
// CHECK:                 vector.fma %{{.*}}, %{{.*}}, %[[ACC]]
// CHECK:                 vector.store %{{.*}}, %[[O]]
func.func @depthwise_bias(%x: memref<1x8x9x9xf32>, %w: memref<8x3x3xf32>, %b: memref<8xf32>, %o: memref<1x8x4x4xf32>) {
  linalg.broadcast ins(%b : memref<8xf32>) outs(%o : memref<1x8x4x4xf32>) dimensions = [0, 2, 3]
  linalg.depthwise_conv_2d_nchw_chw {dilations = dense<1> : vector<2xi64>, strides = dense<2> : vector<2xi64>}
    ins(%x, %w : memref<1x8x9x9xf32>, memref<8x3x3xf32>) outs(%o : memref<1x8x4x4xf32>)
  return
}

// -----

// An element-wise op on the output in place right after (a ReLU, its zero
// defined after the convolution): applied to each row before the store,
// the kernel placed where the op was.
// CHECK-LABEL: func.func @depthwise_relu(
// CHECK-SAME:    %[[O:[^:]*]]: memref<1x8x4x4xf32>)
// CHECK:         %[[ZERO:.*]] = arith.constant 0.000000e+00 : f32
// CHECK:         scf.for
// CHECK-COUNT-8:         vector.fma
// CHECK:                 %[[ACC:.*]] = vector.fma
// CHECK:                 %[[Z:.*]] = vector.broadcast %[[ZERO]] : f32 to vector<4xf32>
// CHECK:                 %[[ROW:.*]] = arith.maximumf %[[ACC]], %[[Z]] : vector<4xf32>
// CHECK:                 vector.store %[[ROW]], %[[O]]
// CHECK-NOT:     linalg.generic
func.func @depthwise_relu(%x: memref<1x8x9x9xf32>, %w: memref<8x3x3xf32>, %o: memref<1x8x4x4xf32>) {
  linalg.depthwise_conv_2d_nchw_chw {dilations = dense<1> : vector<2xi64>, strides = dense<2> : vector<2xi64>}
    ins(%x, %w : memref<1x8x9x9xf32>, memref<8x3x3xf32>) outs(%o : memref<1x8x4x4xf32>)
  %zero = arith.constant 0.0 : f32
  linalg.generic {indexing_maps = [affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>,
                                   affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>],
                  iterator_types = ["parallel", "parallel", "parallel", "parallel"]}
      ins(%o : memref<1x8x4x4xf32>) outs(%o : memref<1x8x4x4xf32>) {
  ^bb0(%in: f32, %out: f32):
    %r = arith.maximumf %in, %zero : f32
    linalg.yield %r : f32
  }
  return
}

// -----

// Not applied: the element-wise op reads the output's old value too.
// CHECK-LABEL: func.func @depthwise_then_accumulate(
// CHECK:         scf.for
// CHECK:         linalg.generic
func.func @depthwise_then_accumulate(%x: memref<1x8x9x9xf32>, %w: memref<8x3x3xf32>, %o: memref<1x8x4x4xf32>) {
  linalg.depthwise_conv_2d_nchw_chw {dilations = dense<1> : vector<2xi64>, strides = dense<2> : vector<2xi64>}
    ins(%x, %w : memref<1x8x9x9xf32>, memref<8x3x3xf32>) outs(%o : memref<1x8x4x4xf32>)
  linalg.generic {indexing_maps = [affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>,
                                   affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>],
                  iterator_types = ["parallel", "parallel", "parallel", "parallel"]}
      ins(%o : memref<1x8x4x4xf32>) outs(%o : memref<1x8x4x4xf32>) {
  ^bb0(%in: f32, %out: f32):
    %r = arith.addf %in, %out : f32
    linalg.yield %r : f32
  }
  return
}

// -----

// Mixed element types (an f16 filter) are generalized instead, the loops
// (n, c, oh, kh, kw, ow), ow innermost, for LLVM's vectorizers.
// CHECK-DAG:   #[[IN:.*]] = affine_map<(d0, d1, d2, d3, d4, d5) -> (d0, d1, d2 + d3, d4 + d5)>
// CHECK-DAG:   #[[W:.*]] = affine_map<(d0, d1, d2, d3, d4, d5) -> (d1, d3, d4)>
// CHECK-DAG:   #[[OUT:.*]] = affine_map<(d0, d1, d2, d3, d4, d5) -> (d0, d1, d2, d5)>
// CHECK-LABEL: func.func @depthwise_mixed(
// CHECK:         linalg.generic {indexing_maps = [#[[IN]], #[[W]], #[[OUT]]], iterator_types = ["parallel", "parallel", "parallel", "reduction", "reduction", "parallel"]}
// CHECK:           arith.extf
// CHECK-NOT:     vector.fma
// With threads, the generalized convolution runs in channel slices.
// PAR-LABEL:   func.func @depthwise_mixed(
// PAR:           scf.parallel (%[[C:.*]]) = (%{{.*}}) to (%{{.*}}) step (%{{.*}}) {
// PAR:             memref.subview %{{.*}}[0, %[[C]], 0, 0] [1, 1, 6, 6]
// PAR:             linalg.generic
// PAR:               arith.extf
func.func @depthwise_mixed(%x: memref<1x8x6x6xf32>, %w: memref<8x3x3xf16>, %o: memref<1x8x4x4xf32>) {
  linalg.depthwise_conv_2d_nchw_chw {dilations = dense<1> : vector<2xi64>, strides = dense<1> : vector<2xi64>}
    ins(%x, %w : memref<1x8x6x6xf32>, memref<8x3x3xf16>) outs(%o : memref<1x8x4x4xf32>)
  return
}

// -----

// Element-wise ops and pooling become loops later; an element-wise op's
// loops that stay adjacent in every operand are first merged into one (a
// short innermost loop would be fully unrolled by LLVM, which then
// vectorizes across rows with gathers). With threads, each large op runs in
// slices of its first parallel loop longer than 1 (channels here, kept
// out of the merge), the same op on subviews. The max pooling is
// generalized, its maximum marked nsz: PyTorch's does not order -0 and +0
// either (it keeps a window's first of equal values).
// CHECK-LABEL: func.func @relu_and_pool(
// CHECK-SAME:    %[[A:.*]]: memref<1x16x8x8xf32>
// CHECK-NOT:     scf.parallel
// CHECK:         %[[FLAT:.*]] = memref.collapse_shape %[[A]] {{\[}}[0, 1, 2, 3]] : memref<1x16x8x8xf32> into memref<1024xf32>
// CHECK:         linalg.generic {{.*}}iterator_types = ["parallel"]} outs(%[[FLAT]] : memref<1024xf32>)
// CHECK-NOT:     linalg.pooling_nchw_max
// CHECK:         linalg.generic {{.*}}iterator_types = ["parallel", "parallel", "parallel", "parallel", "reduction", "reduction"]}
// CHECK:           arith.maximumf %{{[^ ]*}}, %{{[^ ]*}} fastmath<nsz> : f32
// PAR-LABEL:   func.func @relu_and_pool(
// PAR-SAME:      %[[A:.*]]: memref<1x16x8x8xf32>, %[[P:.*]]: memref<1x16x4x4xf32>
// PAR:           %[[ROWS:.*]] = memref.collapse_shape %[[A]] {{\[}}[0], [1], [2, 3]] : memref<1x16x8x8xf32> into memref<1x16x64xf32>
// PAR:           %[[C16:.*]] = arith.constant 16 : index
// PAR:           scf.parallel (%[[C:.*]]) = (%{{.*}}) to (%[[C16]]) step (%{{.*}}) {
// PAR:             %[[SLICE:.*]] = memref.subview %[[ROWS]][0, %[[C]], 0] [1, 1, 64] [1, 1, 1]
// PAR:             linalg.generic {{.*}} outs(%[[SLICE]] :
// PAR:               arith.maximumf
// PAR:             scf.reduce
// PAR:           scf.parallel (%[[C2:.*]]) = (%{{.*}}) to (%{{.*}}) step (%{{.*}}) {
// PAR:             %[[IN:.*]] = memref.subview %[[A]][0, %[[C2]], 0, 0] [1, 1, 8, 8]
// PAR:             %[[OUT:.*]] = memref.subview %[[P]][0, %[[C2]], 0, 0] [1, 1, 4, 4]
// PAR:             linalg.generic {{.*}} ins(%[[IN]], %{{.*}} : {{.*}}) outs(%[[OUT]] :
// PAR:               arith.maximumf %{{[^ ]*}}, %{{[^ ]*}} fastmath<nsz> : f32
func.func @relu_and_pool(%a: memref<1x16x8x8xf32>, %p: memref<1x16x4x4xf32>) {
  %zero = arith.constant 0.0 : f32
  linalg.generic {indexing_maps = [affine_map<(n, c, h, w) -> (n, c, h, w)>],
                  iterator_types = ["parallel", "parallel", "parallel", "parallel"]}
      outs(%a : memref<1x16x8x8xf32>) {
  ^bb0(%x: f32):
    %r = arith.maximumf %x, %zero : f32
    linalg.yield %r : f32
  }
  %win = memref.alloc() : memref<2x2xf32>
  linalg.pooling_nchw_max {dilations = dense<1> : vector<2xi64>, strides = dense<2> : vector<2xi64>}
    ins(%a, %win : memref<1x16x8x8xf32>, memref<2x2xf32>) outs(%p : memref<1x16x4x4xf32>)
  memref.dealloc %win : memref<2x2xf32>
  return
}

// -----

// Only parallel loops are split: a sum over rows runs in column slices, each
// slice summing its whole column. Small ops stay on the calling thread.
// CHECK-LABEL: func.func @column_sums(
// CHECK-NOT:     scf.parallel
// PAR-LABEL:   func.func @column_sums(
// PAR-SAME:      %[[A:.*]]: memref<16x64xf32>, %[[S:.*]]: memref<64xf32>, %[[T:.*]]: memref<4x4xf32>
// PAR:           scf.parallel (%[[J:.*]]) =
// PAR:             memref.subview %[[A]][0, %[[J]]] [16, 1] [1, 1]
// PAR:             linalg.generic {{.*}}iterator_types = ["reduction", "parallel"]
// PAR:             scf.reduce
// PAR-NOT:       scf.parallel
// PAR:           %[[T1:.*]] = memref.collapse_shape %[[T]] {{\[}}[0, 1]]
// PAR:           linalg.generic {{.*}} outs(%[[T1]] : memref<16xf32>)
func.func @column_sums(%a: memref<16x64xf32>, %s: memref<64xf32>, %t: memref<4x4xf32>) {
  linalg.generic {indexing_maps = [affine_map<(i, j) -> (i, j)>, affine_map<(i, j) -> (j)>],
                  iterator_types = ["reduction", "parallel"]}
      ins(%a : memref<16x64xf32>) outs(%s : memref<64xf32>) {
  ^bb0(%x: f32, %acc: f32):
    %r = arith.addf %x, %acc : f32
    linalg.yield %r : f32
  }
  %one = arith.constant 1.0 : f32
  linalg.generic {indexing_maps = [affine_map<(i, j) -> (i, j)>],
                  iterator_types = ["parallel", "parallel"]}
      outs(%t : memref<4x4xf32>) {
  ^bb0(%x: f32):
    %r = arith.addf %x, %one : f32
    linalg.yield %r : f32
  }
  return
}

// -----

// A bias broadcast over NCHW and a fill: the spatial loops merge (the bias
// is indexed by the channel alone), the fill's all of them. A transposing
// generic (its two loops swap places in the input) and an operand with a
// strided layout are left alone.
// CHECK-LABEL: func.func @broadcast_fill_and_others(
// CHECK-SAME:    %[[B:.*]]: memref<8xf32>, %[[O:.*]]: memref<1x8x4x4xf32>, %[[F:.*]]: memref<2x3xf32>, %[[S:.*]]: memref<4x4xf32>, %[[T:.*]]: memref<4x4xf32>, %[[V:.*]]: memref<2x4xf32, strided<[8, 1]>>
// CHECK:         %[[O3:.*]] = memref.collapse_shape %[[O]] {{\[}}[0], [1], [2, 3]] : memref<1x8x4x4xf32> into memref<1x8x16xf32>
// CHECK:         linalg.generic {{.*}}iterator_types = ["parallel", "parallel", "parallel"]} ins(%[[B]] : memref<8xf32>) outs(%[[O3]] : memref<1x8x16xf32>)
// CHECK:         %[[F1:.*]] = memref.collapse_shape %[[F]] {{\[}}[0, 1]] : memref<2x3xf32> into memref<6xf32>
// CHECK:         linalg.generic {{.*}}outs(%[[F1]] : memref<6xf32>)
// CHECK-NOT:     memref.collapse_shape
// CHECK:         linalg.generic {{.*}}iterator_types = ["parallel", "parallel"]} ins(%[[S]] : memref<4x4xf32>) outs(%[[T]] : memref<4x4xf32>)
// CHECK:         linalg.generic {{.*}}iterator_types = ["parallel", "parallel"]} outs(%[[V]] :
func.func @broadcast_fill_and_others(%b: memref<8xf32>, %o: memref<1x8x4x4xf32>, %f: memref<2x3xf32>,
                                     %s: memref<4x4xf32>, %t: memref<4x4xf32>,
                                     %v: memref<2x4xf32, strided<[8, 1]>>) {
  linalg.broadcast ins(%b : memref<8xf32>) outs(%o : memref<1x8x4x4xf32>) dimensions = [0, 2, 3]
  %zero = arith.constant 0.0 : f32
  linalg.fill ins(%zero : f32) outs(%f : memref<2x3xf32>)
  linalg.generic {indexing_maps = [affine_map<(i, j) -> (j, i)>, affine_map<(i, j) -> (i, j)>],
                  iterator_types = ["parallel", "parallel"]}
      ins(%s : memref<4x4xf32>) outs(%t : memref<4x4xf32>) {
  ^bb0(%x: f32, %y: f32):
    linalg.yield %x : f32
  }
  linalg.generic {indexing_maps = [affine_map<(i, j) -> (i, j)>],
                  iterator_types = ["parallel", "parallel"]}
      outs(%v : memref<2x4xf32, strided<[8, 1]>>) {
  ^bb0(%x: f32):
    %r = arith.maximumf %x, %zero : f32
    linalg.yield %r : f32
  }
  return
}

// -----

// 2-D transposes: 16x16 blocks of 16 row loads, the shuffles of the 16x16
// lowering and 16 row stores; the strips past the last full block stay
// transposes of subviews. With threads, the loop over row blocks is
// parallel. With 4x4 blocks (NEON), one shuffle per block; with
// transpose-tile below 2, transposes are left alone.
// CHECK-LABEL: func.func @transpose_blocks(
// CHECK-SAME:    %[[IN:.*]]: memref<20x36xf32>, %[[OUT:.*]]: memref<36x20xf32>)
// CHECK:         scf.for %[[I:.*]] = %{{.*}} to %{{.*}} step %{{.*}} {
// CHECK:           scf.for %[[J:.*]] = %{{.*}} to %{{.*}} step %{{.*}} {
// CHECK-COUNT-16:    vector.load %[[IN]][%{{.*}}, %[[J]]] : memref<20x36xf32>, vector<16xf32>
// CHECK-COUNT-64:    vector.shuffle
// CHECK-COUNT-16:    vector.store %{{.*}}, %[[OUT]][%{{.*}}, %[[I]]] : memref<36x20xf32>, vector<16xf32>
// CHECK:         linalg.transpose ins(%{{.*}} : memref<20x4xf32, strided<[36, 1], offset: 32>>) outs(%{{.*}} : memref<4x20xf32, strided<[20, 1], offset: 640>>)
// CHECK:         linalg.transpose ins(%{{.*}} : memref<4x32xf32, strided<[36, 1], offset: 576>>) outs(%{{.*}} : memref<32x4xf32, strided<[20, 1], offset: 16>>)
// PAR-LABEL:   func.func @transpose_blocks(
// PAR:           scf.parallel
// PAR:             scf.for
// PAR-COUNT-64:      vector.shuffle
// TILE4-LABEL: func.func @transpose_blocks(
// TILE4-COUNT-4:     vector.load %{{.*}} : memref<20x36xf32>, vector<4xf32>
// TILE4:             vector.shuffle %{{.*}}, %{{.*}} [0, 4, 8, 12, 1, 5, 9, 13, 2, 6, 10, 14, 3, 7, 11, 15] : vector<16xf32>, vector<16xf32>
// TILE4-COUNT-4:     vector.store %{{.*}} : memref<36x20xf32>, vector<4xf32>
// TILE4-NOT:     linalg.transpose
// TILE4:         return
// NOTR-LABEL:  func.func @transpose_blocks(
// NOTR-NEXT:     linalg.transpose ins(%{{.*}} : memref<20x36xf32>) outs(%{{.*}} : memref<36x20xf32>)
// NOTR-NEXT:     return
func.func @transpose_blocks(%in: memref<20x36xf32>, %out: memref<36x20xf32>) {
  linalg.transpose ins(%in : memref<20x36xf32>) outs(%out : memref<36x20xf32>) permutation = [1, 0]
  return
}

// -----

// A transpose inside a loop (a kernel packing a panel of a linear layer's
// input, on the thread that runs the panel) is vectorized on that thread:
// no parallel loop nested in the outer one.
// PAR-LABEL:   func.func @transpose_in_loop(
// PAR:           scf.parallel
// PAR-NOT:         scf.parallel
// PAR:             scf.for
// PAR-COUNT-64:      vector.shuffle
// PAR-NOT:         scf.parallel
// PAR:           return
func.func @transpose_in_loop(%in: memref<64x16xf32>, %out: memref<4x16x16xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c4 = arith.constant 4 : index
  %c16 = arith.constant 16 : index
  scf.parallel (%i) = (%c0) to (%c4) step (%c1) {
    %lo = arith.muli %i, %c16 : index
    %src = memref.subview %in[%lo, 0] [16, 16] [1, 1] : memref<64x16xf32> to memref<16x16xf32, strided<[16, 1], offset: ?>>
    %dst = memref.subview %out[%i, 0, 0] [1, 16, 16] [1, 1, 1] : memref<4x16x16xf32> to memref<16x16xf32, strided<[16, 1], offset: ?>>
    linalg.transpose ins(%src : memref<16x16xf32, strided<[16, 1], offset: ?>>) outs(%dst : memref<16x16xf32, strided<[16, 1], offset: ?>>) permutation = [1, 0]
    scf.reduce
  }
  return
}

// -----

// Left alone: a side shorter than one block, other element types, dynamic
// shapes.
// CHECK-LABEL: func.func @transposes_left(
// CHECK-NOT:     vector.
// CHECK-COUNT-3: linalg.transpose
// CHECK-NOT:     vector.
// TILE4-LABEL: func.func @transposes_left(
// TILE4-NOT:     vector.
func.func @transposes_left(%a: memref<3x36xf32>, %b: memref<36x3xf32>,
                           %c: memref<32x32xf16>, %d: memref<32x32xf16>,
                           %e: memref<?x32xf32>, %f: memref<32x?xf32>) {
  linalg.transpose ins(%a : memref<3x36xf32>) outs(%b : memref<36x3xf32>) permutation = [1, 0]
  linalg.transpose ins(%c : memref<32x32xf16>) outs(%d : memref<32x32xf16>) permutation = [1, 0]
  linalg.transpose ins(%e : memref<?x32xf32>) outs(%f : memref<32x?xf32>) permutation = [1, 0]
  return
}

// -----

// The add that folds a value into a reduction's accumulator may be
// reassociated (LLVM then sums in vector lanes); other combiners and adds
// that do not take the accumulator stay as written, as do element-wise ops.
// CHECK-LABEL: func.func @sums(
// CHECK:         math.exp
// CHECK-NEXT:    arith.addf %{{[^ ]*}}, %{{[^ ]*}} fastmath<reassoc> : f32
// CHECK:         arith.maximumf %{{[^ ]*}}, %{{[^ ]*}} : f32
// CHECK:         arith.addf %{{[^ ]*}}, %{{[^ ]*}} : f32
// CHECK-NEXT:    arith.mulf
// CHECK:         arith.addf %{{[^ ]*}}, %{{[^ ]*}} : f32
// CHECK-NEXT:    linalg.yield
func.func @sums(%a: memref<4x16xf32>, %s: memref<4xf32>, %m: memref<4xf32>,
                %p: memref<4xf32>, %b: memref<4x16xf32>) {
  %one = arith.constant 1.0 : f32
  linalg.generic {indexing_maps = [affine_map<(i, j) -> (i, j)>, affine_map<(i, j) -> (i)>],
                  iterator_types = ["parallel", "reduction"]}
      ins(%a : memref<4x16xf32>) outs(%s : memref<4xf32>) {
  ^bb0(%x: f32, %acc: f32):
    %e = math.exp %x : f32
    %r = arith.addf %e, %acc : f32
    linalg.yield %r : f32
  }
  linalg.generic {indexing_maps = [affine_map<(i, j) -> (i, j)>, affine_map<(i, j) -> (i)>],
                  iterator_types = ["parallel", "reduction"]}
      ins(%a : memref<4x16xf32>) outs(%m : memref<4xf32>) {
  ^bb0(%x: f32, %acc: f32):
    %r = arith.maximumf %x, %acc : f32
    linalg.yield %r : f32
  }
  linalg.generic {indexing_maps = [affine_map<(i, j) -> (i, j)>, affine_map<(i, j) -> (i)>],
                  iterator_types = ["parallel", "reduction"]}
      ins(%a : memref<4x16xf32>) outs(%p : memref<4xf32>) {
  ^bb0(%x: f32, %acc: f32):
    %t = arith.addf %x, %one : f32
    %r = arith.mulf %t, %acc : f32
    linalg.yield %r : f32
  }
  linalg.generic {indexing_maps = [affine_map<(i, j) -> (i, j)>, affine_map<(i, j) -> (i, j)>],
                  iterator_types = ["parallel", "parallel"]}
      ins(%a : memref<4x16xf32>) outs(%b : memref<4x16xf32>) {
  ^bb0(%x: f32, %y: f32):
    %r = arith.addf %x, %y : f32
    linalg.yield %r : f32
  }
  return
}

// -----

// A division by a value that stays the same along the innermost loop (a
// softmax's row sum, read through a map without that loop; a value from
// outside the op) may use its reciprocal: LLVM then divides once per row.
// One by a value that changes along it stays exact.
// CHECK-LABEL: func.func @divisions(
// CHECK:         arith.divf %{{[^ ]*}}, %{{[^ ]*}} fastmath<arcp> : f32
// CHECK:         arith.divf %{{[^ ]*}}, %{{[^ ]*}} fastmath<arcp> : f32
// CHECK:         arith.divf %{{[^ ]*}}, %{{[^ ]*}} : f32
// CHECK-NEXT:    linalg.yield
func.func @divisions(%a: memref<4x16xf32>, %s: memref<4xf32>, %c: f32,
                     %t: memref<16x4xf32>, %b: memref<4x16xf32>) {
  linalg.generic {indexing_maps = [affine_map<(i, j) -> (i, j)>, affine_map<(i, j) -> (i)>,
                                   affine_map<(i, j) -> (i, j)>],
                  iterator_types = ["parallel", "parallel"]}
      ins(%a, %s : memref<4x16xf32>, memref<4xf32>) outs(%b : memref<4x16xf32>) {
  ^bb0(%x: f32, %sum: f32, %y: f32):
    %r = arith.divf %x, %sum : f32
    linalg.yield %r : f32
  }
  linalg.generic {indexing_maps = [affine_map<(i, j) -> (i, j)>, affine_map<(i, j) -> (j, i)>,
                                   affine_map<(i, j) -> (i, j)>],
                  iterator_types = ["parallel", "parallel"]}
      ins(%a, %t : memref<4x16xf32>, memref<16x4xf32>) outs(%b : memref<4x16xf32>) {
  ^bb0(%x: f32, %d: f32, %y: f32):
    %q = arith.divf %x, %c : f32
    %r = arith.divf %q, %d : f32
    linalg.yield %r : f32
  }
  return
}

// -----

// A row maximum that is only ever subtracted before an exp (a softmax's)
// may return either zero (nsz): exp(x - max) is the same, and a NaN still
// propagates. One that is read otherwise (stored as a result, here) keeps
// its order of zeros; a buffer read again after it is rewritten (the row
// sum reusing it) does not count against the first.
// CHECK-LABEL: func.func @row_max(
// CHECK:         arith.maximumf %{{[^ ]*}}, %{{[^ ]*}} fastmath<nsz> : f32
// CHECK:         arith.subf
// CHECK:         math.exp
// CHECK:         arith.maximumf %{{[^ ]*}}, %{{[^ ]*}} : f32
// CHECK-NEXT:    linalg.yield
func.func @row_max(%a: memref<4x16xf32>, %b: memref<4x16xf32>, %out: memref<4xf32>) {
  %c0 = arith.constant 0 : index
  %ninf = arith.constant 0xFF800000 : f32
  %zero = arith.constant 0.0 : f32
  %arena = memref.alloc() : memref<16xi8>
  %m = memref.view %arena[%c0][] : memref<16xi8> to memref<4xf32>
  linalg.fill ins(%ninf : f32) outs(%m : memref<4xf32>)
  linalg.generic {indexing_maps = [affine_map<(i, j) -> (i, j)>, affine_map<(i, j) -> (i)>],
                  iterator_types = ["parallel", "reduction"]}
      ins(%a : memref<4x16xf32>) outs(%m : memref<4xf32>) {
  ^bb0(%x: f32, %acc: f32):
    %r = arith.maximumf %x, %acc : f32
    linalg.yield %r : f32
  }
  linalg.generic {indexing_maps = [affine_map<(i, j) -> (i, j)>, affine_map<(i, j) -> (i)>,
                                   affine_map<(i, j) -> (i, j)>],
                  iterator_types = ["parallel", "parallel"]}
      ins(%a, %m : memref<4x16xf32>, memref<4xf32>) outs(%b : memref<4x16xf32>) {
  ^bb0(%x: f32, %mx: f32, %y: f32):
    %d = arith.subf %x, %mx : f32
    %e = math.exp %d : f32
    linalg.yield %e : f32
  }
  linalg.fill ins(%zero : f32) outs(%m : memref<4xf32>)
  linalg.generic {indexing_maps = [affine_map<(i, j) -> (i, j)>, affine_map<(i, j) -> (i)>],
                  iterator_types = ["parallel", "reduction"]}
      ins(%b : memref<4x16xf32>) outs(%m : memref<4xf32>) {
  ^bb0(%x: f32, %acc: f32):
    %r = arith.addf %x, %acc : f32
    linalg.yield %r : f32
  }
  linalg.fill ins(%ninf : f32) outs(%out : memref<4xf32>)
  linalg.generic {indexing_maps = [affine_map<(i, j) -> (i, j)>, affine_map<(i, j) -> (i)>],
                  iterator_types = ["parallel", "reduction"]}
      ins(%a : memref<4x16xf32>) outs(%out : memref<4xf32>) {
  ^bb0(%x: f32, %acc: f32):
    %r = arith.maximumf %x, %acc : f32
    linalg.yield %r : f32
  }
  memref.dealloc %arena : memref<16xi8>
  return
}

// -----

// A row maximum that a later op reads through its output (accumulating
// into the buffer, not overwriting it) keeps its order of zeros.
// CHECK-LABEL: func.func @row_max_accumulated(
// CHECK:         arith.maximumf %{{[^ ]*}}, %{{[^ ]*}} : f32
// CHECK-NEXT:    linalg.yield
func.func @row_max_accumulated(%a: memref<4x16xf32>, %b: memref<4x16xf32>) {
  %c0 = arith.constant 0 : index
  %ninf = arith.constant 0xFF800000 : f32
  %arena = memref.alloc() : memref<16xi8>
  %m = memref.view %arena[%c0][] : memref<16xi8> to memref<4xf32>
  linalg.fill ins(%ninf : f32) outs(%m : memref<4xf32>)
  linalg.generic {indexing_maps = [affine_map<(i, j) -> (i, j)>, affine_map<(i, j) -> (i)>],
                  iterator_types = ["parallel", "reduction"]}
      ins(%a : memref<4x16xf32>) outs(%m : memref<4xf32>) {
  ^bb0(%x: f32, %acc: f32):
    %r = arith.maximumf %x, %acc : f32
    linalg.yield %r : f32
  }
  linalg.generic {indexing_maps = [affine_map<(i, j) -> (i, j)>, affine_map<(i, j) -> (i)>],
                  iterator_types = ["parallel", "reduction"]}
      ins(%b : memref<4x16xf32>) outs(%m : memref<4xf32>) {
  ^bb0(%x: f32, %acc: f32):
    %r = arith.addf %x, %acc : f32
    linalg.yield %r : f32
  }
  memref.dealloc %arena : memref<16xi8>
  return
}

// -----

// Transposes whose dimensions move in runs are the transposes of the runs:
// [32, 4, 16] -> [4, 16, 32] is a 32 x 64 transpose (vector blocks), and
// one that keeps the last dimension in place moves rows (attention's split
// of heads). One with no run longer than a dimension and the last
// dimension moved stays.
// TILE4-LABEL: func.func @transposes_in_runs(
// TILE4-SAME:    %[[A:[^:]*]]: memref<32x4x16xf32>, %[[B:[^:]*]]: memref<4x16x32xf32>
// TILE4-SAME:    %[[C:[^:]*]]: memref<2x8x4x16xf32>, %[[D:[^:]*]]: memref<2x4x8x16xf32>
// TILE4:         %[[A2:.*]] = memref.collapse_shape %[[A]] {{\[}}[0], [1, 2]] : memref<32x4x16xf32> into memref<32x64xf32>
// TILE4:         %[[B2:.*]] = memref.collapse_shape %[[B]] {{\[}}[0, 1], [2]] : memref<4x16x32xf32> into memref<64x32xf32>
// TILE4:         scf.for %[[I:.*]] = %{{.*}} to %{{.*}} step %{{.*}} {
// TILE4:           scf.for %[[J:.*]] = %{{.*}} to %{{.*}} step %{{.*}} {
// TILE4:             vector.load %[[A2]][%{{.*}}, %[[J]]] : memref<32x64xf32>, vector<4xf32>
// TILE4:             vector.store %{{.*}}, %[[B2]][%{{.*}}, %[[I]]] : memref<64x32xf32>, vector<4xf32>
// TILE4:         scf.for %[[N:.*]] =
// TILE4:           scf.for %[[H:.*]] =
// TILE4:             scf.for %[[S:.*]] =
// TILE4:               %[[ROW:.*]] = vector.load %[[C]][%[[N]], %[[S]], %[[H]], %{{.*}}] : memref<2x8x4x16xf32>, vector<16xf32>
// TILE4:               vector.store %[[ROW]], %[[D]][%[[N]], %[[H]], %[[S]], %{{.*}}] : memref<2x4x8x16xf32>, vector<16xf32>
// TILE4:         linalg.transpose ins(%{{.*}} : memref<4x8x16xf32>) outs(%{{.*}} : memref<16x8x4xf32>) permutation = [2, 1, 0]
// TILE4-NOT:     linalg.transpose
// TILE4:         return
func.func @transposes_in_runs(%a: memref<32x4x16xf32>, %b: memref<4x16x32xf32>,
                              %c: memref<2x8x4x16xf32>, %d: memref<2x4x8x16xf32>,
                              %e: memref<4x8x16xf32>, %f: memref<16x8x4xf32>) {
  linalg.transpose ins(%a : memref<32x4x16xf32>) outs(%b : memref<4x16x32xf32>) permutation = [1, 2, 0]
  linalg.transpose ins(%c : memref<2x8x4x16xf32>) outs(%d : memref<2x4x8x16xf32>) permutation = [0, 2, 1, 3]
  linalg.transpose ins(%e : memref<4x8x16xf32>) outs(%f : memref<16x8x4xf32>) permutation = [2, 1, 0]
  return
}
