// A kernel that needs libdevice: math.exp lowers to a call of __nv_expf. Its arguments are
// static-shaped memrefs, which the bare-pointer convention passes as one pointer each.
module attributes {gpu.container_module} {
  gpu.module @exp_fwd_gpu {
    gpu.func @exp_fwd(%x: memref<1024xf32>, %y: memref<1024xf32>) kernel {
      %bid = gpu.block_id x
      %bdim = gpu.block_dim x
      %tid = gpu.thread_id x
      %base = arith.muli %bid, %bdim : index
      %i = arith.addi %base, %tid : index
      %n = arith.constant 1024 : index
      %inside = arith.cmpi slt, %i, %n : index
      scf.if %inside {
        %xv = memref.load %x[%i] : memref<1024xf32>
        %e = math.exp %xv : f32
        memref.store %e, %y[%i] : memref<1024xf32>
      }
      gpu.return
    }
  }
}
