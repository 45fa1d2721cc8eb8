// Row-pruned blocks packed exactly with one-row groups (block = [1, q]):
// each row keeps whole q-wide runs, stored as its own list of columns.
// Also a matrix with an empty row group (all pruned) and an empty rhs row.
//
// RUN: blkrew-opt %s --blkrew-reference-to-llvm-pipeline \
// RUN: | mlir-runner -e main -entry-point-result=void \
// RUN:   -shared-libs=%mlir_lib_dir/libmlir_runner_utils%shlibext \
// RUN:   -shared-libs=%mlir_lib_dir/libmlir_c_runner_utils%shlibext \
// RUN: | FileCheck %s

// W (3x4): row 0 keeps block-row run [0, 1], row 1 is pruned, row 2 keeps
// [2, 3]:  [[1 2 0 0] [0 0 0 0] [0 0 3 4]]
#layout = #blkrew.layout<block = [1, 2], scheme = row>

func.func private @printMemrefF32(tensor<*xf32>)

func.func @main() {
  %rp = arith.constant dense<[0, 2, 2, 4]> : tensor<4xi32>
  %ci = arith.constant dense<[0, 1, 2, 3]> : tensor<4xi32>
  %v = arith.constant dense<[[1.0], [2.0], [3.0], [4.0]]> : tensor<4x1xf32>
  %x = arith.constant dense<[[1.0, -1.0], [2.0, 0.5], [3.0, 0.0], [4.0, 2.0]]> : tensor<4x2xf32>
  %zero = arith.constant dense<0.0> : tensor<3x2xf32>

  // CHECK: rank = 2 offset = 0 sizes = [3, 2]
  // CHECK-NEXT: [5,   0]
  // CHECK-NEXT: [0,   0]
  // CHECK-NEXT: [25,   8]
  %y = blkrew.bsr_matmul #layout
      ins(%rp, %ci, %v, %x : tensor<4xi32>, tensor<4xi32>, tensor<4x1xf32>, tensor<4x2xf32>)
      outs(%zero : tensor<3x2xf32>) -> tensor<3x2xf32>
  %yu = tensor.cast %y : tensor<3x2xf32> to tensor<*xf32>
  call @printMemrefF32(%yu) : (tensor<*xf32>) -> ()
  return
}
