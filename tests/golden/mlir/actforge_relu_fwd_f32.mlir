// Actforge actforge_relu_fwd_f32: forward of f(x) = max(x, 0), f32 storage, computed in f32.
module {
  func.func private @actforge_relu_fwd_f32_element(%xv: vector<16xf32>) -> (vector<16xf32>) {
    %t0 = arith.constant dense<0x00000000> : vector<16xf32>
    %t1 = arith.cmpf ogt, %xv, %t0 : vector<16xf32>
    %t2 = arith.cmpf une, %xv, %xv : vector<16xf32>
    %t3 = arith.ori %t1, %t2 : vector<16xi1>
    %t4 = arith.select %t3, %xv, %t0 : vector<16xi1>, vector<16xf32>
    return %t4 : vector<16xf32>
  }
  func.func @actforge_relu_fwd_f32_memref(%x: memref<?xf32>, %y: memref<?xf32>) {
    %c0 = arith.constant 0 : index
    %lanes = arith.constant 16 : index
    %n = memref.dim %x, %c0 : memref<?xf32>
    %tail = arith.remui %n, %lanes : index
    %full = arith.subi %n, %tail : index
    %has_tail = arith.cmpi ugt, %tail, %c0 : index
    scf.for %i = %c0 to %full step %lanes {
      %l_x = vector.load %x[%i] : memref<?xf32>, vector<16xf32>
      %l_r:1 = func.call @actforge_relu_fwd_f32_element(%l_x) : (vector<16xf32>) -> (vector<16xf32>)
      vector.store %l_r#0, %y[%i] : memref<?xf32>, vector<16xf32>
    }
    scf.if %has_tail {
      %mask = vector.create_mask %tail : vector<16xi1>
      %pass = arith.constant dense<0.0> : vector<16xf32>
      %m_x = vector.maskedload %x[%full], %mask, %pass : memref<?xf32>, vector<16xi1>, vector<16xf32> into vector<16xf32>
      %m_r:1 = func.call @actforge_relu_fwd_f32_element(%m_x) : (vector<16xf32>) -> (vector<16xf32>)
      vector.maskedstore %y[%full], %mask, %m_r#0 : memref<?xf32>, vector<16xi1>, vector<16xf32>
    }
    return
  }
  func.func @actforge_relu_fwd_f32(%x_ptr: !llvm.ptr, %y_ptr: !llvm.ptr, %n: i64) -> i32 {
    %null = llvm.mlir.zero : !llvm.ptr
    %zero_i64 = arith.constant 0 : i64
    %one_i64 = arith.constant 1 : i64
    %rc_ok = arith.constant 0 : i32
    %rc_argument = arith.constant 1 : i32
    %rc_param = arith.constant 2 : i32
    %negative = arith.cmpi slt, %n, %zero_i64 : i64
    %some = arith.cmpi sgt, %n, %zero_i64 : i64
    %false = arith.constant false
    %null0 = llvm.icmp "eq" %x_ptr, %null : !llvm.ptr
    %null0_any = arith.ori %false, %null0 : i1
    %null1 = llvm.icmp "eq" %y_ptr, %null : !llvm.ptr
    %null1_any = arith.ori %null0_any, %null1 : i1
    %null_data = arith.andi %some, %null1_any : i1
    %bad_size = arith.ori %negative, %null_data : i1
    %rc_if_param = arith.select %false, %rc_param, %rc_ok : i32
    %rc = arith.select %bad_size, %rc_argument, %rc_if_param : i32
    %go = arith.cmpi eq, %rc, %rc_ok : i32
    scf.if %go {
      %undef = llvm.mlir.undef : !llvm.struct<(ptr, ptr, i64, array<1 x i64>, array<1 x i64>)>
      %x_d0 = llvm.insertvalue %x_ptr, %undef[0] : !llvm.struct<(ptr, ptr, i64, array<1 x i64>, array<1 x i64>)>
      %x_d1 = llvm.insertvalue %x_ptr, %x_d0[1] : !llvm.struct<(ptr, ptr, i64, array<1 x i64>, array<1 x i64>)>
      %x_d2 = llvm.insertvalue %zero_i64, %x_d1[2] : !llvm.struct<(ptr, ptr, i64, array<1 x i64>, array<1 x i64>)>
      %x_d3 = llvm.insertvalue %n, %x_d2[3, 0] : !llvm.struct<(ptr, ptr, i64, array<1 x i64>, array<1 x i64>)>
      %x_d4 = llvm.insertvalue %one_i64, %x_d3[4, 0] : !llvm.struct<(ptr, ptr, i64, array<1 x i64>, array<1 x i64>)>
      %x = builtin.unrealized_conversion_cast %x_d4 : !llvm.struct<(ptr, ptr, i64, array<1 x i64>, array<1 x i64>)> to memref<?xf32>
      %y_d0 = llvm.insertvalue %y_ptr, %undef[0] : !llvm.struct<(ptr, ptr, i64, array<1 x i64>, array<1 x i64>)>
      %y_d1 = llvm.insertvalue %y_ptr, %y_d0[1] : !llvm.struct<(ptr, ptr, i64, array<1 x i64>, array<1 x i64>)>
      %y_d2 = llvm.insertvalue %zero_i64, %y_d1[2] : !llvm.struct<(ptr, ptr, i64, array<1 x i64>, array<1 x i64>)>
      %y_d3 = llvm.insertvalue %n, %y_d2[3, 0] : !llvm.struct<(ptr, ptr, i64, array<1 x i64>, array<1 x i64>)>
      %y_d4 = llvm.insertvalue %one_i64, %y_d3[4, 0] : !llvm.struct<(ptr, ptr, i64, array<1 x i64>, array<1 x i64>)>
      %y = builtin.unrealized_conversion_cast %y_d4 : !llvm.struct<(ptr, ptr, i64, array<1 x i64>, array<1 x i64>)> to memref<?xf32>
      func.call @actforge_relu_fwd_f32_memref(%x, %y) : (memref<?xf32>, memref<?xf32>) -> ()
    }
    return %rc : i32
  }
}
