// RUN: blkrew-opt %s -blkrew-plan-buffers -split-input-file | FileCheck %s
// RUN: blkrew-opt %s -blkrew-plan-buffers=alignment=128 -split-input-file | FileCheck %s --check-prefix=ALIGN
// RUN: not blkrew-opt %s -blkrew-plan-buffers=alignment=48 -split-input-file 2>&1 | FileCheck %s --check-prefix=BADALIGN

// BADALIGN: error: blkrew-plan-buffers: alignment must be a power of two, got 48

// A chain: %a dies at the copy into %b, so %c (allocated after) takes %a's
// place; %b, live beside both, sits after the larger of them. The module
// records each view as (offset, bytes) for blkrew-arena-alias-scopes.
// CHECK:       module attributes {blkrew.arena_views = {__blkrew_arena_chain = array<i64: 0, 160, 192, 64, 0, 64>}}
// CHECK:       memref.global "private" @__blkrew_arena_chain : memref<256xi8> = uninitialized {alignment = 64 : i64}
// CHECK-LABEL: func.func @chain(
// CHECK:         %[[ARENA:.*]] = memref.get_global @__blkrew_arena_chain : memref<256xi8>
// CHECK:         %[[OA:.*]] = arith.constant 0 : index
// CHECK:         %[[A:.*]] = memref.view %[[ARENA]][%[[OA]]][] : memref<256xi8> to memref<40xf32>
// CHECK:         %[[OB:.*]] = arith.constant 192 : index
// CHECK:         %[[B:.*]] = memref.view %[[ARENA]][%[[OB]]][] : memref<256xi8> to memref<16xf32>
// CHECK:         %[[OC:.*]] = arith.constant 0 : index
// CHECK:         %[[C:.*]] = memref.view %[[ARENA]][%[[OC]]][] : memref<256xi8> to memref<16xf32>
// CHECK-NOT:     memref.alloc
// CHECK-NOT:     memref.dealloc
// ALIGN:       memref.global "private" @__blkrew_arena_chain : memref<320xi8> = uninitialized {alignment = 128 : i64}
func.func @chain(%x: f32, %out: memref<16xf32>) {
  %a = memref.alloc() {alignment = 64 : i64} : memref<40xf32>
  linalg.fill ins(%x : f32) outs(%a : memref<40xf32>)
  %b = memref.alloc() : memref<16xf32>
  %a16 = memref.subview %a[0] [16] [1] : memref<40xf32> to memref<16xf32, strided<[1]>>
  memref.copy %a16, %b : memref<16xf32, strided<[1]>> to memref<16xf32>
  memref.dealloc %a : memref<40xf32>
  %c = memref.alloc() : memref<16xf32>
  linalg.add ins(%b, %b : memref<16xf32>, memref<16xf32>) outs(%c : memref<16xf32>)
  memref.copy %c, %out : memref<16xf32> to memref<16xf32>
  return
}

// -----

// A view used later keeps its buffer alive: %a (through %flat) is still
// read when %b is written, so they must not share bytes.
// CHECK-LABEL: func.func @view_extends_life(
// CHECK:         memref.view %{{.*}}[%{{.*}}][] : memref<128xi8> to memref<4x4xf32>
// CHECK:         %[[OB:.*]] = arith.constant 64 : index
// CHECK:         memref.view %{{.*}}[%[[OB]]][] : memref<128xi8> to memref<16xf32>
func.func @view_extends_life(%x: f32, %out: memref<16xf32>) {
  %a = memref.alloc() : memref<4x4xf32>
  linalg.fill ins(%x : f32) outs(%a : memref<4x4xf32>)
  %flat = memref.collapse_shape %a [[0, 1]] : memref<4x4xf32> into memref<16xf32>
  %b = memref.alloc() : memref<16xf32>
  linalg.fill ins(%x : f32) outs(%b : memref<16xf32>)
  linalg.add ins(%flat, %b : memref<16xf32>, memref<16xf32>) outs(%out : memref<16xf32>)
  return
}

// -----

// A buffer used inside a loop lives until the loop ends.
// CHECK-LABEL: func.func @used_in_loop(
// CHECK:         memref.view
// CHECK:         arith.constant 64 : index
// CHECK:         memref.view
// CHECK:         scf.for
func.func @used_in_loop(%x: f32, %out: memref<16xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c4 = arith.constant 4 : index
  %a = memref.alloc() : memref<16xf32>
  linalg.fill ins(%x : f32) outs(%a : memref<16xf32>)
  %b = memref.alloc() : memref<16xf32>
  linalg.fill ins(%x : f32) outs(%b : memref<16xf32>)
  scf.for %i = %c0 to %c4 step %c1 {
    linalg.add ins(%a, %b : memref<16xf32>, memref<16xf32>) outs(%out : memref<16xf32>)
  }
  return
}

// -----

// Buffers that escape (returned, passed to a call, read as a tensor) and
// buffers of dynamic shape stay heap allocations; with nothing left to plan
// there is no arena.
// CHECK-NOT:   blkrew.arena_views
// CHECK-NOT:   memref.global
// CHECK-LABEL: func.func @not_planned(
// CHECK:         memref.alloc() : memref<16xf32>
// CHECK:         memref.alloc() : memref<8xf32>
// CHECK:         memref.alloc() : memref<4xf32>
// CHECK:         memref.alloc(%{{.*}}) : memref<?xf32>
// CHECK-NOT:     memref.view
func.func private @sink(memref<8xf32>)
func.func @not_planned(%n: index) -> (memref<16xf32>, tensor<4xf32>) {
  %a = memref.alloc() : memref<16xf32>
  %b = memref.alloc() : memref<8xf32>
  func.call @sink(%b) : (memref<8xf32>) -> ()
  %t = memref.alloc() : memref<4xf32>
  %tensor = bufferization.to_tensor %t : memref<4xf32> to tensor<4xf32>
  %d = memref.alloc(%n) : memref<?xf32>
  memref.dealloc %d : memref<?xf32>
  return %a, %tensor : memref<16xf32>, tensor<4xf32>
}

// -----

// One arena per function; a name already taken is not reused.
// CHECK:       module attributes {blkrew.arena_views = {__blkrew_arena_f = array<i64: 0, 64>, __blkrew_arena_g_0 = array<i64: 0, 128>}}
// CHECK:       memref.global "private" @__blkrew_arena_f : memref<64xi8>
// CHECK-LABEL: func.func @f(
// CHECK:         memref.get_global @__blkrew_arena_f
// CHECK:       memref.global "private" @__blkrew_arena_g_0 : memref<128xi8>
// CHECK-LABEL: func.func @g(
// CHECK:         memref.get_global @__blkrew_arena_g_0
memref.global "private" @__blkrew_arena_g : memref<4xi8> = uninitialized
func.func @f(%x: f32, %out: memref<16xf32>) {
  %a = memref.alloc() : memref<16xf32>
  linalg.fill ins(%x : f32) outs(%a : memref<16xf32>)
  memref.copy %a, %out : memref<16xf32> to memref<16xf32>
  return
}
func.func @g(%x: f32, %out: memref<32xf32>) {
  %a = memref.alloc() : memref<32xf32>
  linalg.fill ins(%x : f32) outs(%a : memref<32xf32>)
  memref.copy %a, %out : memref<32xf32> to memref<32xf32>
  return
}
