// RUN: blkrew-opt %s -split-input-file -blkrew-sparsify="block-rows=2 block-cols=2" | FileCheck %s
// RUN: blkrew-opt %s -split-input-file -blkrew-sparsify="block-rows=2 block-cols=2 max-density=0.2 pack-dense=false" | FileCheck %s --check-prefix=STRICT
// RUN: blkrew-opt %s -split-input-file -blkrew-sparsify="block-rows=2 block-cols=2 max-density=0.2" | FileCheck %s --check-prefix=DENSE
// RUN: blkrew-opt %s -split-input-file -blkrew-sparsify="block-rows=1 block-cols=2" | FileCheck %s --check-prefix=ROWS1
// RUN: blkrew-opt %s -split-input-file -blkrew-sparsify="block-rows=2 block-cols=2 image-loop-min-pixels=4" | FileCheck %s --check-prefix=IMAGES

// Constant weight on the left: one bsr_matmul, weight packed in 2-row
// groups (group 0 keeps columns 0 and 3, group 1 keeps column 1).
// CHECK-LABEL: func.func @constant_lhs(
// CHECK-SAME:    %[[X:.*]]: tensor<4x8xf32>, %[[C:.*]]: tensor<4x8xf32>)
// CHECK-DAG:     %[[RP:.*]] = arith.constant dense<[0, 2, 3]> : tensor<3xi32>
// CHECK-DAG:     %[[CI:.*]] = arith.constant dense<[0, 3, 1]> : tensor<3xi32>
// CHECK-DAG:     %[[V:.*]] = arith.constant dense<{{\[}}[1.000000e+00, 2.000000e+00], [3.000000e+00, 4.000000e+00], [5.000000e+00, 6.000000e+00]]> : tensor<3x2xf32>
// CHECK:         %[[Y:.*]] = blkrew.bsr_matmul <block = [2, 2], scheme = column> ins(%[[RP]], %[[CI]], %[[V]], %[[X]] : {{.*}}) outs(%[[C]] : tensor<4x8xf32>)
// CHECK-NOT:     linalg.matmul
// CHECK:         return %[[Y]]
// 6 of 16 values stored: above a 0.2 density limit the layer is dense. It
// stays a matmul with pack-dense=false...
// STRICT-LABEL: func.func @constant_lhs(
// STRICT-NOT:    blkrew.bsr_matmul
// STRICT:        linalg.matmul
// ... and is packed with every column kept otherwise, marked blkrew.dense.
// DENSE-LABEL: func.func @constant_lhs(
// DENSE-DAG:     arith.constant dense<[0, 4, 8]> : tensor<3xi32>
// DENSE-DAG:     arith.constant dense<[0, 1, 2, 3, 0, 1, 2, 3]> : tensor<8xi32>
// DENSE-NOT:     linalg.matmul
// DENSE:         blkrew.bsr_matmul <block = [2, 2], scheme = column> {{.*}} {blkrew.dense}
// DENSE-NEXT:    return
// One-row groups store exactly the nonzeros.
// ROWS1-LABEL: func.func @constant_lhs(
// ROWS1-DAG:     arith.constant dense<[0, 2, 4, 5, 6]> : tensor<5xi32>
// ROWS1-DAG:     arith.constant dense<[0, 3, 0, 3, 1, 1]> : tensor<6xi32>
// ROWS1:         blkrew.bsr_matmul <block = [1, 2], scheme = column>
func.func @constant_lhs(%x: tensor<4x8xf32>, %c: tensor<4x8xf32>) -> tensor<4x8xf32> {
  %w = arith.constant dense<[[1.0, 0.0, 0.0, 3.0], [2.0, 0.0, 0.0, 4.0],
                             [0.0, 5.0, 0.0, 0.0], [0.0, 6.0, 0.0, 0.0]]> : tensor<4x4xf32>
  %y = linalg.matmul ins(%w, %x : tensor<4x4xf32>, tensor<4x8xf32>)
                     outs(%c : tensor<4x8xf32>) -> tensor<4x8xf32>
  return %y : tensor<4x8xf32>
}

// -----

// nn.Linear as torch-mlir imports it: x[N, K] x transpose(W[M, K]), with
// the weight in a dense_resource blob. Rewritten to (W x x^T)^T.
// CHECK-LABEL: func.func @linear(
// CHECK-SAME:    %[[X:.*]]: tensor<3x4xf32>, %[[C:.*]]: tensor<3x2xf32>)
// CHECK-DAG:     %[[RP:.*]] = arith.constant dense<[0, 1]> : tensor<2xi32>
// CHECK-DAG:     %[[CI:.*]] = arith.constant dense<2> : tensor<1xi32>
// CHECK-DAG:     %[[V:.*]] = arith.constant dense<{{\[}}[1.000000e+00, 2.000000e+00]]> : tensor<1x2xf32>
// CHECK:         %[[XT:.*]] = linalg.transpose ins(%[[X]] : tensor<3x4xf32>) outs(%{{.*}} : tensor<4x3xf32>) permutation = [1, 0]
// CHECK:         %[[CT:.*]] = linalg.transpose ins(%[[C]] : tensor<3x2xf32>) outs(%{{.*}} : tensor<2x3xf32>) permutation = [1, 0]
// CHECK:         %[[YT:.*]] = blkrew.bsr_matmul <block = [2, 2], scheme = column> ins(%[[RP]], %[[CI]], %[[V]], %[[XT]] : {{.*}}) outs(%[[CT]] : tensor<2x3xf32>)
// CHECK:         %[[Y:.*]] = linalg.transpose ins(%[[YT]] : tensor<2x3xf32>) outs(%{{.*}} : tensor<3x2xf32>) permutation = [1, 0]
// CHECK:         return %[[Y]]
// 2 of 8 values stored: above 0.2, stays a transposed matmul.
// STRICT-LABEL: func.func @linear(
// STRICT-NOT:    blkrew.bsr_matmul
// STRICT:        linalg.transpose
// STRICT-NEXT:   linalg.matmul
func.func @linear(%x: tensor<3x4xf32>, %c: tensor<3x2xf32>) -> tensor<3x2xf32> {
  %w = arith.constant dense_resource<w2x4> : tensor<2x4xf32>
  %e = tensor.empty() : tensor<4x2xf32>
  %t = linalg.transpose ins(%w : tensor<2x4xf32>) outs(%e : tensor<4x2xf32>) permutation = [1, 0]
  %y = linalg.matmul ins(%x, %t : tensor<3x4xf32>, tensor<4x2xf32>)
                     outs(%c : tensor<3x2xf32>) -> tensor<3x2xf32>
  return %y : tensor<3x2xf32>
}

{-#
  dialect_resources: {
    builtin: {
      // [[0, 0, 1, 0], [0, 0, 2, 0]] as little-endian f32, after the 4-byte
      // alignment header torch-mlir writes.
      w2x4: "0x0400000000000000000000000000803F0000000000000000000000000000004000000000"
    }
  }
#-}

// -----

// A static slice of a constant weight is a constant weight: attention's
// packed query/key/value projection, split when the query and the keys
// come from different inputs. Rows 2-3 of the constant are [[0, 0, 1, 0],
// [0, 0, 2, 0]], as in @linear.
// CHECK-LABEL: func.func @sliced_weight(
// CHECK-DAG:     %[[V:.*]] = arith.constant dense<{{\[}}[1.000000e+00, 2.000000e+00]]> : tensor<1x2xf32>
// CHECK-NOT:     tensor.extract_slice
// CHECK:         blkrew.bsr_matmul <block = [2, 2], scheme = column> ins(%{{.*}}, %{{.*}}, %[[V]], %{{.*}} : {{.*}})
func.func @sliced_weight(%x: tensor<3x4xf32>, %c: tensor<3x2xf32>) -> tensor<3x2xf32> {
  %all = arith.constant dense<[[9.0, 9.0, 9.0, 9.0], [9.0, 9.0, 9.0, 9.0],
                               [0.0, 0.0, 1.0, 0.0], [0.0, 0.0, 2.0, 0.0]]> : tensor<4x4xf32>
  %w = tensor.extract_slice %all[2, 0] [2, 4] [1, 1] : tensor<4x4xf32> to tensor<2x4xf32>
  %e = tensor.empty() : tensor<4x2xf32>
  %t = linalg.transpose ins(%w : tensor<2x4xf32>) outs(%e : tensor<4x2xf32>) permutation = [1, 0]
  %y = linalg.matmul ins(%x, %t : tensor<3x4xf32>, tensor<4x2xf32>)
                     outs(%c : tensor<3x2xf32>) -> tensor<3x2xf32>
  return %y : tensor<3x2xf32>
}

// -----

// nn.Conv1d: the 2-D convolution of height 1, then packed as one (stride
// and dilation get a 1 in front). Filter rows [[1, 0], [0, 0]] and
// [[0, 0], [0, 2]] keep columns 0 and 3 of their 2 x 4 GEMM view.
// CHECK-LABEL: func.func @conv1d(
// CHECK-DAG:     arith.constant dense<[0, 3]> : tensor<2xi32>
// CHECK-NOT:     linalg.conv_1d_ncw_fcw
// CHECK:         tensor.expand_shape %{{.*}} {{\[}}[0], [1], [2, 3]] {{.*}} : tensor<1x2x6xf32> into tensor<1x2x1x6xf32>
// CHECK:         blkrew.bsr_matmul <block = [2, 2], scheme = column>
// CHECK:         tensor.collapse_shape %{{.*}} {{\[}}[0], [1], [2, 3]] : tensor<1x2x1x3xf32> into tensor<1x2x3xf32>
func.func @conv1d(%x: tensor<1x2x6xf32>, %c: tensor<1x2x3xf32>) -> tensor<1x2x3xf32> {
  %w = arith.constant dense<[[[1.0, 0.0], [0.0, 0.0]], [[0.0, 0.0], [0.0, 2.0]]]> : tensor<2x2x2xf32>
  %y = linalg.conv_1d_ncw_fcw {dilations = dense<1> : vector<1xi64>, strides = dense<2> : vector<1xi64>}
      ins(%x, %w : tensor<1x2x6xf32>, tensor<2x2x2xf32>) outs(%c : tensor<1x2x3xf32>) -> tensor<1x2x3xf32>
  return %y : tensor<1x2x3xf32>
}

// -----

// A grouped convolution (2 groups of 1 input and 2 output channels): the
// ungrouped convolution with the block-diagonal filter [[1, 0], [2, 0],
// [0, 3], [0, 4]], whose row groups keep one column each.
// CHECK-LABEL: func.func @grouped_conv(
// CHECK-DAG:     arith.constant dense<[0, 1, 2]> : tensor<3xi32>
// CHECK-DAG:     arith.constant dense<[0, 1]> : tensor<2xi32>
// CHECK-DAG:     arith.constant dense<{{\[}}[1.000000e+00, 2.000000e+00], [3.000000e+00, 4.000000e+00]]> : tensor<2x2xf32>
// CHECK-NOT:     linalg.conv_2d_ngchw_gfchw
// CHECK:         blkrew.bsr_matmul <block = [2, 2], scheme = column>
// CHECK:         tensor.expand_shape %{{.*}} {{\[}}[0], [1, 2], [3], [4]] {{.*}} into tensor<1x2x2x3x3xf32>
func.func @grouped_conv(%x: tensor<1x2x3x3xf32>, %c: tensor<1x4x3x3xf32>) -> tensor<1x2x2x3x3xf32> {
  %w = arith.constant dense<[[[[1.0]]], [[[2.0]]], [[[3.0]]], [[[4.0]]]]> : tensor<4x1x1x1xf32>
  %wg = tensor.expand_shape %w [[0, 1], [2], [3], [4]] output_shape [2, 2, 1, 1, 1] : tensor<4x1x1x1xf32> into tensor<2x2x1x1x1xf32>
  %xg = tensor.expand_shape %x [[0], [1, 2], [3], [4]] output_shape [1, 2, 1, 3, 3] : tensor<1x2x3x3xf32> into tensor<1x2x1x3x3xf32>
  %cg = tensor.expand_shape %c [[0], [1, 2], [3], [4]] output_shape [1, 2, 2, 3, 3] : tensor<1x4x3x3xf32> into tensor<1x2x2x3x3xf32>
  %y = linalg.conv_2d_ngchw_gfchw {dilations = dense<1> : vector<2xi64>, strides = dense<1> : vector<2xi64>}
      ins(%xg, %wg : tensor<1x2x1x3x3xf32>, tensor<2x2x1x1x1xf32>) outs(%cg : tensor<1x2x2x3x3xf32>) -> tensor<1x2x2x3x3xf32>
  return %y : tensor<1x2x2x3x3xf32>
}

// -----

// A transposed convolution's filter, as torch-mlir builds it: a gather
// from the constant weight (its two channel dimensions swapped, each tap
// flipped), evaluated at compile time. Flipped, input channel 0's nonzero
// sits at tap (1, 1) (flat column 3) and channel 1's at (0, 0) (column 4).
// A gather from a value that is not constant stays.
// CHECK-LABEL: func.func @transposed_conv_filter(
// CHECK-DAG:     arith.constant dense<[3, 4]> : tensor<2xi32>
// CHECK-DAG:     arith.constant dense<{{\[}}[1.000000e+00, 0.000000e+00], [2.000000e+00, 0.000000e+00]]> : tensor<2x2xf32>
// CHECK-NOT:     tensor.extract
// CHECK:         blkrew.bsr_matmul <block = [2, 2], scheme = column>
// CHECK:         tensor.extract %arg2
// CHECK:         linalg.conv_2d_nchw_fchw
func.func @transposed_conv_filter(%x: tensor<1x2x3x3xf32>, %c: tensor<1x1x2x2xf32>, %v: tensor<2x1x2x2xf32>) -> (tensor<1x1x2x2xf32>, tensor<1x1x2x2xf32>) {
  %c1 = arith.constant 1 : index
  %cst = arith.constant dense<[[[[1.0, 0.0], [0.0, 0.0]]], [[[0.0, 0.0], [0.0, 2.0]]]]> : tensor<2x1x2x2xf32>
  %e = tensor.empty() : tensor<1x2x2x2xf32>
  %flip = linalg.generic {indexing_maps = [affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>],
                          iterator_types = ["parallel", "parallel", "parallel", "parallel"]} outs(%e : tensor<1x2x2x2xf32>) {
  ^bb0(%out: f32):
    %f = linalg.index 0 : index
    %ch = linalg.index 1 : index
    %h = linalg.index 2 : index
    %w = linalg.index 3 : index
    %fh = arith.subi %c1, %h : index
    %fw = arith.subi %c1, %w : index
    %x0 = tensor.extract %cst[%ch, %f, %fh, %fw] : tensor<2x1x2x2xf32>
    linalg.yield %x0 : f32
  } -> tensor<1x2x2x2xf32>
  %y = linalg.conv_2d_nchw_fchw {dilations = dense<1> : tensor<2xi64>, strides = dense<1> : tensor<2xi64>}
      ins(%x, %flip : tensor<1x2x3x3xf32>, tensor<1x2x2x2xf32>) outs(%c : tensor<1x1x2x2xf32>) -> tensor<1x1x2x2xf32>
  %vflip = linalg.generic {indexing_maps = [affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>],
                           iterator_types = ["parallel", "parallel", "parallel", "parallel"]} outs(%e : tensor<1x2x2x2xf32>) {
  ^bb0(%out: f32):
    %f = linalg.index 0 : index
    %ch = linalg.index 1 : index
    %h = linalg.index 2 : index
    %w = linalg.index 3 : index
    %x0 = tensor.extract %v[%ch, %f, %h, %w] : tensor<2x1x2x2xf32>
    linalg.yield %x0 : f32
  } -> tensor<1x2x2x2xf32>
  %z = linalg.conv_2d_nchw_fchw {dilations = dense<1> : tensor<2xi64>, strides = dense<1> : tensor<2xi64>}
      ins(%x, %vflip : tensor<1x2x3x3xf32>, tensor<1x2x2x2xf32>) outs(%c : tensor<1x1x2x2xf32>) -> tensor<1x1x2x2xf32>
  return %y, %z : tensor<1x1x2x2xf32>, tensor<1x1x2x2xf32>
}

// -----

// A weight that is not constant is not rewritten; a dense constant weight is
// packed whole (blkrew.dense), or left alone with pack-dense=false.
// CHECK-LABEL: func.func @untouched(
// CHECK:         linalg.matmul ins(%arg0, %arg1
// CHECK:         blkrew.bsr_matmul {{.*}} {blkrew.dense}
// STRICT-LABEL: func.func @untouched(
// STRICT-NOT:    blkrew.
// STRICT-COUNT-2: linalg.matmul
func.func @untouched(%w: tensor<4x4xf32>, %x: tensor<4x8xf32>, %c: tensor<4x8xf32>) -> (tensor<4x8xf32>, tensor<4x8xf32>) {
  %y = linalg.matmul ins(%w, %x : tensor<4x4xf32>, tensor<4x8xf32>)
                     outs(%c : tensor<4x8xf32>) -> tensor<4x8xf32>
  %d = arith.constant dense<1.0> : tensor<4x4xf32>
  %z = linalg.matmul ins(%d, %x : tensor<4x4xf32>, tensor<4x8xf32>)
                     outs(%c : tensor<4x8xf32>) -> tensor<4x8xf32>
  return %y, %z : tensor<4x8xf32>, tensor<4x8xf32>
}

// -----

// A convolution with a constant filter goes through im2col: the filter is
// the matrix W[F, C*KH*KW] (row 0 keeps flat columns 0 and 17), the patches
// are a strided copy of the input. At batch 1 the accumulator [F, OH*OW] and
// the result are reshapes of NCHW: no transposes.
// CHECK-DAG:   #[[PATCH:.*]] = affine_map<(d0, d1, d2, d3, d4, d5) -> (d3, d0, d4 * 2 + d1, d5 * 2 + d2)>
// CHECK-LABEL: func.func @conv(
// CHECK-SAME:    %[[X:.*]]: tensor<1x2x5x5xf32>, %[[C:.*]]: tensor<1x2x2x2xf32>)
// CHECK-DAG:     arith.constant dense<{{\[}}[1.000000e+00, 3.000000e+00], [2.000000e+00, 4.000000e+00]]> : tensor<2x2xf32>
// CHECK-DAG:     arith.constant dense<[0, 17]> : tensor<2xi32>
// CHECK:         %[[COLS:.*]] = linalg.generic {indexing_maps = [#[[PATCH]], {{.*}}]{{.*}} ins(%[[X]] : tensor<1x2x5x5xf32>) outs(%{{.*}} : tensor<2x3x3x1x2x2xf32>)
// CHECK:         %[[B:.*]] = tensor.collapse_shape %[[COLS]] {{\[}}[0, 1, 2], [3, 4, 5]] : tensor<2x3x3x1x2x2xf32> into tensor<18x4xf32>
// CHECK-NOT:     linalg.transpose
// CHECK:         %[[ACC:.*]] = tensor.collapse_shape %[[C]] {{\[}}[0, 1], [2, 3]] : tensor<1x2x2x2xf32> into tensor<2x4xf32>
// CHECK:         %[[Y:.*]] = blkrew.bsr_matmul <block = [2, 2], scheme = column> ins({{.*}}, %[[B]] : {{.*}}) outs(%[[ACC]] : tensor<2x4xf32>)
// CHECK-NOT:     linalg.transpose
// CHECK:         %[[R:.*]] = tensor.expand_shape %[[Y]] {{\[}}[0, 1], [2, 3]] output_shape [1, 2, 2, 2] : tensor<2x4xf32> into tensor<1x2x2x2xf32>
// CHECK:         return %[[R]]
func.func @conv(%x: tensor<1x2x5x5xf32>, %c: tensor<1x2x2x2xf32>) -> tensor<1x2x2x2xf32> {
  %w = arith.constant dense<[[[[1.0, 0.0, 0.0], [0.0, 0.0, 0.0], [0.0, 0.0, 0.0]], [[0.0, 0.0, 0.0], [0.0, 0.0, 0.0], [0.0, 0.0, 2.0]]],
                             [[[3.0, 0.0, 0.0], [0.0, 0.0, 0.0], [0.0, 0.0, 0.0]], [[0.0, 0.0, 0.0], [0.0, 0.0, 0.0], [0.0, 0.0, 4.0]]]]> : tensor<2x2x3x3xf32>
  %y = linalg.conv_2d_nchw_fchw {dilations = dense<1> : tensor<2xi64>, strides = dense<2> : tensor<2xi64>}
      ins(%x, %w : tensor<1x2x5x5xf32>, tensor<2x2x3x3xf32>) outs(%c : tensor<1x2x2x2xf32>) -> tensor<1x2x2x2xf32>
  return %y : tensor<1x2x2x2xf32>
}

// -----

// A pointwise (1x1, stride 1) convolution at batch 1: its patch matrix is
// the input itself, reshaped to [C, H*W]; no im2col copy. The strided one
// keeps its copy (it reads every other column).
// CHECK-LABEL: func.func @conv_pointwise(
// CHECK-SAME:    %[[X:.*]]: tensor<1x4x3x3xf32>, %[[C:.*]]: tensor<1x2x3x3xf32>)
// CHECK-NOT:     linalg.generic
// CHECK:         %[[B:.*]] = tensor.collapse_shape %[[X]] {{\[}}[0, 1], [2, 3]] : tensor<1x4x3x3xf32> into tensor<4x9xf32>
// CHECK:         %[[ACC:.*]] = tensor.collapse_shape %[[C]] {{\[}}[0, 1], [2, 3]] : tensor<1x2x3x3xf32> into tensor<2x9xf32>
// CHECK:         %[[Y:.*]] = blkrew.bsr_matmul <block = [2, 2], scheme = column> ins({{.*}}, %[[B]] : {{.*}}) outs(%[[ACC]] : tensor<2x9xf32>)
// CHECK:         tensor.expand_shape %[[Y]] {{\[}}[0, 1], [2, 3]] output_shape [1, 2, 3, 3]
// CHECK-LABEL: func.func @conv_pointwise_strided(
// CHECK:         linalg.generic
// CHECK:         blkrew.bsr_matmul
func.func @conv_pointwise(%x: tensor<1x4x3x3xf32>, %c: tensor<1x2x3x3xf32>) -> tensor<1x2x3x3xf32> {
  %w = arith.constant dense<[[[[1.0]], [[2.0]], [[0.0]], [[0.0]]], [[[3.0]], [[4.0]], [[0.0]], [[0.0]]]]> : tensor<2x4x1x1xf32>
  %y = linalg.conv_2d_nchw_fchw {dilations = dense<1> : tensor<2xi64>, strides = dense<1> : tensor<2xi64>}
      ins(%x, %w : tensor<1x4x3x3xf32>, tensor<2x4x1x1xf32>) outs(%c : tensor<1x2x3x3xf32>) -> tensor<1x2x3x3xf32>
  return %y : tensor<1x2x3x3xf32>
}
func.func @conv_pointwise_strided(%x: tensor<1x4x3x3xf32>, %c: tensor<1x2x2x2xf32>) -> tensor<1x2x2x2xf32> {
  %w = arith.constant dense<[[[[1.0]], [[2.0]], [[0.0]], [[0.0]]], [[[3.0]], [[4.0]], [[0.0]], [[0.0]]]]> : tensor<2x4x1x1xf32>
  %y = linalg.conv_2d_nchw_fchw {dilations = dense<1> : tensor<2xi64>, strides = dense<2> : tensor<2xi64>}
      ins(%x, %w : tensor<1x4x3x3xf32>, tensor<2x4x1x1xf32>) outs(%c : tensor<1x2x2x2xf32>) -> tensor<1x2x2x2xf32>
  return %y : tensor<1x2x2x2xf32>
}

// -----

// Above batch 1 the batch sits after the filters in the product: the
// accumulator is transposed to [F, N, OH, OW] and the result back to NCHW.
// CHECK-LABEL: func.func @conv_batch2(
// CHECK-SAME:    %[[X:.*]]: tensor<2x2x5x5xf32>, %[[C:.*]]: tensor<2x2x2x2xf32>)
// CHECK:         %[[B:.*]] = tensor.collapse_shape %{{.*}} {{\[}}[0, 1, 2], [3, 4, 5]] : tensor<2x3x3x2x2x2xf32> into tensor<18x8xf32>
// CHECK:         %[[CT:.*]] = linalg.transpose ins(%[[C]] : tensor<2x2x2x2xf32>) {{.*}} permutation = [1, 0, 2, 3]
// CHECK:         %[[ACC:.*]] = tensor.collapse_shape %[[CT]] {{\[}}[0], [1, 2, 3]] : tensor<2x2x2x2xf32> into tensor<2x8xf32>
// CHECK:         %[[Y:.*]] = blkrew.bsr_matmul <block = [2, 2], scheme = column> ins({{.*}}, %[[B]] : {{.*}}) outs(%[[ACC]] : tensor<2x8xf32>)
// CHECK:         %[[E:.*]] = tensor.expand_shape %[[Y]] {{\[}}[0], [1, 2, 3]]
// CHECK:         %[[R:.*]] = linalg.transpose ins(%[[E]] : tensor<2x2x2x2xf32>) {{.*}} permutation = [1, 0, 2, 3]
// CHECK:         return %[[R]]
// With image-loop-min-pixels (2 x 2 outputs are enough here), image by
// image instead: each product reads its image's patches and writes its
// output in place, no transposes.
// IMAGES-LABEL: func.func @conv_batch2(
// IMAGES-SAME:    %[[X:.*]]: tensor<2x2x5x5xf32>, %[[C:.*]]: tensor<2x2x2x2xf32>)
// IMAGES-NOT:     linalg.transpose
// IMAGES:         %[[R:.*]] = scf.for %[[N:.*]] = %{{.*}} to %{{.*}} step %{{.*}} iter_args(%[[ACC:.*]] = %[[C]]) -> (tensor<2x2x2x2xf32>)
// IMAGES:           %[[XN:.*]] = tensor.extract_slice %[[X]][%[[N]], 0, 0, 0] [1, 2, 5, 5] [1, 1, 1, 1]
// IMAGES:           %[[CN:.*]] = tensor.extract_slice %[[ACC]][%[[N]], 0, 0, 0] [1, 2, 2, 2] [1, 1, 1, 1]
// IMAGES:           linalg.generic {{.*}} ins(%[[XN]] : tensor<1x2x5x5xf32>)
// IMAGES:           %[[CM:.*]] = tensor.collapse_shape %[[CN]] {{\[}}[0, 1], [2, 3]] : tensor<1x2x2x2xf32> into tensor<2x4xf32>
// IMAGES:           %[[Y:.*]] = blkrew.bsr_matmul {{.*}} outs(%[[CM]] : tensor<2x4xf32>)
// IMAGES:           %[[YE:.*]] = tensor.expand_shape %[[Y]]
// IMAGES:           %[[U:.*]] = tensor.insert_slice %[[YE]] into %[[ACC]][%[[N]], 0, 0, 0] [1, 2, 2, 2] [1, 1, 1, 1]
// IMAGES:           scf.yield %[[U]]
// IMAGES-NOT:     linalg.transpose
// IMAGES:         } {blkrew.image_loop}
// IMAGES:         return %[[R]]
func.func @conv_batch2(%x: tensor<2x2x5x5xf32>, %c: tensor<2x2x2x2xf32>) -> tensor<2x2x2x2xf32> {
  %w = arith.constant dense<[[[[1.0, 0.0, 0.0], [0.0, 0.0, 0.0], [0.0, 0.0, 0.0]], [[0.0, 0.0, 0.0], [0.0, 0.0, 0.0], [0.0, 0.0, 2.0]]],
                             [[[3.0, 0.0, 0.0], [0.0, 0.0, 0.0], [0.0, 0.0, 0.0]], [[0.0, 0.0, 0.0], [0.0, 0.0, 0.0], [0.0, 0.0, 4.0]]]]> : tensor<2x2x3x3xf32>
  %y = linalg.conv_2d_nchw_fchw {dilations = dense<1> : tensor<2xi64>, strides = dense<2> : tensor<2xi64>}
      ins(%x, %w : tensor<2x2x5x5xf32>, tensor<2x2x3x3xf32>) outs(%c : tensor<2x2x2x2xf32>) -> tensor<2x2x2x2xf32>
  return %y : tensor<2x2x2x2xf32>
}

// A bias broadcast that fills the output first is applied after the patch
// copy, right before the product (where the kernel folds it); in the
// image loop, to each image's slice.
// CHECK-LABEL: func.func @conv_bias(
// CHECK-SAME:    %[[X:.*]]: tensor<1x2x5x5xf32>, %[[B:.*]]: tensor<2xf32>)
// CHECK:         linalg.generic {{.*}} ins(%[[X]] : tensor<1x2x5x5xf32>)
// CHECK:         %[[BC:.*]] = linalg.broadcast ins(%[[B]] : tensor<2xf32>) outs(%{{.*}} : tensor<1x2x2x2xf32>) dimensions = [0, 2, 3]
// CHECK:         %[[ACC:.*]] = tensor.collapse_shape %[[BC]]
// CHECK:         blkrew.bsr_matmul {{.*}} outs(%[[ACC]] : tensor<2x4xf32>)
// IMAGES-LABEL: func.func @conv_bias_batch2(
// IMAGES-SAME:    %[[X:.*]]: tensor<2x2x5x5xf32>, %[[B:.*]]: tensor<2xf32>)
// IMAGES-NOT:     linalg.broadcast
// IMAGES:         scf.for %[[N:.*]] = %{{.*}} to %{{.*}} step %{{.*}} iter_args(%[[ACC:.*]] = %{{.*}})
// IMAGES:           %[[CN:.*]] = tensor.extract_slice %[[ACC]][%[[N]], 0, 0, 0]
// IMAGES:           linalg.generic
// IMAGES:           %[[BC:.*]] = linalg.broadcast ins(%[[B]] : tensor<2xf32>) outs(%[[CN]] : tensor<1x2x2x2xf32>) dimensions = [0, 2, 3]
// IMAGES:           %[[CM:.*]] = tensor.collapse_shape %[[BC]]
// IMAGES:           blkrew.bsr_matmul {{.*}} outs(%[[CM]] : tensor<2x4xf32>)
func.func @conv_bias(%x: tensor<1x2x5x5xf32>, %b: tensor<2xf32>) -> tensor<1x2x2x2xf32> {
  %w = arith.constant dense<[[[[1.0, 0.0, 0.0], [0.0, 0.0, 0.0], [0.0, 0.0, 0.0]], [[0.0, 0.0, 0.0], [0.0, 0.0, 0.0], [0.0, 0.0, 2.0]]],
                             [[[3.0, 0.0, 0.0], [0.0, 0.0, 0.0], [0.0, 0.0, 0.0]], [[0.0, 0.0, 0.0], [0.0, 0.0, 0.0], [0.0, 0.0, 4.0]]]]> : tensor<2x2x3x3xf32>
  %e = tensor.empty() : tensor<1x2x2x2xf32>
  %c = linalg.broadcast ins(%b : tensor<2xf32>) outs(%e : tensor<1x2x2x2xf32>) dimensions = [0, 2, 3]
  %y = linalg.conv_2d_nchw_fchw {dilations = dense<1> : tensor<2xi64>, strides = dense<2> : tensor<2xi64>}
      ins(%x, %w : tensor<1x2x5x5xf32>, tensor<2x2x3x3xf32>) outs(%c : tensor<1x2x2x2xf32>) -> tensor<1x2x2x2xf32>
  return %y : tensor<1x2x2x2xf32>
}
func.func @conv_bias_batch2(%x: tensor<2x2x5x5xf32>, %b: tensor<2xf32>) -> tensor<2x2x2x2xf32> {
  %w = arith.constant dense<[[[[1.0, 0.0, 0.0], [0.0, 0.0, 0.0], [0.0, 0.0, 0.0]], [[0.0, 0.0, 0.0], [0.0, 0.0, 0.0], [0.0, 0.0, 2.0]]],
                             [[[3.0, 0.0, 0.0], [0.0, 0.0, 0.0], [0.0, 0.0, 0.0]], [[0.0, 0.0, 0.0], [0.0, 0.0, 0.0], [0.0, 0.0, 4.0]]]]> : tensor<2x2x3x3xf32>
  %e = tensor.empty() : tensor<2x2x2x2xf32>
  %c = linalg.broadcast ins(%b : tensor<2xf32>) outs(%e : tensor<2x2x2x2xf32>) dimensions = [0, 2, 3]
  %y = linalg.conv_2d_nchw_fchw {dilations = dense<1> : tensor<2xi64>, strides = dense<2> : tensor<2xi64>}
      ins(%x, %w : tensor<2x2x5x5xf32>, tensor<2x2x3x3xf32>) outs(%c : tensor<2x2x2x2xf32>) -> tensor<2x2x2x2xf32>
  return %y : tensor<2x2x2x2xf32>
}

// A 1x1 convolution stays one batched product (its batched form copies no
// patches), and so does one with fewer output pixels than the minimum.
// IMAGES-LABEL: func.func @conv_batch2_kept_batched(
// IMAGES-NOT:     scf.for
// IMAGES-COUNT-2: blkrew.bsr_matmul
// IMAGES-NOT:     scf.for
func.func @conv_batch2_kept_batched(%x: tensor<2x4x3x3xf32>, %c: tensor<2x2x3x3xf32>, %x5: tensor<2x2x5x5xf32>, %c1: tensor<2x2x1x1xf32>) -> (tensor<2x2x3x3xf32>, tensor<2x2x1x1xf32>) {
  %w = arith.constant dense<[[[[1.0]], [[2.0]], [[0.0]], [[0.0]]], [[[3.0]], [[4.0]], [[0.0]], [[0.0]]]]> : tensor<2x4x1x1xf32>
  %y = linalg.conv_2d_nchw_fchw {dilations = dense<1> : tensor<2xi64>, strides = dense<1> : tensor<2xi64>}
      ins(%x, %w : tensor<2x4x3x3xf32>, tensor<2x4x1x1xf32>) outs(%c : tensor<2x2x3x3xf32>) -> tensor<2x2x3x3xf32>
  %w3 = arith.constant dense<[[[[1.0, 0.0, 0.0], [0.0, 0.0, 0.0], [0.0, 0.0, 0.0]], [[0.0, 0.0, 0.0], [0.0, 0.0, 0.0], [0.0, 0.0, 2.0]]],
                              [[[3.0, 0.0, 0.0], [0.0, 0.0, 0.0], [0.0, 0.0, 0.0]], [[0.0, 0.0, 0.0], [0.0, 0.0, 0.0], [0.0, 0.0, 4.0]]]]> : tensor<2x2x3x3xf32>
  %z = linalg.conv_2d_nchw_fchw {dilations = dense<1> : tensor<2xi64>, strides = dense<3> : tensor<2xi64>}
      ins(%x5, %w3 : tensor<2x2x5x5xf32>, tensor<2x2x3x3xf32>) outs(%c1 : tensor<2x2x1x1xf32>) -> tensor<2x2x1x1xf32>
  return %y, %z : tensor<2x2x3x3xf32>, tensor<2x2x1x1xf32>
}

// -----

// The GRU/LSTM input projection as torch-mlir imports it: a batch_matmul of
// x[T, B, I] with the transposed weight broadcast over time. Time and batch
// fold into the dense dimension.
// CHECK-LABEL: func.func @rnn_input_projection(
// CHECK-SAME:    %[[X:.*]]: tensor<3x2x4xf32>, %[[C:.*]]: tensor<3x2x2xf32>)
// CHECK:         %[[X2:.*]] = tensor.collapse_shape %[[X]] {{\[}}[0, 1], [2]] : tensor<3x2x4xf32> into tensor<6x4xf32>
// CHECK:         %[[C2:.*]] = tensor.collapse_shape %[[C]] {{\[}}[0, 1], [2]] : tensor<3x2x2xf32> into tensor<6x2xf32>
// CHECK:         %[[XT:.*]] = linalg.transpose ins(%[[X2]] : tensor<6x4xf32>)
// CHECK:         %[[CT:.*]] = linalg.transpose ins(%[[C2]] : tensor<6x2xf32>)
// CHECK:         %[[YT:.*]] = blkrew.bsr_matmul <block = [2, 2], scheme = column> ins({{.*}}, %[[XT]] : {{.*}}) outs(%[[CT]] : tensor<2x6xf32>)
// CHECK:         %[[Y:.*]] = linalg.transpose ins(%[[YT]] : tensor<2x6xf32>)
// CHECK:         tensor.expand_shape %[[Y]] {{\[}}[0, 1], [2]] output_shape [3, 2, 2] : tensor<6x2xf32> into tensor<3x2x2xf32>
// CHECK-NOT:     linalg.batch_matmul
#bcast_in = affine_map<(d0, d1, d2) -> (d1, d2)>
#bcast_out = affine_map<(d0, d1, d2) -> (d0, d1, d2)>
func.func @rnn_input_projection(%x: tensor<3x2x4xf32>, %c: tensor<3x2x2xf32>) -> tensor<3x2x2xf32> {
  %w = arith.constant dense<[[0.0, 0.0, 1.0, 0.0], [0.0, 0.0, 2.0, 0.0]]> : tensor<2x4xf32>
  %e = tensor.empty() : tensor<4x2xf32>
  %t = linalg.transpose ins(%w : tensor<2x4xf32>) outs(%e : tensor<4x2xf32>) permutation = [1, 0]
  %e3 = tensor.empty() : tensor<3x4x2xf32>
  %b = linalg.generic {indexing_maps = [#bcast_in, #bcast_out], iterator_types = ["parallel", "parallel", "parallel"]}
      ins(%t : tensor<4x2xf32>) outs(%e3 : tensor<3x4x2xf32>) {
  ^bb0(%in: f32, %out: f32):
    linalg.yield %in : f32
  } -> tensor<3x4x2xf32>
  %y = linalg.batch_matmul ins(%x, %b : tensor<3x2x4xf32>, tensor<3x4x2xf32>)
                           outs(%c : tensor<3x2x2xf32>) -> tensor<3x2x2xf32>
  return %y : tensor<3x2x2xf32>
}
