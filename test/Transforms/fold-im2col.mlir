// RUN: blkrew-opt %s -blkrew-fold-im2col -split-input-file | FileCheck %s
// RUN: blkrew-opt %s -blkrew-fold-im2col="row-multiple=16" -split-input-file | FileCheck %s --check-prefix=WIDE
// RUN: not blkrew-opt %s -blkrew-fold-im2col="row-multiple=0" -split-input-file 2>&1 | FileCheck %s --check-prefix=BAD

// BAD: blkrew-fold-im2col: row-multiple must be positive, got 0

#im2col = affine_map<(d0, d1, d2, d3, d4) -> (d0, d1 + d3, d2 + d4)>
#id5 = affine_map<(d0, d1, d2, d3, d4) -> (d0, d1, d2, d3, d4)>
#layout = #blkrew.layout<block = [2, 2], scheme = column>

// The patch matrix of a 3x3 convolution as blkrew-sparsify writes it (with
// the batch dimension of 1 still in the reshapes): the product reads the
// image and the copy goes. With row-multiple=16, the output width 8 keeps
// the copy.
// CHECK-LABEL: func.func @conv3x3(
// CHECK-SAME:    %[[IMG:[^:]*]]: tensor<2x6x10xf32>
// CHECK-NOT:     linalg.generic
// CHECK:         blkrew.bsr_matmul <block = [2, 2], scheme = column> overwrite window [3, 3]
// CHECK-SAME:      %[[IMG]] : tensor<3xi32>, tensor<?xi32>, tensor<?x2xf32>, tensor<2x6x10xf32>)
// WIDE-LABEL: func.func @conv3x3(
// WIDE:         linalg.generic
// WIDE:         blkrew.bsr_matmul <block = [2, 2], scheme = column> overwrite ins(
// WIDE-SAME:      tensor<18x32xf32>)
func.func @conv3x3(%img: tensor<2x6x10xf32>, %rp: tensor<3xi32>, %ci: tensor<?xi32>,
                   %v: tensor<?x2xf32>) -> tensor<4x32xf32> {
  %e = tensor.empty() : tensor<2x3x3x4x8xf32>
  %p = linalg.generic {indexing_maps = [#im2col, #id5],
                       iterator_types = ["parallel", "parallel", "parallel", "parallel", "parallel"]}
      ins(%img : tensor<2x6x10xf32>) outs(%e : tensor<2x3x3x4x8xf32>) {
  ^bb0(%in: f32, %out: f32):
    linalg.yield %in : f32
  } -> tensor<2x3x3x4x8xf32>
  %x6 = tensor.expand_shape %p [[0], [1], [2, 3], [4], [5]] output_shape [2, 3, 3, 1, 4, 8]
      : tensor<2x3x3x4x8xf32> into tensor<2x3x3x1x4x8xf32>
  %x = tensor.collapse_shape %x6 [[0, 1, 2], [3, 4, 5]]
      : tensor<2x3x3x1x4x8xf32> into tensor<18x32xf32>
  %o = tensor.empty() : tensor<4x32xf32>
  %y = blkrew.bsr_matmul #layout overwrite
      ins(%rp, %ci, %v, %x : tensor<3xi32>, tensor<?xi32>, tensor<?x2xf32>, tensor<18x32xf32>)
      outs(%o : tensor<4x32xf32>) -> tensor<4x32xf32>
  return %y : tensor<4x32xf32>
}

// -----

#im2col = affine_map<(d0, d1, d2, d3, d4) -> (d0, d1 + d3, d2 + d4)>
#id5 = affine_map<(d0, d1, d2, d3, d4) -> (d0, d1, d2, d3, d4)>
#layout = #blkrew.layout<block = [2, 2], scheme = column>

// The patches have another user: the product still reads the image, the
// copy stays for the other user.
// CHECK-LABEL: func.func @shared(
// CHECK-SAME:    %[[IMG:[^:]*]]: tensor<1x3x6xf32>
// CHECK:         %[[P:.*]] = linalg.generic
// CHECK:         blkrew.bsr_matmul <block = [2, 2], scheme = column> window [2, 3]
// CHECK-SAME:      %[[IMG]] : tensor<3xi32>, tensor<?xi32>, tensor<?x2xf32>, tensor<1x3x6xf32>)
// CHECK:         return %{{.*}}, %[[P]]
func.func @shared(%img: tensor<1x3x6xf32>, %rp: tensor<3xi32>, %ci: tensor<?xi32>,
                  %v: tensor<?x2xf32>, %o: tensor<4x8xf32>) -> (tensor<4x8xf32>, tensor<1x2x3x2x4xf32>) {
  %e = tensor.empty() : tensor<1x2x3x2x4xf32>
  %p = linalg.generic {indexing_maps = [#im2col, #id5],
                       iterator_types = ["parallel", "parallel", "parallel", "parallel", "parallel"]}
      ins(%img : tensor<1x3x6xf32>) outs(%e : tensor<1x2x3x2x4xf32>) {
  ^bb0(%in: f32, %out: f32):
    linalg.yield %in : f32
  } -> tensor<1x2x3x2x4xf32>
  %x = tensor.collapse_shape %p [[0, 1, 2], [3, 4]]
      : tensor<1x2x3x2x4xf32> into tensor<6x8xf32>
  %y = blkrew.bsr_matmul #layout
      ins(%rp, %ci, %v, %x : tensor<3xi32>, tensor<?xi32>, tensor<?x2xf32>, tensor<6x8xf32>)
      outs(%o : tensor<4x8xf32>) -> tensor<4x8xf32>
  return %y, %p : tensor<4x8xf32>, tensor<1x2x3x2x4xf32>
}

// -----

#stride2 = affine_map<(d0, d1, d2, d3, d4) -> (d0, d3 * 2 + d1, d4 * 2 + d2)>
#id5 = affine_map<(d0, d1, d2, d3, d4) -> (d0, d1, d2, d3, d4)>
#layout = #blkrew.layout<block = [2, 2], scheme = column>

// Stride 2: not a window of the image's rows; unchanged.
// CHECK-LABEL: func.func @strided(
// CHECK:         linalg.generic
// CHECK:         blkrew.bsr_matmul <block = [2, 2], scheme = column> ins(
// CHECK-SAME:      tensor<18x16xf32>)
func.func @strided(%img: tensor<2x9x9xf32>, %rp: tensor<3xi32>, %ci: tensor<?xi32>,
                   %v: tensor<?x2xf32>, %o: tensor<4x16xf32>) -> tensor<4x16xf32> {
  %e = tensor.empty() : tensor<2x3x3x4x4xf32>
  %p = linalg.generic {indexing_maps = [#stride2, #id5],
                       iterator_types = ["parallel", "parallel", "parallel", "parallel", "parallel"]}
      ins(%img : tensor<2x9x9xf32>) outs(%e : tensor<2x3x3x4x4xf32>) {
  ^bb0(%in: f32, %out: f32):
    linalg.yield %in : f32
  } -> tensor<2x3x3x4x4xf32>
  %x = tensor.collapse_shape %p [[0, 1, 2], [3, 4]]
      : tensor<2x3x3x4x4xf32> into tensor<18x16xf32>
  %y = blkrew.bsr_matmul #layout
      ins(%rp, %ci, %v, %x : tensor<3xi32>, tensor<?xi32>, tensor<?x2xf32>, tensor<18x16xf32>)
      outs(%o : tensor<4x16xf32>) -> tensor<4x16xf32>
  return %y : tensor<4x16xf32>
}

// -----

#im2col = affine_map<(d0, d1, d2, d3, d4) -> (d0, d1 + d3, d2 + d4)>
#id5 = affine_map<(d0, d1, d2, d3, d4) -> (d0, d1, d2, d3, d4)>
#layout = #blkrew.layout<block = [2, 2], scheme = column>

// The patches reshaped to another matrix ([9, 64] rather than [18, 32]):
// not the patch matrix; unchanged.
// CHECK-LABEL: func.func @other_matrix(
// CHECK:         linalg.generic
// CHECK:         blkrew.bsr_matmul <block = [2, 2], scheme = column> ins(
// CHECK-SAME:      tensor<9x64xf32>)
func.func @other_matrix(%img: tensor<2x6x10xf32>, %rp: tensor<3xi32>, %ci: tensor<?xi32>,
                        %v: tensor<?x2xf32>, %o: tensor<4x64xf32>) -> tensor<4x64xf32> {
  %e = tensor.empty() : tensor<2x3x3x4x8xf32>
  %p = linalg.generic {indexing_maps = [#im2col, #id5],
                       iterator_types = ["parallel", "parallel", "parallel", "parallel", "parallel"]}
      ins(%img : tensor<2x6x10xf32>) outs(%e : tensor<2x3x3x4x8xf32>) {
  ^bb0(%in: f32, %out: f32):
    linalg.yield %in : f32
  } -> tensor<2x3x3x4x8xf32>
  %flat = tensor.collapse_shape %p [[0, 1, 2, 3, 4]]
      : tensor<2x3x3x4x8xf32> into tensor<576xf32>
  %x = tensor.expand_shape %flat [[0, 1]] output_shape [9, 64]
      : tensor<576xf32> into tensor<9x64xf32>
  %y = blkrew.bsr_matmul #layout
      ins(%rp, %ci, %v, %x : tensor<3xi32>, tensor<?xi32>, tensor<?x2xf32>, tensor<9x64xf32>)
      outs(%o : tensor<4x64xf32>) -> tensor<4x64xf32>
  return %y : tensor<4x64xf32>
}
