# Shared by the examples' ctest drivers (run_example.cmake): run() a command or stop, and
# install_actforge(), a fresh Actforge installation from BUILD_DIR under WORK_DIR/prefix
# (sets `prefix` in the caller).
function(run)
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE rc)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "failed (${rc}): ${ARGN}")
  endif()
endfunction()

macro(install_actforge)
  file(REMOVE_RECURSE "${WORK_DIR}")
  set(prefix "${WORK_DIR}/prefix")
  run(${CMAKE_COMMAND} --install "${BUILD_DIR}" --prefix "${prefix}")
endmacro()
