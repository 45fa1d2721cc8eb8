// RUN: blkrew-opt %s -blkrew-reorder -canonicalize -split-input-file | FileCheck %s
// RUN: blkrew-opt %s -blkrew-reorder=group-rows=4 -canonicalize -split-input-file | FileCheck %s --check-prefix=TALL
// RUN: not blkrew-opt %s -blkrew-reorder=group-rows=-1 -split-input-file 2>&1 | FileCheck %s --check-prefix=BAD

// BAD: blkrew-reorder: group-rows must be >= 0, got -1

// Rows 0 and 2 keep columns {0, 1}, rows 1 and 3 keep {4, 5}: packed in
// natural pairs every group stores all four columns (8 in all). Regrouped
// as {0, 2} and {1, 3}, each group stores two (4 in all); the permutation
// sends every packed row back to its original place.
// CHECK-LABEL: func.func @interleaved(
// CHECK-DAG:     %[[RP:.*]] = arith.constant dense<[0, 2, 4]> : tensor<3xi32>
// CHECK-DAG:     %[[CI:.*]] = arith.constant dense<[0, 1, 4, 5]> : tensor<4xi32>
// CHECK-DAG:     %[[V:.*]] = arith.constant dense<{{\[}}[1.000000e+00, 5.000000e+00], [2.000000e+00, 6.000000e+00], [3.000000e+00, 7.000000e+00], [4.000000e+00, 8.000000e+00]]> : tensor<4x2xf32>
// CHECK:         blkrew.bsr_matmul <block = [2, 1], scheme = column, perm = [0, 2, 1, 3]> ins(%[[RP]], %[[CI]], %[[V]], %{{.*}} :
// With group-rows=4 all four rows form one group of the four columns: as
// many FMAs, each column loaded and indexed once instead of twice.
// TALL-LABEL: func.func @interleaved(
// TALL-DAG:     arith.constant dense<[0, 4]> : tensor<2xi32>
// TALL:         blkrew.bsr_matmul <block = [4, 1], scheme = column, perm = [0, 2, 1, 3]>
func.func @interleaved(%x: tensor<8x3xf32>, %c: tensor<4x3xf32>) -> tensor<4x3xf32> {
  %rp = arith.constant dense<[0, 4, 8]> : tensor<3xi32>
  %ci = arith.constant dense<[0, 1, 4, 5, 0, 1, 4, 5]> : tensor<8xi32>
  %v = arith.constant dense<[[1.0, 0.0], [2.0, 0.0], [0.0, 3.0], [0.0, 4.0],
                             [5.0, 0.0], [6.0, 0.0], [0.0, 7.0], [0.0, 8.0]]> : tensor<8x2xf32>
  %y = blkrew.bsr_matmul #blkrew.layout<block = [2, 1], scheme = column>
      ins(%rp, %ci, %v, %x : tensor<3xi32>, tensor<8xi32>, tensor<8x2xf32>, tensor<8x3xf32>)
      outs(%c : tensor<4x3xf32>) -> tensor<4x3xf32>
  return %y : tensor<4x3xf32>
}

// -----

// Groups whose rows already share their pattern (what block pruning with
// the packing's p produces): nothing to gain, the op is left as it is;
// also with group-rows=4, which would store both groups' columns for all
// four rows.
// CHECK-LABEL: func.func @aligned(
// CHECK:         blkrew.bsr_matmul <block = [2, 1], scheme = column> ins
// TALL-LABEL: func.func @aligned(
// TALL:         blkrew.bsr_matmul <block = [2, 1], scheme = column> ins
func.func @aligned(%x: tensor<8x3xf32>, %c: tensor<4x3xf32>) -> tensor<4x3xf32> {
  %rp = arith.constant dense<[0, 2, 4]> : tensor<3xi32>
  %ci = arith.constant dense<[0, 1, 4, 5]> : tensor<4xi32>
  %v = arith.constant dense<[[1.0, 2.0], [3.0, 4.0], [5.0, 6.0], [7.0, 8.0]]> : tensor<4x2xf32>
  %y = blkrew.bsr_matmul #blkrew.layout<block = [2, 1], scheme = column>
      ins(%rp, %ci, %v, %x : tensor<3xi32>, tensor<4xi32>, tensor<4x2xf32>, tensor<8x3xf32>)
      outs(%c : tensor<4x3xf32>) -> tensor<4x3xf32>
  return %y : tensor<4x3xf32>
}

// -----

// A layout that already carries a permutation is not touched.
// CHECK-LABEL: func.func @permuted(
// CHECK:         blkrew.bsr_matmul <block = [2, 1], scheme = column, perm = [1, 0, 3, 2]> ins
func.func @permuted(%x: tensor<8x3xf32>, %c: tensor<4x3xf32>) -> tensor<4x3xf32> {
  %rp = arith.constant dense<[0, 4, 8]> : tensor<3xi32>
  %ci = arith.constant dense<[0, 1, 4, 5, 0, 1, 4, 5]> : tensor<8xi32>
  %v = arith.constant dense<[[1.0, 0.0], [2.0, 0.0], [0.0, 3.0], [0.0, 4.0],
                             [5.0, 0.0], [6.0, 0.0], [0.0, 7.0], [0.0, 8.0]]> : tensor<8x2xf32>
  %z = blkrew.bsr_matmul #blkrew.layout<block = [2, 1], scheme = column, perm = [1, 0, 3, 2]>
      ins(%rp, %ci, %v, %x : tensor<3xi32>, tensor<8xi32>, tensor<8x2xf32>, tensor<8x3xf32>)
      outs(%c : tensor<4x3xf32>) -> tensor<4x3xf32>
  return %z : tensor<4x3xf32>
}

// -----

// Packed whole by blkrew-sparsify (every column in every group, zeros
// included) but interleaved: regrouped, the layer is sparse and loses the
// blkrew.dense marker.
// CHECK-LABEL: func.func @dense_marked(
// CHECK:         %[[Y:.*]] = blkrew.bsr_matmul <block = [2, 1], scheme = column, perm = [0, 2, 1, 3]> ins({{.*}}) outs({{.*}}) -> tensor<4x3xf32>
// CHECK-NEXT:    return %[[Y]]
func.func @dense_marked(%x: tensor<2x3xf32>, %c: tensor<4x3xf32>) -> tensor<4x3xf32> {
  %rp = arith.constant dense<[0, 2, 4]> : tensor<3xi32>
  %ci = arith.constant dense<[0, 1, 0, 1]> : tensor<4xi32>
  %v = arith.constant dense<[[1.0, 0.0], [0.0, 2.0], [3.0, 0.0], [0.0, 4.0]]> : tensor<4x2xf32>
  %y = blkrew.bsr_matmul #blkrew.layout<block = [2, 1], scheme = column>
      ins(%rp, %ci, %v, %x : tensor<3xi32>, tensor<4xi32>, tensor<4x2xf32>, tensor<2x3xf32>)
      outs(%c : tensor<4x3xf32>) {blkrew.dense} -> tensor<4x3xf32>
  return %y : tensor<4x3xf32>
}
