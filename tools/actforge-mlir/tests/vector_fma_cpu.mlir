// vector.fma lowers to llvm.fmuladd, whose rounding LLVM chooses: actforge-mlir must reject it.
func.func @fma(%a: vector<8xf32>, %b: vector<8xf32>, %c: vector<8xf32>) -> vector<8xf32> {
  %r = vector.fma %a, %b, %c : vector<8xf32>
  return %r : vector<8xf32>
}
