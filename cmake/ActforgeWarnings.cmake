# actforge_strict(<target>): our warning policy (-Wall -Wextra -Werror) and the sanitizer switch.
# Third-party headers come in as SYSTEM includes so their warnings never fail our build.
function(actforge_strict target)
  target_compile_options(${target} PRIVATE -Wall -Wextra -Werror -Wshadow -Wnon-virtual-dtor)
  if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU" AND CMAKE_CXX_COMPILER_VERSION VERSION_LESS 13)
    # GCC 12 at -O3 reports a false -Wrestrict inside std::string's operator+ (GCC bug 105329):
    # keep the warning, not as an error.
    target_compile_options(${target} PRIVATE -Wno-error=restrict)
  endif()
  if(ACTFORGE_SANITIZE)
    # GCC 12's flow analysis reports false maybe-uninitialized warnings inside libstdc++ (<regex>,
    # std::function) once ASan instrumentation is in: keep the warning, not as an error.
    target_compile_options(${target} PRIVATE -fsanitize=address,undefined -fno-sanitize-recover=all
                                             -fno-omit-frame-pointer -Wno-error=maybe-uninitialized)
    target_link_options(${target} PRIVATE -fsanitize=address,undefined)
  endif()
endfunction()
