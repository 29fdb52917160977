// relu forward for x86 as codegen/mlir writes it (issue 7's sample): a vector<16xf32> loop, a
// masked tail and the C ABI wrapper int relu_fwd(const float *x, float *y, int64_t n).
module {
  func.func private @relu_fwd_elem(%xv: vector<16xf32>) -> vector<16xf32> {
    %z = arith.constant dense<0x00000000> : vector<16xf32>
    %nan = arith.constant dense<0x7FC00000> : vector<16xf32>
    %c = arith.cmpf ogt, %xv, %z : vector<16xf32>
    %t = arith.select %c, %xv, %z : vector<16xi1>, vector<16xf32>
    %isn = arith.cmpf uno, %xv, %xv : vector<16xf32>
    %r = arith.select %isn, %nan, %t : vector<16xi1>, vector<16xf32>
    return %r : vector<16xf32>
  }
  func.func @relu_fwd_memref(%x: memref<?xf32>, %y: memref<?xf32>) {
    %c0 = arith.constant 0 : index
    %c16 = arith.constant 16 : index
    %n = memref.dim %x, %c0 : memref<?xf32>
    %rem = arith.remsi %n, %c16 : index
    %full = arith.subi %n, %rem : index
    scf.for %i = %c0 to %full step %c16 {
      %xv = vector.load %x[%i] : memref<?xf32>, vector<16xf32>
      %yv = func.call @relu_fwd_elem(%xv) : (vector<16xf32>) -> vector<16xf32>
      vector.store %yv, %y[%i] : memref<?xf32>, vector<16xf32>
    }
    %has = arith.cmpi sgt, %rem, %c0 : index
    scf.if %has {
      %mask = vector.create_mask %rem : vector<16xi1>
      %pass = arith.constant dense<0.0> : vector<16xf32>
      %xv = vector.maskedload %x[%full], %mask, %pass : memref<?xf32>, vector<16xi1>, vector<16xf32> into vector<16xf32>
      %yv = func.call @relu_fwd_elem(%xv) : (vector<16xf32>) -> vector<16xf32>
      vector.maskedstore %y[%full], %mask, %yv : memref<?xf32>, vector<16xi1>, vector<16xf32>
    }
    return
  }
  // The C ABI: int relu_fwd(const float *x, float *y, int64_t n)
  func.func @relu_fwd(%xp: !llvm.ptr, %yp: !llvm.ptr, %n: i64) -> i32 {
    %c0 = llvm.mlir.constant(0 : i64) : i64
    %c1 = llvm.mlir.constant(1 : i64) : i64
    %u = llvm.mlir.undef : !llvm.struct<(ptr, ptr, i64, array<1 x i64>, array<1 x i64>)>
    %x1 = llvm.insertvalue %xp, %u[0] : !llvm.struct<(ptr, ptr, i64, array<1 x i64>, array<1 x i64>)>
    %x2 = llvm.insertvalue %xp, %x1[1] : !llvm.struct<(ptr, ptr, i64, array<1 x i64>, array<1 x i64>)>
    %x3 = llvm.insertvalue %c0, %x2[2] : !llvm.struct<(ptr, ptr, i64, array<1 x i64>, array<1 x i64>)>
    %x4 = llvm.insertvalue %n, %x3[3, 0] : !llvm.struct<(ptr, ptr, i64, array<1 x i64>, array<1 x i64>)>
    %x5 = llvm.insertvalue %c1, %x4[4, 0] : !llvm.struct<(ptr, ptr, i64, array<1 x i64>, array<1 x i64>)>
    %x = builtin.unrealized_conversion_cast %x5 : !llvm.struct<(ptr, ptr, i64, array<1 x i64>, array<1 x i64>)> to memref<?xf32>
    %y1 = llvm.insertvalue %yp, %u[0] : !llvm.struct<(ptr, ptr, i64, array<1 x i64>, array<1 x i64>)>
    %y2 = llvm.insertvalue %yp, %y1[1] : !llvm.struct<(ptr, ptr, i64, array<1 x i64>, array<1 x i64>)>
    %y3 = llvm.insertvalue %c0, %y2[2] : !llvm.struct<(ptr, ptr, i64, array<1 x i64>, array<1 x i64>)>
    %y4 = llvm.insertvalue %n, %y3[3, 0] : !llvm.struct<(ptr, ptr, i64, array<1 x i64>, array<1 x i64>)>
    %y5 = llvm.insertvalue %c1, %y4[4, 0] : !llvm.struct<(ptr, ptr, i64, array<1 x i64>, array<1 x i64>)>
    %y = builtin.unrealized_conversion_cast %y5 : !llvm.struct<(ptr, ptr, i64, array<1 x i64>, array<1 x i64>)> to memref<?xf32>
    func.call @relu_fwd_memref(%x, %y) : (memref<?xf32>, memref<?xf32>) -> ()
    %ok = arith.constant 0 : i32
    return %ok : i32
  }
}
