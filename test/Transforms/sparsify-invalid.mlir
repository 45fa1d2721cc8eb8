// Bad pass options are reported on the function, not silently clamped.
// RUN: blkrew-opt %s -blkrew-sparsify="block-rows=0" -verify-diagnostics
// RUN: not blkrew-opt %s -blkrew-sparsify="max-density=1.5" 2>&1 | FileCheck %s --check-prefix=DENSITY

// expected-error @+2 {{blkrew-sparsify: block-rows and block-cols must be positive, got 0 and 4}}
// DENSITY: blkrew-sparsify: max-density must be in [0, 1], got 1.5
func.func @bad_options() {
  return
}
