// A multiply that allows contraction into an FMA: actforge-mlir compile must reject it.
func.func @muladd(%a: f32, %b: f32, %c: f32) -> f32 {
  %p = arith.mulf %a, %b fastmath<contract> : f32
  %s = arith.addf %p, %c : f32
  return %s : f32
}
