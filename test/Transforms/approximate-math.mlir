// RUN: blkrew-opt %s -blkrew-approximate-math -split-input-file -verify-diagnostics | FileCheck %s
// RUN: blkrew-opt %s -blkrew-approximate-math=guard-exp=true -split-input-file -verify-diagnostics | FileCheck %s --check-prefix=EXP

// erf becomes rational polynomials in |x| (fma chains, the interval picked
// by selects) with the sign copied back: only ops both targets lower.
// CHECK-LABEL: func.func @erf_f32(
// CHECK-NOT:     math.erf
// CHECK:         math.fma
// CHECK:         arith.divf
// CHECK:         return
func.func @erf_f32(%x: f32) -> f32 {
  %y = math.erf %x : f32
  return %y : f32
}

// -----

// Vectors too, and erfc (which keeps an exp: both targets have one).
// CHECK-LABEL: func.func @erfc_vector(
// CHECK-NOT:     math.erfc
// CHECK:         math.exp {{.*}} : vector<8xf32>
// CHECK:         return {{.*}} : vector<8xf32>
func.func @erfc_vector(%x: vector<8xf32>) -> vector<8xf32> {
  %y = math.erfc %x : vector<8xf32>
  return %y : vector<8xf32>
}

// -----

// exp is kept by default; with guard-exp=true an f32 one whose result
// would be below 2^-126 is 0 without a call (glibc's vector expf leaves its
// fast path for any lane there), the call seeing the input raised to that
// bound; an f64 one stays as it was.
// CHECK-LABEL: func.func @exp(
// CHECK:         math.exp {{.*}} : vector<8xf32>
// CHECK:         math.exp {{.*}} : f64
// EXP-LABEL:   func.func @exp(
// EXP-SAME:      %[[X:[^:]*]]: vector<8xf32>
// EXP:           %[[LO:.*]] = arith.constant dense<-87.3365{{[0-9]*}}> : vector<8xf32>
// EXP:           %[[IN:.*]] = arith.maximumf %[[X]], %[[LO]] : vector<8xf32>
// EXP:           %[[E:.*]] = math.exp %[[IN]] : vector<8xf32>
// EXP:           %[[UNDER:.*]] = arith.cmpf olt, %[[X]], %[[LO]] : vector<8xf32>
// EXP:           %[[ZERO:.*]] = arith.constant dense<0.000000e+00> : vector<8xf32>
// EXP:           %[[R:.*]] = arith.select %[[UNDER]], %[[ZERO]], %[[E]]
// EXP:           %[[D:.*]] = math.exp %{{.*}} : f64
// EXP:           return %[[R]], %[[D]]
func.func @exp(%x: vector<8xf32>, %d: f64) -> (vector<8xf32>, f64) {
  %y = math.exp %x : vector<8xf32>
  %e = math.exp %d : f64
  return %y, %e : vector<8xf32>, f64
}

// -----

// Inside a linalg.generic's body, as GELU imports.
// CHECK-LABEL: func.func @gelu(
// CHECK:         linalg.generic
// CHECK-NOT:     math.erf
// CHECK:         linalg.yield
func.func @gelu(%x: tensor<4xf32>) -> tensor<4xf32> {
  %half = arith.constant 0.5 : f32
  %one = arith.constant 1.0 : f32
  %rsqrt2 = arith.constant 0.707106769 : f32
  %e = tensor.empty() : tensor<4xf32>
  %y = linalg.generic {indexing_maps = [affine_map<(d0) -> (d0)>, affine_map<(d0) -> (d0)>],
                       iterator_types = ["parallel"]}
      ins(%x : tensor<4xf32>) outs(%e : tensor<4xf32>) {
  ^bb0(%in: f32, %out: f32):
    %s = arith.mulf %in, %rsqrt2 : f32
    %erf = math.erf %s : f32
    %p = arith.addf %erf, %one : f32
    %h = arith.mulf %in, %half : f32
    %g = arith.mulf %h, %p : f32
    linalg.yield %g : f32
  } -> tensor<4xf32>
  return %y : tensor<4xf32>
}

// -----

// Other math ops are left to the lowerings that take them.
// CHECK-LABEL: func.func @tanh_untouched(
// CHECK:         math.tanh
func.func @tanh_untouched(%x: f32) -> f32 {
  %y = math.tanh %x : f32
  return %y : f32
}

// -----

// No f64 approximation: an error here rather than a failed lowering later.
func.func @erf_f64(%x: f64) -> f64 {
  // expected-error @+1 {{'math.erf' op has no lowering for 'f64': blkrew approximates erf and erfc in f32 only}}
  %y = math.erf %x : f64
  return %y : f64
}
