# What `cmake --install` puts where, and the Debian package (cpack -G DEB).
# Installed, the binary finds its fixtures at ../share/vhost-conform/fixtures
# (mock-frontend/mfe_fixtures.c) and vhost-refnet beside it (harness/backend.c).
install(TARGETS vhost-conform vhost-refnet RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
install(DIRECTORY ${PROJECT_SOURCE_DIR}/fixtures/
        DESTINATION ${CMAKE_INSTALL_DATADIR}/vhost-conform/fixtures)
# the pages harness/CMakeLists.txt makes, one per help page: the directory
# is read at install time, so a command added to help.c is installed too
set(man_dir ${PROJECT_BINARY_DIR}/harness/man)
set(man_pattern "vhost-conform*.1")
if(VHC_GZIP)
  string(APPEND man_pattern ".gz")
endif()
install(DIRECTORY ${man_dir}/ DESTINATION ${CMAKE_INSTALL_MANDIR}/man1
        FILES_MATCHING PATTERN "${man_pattern}")
install(FILES ${PROJECT_SOURCE_DIR}/scripts/vhost-conform.bash-completion
        DESTINATION ${CMAKE_INSTALL_DATADIR}/bash-completion/completions
        RENAME vhost-conform)
install(FILES ${PROJECT_SOURCE_DIR}/README.md ${PROJECT_SOURCE_DIR}/docs/reports.md
              ${PROJECT_SOURCE_DIR}/docs/dpdk-22.11.md ${PROJECT_SOURCE_DIR}/docs/ovs-dpdk.md
        DESTINATION ${CMAKE_INSTALL_DOCDIR})

set(CPACK_PACKAGE_NAME vhost-conform)
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_VENDOR "vhost-conform")
set(CPACK_PACKAGE_CONTACT "vhost-conform maintainers <vhost-conform@localhost>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "conformance suite for vhost-user back ends")
set(CPACK_PACKAGE_DESCRIPTION "vhost-conform plays QEMU's part against a vhost-user back end and
reports each case as TAP 14, JUnit and HTML. vhost-refnet is the reference back
end it runs against by default.")
set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SECTION devel)
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)   # libc6, libglib2.0-0, libedit2 (and the
                                         # sanitizers' runtimes for a VHC_SANITIZE build)
set(CPACK_DEBIAN_PACKAGE_SUGGESTS "dpdk, qemu-system-common, socat")
set(CPACK_STRIP_FILES OFF)
include(CPack)
