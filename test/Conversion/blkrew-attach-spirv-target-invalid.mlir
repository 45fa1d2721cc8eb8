// RUN: blkrew-opt %s -blkrew-attach-spirv-target -split-input-file -verify-diagnostics

// More storage buffers than the mobile target binds per stage (8).
module attributes {gpu.container_module} {
  gpu.module @k {
    // expected-error @+1 {{'gpu.func' op binds 9 storage buffers; the target allows 8}}
    gpu.func @k(%a0: memref<4xf32>, %a1: memref<4xf32>, %a2: memref<4xf32>,
                %a3: memref<4xf32>, %a4: memref<4xf32>, %a5: memref<4xf32>,
                %a6: memref<4xf32>, %a7: memref<4xf32>, %a8: memref<4xf32>) kernel {
      gpu.return
    }
  }
  func.func @f(%a: memref<4xf32>) {
    %c1 = arith.constant 1 : index
    gpu.launch_func @k::@k blocks in (%c1, %c1, %c1) threads in (%c1, %c1, %c1)
        args(%a : memref<4xf32>, %a : memref<4xf32>, %a : memref<4xf32>,
             %a : memref<4xf32>, %a : memref<4xf32>, %a : memref<4xf32>,
             %a : memref<4xf32>, %a : memref<4xf32>, %a : memref<4xf32>)
    return
  }
}

// -----

// A workgroup larger than Vulkan guarantees (128 invocations).
module attributes {gpu.container_module} {
  gpu.module @k {
    gpu.func @k(%a: memref<4xf32>) kernel {
      gpu.return
    }
  }
  func.func @f(%a: memref<4xf32>) {
    %c1 = arith.constant 1 : index
    %c16 = arith.constant 16 : index
    // expected-error @+1 {{workgroup of 256 invocations exceeds the target's 128}}
    gpu.launch_func @k::@k blocks in (%c1, %c1, %c1) threads in (%c16, %c16, %c1)
        args(%a : memref<4xf32>)
    return
  }
}

// -----

// The workgroup size is part of the kernel, so every launch must agree.
module attributes {gpu.container_module} {
  gpu.module @k {
    gpu.func @k(%a: memref<4xf32>) kernel {
      gpu.return
    }
  }
  func.func @f(%a: memref<4xf32>) {
    %c1 = arith.constant 1 : index
    %c2 = arith.constant 2 : index
    gpu.launch_func @k::@k blocks in (%c1, %c1, %c1) threads in (%c1, %c1, %c1)
        args(%a : memref<4xf32>)
    // expected-error @+1 {{launches a kernel with a workgroup size that differs from another launch of it}}
    gpu.launch_func @k::@k blocks in (%c1, %c1, %c1) threads in (%c2, %c1, %c1)
        args(%a : memref<4xf32>)
    return
  }
}

// -----

module attributes {gpu.container_module} {
  gpu.module @k {
    gpu.func @k(%a: memref<4xf32>) kernel {
      gpu.return
    }
  }
  func.func @f(%a: memref<4xf32>, %n: index) {
    %c1 = arith.constant 1 : index
    // expected-error @+1 {{needs a constant workgroup size within the target's [128, 128, 64]}}
    gpu.launch_func @k::@k blocks in (%c1, %c1, %c1) threads in (%n, %c1, %c1)
        args(%a : memref<4xf32>)
    return
  }
}
