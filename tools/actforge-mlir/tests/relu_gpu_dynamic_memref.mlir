// Issue 7's first GPU sample: dynamic memref<?xf32> kernel arguments, which MLIR 19 cannot pass
// as bare pointers. actforge-mlir ptx must reject it with a message at the gpu.func.
module attributes {gpu.container_module} {
  gpu.module @relu_fwd_gpu {
    gpu.func @relu_fwd(%x: memref<?xf32>, %y: memref<?xf32>, %n: index) kernel {
      %i = gpu.thread_id x
      %xv = memref.load %x[%i] : memref<?xf32>
      memref.store %xv, %y[%i] : memref<?xf32>
      gpu.return
    }
  }
}
