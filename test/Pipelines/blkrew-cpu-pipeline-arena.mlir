// The CPU pipeline tells LLVM which of the arena's temporaries cannot
// overlap (blkrew-arena-alias-scopes): a softmax's exponentials (64
// floats at [0, 256)) and its row maxima and sums (sharing [256, 272)).
// Without it, LLVM reloads and re-stores the running sum around every
// element and does not vectorize the loop.
// RUN: blkrew-opt %s --blkrew-cpu-pipeline | FileCheck %s
// RUN: blkrew-opt %s --blkrew-cpu-pipeline=target=aarch64 | FileCheck %s

// CHECK-DAG:   #[[ROWS:.*]] = #llvm.alias_scope<{{.*}}description = "[256, 272)">
// CHECK-DAG:   #[[EXPS:.*]] = #llvm.alias_scope<{{.*}}description = "[0, 256)">
// CHECK-NOT:   blkrew.arena_views
// CHECK-LABEL: llvm.func @softmax(
// The row sums: an exponential read, the running sum read and written.
// CHECK:         llvm.load %{{.*}} {alias_scopes = [#[[EXPS]]], noalias_scopes = [#[[ROWS]]]} : !llvm.ptr -> f32
// CHECK:         llvm.load %{{.*}} {alias_scopes = [#[[ROWS]]], noalias_scopes = [#[[EXPS]]]} : !llvm.ptr -> f32
// CHECK-NEXT:    llvm.fadd
// CHECK:         llvm.store %{{.*}} {alias_scopes = [#[[ROWS]]], noalias_scopes = [#[[EXPS]]]} : f32, !llvm.ptr
// The division, in place.
// CHECK:         llvm.fdiv
// CHECK:         llvm.store %{{.*}} {alias_scopes = [#[[EXPS]]], noalias_scopes = [#[[ROWS]]]} : f32, !llvm.ptr
// The transpose into the output, which is the caller's: no claim about it.
// CHECK:         llvm.load %{{.*}} {alias_scopes = [#[[EXPS]]]{{.*}}noalias_scopes = [#[[ROWS]]]} : !llvm.ptr
// CHECK-NOT:     llvm.store {{.*}}alias_scopes
// CHECK:         llvm.return
#id = affine_map<(d0, d1) -> (d0, d1)>
#row = affine_map<(d0, d1) -> (d0)>

func.func @softmax(%x: tensor<4x16xf32>) -> tensor<16x4xf32> {
  %ninf = arith.constant 0xFF800000 : f32
  %zero = arith.constant 0.0 : f32
  %e0 = tensor.empty() : tensor<4xf32>
  %m0 = linalg.fill ins(%ninf : f32) outs(%e0 : tensor<4xf32>) -> tensor<4xf32>
  %max = linalg.generic {indexing_maps = [#id, #row], iterator_types = ["parallel", "reduction"]}
      ins(%x : tensor<4x16xf32>) outs(%m0 : tensor<4xf32>) {
  ^bb0(%a: f32, %acc: f32):
    %r = arith.maximumf %a, %acc : f32
    linalg.yield %r : f32
  } -> tensor<4xf32>
  %e1 = tensor.empty() : tensor<4x16xf32>
  %exp = linalg.generic {indexing_maps = [#id, #row, #id], iterator_types = ["parallel", "parallel"]}
      ins(%x, %max : tensor<4x16xf32>, tensor<4xf32>) outs(%e1 : tensor<4x16xf32>) {
  ^bb0(%a: f32, %m: f32, %o: f32):
    %d = arith.subf %a, %m : f32
    %r = math.exp %d : f32
    linalg.yield %r : f32
  } -> tensor<4x16xf32>
  %s0 = linalg.fill ins(%zero : f32) outs(%e0 : tensor<4xf32>) -> tensor<4xf32>
  %sum = linalg.generic {indexing_maps = [#id, #row], iterator_types = ["parallel", "reduction"]}
      ins(%exp : tensor<4x16xf32>) outs(%s0 : tensor<4xf32>) {
  ^bb0(%a: f32, %acc: f32):
    %r = arith.addf %a, %acc : f32
    linalg.yield %r : f32
  } -> tensor<4xf32>
  %y = linalg.generic {indexing_maps = [#id, #row, #id], iterator_types = ["parallel", "parallel"]}
      ins(%exp, %sum : tensor<4x16xf32>, tensor<4xf32>) outs(%e1 : tensor<4x16xf32>) {
  ^bb0(%a: f32, %s: f32, %o: f32):
    %r = arith.divf %a, %s : f32
    linalg.yield %r : f32
  } -> tensor<4x16xf32>
  %e2 = tensor.empty() : tensor<16x4xf32>
  %t = linalg.transpose ins(%y : tensor<4x16xf32>) outs(%e2 : tensor<16x4xf32>) permutation = [1, 0]
  return %t : tensor<16x4xf32>
}
