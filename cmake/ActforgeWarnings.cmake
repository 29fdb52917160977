# actforge_strict(<target>): our warning policy (-Wall -Wextra -Werror) and the sanitizer switch.
# Third-party headers come in as SYSTEM includes so their warnings never fail our build.
function(actforge_strict target)
  target_compile_options(${target} PRIVATE -Wall -Wextra -Werror -Wshadow -Wnon-virtual-dtor)
  if(ACTFORGE_SANITIZE)
    target_compile_options(${target} PRIVATE -fsanitize=address,undefined -fno-sanitize-recover=all
                                             -fno-omit-frame-pointer)
    target_link_options(${target} PRIVATE -fsanitize=address,undefined)
  endif()
endfunction()
