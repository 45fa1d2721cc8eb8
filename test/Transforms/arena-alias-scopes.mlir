// RUN: blkrew-opt %s -blkrew-arena-alias-scopes -split-input-file | FileCheck %s

// Three views: A = [0, 256), B = [256, 320), and C = [0, 64), which shares
// bytes with A (never live at the same time as it). One scope per extent
// accessed; extents that share a byte claim nothing about each other.
// CHECK-DAG:   #[[DOM:.*]] = #llvm.alias_scope_domain<{{.*}}description = "__blkrew_arena_f">
// CHECK-DAG:   #[[SA:.*]] = #llvm.alias_scope<{{.*}}domain = #[[DOM]], description = "[0, 256)">
// CHECK-DAG:   #[[SC:.*]] = #llvm.alias_scope<{{.*}}domain = #[[DOM]], description = "[8, 12)">
// CHECK-DAG:   #[[SB:.*]] = #llvm.alias_scope<{{.*}}domain = #[[DOM]], description = "[256, 320)">
// CHECK-DAG:   #[[SX:.*]] = #llvm.alias_scope<{{.*}}domain = #[[DOM]], description = "[260, 264)">
// CHECK-NOT:   blkrew.arena_views
// CHECK-LABEL: llvm.func @f(
module attributes {blkrew.arena_views = {__blkrew_arena_f = array<i64: 0, 256, 256, 64, 0, 64>}} {
  llvm.mlir.global private @__blkrew_arena_f() {alignment = 64 : i64} : !llvm.array<320 x i8> {
    %0 = llvm.mlir.undef : !llvm.array<320 x i8>
    llvm.return %0 : !llvm.array<320 x i8>
  }
  llvm.mlir.global private constant @weights(dense<1.0> : tensor<4xf32>) : !llvm.array<4 x f32>
  llvm.func @f(%i: i64, %arg: !llvm.ptr, %cond: i1) {
    %arena = llvm.mlir.addressof @__blkrew_arena_f : !llvm.ptr
    %base = llvm.getelementptr %arena[0, 0] : (!llvm.ptr) -> !llvm.ptr, !llvm.array<320 x i8>
    %c256 = llvm.mlir.constant(256 : index) : i64
    // A's and C's start is offset 0: a dynamic index there may touch
    // either, so the union [0, 256).
    // CHECK:         %[[A:.*]] = llvm.load %{{.*}} {alias_scopes = [#[[SA]]], noalias_scopes = [#[[SB]], #[[SX]]]} : !llvm.ptr -> f32
    %pa = llvm.getelementptr %base[%i] : (!llvm.ptr, i64) -> !llvm.ptr, f32
    %a = llvm.load %pa : !llvm.ptr -> f32
    // A constant address is exactly the bytes it reads: [8, 12), in A and
    // in C.
    // CHECK:         llvm.load %{{.*}} {alias_scopes = [#[[SC]]], noalias_scopes = [#[[SB]], #[[SX]]]} : !llvm.ptr -> f32
    %pc = llvm.getelementptr %base[2] : (!llvm.ptr) -> !llvm.ptr, f32
    %c = llvm.load %pc : !llvm.ptr -> f32
    // B through a memref descriptor, as finalize-memref-to-llvm builds it.
    // CHECK:         llvm.store %[[A]], %{{.*}} {alias_scopes = [#[[SB]]], noalias_scopes = [#[[SA]], #[[SC]]]} : f32, !llvm.ptr
    %undef = llvm.mlir.poison : !llvm.struct<(ptr, ptr, i64)>
    %viewb = llvm.getelementptr %base[%c256] : (!llvm.ptr, i64) -> !llvm.ptr, i8
    %d0 = llvm.insertvalue %arena, %undef[0] : !llvm.struct<(ptr, ptr, i64)>
    %d1 = llvm.insertvalue %viewb, %d0[1] : !llvm.struct<(ptr, ptr, i64)>
    %d2 = llvm.insertvalue %c256, %d1[2] : !llvm.struct<(ptr, ptr, i64)>
    %aligned = llvm.extractvalue %d2[1] : !llvm.struct<(ptr, ptr, i64)>
    %pb = llvm.getelementptr %aligned[%i] : (!llvm.ptr, i64) -> !llvm.ptr, f32
    llvm.store %a, %pb : f32, !llvm.ptr
    // 260 = 256 + 4: inside B, so apart from A and C only.
    // CHECK:         llvm.load %{{.*}} {alias_scopes = [#[[SX]]], noalias_scopes = [#[[SA]], #[[SC]]]} : !llvm.ptr -> f32
    %px = llvm.getelementptr %viewb[1] : (!llvm.ptr) -> !llvm.ptr, f32
    %x = llvm.load %px : !llvm.ptr -> f32
    // Not the arena, or not followed back to it: no claim.
    // CHECK:         llvm.load %{{.*}} : !llvm.ptr -> f32
    // CHECK:         llvm.store %{{.*}}, %{{.*}} : f32, !llvm.ptr
    // CHECK:         llvm.load %{{.*}} : !llvm.ptr -> f32
    %w = llvm.mlir.addressof @weights : !llvm.ptr
    %pw = llvm.getelementptr %w[%i] : (!llvm.ptr, i64) -> !llvm.ptr, f32
    %y = llvm.load %pw : !llvm.ptr -> f32
    llvm.store %y, %arg : f32, !llvm.ptr
    %chosen = llvm.select %cond, %pa, %pb : i1, !llvm.ptr
    %z = llvm.load %chosen : !llvm.ptr -> f32
    llvm.return
  }
}

// -----

// A vector access at a constant address covers all its bytes: 64 of them
// from 64, which the f32 at 100 overlaps and [0, 32) does not.
// CHECK-DAG:   #[[S0:.*]] = #llvm.alias_scope<{{.*}}description = "[0, 32)">
// CHECK-DAG:   #[[S1:.*]] = #llvm.alias_scope<{{.*}}description = "[64, 128)">
// CHECK-DAG:   #[[S2:.*]] = #llvm.alias_scope<{{.*}}description = "[100, 104)">
// CHECK-LABEL: llvm.func @vector(
// CHECK:         llvm.load %{{.*}} {alias_scopes = [#[[S1]]], noalias_scopes = [#[[S0]]]} : !llvm.ptr -> vector<16xf32>
// CHECK:         llvm.store %{{.*}} {alias_scopes = [#[[S2]]], noalias_scopes = [#[[S0]]]} : f32, !llvm.ptr
// CHECK:         llvm.store %{{.*}} {alias_scopes = [#[[S0]]], noalias_scopes = [#[[S1]], #[[S2]]]} : f32, !llvm.ptr
module attributes {blkrew.arena_views = {__blkrew_arena_vector = array<i64: 0, 32, 32, 32, 64, 64>}} {
  llvm.mlir.global private @__blkrew_arena_vector() {alignment = 64 : i64} : !llvm.array<128 x i8> {
    %0 = llvm.mlir.undef : !llvm.array<128 x i8>
    llvm.return %0 : !llvm.array<128 x i8>
  }
  llvm.func @vector(%i: i64) {
    %arena = llvm.mlir.addressof @__blkrew_arena_vector : !llvm.ptr
    %p = llvm.getelementptr %arena[64] : (!llvm.ptr) -> !llvm.ptr, i8
    %v = llvm.load %p : !llvm.ptr -> vector<16xf32>
    %e = llvm.extractelement %v[%i : i64] : vector<16xf32>
    %q = llvm.getelementptr %arena[25] : (!llvm.ptr) -> !llvm.ptr, f32
    llvm.store %e, %q : f32, !llvm.ptr
    %r = llvm.getelementptr %arena[%i] : (!llvm.ptr, i64) -> !llvm.ptr, f32
    llvm.store %e, %r : f32, !llvm.ptr
    llvm.return
  }
}

// -----

// Without recorded views the pass changes nothing.
// CHECK-LABEL: llvm.func @unplanned(
// CHECK:         llvm.load %{{.*}} : !llvm.ptr -> f32
module {
  llvm.mlir.global private @__blkrew_arena_unplanned() : !llvm.array<64 x i8>
  llvm.func @unplanned(%i: i64) -> f32 {
    %arena = llvm.mlir.addressof @__blkrew_arena_unplanned : !llvm.ptr
    %p = llvm.getelementptr %arena[%i] : (!llvm.ptr, i64) -> !llvm.ptr, f32
    %v = llvm.load %p : !llvm.ptr -> f32
    llvm.return %v : f32
  }
}

// -----

// A dynamic index into a memref bounds the access by the bytes the memref
// spans. Views: L = [0, 1024), an earlier large temporary, and two later
// small ones inside it, S = [0, 64) and T = [64, 1024). By its start alone
// an index into S or T may touch all of L; through their descriptors
// (16 and 2 x 120 f32, strides 120 and 1), S's is [0, 64) and T's [64, 1024),
// apart. A dynamic GEP between the descriptor and the arena, or an offset
// that is not a constant, leaves the union of the views.
// CHECK-DAG:   #[[S:.*]] = #llvm.alias_scope<{{.*}}description = "[0, 64)">
// CHECK-DAG:   #[[T:.*]] = #llvm.alias_scope<{{.*}}description = "[64, 1024)">
// CHECK-DAG:   #[[L:.*]] = #llvm.alias_scope<{{.*}}description = "[0, 1024)">
// CHECK-LABEL: llvm.func @bounded(
// CHECK:         llvm.load %{{.*}} {alias_scopes = [#[[S]]], noalias_scopes = [#[[T]]]} : !llvm.ptr -> f32
// CHECK:         llvm.store %{{.*}} {alias_scopes = [#[[T]]], noalias_scopes = [#[[S]]]} : f32, !llvm.ptr
// CHECK:         llvm.load %{{.*}} {alias_scopes = [#[[L]]]} : !llvm.ptr -> f32
// CHECK:         llvm.load %{{.*}} {alias_scopes = [#[[L]]]} : !llvm.ptr -> f32
module attributes {blkrew.arena_views = {__blkrew_arena_bounded = array<i64: 0, 1024, 0, 64, 64, 960>}} {
  llvm.mlir.global private @__blkrew_arena_bounded() {alignment = 64 : i64} : !llvm.array<1024 x i8> {
    %0 = llvm.mlir.undef : !llvm.array<1024 x i8>
    llvm.return %0 : !llvm.array<1024 x i8>
  }
  llvm.func @bounded(%i: i64, %off: i64) {
    %arena = llvm.mlir.addressof @__blkrew_arena_bounded : !llvm.ptr
    %c0 = llvm.mlir.constant(0 : index) : i64
    %c1 = llvm.mlir.constant(1 : index) : i64
    %c2 = llvm.mlir.constant(2 : index) : i64
    %c16 = llvm.mlir.constant(16 : index) : i64
    %c120 = llvm.mlir.constant(120 : index) : i64
    %poison1 = llvm.mlir.poison : !llvm.struct<(ptr, ptr, i64, array<1 x i64>, array<1 x i64>)>
    %poison2 = llvm.mlir.poison : !llvm.struct<(ptr, ptr, i64, array<2 x i64>, array<2 x i64>)>
    // S: memref<16xf32> at byte 0.
    %s0 = llvm.insertvalue %arena, %poison1[0] : !llvm.struct<(ptr, ptr, i64, array<1 x i64>, array<1 x i64>)>
    %s1 = llvm.insertvalue %arena, %s0[1] : !llvm.struct<(ptr, ptr, i64, array<1 x i64>, array<1 x i64>)>
    %s2 = llvm.insertvalue %c0, %s1[2] : !llvm.struct<(ptr, ptr, i64, array<1 x i64>, array<1 x i64>)>
    %s3 = llvm.insertvalue %c16, %s2[3, 0] : !llvm.struct<(ptr, ptr, i64, array<1 x i64>, array<1 x i64>)>
    %s4 = llvm.insertvalue %c1, %s3[4, 0] : !llvm.struct<(ptr, ptr, i64, array<1 x i64>, array<1 x i64>)>
    %sp = llvm.extractvalue %s4[1] : !llvm.struct<(ptr, ptr, i64, array<1 x i64>, array<1 x i64>)>
    %ps = llvm.getelementptr %sp[%i] : (!llvm.ptr, i64) -> !llvm.ptr, f32
    %a = llvm.load %ps : !llvm.ptr -> f32
    // T: memref<2x120xf32> at byte 64.
    %tb = llvm.getelementptr %arena[64] : (!llvm.ptr) -> !llvm.ptr, i8
    %t0 = llvm.insertvalue %arena, %poison2[0] : !llvm.struct<(ptr, ptr, i64, array<2 x i64>, array<2 x i64>)>
    %t1 = llvm.insertvalue %tb, %t0[1] : !llvm.struct<(ptr, ptr, i64, array<2 x i64>, array<2 x i64>)>
    %t2 = llvm.insertvalue %c0, %t1[2] : !llvm.struct<(ptr, ptr, i64, array<2 x i64>, array<2 x i64>)>
    %t3 = llvm.insertvalue %c2, %t2[3, 0] : !llvm.struct<(ptr, ptr, i64, array<2 x i64>, array<2 x i64>)>
    %t4 = llvm.insertvalue %c120, %t3[4, 0] : !llvm.struct<(ptr, ptr, i64, array<2 x i64>, array<2 x i64>)>
    %t5 = llvm.insertvalue %c120, %t4[3, 1] : !llvm.struct<(ptr, ptr, i64, array<2 x i64>, array<2 x i64>)>
    %t6 = llvm.insertvalue %c1, %t5[4, 1] : !llvm.struct<(ptr, ptr, i64, array<2 x i64>, array<2 x i64>)>
    %tp = llvm.extractvalue %t6[1] : !llvm.struct<(ptr, ptr, i64, array<2 x i64>, array<2 x i64>)>
    %pt = llvm.getelementptr %tp[%i] : (!llvm.ptr, i64) -> !llvm.ptr, f32
    llvm.store %a, %pt : f32, !llvm.ptr
    // S's descriptor, but its pointer moved by a dynamic index.
    %moved = llvm.getelementptr %arena[%i] : (!llvm.ptr, i64) -> !llvm.ptr, i8
    %m1 = llvm.insertvalue %moved, %s0[1] : !llvm.struct<(ptr, ptr, i64, array<1 x i64>, array<1 x i64>)>
    %m2 = llvm.insertvalue %c0, %m1[2] : !llvm.struct<(ptr, ptr, i64, array<1 x i64>, array<1 x i64>)>
    %m3 = llvm.insertvalue %c16, %m2[3, 0] : !llvm.struct<(ptr, ptr, i64, array<1 x i64>, array<1 x i64>)>
    %m4 = llvm.insertvalue %c1, %m3[4, 0] : !llvm.struct<(ptr, ptr, i64, array<1 x i64>, array<1 x i64>)>
    %mp = llvm.extractvalue %m4[1] : !llvm.struct<(ptr, ptr, i64, array<1 x i64>, array<1 x i64>)>
    %pm = llvm.getelementptr %mp[%i] : (!llvm.ptr, i64) -> !llvm.ptr, f32
    %b = llvm.load %pm : !llvm.ptr -> f32
    // S with a dynamic offset.
    %d2 = llvm.insertvalue %off, %s1[2] : !llvm.struct<(ptr, ptr, i64, array<1 x i64>, array<1 x i64>)>
    %d3 = llvm.insertvalue %c16, %d2[3, 0] : !llvm.struct<(ptr, ptr, i64, array<1 x i64>, array<1 x i64>)>
    %d4 = llvm.insertvalue %c1, %d3[4, 0] : !llvm.struct<(ptr, ptr, i64, array<1 x i64>, array<1 x i64>)>
    %dp = llvm.extractvalue %d4[1] : !llvm.struct<(ptr, ptr, i64, array<1 x i64>, array<1 x i64>)>
    %pd = llvm.getelementptr %dp[%i] : (!llvm.ptr, i64) -> !llvm.ptr, f32
    %c = llvm.load %pd : !llvm.ptr -> f32
    llvm.return
  }
}
