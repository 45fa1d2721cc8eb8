// The CPU pipeline's panel-bytes default (a quarter of the host's L2;
// 128 KiB on aarch64) reaches the kernel: a 32 MiB rhs, each of whose
// elements feeds 64 FMAs (two 32-row groups keeping all 64 columns), is
// read through a packed panel buffer; with panel-bytes=0, in place.
// RUN: blkrew-opt %s --blkrew-cpu-pipeline -mlir-print-ir-after=convert-blkrew-to-vector -o /dev/null 2>&1 | FileCheck %s --check-prefix=PANEL
// RUN: blkrew-opt %s --blkrew-cpu-pipeline=target=aarch64 -mlir-print-ir-after=convert-blkrew-to-vector -o /dev/null 2>&1 | FileCheck %s --check-prefix=PANEL
// RUN: blkrew-opt %s --blkrew-cpu-pipeline=panel-bytes=0 -mlir-print-ir-after=convert-blkrew-to-vector -o /dev/null 2>&1 | FileCheck %s --check-prefix=NOPANEL

// PANEL-LABEL: func.func @forward(
// PANEL:         memref.alloc() {alignment = 64 : i64} : memref<64x{{[0-9]+}}xf32>
// PANEL:         vector.fma
// NOPANEL-LABEL: func.func @forward(
// NOPANEL-NOT:     memref.alloc() {alignment = 64 : i64} : memref<64x
// NOPANEL:         vector.fma
// NOPANEL-NOT:     memref.alloc() {alignment = 64 : i64} : memref<64x
func.func @forward(%x: tensor<64x131072xf32>) -> tensor<64x131072xf32> {
  %rp = arith.constant dense<[0, 64, 128]> : tensor<3xi32>
  %ci = arith.constant dense<[
      0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31,
      32, 33, 34, 35, 36, 37, 38, 39, 40, 41, 42, 43, 44, 45, 46, 47, 48, 49, 50, 51, 52, 53, 54, 55, 56, 57, 58, 59, 60, 61, 62, 63,
      0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31,
      32, 33, 34, 35, 36, 37, 38, 39, 40, 41, 42, 43, 44, 45, 46, 47, 48, 49, 50, 51, 52, 53, 54, 55, 56, 57, 58, 59, 60, 61, 62, 63]> : tensor<128xi32>
  %v = arith.constant dense<1.0> : tensor<128x32xf32>
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<64x131072xf32>
  %c = linalg.fill ins(%zero : f32) outs(%e : tensor<64x131072xf32>) -> tensor<64x131072xf32>
  %y = blkrew.bsr_matmul #blkrew.layout<block = [32, 1], scheme = column>
      ins(%rp, %ci, %v, %x : tensor<3xi32>, tensor<128xi32>, tensor<128x32xf32>, tensor<64x131072xf32>)
      outs(%c : tensor<64x131072xf32>) -> tensor<64x131072xf32>
  return %y : tensor<64x131072xf32>
}
