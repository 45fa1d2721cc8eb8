// One-Shot Bufferize turns tensor blkrew ops into memref ones writing in
// place into the destination buffer.
// RUN: blkrew-opt %s -one-shot-bufferize="bufferize-function-boundaries" -split-input-file | FileCheck %s

// CHECK-LABEL: func.func @bsr_matmul(
// CHECK-SAME:    %[[X:.*]]: memref<4x8xf32{{.*}}>, %[[C:.*]]: memref<4x8xf32{{.*}}>)
// CHECK-DAG:     %[[RP:.*]] = memref.get_global @{{.*}} : memref<3xi32>
// CHECK-DAG:     %[[CI:.*]] = memref.get_global @{{.*}} : memref<2xi32>
// CHECK-DAG:     %[[V:.*]] = memref.get_global @{{.*}} : memref<2x2xf32>
// CHECK:         blkrew.bsr_matmul <block = [2, 2], scheme = column>
// CHECK-SAME:      ins(%[[RP]], %[[CI]], %[[V]], %[[X]] :
// CHECK-SAME:      outs(%[[C]] :
// CHECK-NOT:     memref.copy
// CHECK:         return %[[C]]
func.func @bsr_matmul(%x: tensor<4x8xf32>, %c: tensor<4x8xf32>) -> tensor<4x8xf32> {
  %rp = arith.constant dense<[0, 1, 2]> : tensor<3xi32>
  %ci = arith.constant dense<[0, 3]> : tensor<2xi32>
  %v = arith.constant dense<1.0> : tensor<2x2xf32>
  %y = blkrew.bsr_matmul #blkrew.layout<block = [2, 2], scheme = column>
      ins(%rp, %ci, %v, %x : tensor<3xi32>, tensor<2xi32>, tensor<2x2xf32>, tensor<4x8xf32>)
      outs(%c : tensor<4x8xf32>) -> tensor<4x8xf32>
  return %y : tensor<4x8xf32>
}

// -----

// A destination used again after the op gets a fresh buffer; to_dense
// overwrites its init, so the old contents are not copied into it.
// CHECK-LABEL: func.func @to_dense_keeps_init(
// CHECK-SAME:    %[[D:.*]]: memref<4x4xf32{{.*}}>)
// CHECK:         %[[ALLOC:.*]] = memref.alloc() {{.*}} : memref<4x4xf32>
// CHECK-NOT:     memref.copy
// CHECK:         blkrew.to_dense <block = [2, 2], scheme = column>
// CHECK-SAME:      outs(%[[ALLOC]] : memref<4x4xf32>)
func.func @to_dense_keeps_init(%d: tensor<4x4xf32>) -> (tensor<4x4xf32>, tensor<4x4xf32>) {
  %rp = arith.constant dense<[0, 1, 2]> : tensor<3xi32>
  %ci = arith.constant dense<[0, 3]> : tensor<2xi32>
  %v = arith.constant dense<1.0> : tensor<2x2xf32>
  %w = blkrew.to_dense #blkrew.layout<block = [2, 2], scheme = column>
      ins(%rp, %ci, %v : tensor<3xi32>, tensor<2xi32>, tensor<2x2xf32>)
      outs(%d : tensor<4x4xf32>) -> tensor<4x4xf32>
  return %w, %d : tensor<4x4xf32>, tensor<4x4xf32>
}

// -----

// An accumulating bsr_matmul reads its init: a destination used again is
// copied into the fresh buffer first.
// CHECK-LABEL: func.func @bsr_matmul_keeps_init(
// CHECK-SAME:    %[[X:.*]]: memref<4x8xf32{{.*}}>, %[[C:.*]]: memref<4x8xf32{{.*}}>)
// CHECK:         %[[ALLOC:.*]] = memref.alloc() {{.*}} : memref<4x8xf32>
// CHECK:         memref.copy %[[C]], %[[ALLOC]]
// CHECK:         blkrew.bsr_matmul <block = [2, 2], scheme = column>
// CHECK-SAME:      outs(%[[ALLOC]] : memref<4x8xf32>)
func.func @bsr_matmul_keeps_init(%x: tensor<4x8xf32>, %c: tensor<4x8xf32>) -> (tensor<4x8xf32>, tensor<4x8xf32>) {
  %rp = arith.constant dense<[0, 1, 2]> : tensor<3xi32>
  %ci = arith.constant dense<[0, 3]> : tensor<2xi32>
  %v = arith.constant dense<1.0> : tensor<2x2xf32>
  %y = blkrew.bsr_matmul #blkrew.layout<block = [2, 2], scheme = column>
      ins(%rp, %ci, %v, %x : tensor<3xi32>, tensor<2xi32>, tensor<2x2xf32>, tensor<4x8xf32>)
      outs(%c : tensor<4x8xf32>) -> tensor<4x8xf32>
  return %y, %c : tensor<4x8xf32>, tensor<4x8xf32>
}

// -----

// With `overwrite` the old contents are dead: no copy.
// CHECK-LABEL: func.func @bsr_matmul_overwrite(
// CHECK:         %[[ALLOC:.*]] = memref.alloc() {{.*}} : memref<4x8xf32>
// CHECK-NOT:     memref.copy
// CHECK:         blkrew.bsr_matmul <block = [2, 2], scheme = column> overwrite
// CHECK-SAME:      outs(%[[ALLOC]] : memref<4x8xf32>)
func.func @bsr_matmul_overwrite(%x: tensor<4x8xf32>, %c: tensor<4x8xf32>) -> (tensor<4x8xf32>, tensor<4x8xf32>) {
  %rp = arith.constant dense<[0, 1, 2]> : tensor<3xi32>
  %ci = arith.constant dense<[0, 3]> : tensor<2xi32>
  %v = arith.constant dense<1.0> : tensor<2x2xf32>
  %y = blkrew.bsr_matmul #blkrew.layout<block = [2, 2], scheme = column> overwrite
      ins(%rp, %ci, %v, %x : tensor<3xi32>, tensor<2xi32>, tensor<2x2xf32>, tensor<4x8xf32>)
      outs(%c : tensor<4x8xf32>) -> tensor<4x8xf32>
  return %y, %c : tensor<4x8xf32>, tensor<4x8xf32>
}
