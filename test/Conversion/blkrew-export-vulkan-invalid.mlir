// RUN: blkrew-opt %s -blkrew-export-vulkan=output-dir=%t -split-input-file -verify-diagnostics
// RUN: not blkrew-opt %s -blkrew-export-vulkan -split-input-file 2>&1 | FileCheck %s --check-prefix=DIR

// DIR: blkrew-export-vulkan needs output-dir

// A view reaching a kernel: the runner binds whole buffers only.
module attributes {gpu.container_module} {
  gpu.module @k {
    gpu.func @k(%a: memref<2x2xf32>) kernel {
      gpu.return
    }
  }
  func.func @forward(%a: memref<4xf32>) {
    %c1 = arith.constant 1 : index
    %v = memref.expand_shape %a [[0, 1]] output_shape [2, 2] : memref<4xf32> into memref<2x2xf32>
    // expected-error @+1 {{binds a value the runner cannot hold as a buffer, defined by memref.expand_shape}}
    gpu.launch_func @k::@k blocks in (%c1, %c1, %c1) threads in (%c1, %c1, %c1)
        args(%v : memref<2x2xf32>)
    return
  }
}

// -----

// Host-side work other than allocation, globals and launches.
module attributes {gpu.container_module} {
  func.func @forward(%a: memref<4xf32>) {
    %c0 = arith.constant 0 : index
    %cst = arith.constant 1.0 : f32
    // expected-error @+1 {{'memref.store' op is not supported on the host side of the Vulkan path}}
    memref.store %cst, %a[%c0] : memref<4xf32>
    return
  }
}

// -----

// f64 buffers need Float64, which the mobile target does not have.
module attributes {gpu.container_module} {
  // expected-error @+1 {{'func.func' op holds 'f64' elements; the Vulkan path supports f32 and i32}}
  func.func @forward(%a: memref<4xf64>) {
    return
  }
}

// -----

// expected-error @+1 {{no host function @forward with a single-block body to export}}
module {
  func.func @other() {
    return
  }
}

// -----

module attributes {gpu.container_module} {
  // expected-error @+1 {{'func.func' op needs a statically shaped, identity-layout memref for a Vulkan buffer, got 'memref<?xf32>'}}
  func.func @forward(%a: memref<?xf32>) {
    return
  }
}
