#!/bin/sh
# tests/wine-suite.sh - runs one cross-built GoogleTest suite (.exe) under Wine
# for ctest (the mdm_tests_wine_* entries of tests/CMakeLists.txt).
#
#   wine-suite.sh EXE WINEPREFIX [gtest arguments...]
#
# Exit status: the suite's own (GoogleTest exits 1 when a test failed), or 77
# - ctest's SKIP_RETURN_CODE - when wine or the .exe is absent, saying why.
set -u
exe=$1
prefix=$2
shift 2

if ! command -v wine >/dev/null 2>&1; then
    echo "wine is not installed (apt-get install wine): $exe skipped"
    exit 77
fi
if [ ! -f "$exe" ]; then
    echo "$exe is absent: build the Windows side with scripts/build-windows"
    exit 77
fi
# The .exe is run from a directory on drive Z: (the Linux file system), so
# that the compiled-in Linux paths of the test data (/work/...) resolve there.
cd "$(dirname "$exe")" || exit 1
WINEPREFIX=$prefix WINEDEBUG=-all WINEDLLOVERRIDES='mscoree,mshtml=' wine "$exe" "$@"
rc=$?
echo "$(basename "$exe") under Wine: exit status $rc"
exit $rc
