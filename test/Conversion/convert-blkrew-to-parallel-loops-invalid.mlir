// The GPU lowering works on buffers and says so for tensor ops.
// RUN: blkrew-opt %s -convert-blkrew-to-parallel-loops -split-input-file -verify-diagnostics
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

// -----

// f16 packed values (blkrew-half-weights) would need 16-bit storage
// buffers, which the SPIR-V path does not ask for: an error, not a kernel
// that no driver accepts.
func.func @half_values(%rp: memref<3xi32>, %ci: memref<2xi32>, %v: memref<2x2xf16>,
                       %x: memref<4x8xf32>, %c: memref<4x8xf32>) {
  // expected-error @+1 {{packed values of 'f16' with 'f32' operands are not supported on the GPU path}}
  blkrew.bsr_matmul #blkrew.layout<block = [2, 2], scheme = column>
      ins(%rp, %ci, %v, %x : memref<3xi32>, memref<2xi32>, memref<2x2xf16>, memref<4x8xf32>)
      outs(%c : memref<4x8xf32>)
  return
}
