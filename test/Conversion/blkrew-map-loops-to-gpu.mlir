// RUN: blkrew-opt %s -blkrew-map-loops-to-gpu -split-input-file | FileCheck %s

// 10x100: the innermost dimension gets all 64 invocations (thread_x); the
// tiles form a 2x10 grid, innermost dimension on block_x. The f64 constant
// truncated to f32 is folded (no Float64 on the target) and the assertion,
// which a kernel cannot raise, is gone.
// CHECK-LABEL: func.func @two_dims(
// CHECK-DAG:     %[[C64:.*]] = arith.constant 64 : index
// CHECK:         scf.parallel (%{{.*}}, %{{.*}}) = (%{{.*}}, %{{.*}}) to (%{{.*}}, %{{.*}}) step (%{{.*}}, %[[STEP:.*]]) {
// CHECK:           scf.parallel
// CHECK:             scf.if
// CHECK:               %[[EPS:.*]] = arith.constant 9.99999974E-6 : f32
// CHECK-NOT:           cf.assert
// CHECK:               arith.addf %{{.*}}, %[[EPS]] : f32
// CHECK:           } {mapping = [#gpu.loop_dim_map<processor = sequential, {{.*}}>, #gpu.loop_dim_map<processor = thread_x, {{.*}}>]}
// CHECK:         } {mapping = [#gpu.loop_dim_map<processor = block_y, {{.*}}>, #gpu.loop_dim_map<processor = block_x, {{.*}}>]}
func.func @two_dims(%a: memref<10x100xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c10 = arith.constant 10 : index
  %c100 = arith.constant 100 : index
  %eps = arith.constant 1.0e-05 : f64
  scf.parallel (%i, %j) = (%c0, %c0) to (%c10, %c100) step (%c1, %c1) {
    %v = memref.load %a[%i, %j] : memref<10x100xf32>
    %e = arith.truncf %eps : f64 to f32
    %ok = arith.cmpf one, %v, %e : f32
    cf.assert %ok, "nonzero"
    %s = arith.addf %v, %e : f32
    memref.store %s, %a[%i, %j] : memref<10x100xf32>
    scf.reduce
  }
  return
}

// -----

// Small extents: 4x3 iterations fit one workgroup (a 4x4 tile: thread_y,
// thread_x); a one-tile grid dimension and the nested loop run
// sequentially.
// CHECK-LABEL: func.func @small(
// CHECK:         scf.parallel
// CHECK:           scf.parallel
// CHECK:             scf.parallel
// CHECK:             } {mapping = [#gpu.loop_dim_map<processor = sequential, {{.*}}>]}
// CHECK:           } {mapping = [#gpu.loop_dim_map<processor = sequential, {{.*}}>, #gpu.loop_dim_map<processor = thread_y, {{.*}}>, #gpu.loop_dim_map<processor = thread_x, {{.*}}>]}
// CHECK:         } {mapping = [#gpu.loop_dim_map<processor = sequential, {{.*}}>, #gpu.loop_dim_map<processor = sequential, {{.*}}>, #gpu.loop_dim_map<processor = sequential, {{.*}}>]}
func.func @small(%a: memref<1x4x3xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c3 = arith.constant 3 : index
  %c4 = arith.constant 4 : index
  %cst = arith.constant 0.0 : f32
  scf.parallel (%i, %j, %k) = (%c0, %c0, %c0) to (%c1, %c4, %c3) step (%c1, %c1, %c1) {
    scf.parallel (%l) = (%c0) to (%c3) step (%c1) {
      memref.store %cst, %a[%i, %j, %l] : memref<1x4x3xf32>
      scf.reduce
    }
    scf.reduce
  }
  return
}

// -----

// A copy becomes a mapped element-wise loop, like every other device op.
// CHECK-LABEL: func.func @copy(
// CHECK-SAME:    %[[A:[^:]*]]: memref<8x300xf32>, %[[B:[^:]*]]: memref<8x300xf32>)
// CHECK-NOT:     memref.copy
// CHECK:         scf.parallel
// CHECK:           scf.parallel
// CHECK:             %[[V:.*]] = memref.load %[[A]]
// CHECK:             memref.store %[[V]], %[[B]]
// CHECK:         } {mapping = [#gpu.loop_dim_map<processor = block_y, {{.*}}>, #gpu.loop_dim_map<processor = block_x, {{.*}}>]}
func.func @copy(%a: memref<8x300xf32>, %b: memref<8x300xf32>) {
  memref.copy %a, %b : memref<8x300xf32> to memref<8x300xf32>
  return
}

// -----

// A reduction over every element (a batch-1 softmax's sum) lowers to a
// serial scf.for and the fill of its rank-0 accumulator to a store: both
// go into one-iteration parallel loops (one invocation each), not host
// code; so does a rank-0 copy. Ops with results stay (none here).
// CHECK-LABEL: func.func @full_reduction(
// CHECK-SAME:    %[[X:[^:]*]]: memref<10xf32>, %[[ACC:[^:]*]]: memref<f32>, %[[OUT:[^:]*]]: memref<f32>)
// CHECK:         scf.parallel
// CHECK:           scf.parallel
// CHECK:             memref.store %{{.*}}, %[[ACC]][] : memref<f32>
// CHECK:         } {mapping = [#gpu.loop_dim_map<processor = sequential, {{.*}}>]}
// CHECK:         scf.parallel
// CHECK:           scf.parallel
// CHECK:             scf.for
// CHECK:               memref.load %[[X]]
// CHECK:         } {mapping = [#gpu.loop_dim_map<processor = sequential, {{.*}}>]}
// CHECK:         scf.parallel
// CHECK:           scf.parallel
// CHECK:             %[[V:.*]] = memref.load %[[ACC]][]
// CHECK:             memref.store %[[V]], %[[OUT]][]
// CHECK-NOT:     memref.copy
// CHECK:         return
func.func @full_reduction(%x: memref<10xf32>, %acc: memref<f32>, %out: memref<f32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c10 = arith.constant 10 : index
  %zero = arith.constant 0.0 : f32
  memref.store %zero, %acc[] : memref<f32>
  scf.for %i = %c0 to %c10 step %c1 {
    %v = memref.load %x[%i] : memref<10xf32>
    %a = memref.load %acc[] : memref<f32>
    %s = arith.addf %v, %a : f32
    memref.store %s, %acc[] : memref<f32>
  }
  memref.copy %acc, %out : memref<f32> to memref<f32>
  return
}

// -----

// A host loop around parallel loops stays on the host: each iteration
// launches its mapped loop (wrapping it would run it all in one invocation).
// CHECK-LABEL: func.func @host_loop(
// CHECK:         scf.for
// CHECK:           scf.parallel
// CHECK:           } {mapping = [#gpu.loop_dim_map<processor = block_x, {{.*}}>]}
func.func @host_loop(%x: memref<4x256xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c4 = arith.constant 4 : index
  %c256 = arith.constant 256 : index
  %one = arith.constant 1.0 : f32
  scf.for %t = %c0 to %c4 step %c1 {
    scf.parallel (%i) = (%c0) to (%c256) step (%c1) {
      %v = memref.load %x[%t, %i] : memref<4x256xf32>
      %s = arith.addf %v, %one : f32
      memref.store %s, %x[%t, %i] : memref<4x256xf32>
      scf.reduce
    }
  }
  return
}
