# The installed package: `cmake --install` writes <prefix>/lib/cmake/Actforge/ so that another
# project's find_package(Actforge CONFIG) finds the actforge executable and actforge_add_kernels().
include(CMakePackageConfigHelpers)
set(ACTFORGE_PACKAGE_DIR lib/cmake/Actforge)
install(EXPORT ActforgeTargets NAMESPACE Actforge:: DESTINATION ${ACTFORGE_PACKAGE_DIR})
configure_package_config_file(${CMAKE_CURRENT_LIST_DIR}/ActforgeConfig.cmake.in
                              ${CMAKE_BINARY_DIR}/ActforgeConfig.cmake
                              INSTALL_DESTINATION ${ACTFORGE_PACKAGE_DIR})
write_basic_package_version_file(${CMAKE_BINARY_DIR}/ActforgeConfigVersion.cmake
                                 COMPATIBILITY SameMinorVersion)
install(FILES ${CMAKE_BINARY_DIR}/ActforgeConfig.cmake ${CMAKE_BINARY_DIR}/ActforgeConfigVersion.cmake
              ${CMAKE_CURRENT_LIST_DIR}/ActforgeKernels.cmake
        DESTINATION ${ACTFORGE_PACKAGE_DIR})
