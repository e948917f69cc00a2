# Installing the SDK (issue 7). Included from sdk/CMakeLists.txt.
#
#   include/warm/*.h, include/warm/version.h (generated), include/warm/wk.h
#   lib/libwarm.so.1 (soname number = ABI major), lib/libwarm.so
#   lib/libwarm_cuda.so.1           the CUDA backend, loaded on demand
#   lib/systemd/system/warmd.service
#   lib/pkgconfig/warm.pc           pkg-config --cflags --libs warm
#   lib/cmake/warm/                 find_package(warm) -> warm::sdk
#   bin/                            tools (each tool's own install rule)
#   lib/warmd/plugins/              shipped plugins (warm_add_plugin)
#   share/warmd/conf/               example configurations (conf/*.ini)
#   share/warmd/examples/           hello_encoder sources, to start from
#   share/doc/warmd/                docs/*.md and README.md
#   share/warmd/conf/               nginx-warmd.conf, k8s/
#
# Installed trees are relocatable: the .pc and CMake files locate the prefix
# from their own place, and binaries find libwarm through $ORIGIN rpaths.
include(CMakePackageConfigHelpers)

set(WARM_CMAKE_INSTALL_DIR ${CMAKE_INSTALL_LIBDIR}/cmake/warm)

set_target_properties(warm PROPERTIES EXPORT_NAME sdk)
install(TARGETS warm EXPORT warmTargets
  LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
  ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
  RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
install(DIRECTORY ${CMAKE_CURRENT_SOURCE_DIR}/include/warm
  DESTINATION ${CMAKE_INSTALL_INCLUDEDIR} FILES_MATCHING PATTERN "*.h")
install(FILES ${WARM_GENERATED_INCLUDE}/warm/version.h
  DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/warm)
install(FILES ${PROJECT_SOURCE_DIR}/kernels/include/wk.h
  DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/warm)

install(EXPORT warmTargets NAMESPACE warm:: FILE warmTargets.cmake
  DESTINATION ${WARM_CMAKE_INSTALL_DIR})
configure_package_config_file(${CMAKE_CURRENT_SOURCE_DIR}/cmake/warmConfig.cmake.in
  ${CMAKE_CURRENT_BINARY_DIR}/warmConfig.cmake
  INSTALL_DESTINATION ${WARM_CMAKE_INSTALL_DIR}
  PATH_VARS CMAKE_INSTALL_INCLUDEDIR WARM_PLUGIN_INSTALL_DIR)
# A plugin built for SDK 1.x loads in any 1.y host with y >= x (see
# docs/plugin-guide.md), so the package answers any request of its major.
write_basic_package_version_file(${CMAKE_CURRENT_BINARY_DIR}/warmConfigVersion.cmake
  VERSION ${PROJECT_VERSION} COMPATIBILITY SameMajorVersion)
install(FILES ${CMAKE_CURRENT_BINARY_DIR}/warmConfig.cmake
  ${CMAKE_CURRENT_BINARY_DIR}/warmConfigVersion.cmake
  DESTINATION ${WARM_CMAKE_INSTALL_DIR})

configure_file(${CMAKE_CURRENT_SOURCE_DIR}/cmake/warm.pc.in
  ${CMAKE_CURRENT_BINARY_DIR}/warm.pc @ONLY)
install(FILES ${CMAKE_CURRENT_BINARY_DIR}/warm.pc
  DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig)

# The example configurations, their plugin_dir pointed at this prefix's
# plugins: the demo configs relatively (the tree stays relocatable), warmd.ini (the
# reference for /etc/warmd) by the absolute path given at install time.
file(RELATIVE_PATH WARM_CONF_TO_PLUGINS /${CMAKE_INSTALL_DATADIR}/warmd/conf
     /${WARM_PLUGIN_INSTALL_DIR})
file(GLOB WARM_CONF_EXAMPLES ${PROJECT_SOURCE_DIR}/conf/*.ini)
foreach(ini ${WARM_CONF_EXAMPLES})
  get_filename_component(ini_name ${ini} NAME)
  if(ini_name MATCHES "^demo")
    set(dir_value "${WARM_CONF_TO_PLUGINS}")
  else()
    set(dir_value "\${CMAKE_INSTALL_PREFIX}/${WARM_PLUGIN_INSTALL_DIR}")
  endif()
  set(out ${CMAKE_CURRENT_BINARY_DIR}/conf-installed/${ini_name})
  install(CODE "
    file(READ \"${ini}\" text)
    string(REGEX REPLACE \"\nplugin_dir = [^\n;]*\" \"\nplugin_dir = ${dir_value} \"
           text \"\${text}\")
    file(WRITE \"${out}\" \"\${text}\")")
  install(FILES ${out} DESTINATION ${CMAKE_INSTALL_DATADIR}/warmd/conf)
endforeach()
install(FILES ${CMAKE_CURRENT_SOURCE_DIR}/examples/hello_encoder/CMakeLists.txt
  ${CMAKE_CURRENT_SOURCE_DIR}/examples/hello_encoder/hello_encoder.c
  DESTINATION ${CMAKE_INSTALL_DATADIR}/warmd/examples/hello_encoder)
# Every page of docs/ (operations, deploy, http, plugin guide, ...) and the
# README, so an installed tree documents itself.
file(GLOB WARM_DOCS ${PROJECT_SOURCE_DIR}/docs/*.md)
install(FILES ${WARM_DOCS} ${PROJECT_SOURCE_DIR}/README.md
  DESTINATION ${CMAKE_INSTALL_DOCDIR})
install(DIRECTORY ${PROJECT_SOURCE_DIR}/conf/k8s
  DESTINATION ${CMAKE_INSTALL_DATADIR}/warmd/conf)
install(FILES ${PROJECT_SOURCE_DIR}/conf/nginx-warmd.conf
  DESTINATION ${CMAKE_INSTALL_DATADIR}/warmd/conf)

# Relative rpaths for every installed executable and plugin, set once the
# whole tree is configured (targets of host/ and plugins/ do not exist yet
# here). A target that sets INSTALL_RPATH itself is left alone.
function(warm_collect_targets dir out)
  get_property(t DIRECTORY ${dir} PROPERTY BUILDSYSTEM_TARGETS)
  get_property(subs DIRECTORY ${dir} PROPERTY SUBDIRECTORIES)
  foreach(s ${subs})
    warm_collect_targets(${s} st)
    list(APPEND t ${st})
  endforeach()
  set(${out} ${t} PARENT_SCOPE)
endfunction()
function(warm_set_install_rpaths)
  warm_collect_targets(${PROJECT_SOURCE_DIR} all)
  file(RELATIVE_PATH bin_to_lib /${CMAKE_INSTALL_BINDIR} /${CMAKE_INSTALL_LIBDIR})
  file(RELATIVE_PATH sbin_to_lib /${CMAKE_INSTALL_SBINDIR} /${CMAKE_INSTALL_LIBDIR})
  file(RELATIVE_PATH plug_to_lib /${WARM_PLUGIN_INSTALL_DIR} /${CMAKE_INSTALL_LIBDIR})
  foreach(t ${all})
    get_target_property(type ${t} TYPE)
    get_target_property(have ${t} INSTALL_RPATH)
    if(have)
      continue()
    endif()
    if(type STREQUAL "EXECUTABLE")
      # bin/ and sbin/ sit at the same depth under the prefix
      set_target_properties(${t} PROPERTIES INSTALL_RPATH "$ORIGIN/${bin_to_lib}")
    elseif(type STREQUAL "MODULE_LIBRARY")
      set_target_properties(${t} PROPERTIES INSTALL_RPATH "$ORIGIN/${plug_to_lib}")
    endif()
  endforeach()
endfunction()
cmake_language(DEFER DIRECTORY ${PROJECT_SOURCE_DIR} CALL warm_set_install_rpaths)

# The systemd unit, its ExecStart pointing at the warmd of the prefix given
# at install time (cmake --install --prefix P), hence written then.
set(WARM_UNIT_OUT ${CMAKE_CURRENT_BINARY_DIR}/warmd.service.installed)
install(CODE "
  file(READ \"${PROJECT_SOURCE_DIR}/conf/warmd.service\" unit)
  string(REPLACE \"/usr/bin/warmd\"
         \"\${CMAKE_INSTALL_PREFIX}/${CMAKE_INSTALL_BINDIR}/warmd\" unit \"\${unit}\")
  file(WRITE \"${WARM_UNIT_OUT}\" \"\${unit}\")")
install(FILES ${WARM_UNIT_OUT} DESTINATION ${CMAKE_INSTALL_LIBDIR}/systemd/system
  RENAME warmd.service)
