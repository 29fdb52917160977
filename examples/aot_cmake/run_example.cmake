# The aot_cmake example as a test: install Actforge from BUILD_DIR into a fresh prefix under
# WORK_DIR, then configure, build and run the example project against that installation only.
#   cmake -DBUILD_DIR=... -DSOURCE_DIR=... -DWORK_DIR=... -DGENERATOR=... -P run_example.cmake
include(${CMAKE_CURRENT_LIST_DIR}/../example_common.cmake)
install_actforge()
run(${CMAKE_COMMAND} -S "${SOURCE_DIR}" -B "${WORK_DIR}/build" -G "${GENERATOR}"
    -DCMAKE_PREFIX_PATH=${prefix} -DCMAKE_FIND_USE_PACKAGE_REGISTRY=OFF
    -DCMAKE_BUILD_TYPE=RelWithDebInfo)
run(${CMAKE_COMMAND} --build "${WORK_DIR}/build")
run("${WORK_DIR}/build/aot_host")
