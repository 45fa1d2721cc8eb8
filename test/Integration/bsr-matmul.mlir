// Runs a block-sparse matmul through the reference lowering and checks the
// printed result against the same product written densely (linalg.matmul on
// the unpacked weight) and against numbers worked out by hand.
//
// RUN: blkrew-opt %s --blkrew-reference-to-llvm-pipeline \
// RUN: | mlir-runner -e main -entry-point-result=void \
// RUN:   -shared-libs=%mlir_lib_dir/libmlir_runner_utils%shlibext \
// RUN:   -shared-libs=%mlir_lib_dir/libmlir_c_runner_utils%shlibext \
// RUN: | FileCheck %s

// W (5x4) in 2x2 blocks, column pruning; the last group is half padding:
//   [[1 0 0 3]
//    [2 0 0 4]
//    [0 5 0 0]
//    [0 6 0 0]
//    [0 0 7 0]]
#layout = #blkrew.layout<block = [2, 2], scheme = column>

func.func private @printMemrefF32(tensor<*xf32>)

func.func @sparse(%x: tensor<4x3xf32>, %init: tensor<5x3xf32>) -> tensor<5x3xf32> {
  %rp = arith.constant dense<[0, 2, 3, 4]> : tensor<4xi32>
  %ci = arith.constant dense<[0, 3, 1, 2]> : tensor<4xi32>
  %v = arith.constant dense<[[1.0, 2.0], [3.0, 4.0], [5.0, 6.0], [7.0, 0.0]]> : tensor<4x2xf32>
  %y = blkrew.bsr_matmul #layout
      ins(%rp, %ci, %v, %x : tensor<4xi32>, tensor<4xi32>, tensor<4x2xf32>, tensor<4x3xf32>)
      outs(%init : tensor<5x3xf32>) -> tensor<5x3xf32>
  return %y : tensor<5x3xf32>
}

func.func @dense(%x: tensor<4x3xf32>, %init: tensor<5x3xf32>) -> tensor<5x3xf32> {
  %w = arith.constant dense<[[1.0, 0.0, 0.0, 3.0], [2.0, 0.0, 0.0, 4.0],
                             [0.0, 5.0, 0.0, 0.0], [0.0, 6.0, 0.0, 0.0],
                             [0.0, 0.0, 7.0, 0.0]]> : tensor<5x4xf32>
  %y = linalg.matmul ins(%w, %x : tensor<5x4xf32>, tensor<4x3xf32>)
                     outs(%init : tensor<5x3xf32>) -> tensor<5x3xf32>
  return %y : tensor<5x3xf32>
}

func.func @main() {
  %x = arith.constant dense<[[1.0, 2.0, 3.0], [4.0, 5.0, 6.0],
                             [7.0, 8.0, 9.0], [10.0, 11.0, 12.0]]> : tensor<4x3xf32>
  %zero = arith.constant dense<0.0> : tensor<5x3xf32>
  %one = arith.constant dense<1.0> : tensor<5x3xf32>

  // CHECK: rank = 2 offset = 0 sizes = [5, 3]
  // CHECK-NEXT: [31,   35,   39]
  // CHECK-NEXT: [42,   48,   54]
  // CHECK-NEXT: [20,   25,   30]
  // CHECK-NEXT: [24,   30,   36]
  // CHECK-NEXT: [49,   56,   63]
  %s = call @sparse(%x, %zero) : (tensor<4x3xf32>, tensor<5x3xf32>) -> tensor<5x3xf32>
  %su = tensor.cast %s : tensor<5x3xf32> to tensor<*xf32>
  call @printMemrefF32(%su) : (tensor<*xf32>) -> ()

  // The dense product of the same matrix prints the same numbers.
  // CHECK: rank = 2 offset = 0 sizes = [5, 3]
  // CHECK-NEXT: [31,   35,   39]
  // CHECK-NEXT: [42,   48,   54]
  // CHECK-NEXT: [20,   25,   30]
  // CHECK-NEXT: [24,   30,   36]
  // CHECK-NEXT: [49,   56,   63]
  %d = call @dense(%x, %zero) : (tensor<4x3xf32>, tensor<5x3xf32>) -> tensor<5x3xf32>
  %du = tensor.cast %d : tensor<5x3xf32> to tensor<*xf32>
  call @printMemrefF32(%du) : (tensor<*xf32>) -> ()

  // bsr_matmul accumulates into its destination.
  // CHECK: rank = 2 offset = 0 sizes = [5, 3]
  // CHECK-NEXT: [32,   36,   40]
  // CHECK-NEXT: [43,   49,   55]
  // CHECK-NEXT: [21,   26,   31]
  // CHECK-NEXT: [25,   31,   37]
  // CHECK-NEXT: [50,   57,   64]
  %a = call @sparse(%x, %one) : (tensor<4x3xf32>, tensor<5x3xf32>) -> tensor<5x3xf32>
  %au = tensor.cast %a : tensor<5x3xf32> to tensor<*xf32>
  call @printMemrefF32(%au) : (tensor<*xf32>) -> ()
  return
}
