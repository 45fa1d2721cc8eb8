// RUN: blkrew-opt %s -blkrew-map-loops-to-gpu -split-input-file -verify-diagnostics
// RUN: not blkrew-opt %s -blkrew-map-loops-to-gpu=workgroup-size=48 -split-input-file 2>&1 | FileCheck %s --check-prefix=SIZE

// SIZE: workgroup-size must be a power of two, got 48

// A dynamic shape: the grid could not be sized at compile time.
func.func @dynamic(%a: memref<?xf32>, %n: index) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %cst = arith.constant 0.0 : f32
  // expected-error @+1 {{needs constant bounds and steps to run on the GPU (compile with static shapes); dimension 0 has not}}
  scf.parallel (%i) = (%c0) to (%n) step (%c1) {
    memref.store %cst, %a[%i] : memref<?xf32>
    scf.reduce
  }
  return
}

// -----

// More workgroups along one grid dimension than Vulkan guarantees (65535).
func.func @huge(%a: memref<8388608xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %n = arith.constant 8388608 : index
  %cst = arith.constant 0.0 : f32
  // expected-error @+1 {{needs 131072 workgroups along dimension 0, more than the target's 65535}}
  scf.parallel (%i) = (%c0) to (%n) step (%c1) {
    memref.store %cst, %a[%i] : memref<8388608xf32>
    scf.reduce
  }
  return
}

// -----

func.func @dynamic_copy(%a: memref<?xf32>, %b: memref<?xf32>) {
  // expected-error @+1 {{'memref.copy' op needs a static shape to run on the GPU}}
  memref.copy %a, %b : memref<?xf32> to memref<?xf32>
  return
}
