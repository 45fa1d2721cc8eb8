// The GPU lowering works on buffers and says so for tensor ops.
// RUN: blkrew-opt %s -convert-blkrew-to-parallel-loops -verify-diagnostics
// RUN: not blkrew-opt %s -convert-blkrew-to-parallel-loops=rows-per-invocation=-1 2>&1 | FileCheck %s --check-prefix=ROWS

// ROWS: rows-per-invocation must be 0 (the whole group) or positive, got -1

func.func @tensor_op(%rp: tensor<3xi32>, %ci: tensor<2xi32>, %v: tensor<2x2xf32>,
                     %x: tensor<4x8xf32>, %c: tensor<4x8xf32>) -> tensor<4x8xf32> {
  // expected-error @+1 {{convert-blkrew-to-parallel-loops expects memref operands; run one-shot-bufferize before it}}
  %y = blkrew.bsr_matmul #blkrew.layout<block = [2, 2], scheme = column>
      ins(%rp, %ci, %v, %x : tensor<3xi32>, tensor<2xi32>, tensor<2x2xf32>, tensor<4x8xf32>)
      outs(%c : tensor<4x8xf32>) -> tensor<4x8xf32>
  return %y : tensor<4x8xf32>
}
