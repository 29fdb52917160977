// run's result path: @answer returns n + 1 as an i32, so i64:41 must print rc=42; @nothing
// returns nothing, which run refuses.
func.func @answer(%n: i64) -> i32 {
  %c1 = arith.constant 1 : i64
  %m = arith.addi %n, %c1 : i64
  %r = arith.trunci %m : i64 to i32
  return %r : i32
}
func.func @nothing(%n: i64) {
  return
}
