# cmake/mingw-w64-x86_64.cmake - CMake toolchain file for the Windows x64 build
# of mdmhealth with Debian's mingw-w64 cross compilers.
#
#   scripts/cross-deps            # once: builds the static Windows libraries
#   cmake -S . -B build-win -DCMAKE_TOOLCHAIN_FILE=cmake/mingw-w64-x86_64.cmake
#   cmake --build build-win -j2
#
# The dependency prefix (include/, lib/, lib/pkgconfig/) is, in this order:
#   -DMDM_WIN_DEPS=DIR, the environment variable MDM_WIN_DEPS (set by
#   `. ~/.cache/mdmhealth/cross/env.sh`), or scripts/cross-deps' default
#   ${MDM_CROSS_CACHE:-$HOME/.cache/mdmhealth/cross}/x86_64-w64-mingw32.
#
# pkg-config is pointed at that prefix only (never at the build machine's
# Linux .pc files) and is run with --static, because every library there is
# static: Libs.private (ws2_32, crypt32, bcrypt, ...) is part of the link.
# See docs/windows-build.md.

set(CMAKE_SYSTEM_NAME Windows)
set(CMAKE_SYSTEM_PROCESSOR AMD64)

set(MDM_WIN_HOST x86_64-w64-mingw32)

# Prefer the posix-threads variant (libwinpthread); fall back to the default.
find_program(MDM_WIN_CC NAMES ${MDM_WIN_HOST}-gcc-posix ${MDM_WIN_HOST}-gcc)
find_program(MDM_WIN_CXX NAMES ${MDM_WIN_HOST}-g++-posix ${MDM_WIN_HOST}-g++)
if(NOT MDM_WIN_CC)
  message(FATAL_ERROR "${MDM_WIN_HOST}-gcc not found: run scripts/cross-deps "
                      "(it installs Debian's gcc-mingw-w64-x86-64)")
endif()
set(CMAKE_C_COMPILER ${MDM_WIN_CC})
if(MDM_WIN_CXX)
  set(CMAKE_CXX_COMPILER ${MDM_WIN_CXX})
endif()
find_program(MDM_WIN_RC NAMES ${MDM_WIN_HOST}-windres)
if(MDM_WIN_RC)
  set(CMAKE_RC_COMPILER ${MDM_WIN_RC})
endif()

# --- the dependency prefix ----------------------------------------------------
if(NOT MDM_WIN_DEPS)
  if(DEFINED ENV{MDM_WIN_DEPS} AND NOT "$ENV{MDM_WIN_DEPS}" STREQUAL "")
    set(MDM_WIN_DEPS "$ENV{MDM_WIN_DEPS}")
  elseif(DEFINED ENV{MDM_CROSS_CACHE} AND NOT "$ENV{MDM_CROSS_CACHE}" STREQUAL "")
    set(MDM_WIN_DEPS "$ENV{MDM_CROSS_CACHE}/${MDM_WIN_HOST}")
  else()
    set(MDM_WIN_DEPS "$ENV{HOME}/.cache/mdmhealth/cross/${MDM_WIN_HOST}")
  endif()
endif()
set(MDM_WIN_DEPS "${MDM_WIN_DEPS}" CACHE PATH
    "Prefix of the static Windows dependencies (scripts/cross-deps)")
# try_compile() projects read this file again: hand the value down.
set(ENV{MDM_WIN_DEPS} "${MDM_WIN_DEPS}")
list(APPEND CMAKE_TRY_COMPILE_PLATFORM_VARIABLES MDM_WIN_DEPS)

if(NOT EXISTS "${MDM_WIN_DEPS}/lib/pkgconfig")
  message(WARNING "mingw-w64 toolchain: no ${MDM_WIN_DEPS}/lib/pkgconfig; "
                  "run scripts/cross-deps or set MDM_WIN_DEPS")
endif()

# Find programs on the build machine, libraries and headers only in the
# mingw sysroot and the dependency prefix.
set(CMAKE_FIND_ROOT_PATH /usr/${MDM_WIN_HOST} "${MDM_WIN_DEPS}")
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE ONLY)

# --- pkg-config: the cross .pc files only, with --static ----------------------
set(ENV{PKG_CONFIG_LIBDIR} "${MDM_WIN_DEPS}/lib/pkgconfig")
set(ENV{PKG_CONFIG_PATH} "")
# The .pc files hold absolute paths already: no sysroot to prepend.
set(ENV{PKG_CONFIG_SYSROOT_DIR} "")
# Read by FindPkgConfig (CMake >= 3.22) on every pkg-config call.
set(PKG_CONFIG_ARGN "--static" CACHE STRING "Arguments to supply to pkg-config")
# CMake < 3.22 ignores PKG_CONFIG_ARGN; pkg_check_modules() then drops
# Libs.private and the link misses the Windows system libraries.

# --- a self-contained .exe: no libgcc/libstdc++/libwinpthread DLLs ------------
set(CMAKE_EXE_LINKER_FLAGS_INIT "-static -static-libgcc -static-libstdc++")
set(CMAKE_SHARED_LINKER_FLAGS_INIT "-static-libgcc -static-libstdc++")
set(CMAKE_MODULE_LINKER_FLAGS_INIT "-static-libgcc -static-libstdc++")

# Not set here: CMAKE_CROSSCOMPILING_EMULATOR. Pass -DCMAKE_CROSSCOMPILING_EMULATOR=wine
# to let ctest (and try_run) run the .exe files under Wine.
