# Finds the system libraries Starling builds on. Each one comes from a Debian
# 12 package; when a header or library is missing, configuration stops and
# names the package to install.

include(CheckCXXSourceCompiles)

# Defines the imported target starling::NAME from a header and a library.
function(starling_require NAME HEADER LIBRARY PACKAGE)
  find_path(${NAME}_INCLUDE_DIR ${HEADER})
  if(NOT ${NAME}_INCLUDE_DIR)
    message(FATAL_ERROR "${HEADER} not found: install the Debian package ${PACKAGE} (apt-get install ${PACKAGE})")
  endif()
  if(LIBRARY)
    find_library(${NAME}_LIBRARY ${LIBRARY})
    if(NOT ${NAME}_LIBRARY)
      message(FATAL_ERROR "library ${LIBRARY} not found: install the Debian package ${PACKAGE} (apt-get install ${PACKAGE})")
    endif()
    add_library(starling::${NAME} UNKNOWN IMPORTED GLOBAL)
    set_target_properties(starling::${NAME} PROPERTIES
      IMPORTED_LOCATION "${${NAME}_LIBRARY}"
      INTERFACE_INCLUDE_DIRECTORIES "${${NAME}_INCLUDE_DIR}")
  else()
    add_library(starling::${NAME} INTERFACE IMPORTED GLOBAL)
    set_target_properties(starling::${NAME} PROPERTIES
      INTERFACE_INCLUDE_DIRECTORIES "${${NAME}_INCLUDE_DIR}")
  endif()
endfunction()

find_package(Threads REQUIRED)

starling_require(caf_core caf/all.hpp caf_core libcaf-dev)
starling_require(caf_io caf/io/all.hpp caf_io libcaf-dev)
starling_require(expat expat.h expat libexpat1-dev)
starling_require(lmdb lmdb.h lmdb liblmdb-dev)
starling_require(idn stringprep.h idn libidn-dev)
starling_require(tomlplusplus toml++/toml.h "" libtomlplusplus-dev)
starling_require(cli11 CLI/CLI.hpp "" libcli11-dev)

set_property(TARGET starling::caf_core APPEND PROPERTY INTERFACE_LINK_LIBRARIES Threads::Threads)
set_property(TARGET starling::caf_io APPEND PROPERTY INTERFACE_LINK_LIBRARIES starling::caf_core)

find_package(OpenSSL 3.0)
if(NOT OPENSSL_FOUND)
  message(FATAL_ERROR "OpenSSL 3 not found: install the Debian package libssl-dev (apt-get install libssl-dev)")
endif()

find_package(fmt CONFIG QUIET)
if(NOT fmt_FOUND)
  message(FATAL_ERROR "fmt not found: install the Debian package libfmt-dev (apt-get install libfmt-dev)")
endif()

find_package(spdlog CONFIG QUIET)
if(NOT spdlog_FOUND)
  message(FATAL_ERROR "spdlog not found: install the Debian package libspdlog-dev (apt-get install libspdlog-dev)")
endif()

if(STARLING_TESTS)
  find_package(Boost 1.74 QUIET COMPONENTS unit_test_framework)
  if(NOT Boost_FOUND)
    message(FATAL_ERROR "Boost.Test not found: install the Debian package libboost-test-dev (apt-get install libboost-test-dev)")
  endif()
endif()
