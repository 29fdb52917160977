// math.log1p: convert-math-to-llvm would approximate it as log(1 + x), losing every digit near 0.
// actforge-mlir leaves it, and the translation to LLVM IR stops at this line.
func.func @f(%x: f32) -> f32 {
  %y = math.log1p %x : f32
  return %y : f32
}
