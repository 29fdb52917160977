// Parses but does not verify: the function returns f32 and its return has no operand.
// actforge-mlir verify must point at line 5.
func.func @f(%x: f32) -> f32 {
  %z = arith.addf %x, %x : f32
  return
}
