// A bsr_matmul with a window (the im2col patch matrix read in place),
// executed through the reference loops, through the register-tiled kernel
// at widths 4 and 8 (output width 8: each slice is one image row segment;
// with constant and with run-time col_idx),
// and at width 16, where the slices would cross image rows and the pass
// falls back to the loops. The same convolution written densely
// (linalg.conv_2d_nchw_fchw on the unpacked weight) must agree, and so must
// the row-vectorized small-N kernel (N = 4).
//
// RUN: blkrew-opt %s --blkrew-reference-to-llvm-pipeline \
// RUN: | mlir-runner -e main -entry-point-result=void \
// RUN:   -shared-libs=%mlir_lib_dir/libmlir_runner_utils%shlibext \
// RUN:   -shared-libs=%mlir_lib_dir/libmlir_c_runner_utils%shlibext \
// RUN: | FileCheck %s
// RUN: blkrew-opt %s --blkrew-cpu-pipeline="vector-width=4" \
// RUN: | mlir-runner -e main -entry-point-result=void \
// RUN:   -shared-libs=%mlir_lib_dir/libmlir_runner_utils%shlibext \
// RUN:   -shared-libs=%mlir_lib_dir/libmlir_c_runner_utils%shlibext \
// RUN: | FileCheck %s
// RUN: blkrew-opt %s --blkrew-cpu-pipeline="vector-width=8" \
// RUN: | mlir-runner -e main -entry-point-result=void \
// RUN:   -shared-libs=%mlir_lib_dir/libmlir_runner_utils%shlibext \
// RUN:   -shared-libs=%mlir_lib_dir/libmlir_c_runner_utils%shlibext \
// RUN: | FileCheck %s
// RUN: blkrew-opt %s --blkrew-cpu-pipeline="vector-width=16" \
// RUN: | mlir-runner -e main -entry-point-result=void \
// RUN:   -shared-libs=%mlir_lib_dir/libmlir_runner_utils%shlibext \
// RUN:   -shared-libs=%mlir_lib_dir/libmlir_c_runner_utils%shlibext \
// RUN: | FileCheck %s

// 3 rows in 2x2 column blocks (the last group is half padding), K = 2 * 3 * 3.
#layout = #blkrew.layout<block = [2, 2], scheme = column>
#layout4 = #blkrew.layout<block = [4, 1], scheme = column>

func.func private @printMemrefF32(tensor<*xf32>)

func.func @main() {
  %img = arith.constant dense<[[[-3.0, -2.0, -1.0, 0.0, 1.0, 2.0, 3.0, -3.0, -2.0, -1.0],
                                [0.0, 1.0, 2.0, 3.0, -3.0, -2.0, -1.0, 0.0, 1.0, 2.0],
                                [3.0, -3.0, -2.0, -1.0, 0.0, 1.0, 2.0, 3.0, -3.0, -2.0],
                                [-1.0, 0.0, 1.0, 2.0, 3.0, -3.0, -2.0, -1.0, 0.0, 1.0]],
                               [[2.0, 3.0, -3.0, -2.0, -1.0, 0.0, 1.0, 2.0, 3.0, -3.0],
                                [-2.0, -1.0, 0.0, 1.0, 2.0, 3.0, -3.0, -2.0, -1.0, 0.0],
                                [1.0, 2.0, 3.0, -3.0, -2.0, -1.0, 0.0, 1.0, 2.0, 3.0],
                                [-3.0, -2.0, -1.0, 0.0, 1.0, 2.0, 3.0, -3.0, -2.0, -1.0]]]> : tensor<2x4x10xf32>
  %rp = arith.constant dense<[0, 4, 6]> : tensor<3xi32>
  %ci = arith.constant dense<[0, 4, 9, 17, 3, 10]> : tensor<6xi32>
  %v = arith.constant dense<[[1.0, 2.0], [-1.0, 3.0], [2.0, -2.0], [1.0, 1.0],
                             [3.0, 5.0], [-2.0, 7.0]]> : tensor<6x2xf32>
  %e = tensor.empty() : tensor<3x16xf32>
  %y = blkrew.bsr_matmul #layout overwrite window [3, 3]
      ins(%rp, %ci, %v, %img : tensor<3xi32>, tensor<6xi32>, tensor<6x2xf32>, tensor<2x4x10xf32>)
      outs(%e : tensor<3x16xf32>) -> tensor<3x16xf32>
  // CHECK: rank = 2 offset = 0 sizes = [3, 16]
  // CHECK-NEXT: [3,   -1,   -12,   -2,   1,   4,   7,   3,   -2,   1,   4,   7,   3,   -1,   -12,   -2]
  // CHECK-NEXT: [-4,   -7,   11,   -6,   -2,   2,   6,   -4,   -6,   -2,   2,   6,   -4,   -7,   11,   -6]
  // CHECK-NEXT: [-6,   9,   10,   11,   -9,   -8,   -7,   -6,   11,   -9,   -8,   -7,   -6,   9,   10,   11]
  %yu = tensor.cast %y : tensor<3x16xf32> to tensor<*xf32>
  call @printMemrefF32(%yu) : (tensor<*xf32>) -> ()

  // col_idx computed at run time (a copy, not a constant): the kernel
  // splits each kept column into (channel, dy, dx) instead of reading
  // compile-time offsets.
  %ci_rt = bufferization.alloc_tensor() copy(%ci) : tensor<6xi32>
  %e2 = tensor.empty() : tensor<3x16xf32>
  %y2 = blkrew.bsr_matmul #layout overwrite window [3, 3]
      ins(%rp, %ci_rt, %v, %img : tensor<3xi32>, tensor<6xi32>, tensor<6x2xf32>, tensor<2x4x10xf32>)
      outs(%e2 : tensor<3x16xf32>) -> tensor<3x16xf32>
  // CHECK: rank = 2 offset = 0 sizes = [3, 16]
  // CHECK-NEXT: [3,   -1,   -12,   -2,   1,   4,   7,   3,   -2,   1,   4,   7,   3,   -1,   -12,   -2]
  // CHECK-NEXT: [-4,   -7,   11,   -6,   -2,   2,   6,   -4,   -6,   -2,   2,   6,   -4,   -7,   11,   -6]
  // CHECK-NEXT: [-6,   9,   10,   11,   -9,   -8,   -7,   -6,   11,   -9,   -8,   -7,   -6,   9,   10,   11]
  %y2u = tensor.cast %y2 : tensor<3x16xf32> to tensor<*xf32>
  call @printMemrefF32(%y2u) : (tensor<*xf32>) -> ()

  // The same convolution, densely.
  %we = tensor.empty() : tensor<3x18xf32>
  %w = blkrew.to_dense #layout
      ins(%rp, %ci, %v : tensor<3xi32>, tensor<6xi32>, tensor<6x2xf32>)
      outs(%we : tensor<3x18xf32>) -> tensor<3x18xf32>
  %filter = tensor.expand_shape %w [[0], [1, 2, 3]] output_shape [3, 2, 3, 3]
      : tensor<3x18xf32> into tensor<3x2x3x3xf32>
  %batch = tensor.expand_shape %img [[0, 1], [2], [3]] output_shape [1, 2, 4, 10]
      : tensor<2x4x10xf32> into tensor<1x2x4x10xf32>
  %zero = arith.constant dense<0.0> : tensor<1x3x2x8xf32>
  %conv = linalg.conv_2d_nchw_fchw
      {dilations = dense<1> : tensor<2xi64>, strides = dense<1> : tensor<2xi64>}
      ins(%batch, %filter : tensor<1x2x4x10xf32>, tensor<3x2x3x3xf32>)
      outs(%zero : tensor<1x3x2x8xf32>) -> tensor<1x3x2x8xf32>
  %d = tensor.collapse_shape %conv [[0, 1], [2, 3]]
      : tensor<1x3x2x8xf32> into tensor<3x16xf32>
  // CHECK: rank = 2 offset = 0 sizes = [3, 16]
  // CHECK-NEXT: [3,   -1,   -12,   -2,   1,   4,   7,   3,   -2,   1,   4,   7,   3,   -1,   -12,   -2]
  // CHECK-NEXT: [-4,   -7,   11,   -6,   -2,   2,   6,   -4,   -6,   -2,   2,   6,   -4,   -7,   11,   -6]
  // CHECK-NEXT: [-6,   9,   10,   11,   -9,   -8,   -7,   -6,   11,   -9,   -8,   -7,   -6,   9,   10,   11]
  %du = tensor.cast %d : tensor<3x16xf32> to tensor<*xf32>
  call @printMemrefF32(%du) : (tensor<*xf32>) -> ()

  // Small N: the first four image columns, a 2x2 output.
  %img4 = tensor.extract_slice %img[0, 0, 0] [2, 4, 4] [1, 1, 1]
      : tensor<2x4x10xf32> to tensor<2x4x4xf32>
  %rp4 = arith.constant dense<[0, 3]> : tensor<2xi32>
  %ci4 = arith.constant dense<[1, 9, 13]> : tensor<3xi32>
  %v4 = arith.constant dense<[[1.0, -1.0, 2.0, 0.0], [2.0, 1.0, -3.0, 1.0],
                              [-1.0, 4.0, 1.0, 2.0]]> : tensor<3x4xf32>
  %e4 = tensor.empty() : tensor<4x4xf32>
  %s = blkrew.bsr_matmul #layout4 overwrite window [3, 3]
      ins(%rp4, %ci4, %v4, %img4 : tensor<2xi32>, tensor<3xi32>, tensor<3x4xf32>, tensor<2x4x4xf32>)
      outs(%e4 : tensor<4x4xf32>) -> tensor<4x4xf32>
  // CHECK: rank = 2 offset = 0 sizes = [4, 4]
  // CHECK-NEXT: [3,   5,   -5,   -3]
  // CHECK-NEXT: [0,   4,   5,   9]
  // CHECK-NEXT: [-11,   -11,   10,   10]
  // CHECK-NEXT: [0,   3,   2,   5]
  %su = tensor.cast %s : tensor<4x4xf32> to tensor<*xf32>
  call @printMemrefF32(%su) : (tensor<*xf32>) -> ()
  return
}
