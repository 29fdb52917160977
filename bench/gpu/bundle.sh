#!/usr/bin/env bash
# Builds (Release) what bench/gpu/run.sh runs on a GPU machine that has no Halide, LLVM, Boost,
# GoogleTest or Google Benchmark — the actforge CLI, the CUDA test binaries (label cuda or
# cuda-compile: cuda_test, aot_cuda_test, cuda_compile_test, those that exist) and
# actforge_gpu_bench — and packs them with every shared library they need that a CUDA Ubuntu image
# may lack, plus GNU ld (the JIT links kernels with `ld` from PATH), into ONE archive:
#
#   bench/gpu/bundle.sh [BUILD_DIR]     # default <repo>/build-gpu; writes <repo>/.gpu-bundle/
#
# Archive layout: bin/ (programs, ld), lib/ (libraries), lib/fallback/ (libstdc++, libgcc_s: used
# by run.sh only where the machine's are too old), share/activations.csv, MANIFEST (what, from
# where, the glibc versions needed). Left out on purpose: glibc (libc, libm, libdl, libpthread,
# librt, ld-linux), the NVIDIA driver (libcuda.so.1) and cuDNN (the benchmark opens the machine's
# libcudnn.so.9 if there is one; ~300 MB, too big to carry).
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
build=$(realpath -m "${1:-$root/build-gpu}")
dest=$root/.gpu-bundle
jobs=${JOBS:-$(nproc)}
stamp() { printf '[%s] %s\n' "$(date +%T)" "$*"; }

stamp "configure $build (Release, tests and benchmarks on)"
# -Wno-error=restrict: GCC 12's false -Wrestrict in libstdc++ at -O3 (see bench/run.sh).
cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DACTFORGE_BUILD_BENCH=ON \
  -DACTFORGE_BUILD_TESTS=ON -DCMAKE_CXX_FLAGS=-Wno-error=restrict >/dev/null

targets=(actforge actforge_gpu_bench actforge_gpu_warm_cache)
tests=()
all_targets=$(cmake --build "$build" --target help)
for t in cuda_test aot_cuda_test; do # cuda_compile_test needs no GPU: it runs here
  if grep -q "^$t:" <<<"$all_targets"; then
    targets+=("$t")
    tests+=("$t")
  fi
done
if ! grep -q '^actforge_gpu_bench:' <<<"$all_targets"; then
  echo "bundle.sh: actforge_gpu_bench is not configured (no CUDA toolkit at /usr/local/cuda?)" >&2
  exit 1
fi
stamp "build ${targets[*]} (-j$jobs)"
cmake --build "$build" --target "${targets[@]}" -j"$jobs"

stage=$(mktemp -d /tmp/actforge-gpu-bundle.XXXXXX)
trap 'rm -rf "$stage"' EXIT
mkdir -p "$stage/bin" "$stage/lib/fallback" "$stage/share"
programs=(actforge actforge_gpu_bench "${tests[@]}")
for p in "${programs[@]}"; do
  cp "$build/bin/$p" "$stage/bin/"
done
ld_bfd=$(command -v ld.bfd || true)
[[ -n $ld_bfd ]] || {
  echo "bundle.sh: no ld.bfd here" >&2
  exit 1
}
cp "$(realpath "$ld_bfd")" "$stage/bin/ld"
strip --strip-debug "$stage/bin/"* 2>/dev/null || true
cp "$root/tests/golden/activations.csv" "$stage/share/"

# Every kernel the GPU run asks for, compiled here into a JIT disk cache that travels with the
# bundle: the GPU machine's minutes go to running kernels, not to compiling them.
stamp "compile every CUDA kernel into the bundle's kernel cache (-j$jobs)"
mkdir -p "$stage/cache" && chmod 700 "$stage/cache"
ACTFORGE_CACHE_DIR=$stage/cache "$build/bin/actforge_gpu_warm_cache" "$jobs"

# The shared libraries: ldd's closure of every program, less glibc (the machine's own must be
# used), the driver, and libstdc++/libgcc_s (kept apart in lib/fallback).
stamp "collect shared libraries"
declare -A seen=()
for f in "$stage/bin/"*; do
  while read -r name _ path _; do
    [[ $path == /* ]] || continue
    case $name in
    linux-vdso* | ld-linux* | libc.so* | libm.so* | libdl.so* | libpthread.so* | librt.so* | \
      libutil.so* | libresolv.so* | libcuda.so* | libnvidia*) continue ;;
    libstdc++.so* | libgcc_s.so*) dir=lib/fallback ;;
    *) dir=lib ;;
    esac
    [[ -n ${seen[$name]:-} ]] && continue
    seen[$name]=1
    cp -L "$path" "$stage/$dir/$name"
  done < <(ldd "$f")
done
strip --strip-unneeded "$stage/lib/"*.so* "$stage/lib/fallback/"*.so* 2>/dev/null || true

# Debian 12's libLLVM-14 takes arc4random from glibc 2.36; Ubuntu 22.04 has 2.35. Mark every
# GLIBC_2.36+ requirement of the bundled files weak (the loader then only notes it: the binding is
# lazy) and build lib/compat/libactforge_glibc_compat.so, which defines arc4random@GLIBC_2.36 from
# getrandom(); run.sh preloads it where the machine's glibc is older.
stamp "mark GLIBC_2.36+ requirements weak"
python3 - "$stage/bin/"* "$stage/lib/"*.so* "$stage/lib/fallback/"*.so* <<'EOF'
import struct, sys
VER_FLG_WEAK = 2
for path in sys.argv[1:]:
    data = bytearray(open(path, "rb").read())
    if data[:4] != b"\x7fELF" or data[4] != 2:
        continue
    shoff, = struct.unpack_from("<Q", data, 0x28)
    shentsize, shnum, shstrndx = struct.unpack_from("<HHH", data, 0x3A)
    sections = [struct.unpack_from("<IIQQQQIIQQ", data, shoff + i * shentsize) for i in range(shnum)]
    patched = []
    for sh in sections:
        if sh[1] != 0x6FFFFFFE:  # SHT_GNU_verneed
            continue
        strtab = sections[sh[6]][4]  # sh_link -> .dynstr offset
        off = sh[4]
        while True:
            vn_version, vn_cnt, vn_file, vn_aux, vn_next = struct.unpack_from("<HHIII", data, off)
            aux = off + vn_aux
            for _ in range(vn_cnt):
                vna_hash, vna_flags, vna_other, vna_name, vna_next = struct.unpack_from("<IHHII", data, aux)
                name = data[strtab + vna_name:data.index(0, strtab + vna_name)].decode()
                if name.startswith("GLIBC_2.") and int(name.split(".")[1]) >= 36:
                    struct.pack_into("<H", data, aux + 4, vna_flags | VER_FLG_WEAK)
                    patched.append(name)
                if not vna_next:
                    break
                aux += vna_next
            if not vn_next:
                break
            off += vn_next
    if patched:
        open(path, "wb").write(data)
        print(f"  {path.split('/')[-1]}: {', '.join(sorted(set(patched)))} weak")
EOF
mkdir -p "$stage/lib/compat"
cat >"$stage/lib/compat/compat.c" <<'EOF'
#include <stdint.h>
#include <sys/random.h>
uint32_t actforge_arc4random(void) {
  uint32_t v = 0;
  while (getrandom(&v, sizeof v, 0) != (long)sizeof v) {
  }
  return v;
}
__asm__(".symver actforge_arc4random, arc4random@@GLIBC_2.36");
EOF
printf 'GLIBC_2.36 { global: arc4random; local: *; };\n' >"$stage/lib/compat/compat.map"
gcc -O2 -shared -fPIC -Wl,--version-script="$stage/lib/compat/compat.map" \
  -o "$stage/lib/compat/libactforge_glibc_compat.so" "$stage/lib/compat/compat.c"
rm "$stage/lib/compat/compat.c" "$stage/lib/compat/compat.map"

# What the machine must provide: the newest glibc symbol version any of them needs.
glibc=$(for f in "$stage/bin/"* "$stage/lib/"*.so*; do readelf -V "$f" 2>/dev/null; done |
  grep -o 'Name: GLIBC_[0-9.]*  Flags: none' | grep -o 'GLIBC_[0-9.]*' | sort -uV | tail -1)
glibcxx=$(for f in "$stage/bin/"* "$stage/lib/"*.so*; do objdump -T "$f" 2>/dev/null; done |
  grep -o 'GLIBCXX_[0-9.]*' | sort -uV | tail -1)
{
  echo "actforge GPU bundle, built $(date -u +%FT%TZ) on $(hostname) from $root"
  echo "git: $(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo '?')$(git -C "$root" diff --quiet 2>/dev/null || echo ' (working tree modified)')"
  echo "source_dir: $root"
  echo "build_dir: $build"
  echo "tests: ${tests[*]}"
  echo "needs: glibc >= ${glibc#GLIBC_} (GLIBC_2.36+ weak, lib/compat for arc4random; this machine: $(ldd --version | head -1 | grep -o '[0-9.]*$')), NVIDIA driver (libcuda.so.1)"
  echo "libstdc++: needs ${glibcxx}; lib/fallback has this machine's copy"
  echo "files:"
  (cd "$stage" && find . -type f -printf '  %p %s\n' | sort)
} >"$stage/MANIFEST"

mkdir -p "$dest"
stamp "compress (xz -9 -T2)"
rm -f "$dest/bundle.tar.xz.tmp"
tar -C "$stage" -cf - . | xz -9 -T2 >"$dest/bundle.tar.xz.tmp"
mv "$dest/bundle.tar.xz.tmp" "$dest/bundle.tar.xz"
cp "$stage/MANIFEST" "$dest/MANIFEST"
size=$(stat -c %s "$dest/bundle.tar.xz")
stamp "wrote $dest/bundle.tar.xz: $((size / 1024 / 1024)) MiB ($size bytes), unpacked $(du -sh "$stage" | cut -f1)"
if ((size > 55 * 1024 * 1024)); then
  echo "bundle.sh: the bundle is over 55 MiB: it will not travel with the working tree" >&2
  exit 1
fi
