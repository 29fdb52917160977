// relu forward for NVIDIA (issue 7's sample): a grid-stride loop with a scalar f32 body. The
// kernel takes (ptr x, ptr y, i64 n) and builds its memrefs from the pointers, as the CPU C ABI
// wrapper does: MLIR 19's bare-pointer convention rejects dynamic memref<?xf32> arguments.
!desc = !llvm.struct<(ptr, ptr, i64, array<1 x i64>, array<1 x i64>)>
module attributes {gpu.container_module} {
  gpu.module @relu_fwd_gpu {
    gpu.func @relu_fwd(%xp: !llvm.ptr, %yp: !llvm.ptr, %n: index) kernel {
      %n64 = arith.index_cast %n : index to i64
      %c0 = llvm.mlir.constant(0 : i64) : i64
      %c1 = llvm.mlir.constant(1 : i64) : i64
      %u = llvm.mlir.undef : !desc
      %x1 = llvm.insertvalue %xp, %u[0] : !desc
      %x2 = llvm.insertvalue %xp, %x1[1] : !desc
      %x3 = llvm.insertvalue %c0, %x2[2] : !desc
      %x4 = llvm.insertvalue %n64, %x3[3, 0] : !desc
      %x5 = llvm.insertvalue %c1, %x4[4, 0] : !desc
      %x = builtin.unrealized_conversion_cast %x5 : !desc to memref<?xf32>
      %y1 = llvm.insertvalue %yp, %u[0] : !desc
      %y2 = llvm.insertvalue %yp, %y1[1] : !desc
      %y3 = llvm.insertvalue %c0, %y2[2] : !desc
      %y4 = llvm.insertvalue %n64, %y3[3, 0] : !desc
      %y5 = llvm.insertvalue %c1, %y4[4, 0] : !desc
      %y = builtin.unrealized_conversion_cast %y5 : !desc to memref<?xf32>
      %bid = gpu.block_id x
      %bdim = gpu.block_dim x
      %tid = gpu.thread_id x
      %gdim = gpu.grid_dim x
      %base = arith.muli %bid, %bdim : index
      %start = arith.addi %base, %tid : index
      %stride = arith.muli %gdim, %bdim : index
      scf.for %i = %start to %n step %stride {
        %xv = memref.load %x[%i] : memref<?xf32>
        %z = arith.constant 0.0 : f32
        %c = arith.cmpf ogt, %xv, %z : f32
        %t = arith.select %c, %xv, %z : f32
        // NaN in, NaN out (ACTIVATIONS.md): x > 0 is false for NaN.
        %isnan = arith.cmpf uno, %xv, %xv : f32
        %r = arith.select %isnan, %xv, %t : f32
        memref.store %r, %y[%i] : memref<?xf32>
      }
      gpu.return
    }
  }
}
