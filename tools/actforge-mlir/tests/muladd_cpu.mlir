// a*b + c with no fast-math flags: on an FMA target it must stay a multiply and an add (two
// roundings), never a fused vfmadd.
func.func @muladd(%a: vector<8xf32>, %b: vector<8xf32>, %c: vector<8xf32>) -> vector<8xf32> {
  %p = arith.mulf %a, %b : vector<8xf32>
  %s = arith.addf %p, %c : vector<8xf32>
  return %s : vector<8xf32>
}
