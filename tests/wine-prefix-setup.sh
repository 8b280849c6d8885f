#!/bin/sh
# tests/wine-prefix-setup.sh PREFIX - makes the Wine prefix that the Windows
# tests share (the ctest fixture wine_prefix): wineboot, then a Service
# Control Manager start timeout of 60 s (ServicesPipeTimeout, as on Windows;
# Wine's own default is shorter), so that a service started while the
# machine is busy with other tests is not reported as error 1053.
# Without wine, says so and succeeds: the Windows tests then skip.
if ! command -v wine >/dev/null 2>&1; then
    echo "wine is not installed: the Windows tests skip"
    exit 0
fi
export WINEPREFIX="$1" WINEDEBUG=-all WINEDLLOVERRIDES='mscoree,mshtml='
wineboot -i || exit 1
wine reg add 'HKLM\System\CurrentControlSet\Control' /v ServicesPipeTimeout /t REG_DWORD \
    /d 60000 /f >/dev/null || exit 1
wineserver -w
