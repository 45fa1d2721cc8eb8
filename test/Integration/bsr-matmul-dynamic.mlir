// Dynamic shapes and f64: the lowering reads M, N from the buffers at run
// time, and works for any float element type.
//
// RUN: blkrew-opt %s --blkrew-reference-to-llvm-pipeline \
// RUN: | mlir-runner -e main -entry-point-result=void \
// RUN:   -shared-libs=%mlir_lib_dir/libmlir_runner_utils%shlibext \
// RUN:   -shared-libs=%mlir_lib_dir/libmlir_c_runner_utils%shlibext \
// RUN: | FileCheck %s

// W (3x3), block [2, 1]: group 0 keeps columns 0 and 2, group 1 (row 2 and
// padding) keeps column 1:  [[1 0 2] [3 0 4] [0 5 0]]
#layout = #blkrew.layout<block = [2, 1], scheme = column>

func.func private @printMemrefF64(tensor<*xf64>)

func.func @sparse(%rp: tensor<?xi32>, %ci: tensor<?xi32>, %v: tensor<?x2xf64>,
                  %x: tensor<?x?xf64>, %init: tensor<?x?xf64>) -> tensor<?x?xf64> {
  %y = blkrew.bsr_matmul #layout
      ins(%rp, %ci, %v, %x : tensor<?xi32>, tensor<?xi32>, tensor<?x2xf64>, tensor<?x?xf64>)
      outs(%init : tensor<?x?xf64>) -> tensor<?x?xf64>
  return %y : tensor<?x?xf64>
}

func.func @main() {
  %rp = arith.constant dense<[0, 2, 3]> : tensor<3xi32>
  %ci = arith.constant dense<[0, 2, 1]> : tensor<3xi32>
  %v = arith.constant dense<[[1.0, 3.0], [2.0, 4.0], [5.0, 0.0]]> : tensor<3x2xf64>
  %x = arith.constant dense<[[0.5, 1.0, -1.0, 2.0], [1.0, 0.0, 0.0, 1.0],
                             [0.25, 2.0, 1.0, 0.0]]> : tensor<3x4xf64>
  %zero = arith.constant dense<0.0> : tensor<3x4xf64>
  %rpd = tensor.cast %rp : tensor<3xi32> to tensor<?xi32>
  %cid = tensor.cast %ci : tensor<3xi32> to tensor<?xi32>
  %vd = tensor.cast %v : tensor<3x2xf64> to tensor<?x2xf64>
  %xd = tensor.cast %x : tensor<3x4xf64> to tensor<?x?xf64>
  %zd = tensor.cast %zero : tensor<3x4xf64> to tensor<?x?xf64>

  // Row 0: 1*x0 + 2*x2; row 1: 3*x0 + 4*x2; row 2: 5*x1.
  // CHECK: rank = 2 offset = 0 sizes = [3, 4]
  // CHECK-NEXT: [1,   5,   1,   2]
  // CHECK-NEXT: [2.5,   11,   1,   6]
  // CHECK-NEXT: [5,   0,   0,   5]
  %y = call @sparse(%rpd, %cid, %vd, %xd, %zd)
      : (tensor<?xi32>, tensor<?xi32>, tensor<?x2xf64>, tensor<?x?xf64>, tensor<?x?xf64>) -> tensor<?x?xf64>
  %yu = tensor.cast %y : tensor<?x?xf64> to tensor<*xf64>
  call @printMemrefF64(%yu) : (tensor<*xf64>) -> ()
  return
}
