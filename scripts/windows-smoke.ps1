<#
.SYNOPSIS
    Verifies an install of mdmhealth on a real Windows Server (an SCMDM 2008
    DM server, Windows Server 2008 R2 to 2022), end to end.

.DESCRIPTION
    Run it as an administrator on the server where mdmhealth is installed.
    Every check prints PASS, FAIL, WARN or CHECK (something to verify by hand
    at the NMS); the summary at the end decides the exit status.

    1. The service: "mdmhealth" exists, runs as NT AUTHORITY\NetworkService,
       starts automatically and is running; mdmhealth.exe and the
       configuration are found from the service's command line.
    2. The configuration: `mdmhealth.exe check` accepts it, and it watches the
       Windows channel (no `source` line).
    3. The event log: the "Mobile Device Manager" log with the source
       "Device Manager" exists; it is created if absent (not with
       -NoCreateLog). On an SCMDM server MDM itself has registered both.
    4. The monitor and the notifications: the script writes event 1003
       (error: the DM server cannot connect to the Enrollment Server) to that
       log as "Device Manager", reads it back and checks that it satisfies the
       management pack's SecondExpression; then, after a pause, event 1004
       (the connection works again), which satisfies the FirstExpression.
       By default it listens on udp 127.0.0.1:TrapPort and decodes the
       SNMPv2c notifications that mdmhealth sends there: PASS when
       mdmAlertRaised arrives for the 1003 record and mdmAlertResolved for the
       1004 record, each within -TimeoutSeconds. mdmhealth.conf needs a line
           trap2sink 127.0.0.1:10162 COMMUNITY
       (or informsink: the script acknowledges informs) and a restart of the
       service; the script says so when the line is missing, and
       -AddTrapSink adds it, restarts the service, and takes it out again at
       the end. With -Receiver HOST:PORT it does not listen: it writes the
       two events and prints what the NMS at HOST:PORT must have received.
    5. `mdmhealth.exe diagnose --json`: the knowledge article's checks, run
       now, and the diagnosis (not with -NoDiagnose). What they find is
       reported, not judged: a failing Enrollment Server is not a defect of
       the install.

.PARAMETER TrapPort
    UDP port on 127.0.0.1 where the script receives the notifications
    (default 10162; not 162, which the Windows SNMP Trap service may hold).

.PARAMETER Community
    Community of the trap2sink line that -AddTrapSink adds (default
    mdmhealth-smoke). The receiver accepts any community.

.PARAMETER AddTrapSink
    Adds "trap2sink 127.0.0.1:TrapPort COMMUNITY" to mdmhealth.conf (after a
    backup with the same permissions), checks the file, restarts the
    service; at the end writes the original content back, restarts the
    service again and deletes the backup.

.PARAMETER Receiver
    HOST:PORT of the NMS that mdmhealth.conf already sends to. The script
    then does not listen; it writes the events and prints what to look for
    at that NMS (CHECK lines).

.PARAMETER TimeoutSeconds
    How long to wait for each notification after its event (default 60).
    mdmhealth retries a missing channel every 10 s, so a log created by this
    script is read within about 10 s.

.PARAMETER PauseSeconds
    Pause between the notification for 1003 (or, with -Receiver, the event
    1003) and event 1004 (default 10). Notifications that arrive meanwhile
    (mdmDiagnosis) are shown.

.PARAMETER NoCreateLog
    Do not create the "Mobile Device Manager" log or the "Device Manager"
    source when they are missing (FAIL instead).

.PARAMETER NoDiagnose
    Do not run `mdmhealth.exe diagnose`.

.PARAMETER Force
    Write the test events even though the newest 1003/1004 event in the log
    is a 1003, i.e. the monitor is in error with an alert open: the script
    then first writes a 1004, which resolves that open alert at every NMS.

.PARAMETER ExePath
    mdmhealth.exe to run (default: the one in the service's command line).

.PARAMETER ConfigPath
    Configuration file (default: the -c file of the service's command line,
    else %ProgramData%\mdmhealth\mdmhealth.conf).

.PARAMETER MibRoot
    OID of mdmHealthMIB (default 1.3.6.1.4.1.8072.9999.9999, the provisional
    arc in mib/MDM-HEALTH-MIB.txt). mdmAlertRaised is MibRoot.0.1,
    mdmAlertResolved MibRoot.0.2, mdmDiagnosis MibRoot.0.3.

.EXAMPLE
    powershell -ExecutionPolicy Bypass -File .\windows-smoke.ps1 -AddTrapSink

    The usual run: adds the local trap2sink line for the duration of the
    test, proves that both notifications arrive, and restores the
    configuration.

.EXAMPLE
    .\windows-smoke.ps1 -TrapPort 10162

    mdmhealth.conf already has "trap2sink 127.0.0.1:10162 mdmhealth-smoke"
    and the service was restarted after it was added.

.EXAMPLE
    .\windows-smoke.ps1 -Receiver nms.contoso.com:162

    Writes the events and lists what the NMS must show.

.NOTES
    Requirements: Windows PowerShell 2.0 or later (also PowerShell 7), run
    elevated. It uses only .NET classes and cmdlets present in 2.0:
    Get-WmiObject (Get-CimInstance where it exists), Get-WinEvent,
    System.Diagnostics.EventLog, System.Net.Sockets.UdpClient.

    Side effects: the two events stay in the "Mobile Device Manager" log,
    and every destination in mdmhealth.conf receives the alert and its
    resolution (their text says "mdmhealth smoke test"), so tell the NMS
    operators first. If the script created the log or the source, they
    stay; remove them with
        [System.Diagnostics.EventLog]::Delete('Mobile Device Manager')
    when no MDM is installed.

    What the monitor matches. The pack (packs/enrollment-connection.xml,
    docs/monitor.md) has two detectors on the log "Mobile Device Manager"
    of the target computer ($Target/Host/.../NetworkName$, i.e. this
    server): FirstExpression = PublisherName Equal "Device Manager" And
    EventDisplayNumber Equal 1004 (healthy); SecondExpression = the same
    with 1003 (error). Nothing else is compared: not the level, the
    category, the description or the user. The events written here have
    Channel "Mobile Device Manager", provider (source) "Device Manager"
    (compared case-sensitively, as the pack's String Equal is), EventID
    1003 / 1004 and Computer = this computer's name, so both detectors
    fire exactly as for MDM's own events; the script reads each event back
    with Get-WinEvent and checks these four fields.

    How they differ from the events MDM writes:
    - Qualifiers: they are written with EventLog.WriteEntry, so their
      Qualifiers are 0 and the full event number (EventNumber, InstanceId)
      is 1003 / 1004. MDM's own events may carry severity bits there (the
      project's sample data models 1003 as Qualifiers 0xC000). The pack
      matches EventDisplayNumber, the low 16 bits, so this makes no
      difference to the monitor; a pack matching EventNumber would see one.
    - Description: the event holds one insertion string, the test text.
      When the source was registered by this script (.NET's
      EventLogMessages.dll, message "%1") that text is the description.
      On an SCMDM server the source's message file is MDM's, so Event
      Viewer shows MDM's message for 1003 / 1004 with the test text as its
      first parameter, or "The description for Event ID 1003 ... cannot be
      found" when MDM's message IDs carry the severity bits. mdmhealth
      then uses the insertion string (its documented fallback), so the
      alert text (mdmMonitorLastDescription) is the test text, not MDM's
      wording.
    - Level: 1003 is written as Error and 1004 as Information; category 0,
      no user SID, no binary data. The pack looks at none of these.

    Exit status: 0 every check passed (WARN and CHECK lines do not fail),
    1 a check failed or the script could not run, 2 wrong parameters.
#>
#Requires -Version 2.0
[CmdletBinding()]
param(
    [ValidateRange(1, 65535)]
    [int]$TrapPort = 10162,
    [ValidatePattern('^[^\s#]+$')]
    [string]$Community = 'mdmhealth-smoke',
    [switch]$AddTrapSink,
    [string]$Receiver = '',
    [ValidateRange(1, 3600)]
    [int]$TimeoutSeconds = 60,
    [ValidateRange(0, 600)]
    [int]$PauseSeconds = 10,
    [switch]$NoCreateLog,
    [switch]$NoDiagnose,
    [switch]$Force,
    [string]$ExePath = '',
    [string]$ConfigPath = '',
    [string]$MibRoot = '1.3.6.1.4.1.8072.9999.9999'
)

Set-StrictMode -Version 2.0

$ServiceName = 'mdmhealth'
$LogName = 'Mobile Device Manager'
$SourceName = 'Device Manager'
$SysUpTimeOid = '1.3.6.1.2.1.1.3.0'
$SnmpTrapOid = '1.3.6.1.6.3.1.1.4.1.0'
$RaisedOid = $MibRoot + '.0.1'
$ResolvedOid = $MibRoot + '.0.2'
$DiagnosisOid = $MibRoot + '.0.3'
$MonitorColumns = @('mdmMonitorIndex', 'mdmMonitorName', 'mdmMonitorDisplayName', 'mdmMonitorTarget',
    'mdmMonitorState', 'mdmMonitorLastChange', 'mdmMonitorLastEventId', 'mdmMonitorLastRecordId',
    'mdmMonitorLastDescription', 'mdmMonitorAlertActive', 'mdmMonitorRepeatCount',
    'mdmMonitorAlertSeverity', 'mdmMonitorAlertPriority')
$DiagColumns = @('mdmDiagIndex', 'mdmDiagName', 'mdmDiagStatus', 'mdmDiagDetail', 'mdmDiagDiagnosis',
    'mdmDiagResolver', 'mdmDiagLastRun', 'mdmDiagDurationMs', 'mdmDiagTarget')
$MonitorStates = @('unknown', 'healthy', 'warning', 'error')

$script:Results = New-Object System.Collections.ArrayList
$script:Received = New-Object System.Collections.ArrayList
$script:Udp = $null
$script:ConfigBackup = $null
$script:StartTime = Get-Date

# --- output and results ------------------------------------------------------

function Write-Step([string]$Text) {
    Write-Host ''
    Write-Host ('== ' + $Text) -ForegroundColor Cyan
}

function Write-Info([string]$Text) {
    Write-Host ('   ' + $Text)
}

function Add-Result([string]$Status, [string]$Name, [string]$Detail) {
    $color = 'Gray'
    if ($Status -eq 'PASS') { $color = 'Green' }
    elseif ($Status -eq 'FAIL') { $color = 'Red' }
    elseif ($Status -eq 'WARN' -or $Status -eq 'CHECK') { $color = 'Yellow' }
    Write-Host ('[{0}] {1}: {2}' -f $Status, $Name, $Detail) -ForegroundColor $color
    [void]$script:Results.Add(@{ Status = $Status; Name = $Name; Detail = $Detail })
}

# --- minimal BER decoder for SNMPv2c notifications -----------------------------
# Every function throws on malformed input. Indexes are checked explicitly
# before use, because PowerShell returns $null for an index past the end of
# an array instead of failing.

function Read-BerHeader([byte[]]$Buf, [int]$Pos, [int]$End) {
    # Returns @(tag, contentStart, contentEnd) of the TLV at Pos, inside [Pos, End).
    if ($Pos -lt 0 -or $End -gt $Buf.Length -or $Pos + 2 -gt $End) {
        throw ('truncated header at offset {0}' -f $Pos)
    }
    $tag = [int]$Buf[$Pos]
    if (($tag -band 0x1F) -eq 0x1F) { throw ('multi-byte tag at offset {0}' -f $Pos) }
    $first = [int]$Buf[$Pos + 1]
    $Pos = $Pos + 2
    if ($first -lt 0x80) {
        $length = $first
    } else {
        $n = $first -band 0x7F
        if ($n -eq 0 -or $n -gt 3) { throw ('unsupported length form at offset {0}' -f ($Pos - 1)) }
        if ($Pos + $n -gt $End) { throw ('truncated length at offset {0}' -f $Pos) }
        $length = 0
        for ($i = 0; $i -lt $n; $i++) { $length = $length * 256 + [int]$Buf[$Pos + $i] }
        $Pos = $Pos + $n
    }
    if ($length -gt $End - $Pos) { throw ('length {0} past the end at offset {1}' -f $length, $Pos) }
    return @($tag, $Pos, ($Pos + $length))
}

function Read-BerExpected([byte[]]$Buf, [int]$Pos, [int]$End, [int]$Tag, [string]$What) {
    $h = Read-BerHeader $Buf $Pos $End
    if ($h[0] -ne $Tag) {
        throw ('{0}: tag 0x{1:X2} instead of 0x{2:X2} at offset {3}' -f $What, $h[0], $Tag, $Pos)
    }
    return $h
}

function ConvertFrom-BerUnsigned([byte[]]$Buf, [int]$Start, [int]$End) {
    if ($End - $Start -gt 9) { throw ('integer too long at offset {0}' -f $Start) }
    [decimal]$v = 0
    for ($i = $Start; $i -lt $End; $i++) { $v = $v * 256 + [int]$Buf[$i] }
    return $v
}

function ConvertFrom-BerInteger([byte[]]$Buf, [int]$Start, [int]$End) {
    if ($End -le $Start) { throw ('empty integer at offset {0}' -f $Start) }
    [decimal]$v = ConvertFrom-BerUnsigned $Buf $Start $End
    if ([int]$Buf[$Start] -ge 0x80) {
        # Two's complement: subtract 256^length (computed exactly, not with [Math]::Pow).
        [decimal]$m = 1
        for ($i = $Start; $i -lt $End; $i++) { $m = $m * 256 }
        $v = $v - $m
    }
    return $v
}

function ConvertFrom-BerOid([byte[]]$Buf, [int]$Start, [int]$End) {
    if ($End -le $Start) { throw ('empty OID at offset {0}' -f $Start) }
    $text = ''
    [long]$v = 0
    $n = 0
    $first = $true
    for ($i = $Start; $i -lt $End; $i++) {
        $b = [int]$Buf[$i]
        $v = $v * 128 + ($b -band 0x7F)
        $n = $n + 1
        if ($n -gt 5) { throw ('OID sub-identifier too long at offset {0}' -f $i) }
        if ($b -lt 0x80) {
            if ($first) {
                if ($v -lt 40) { $text = '0.' + $v }
                elseif ($v -lt 80) { $text = '1.' + ($v - 40) }
                else { $text = '2.' + ($v - 80) }
                $first = $false
            } else {
                $text = $text + '.' + $v
            }
            $v = 0
            $n = 0
        }
    }
    if ($n -ne 0) { throw ('OID ends inside a sub-identifier at offset {0}' -f $End) }
    return $text
}

function Format-BerOctets([byte[]]$Buf, [int]$Start, [int]$End) {
    # Text when the bytes are printable UTF-8, else hex (e.g. a DateAndTime).
    $printable = $true
    for ($i = $Start; $i -lt $End; $i++) {
        $b = [int]$Buf[$i]
        if (($b -lt 0x20 -and $b -ne 9 -and $b -ne 10 -and $b -ne 13) -or $b -eq 0x7F) { $printable = $false }
    }
    $text = [System.Text.Encoding]::UTF8.GetString($Buf, $Start, $End - $Start)
    if ($printable -and $text.IndexOf([char]0xFFFD) -lt 0) { return $text }
    return '0x' + [System.BitConverter]::ToString($Buf, $Start, $End - $Start)
}

function Format-DateAndTime([byte[]]$Buf, [int]$Start, [int]$End) {
    # SNMPv2-TC DateAndTime: 8 or 11 octets; '' for anything else.
    $n = $End - $Start
    if ($n -ne 8 -and $n -ne 11) { return '' }
    $text = '{0:D4}-{1:D2}-{2:D2} {3:D2}:{4:D2}:{5:D2}.{6}' -f ([int]$Buf[$Start] * 256 + [int]$Buf[$Start + 1]),
        [int]$Buf[$Start + 2], [int]$Buf[$Start + 3], [int]$Buf[$Start + 4], [int]$Buf[$Start + 5],
        [int]$Buf[$Start + 6], [int]$Buf[$Start + 7]
    if ($n -eq 11) {
        $text = $text + (' {0}{1:D2}:{2:D2}' -f [char]$Buf[$Start + 8], [int]$Buf[$Start + 9], [int]$Buf[$Start + 10])
    }
    return $text
}

function Format-BerValue([byte[]]$Buf, [int]$Tag, [int]$Start, [int]$End) {
    if ($Tag -eq 0x02) { return [string](ConvertFrom-BerInteger $Buf $Start $End) }
    if ($Tag -eq 0x04) { return Format-BerOctets $Buf $Start $End }
    if ($Tag -eq 0x06) { return ConvertFrom-BerOid $Buf $Start $End }
    if ($Tag -eq 0x05) { return 'NULL' }
    if ($Tag -eq 0x40) {
        if ($End - $Start -ne 4) { throw ('IpAddress of {0} bytes at offset {1}' -f ($End - $Start), $Start) }
        return ('{0}.{1}.{2}.{3}' -f [int]$Buf[$Start], [int]$Buf[$Start + 1], [int]$Buf[$Start + 2], [int]$Buf[$Start + 3])
    }
    if ($Tag -eq 0x41 -or $Tag -eq 0x42 -or $Tag -eq 0x43 -or $Tag -eq 0x46) {
        return [string](ConvertFrom-BerUnsigned $Buf $Start $End)
    }
    if ($Tag -ge 0x80 -and $Tag -le 0x82) { return ('(exception 0x{0:X2})' -f $Tag) }
    return ('(tag 0x{0:X2}, {1} bytes)' -f $Tag, ($End - $Start))
}

function ConvertFrom-SnmpMessage([byte[]]$Buf) {
    # Decodes an SNMP message. For SNMPv2c traps (0xA7) and informs (0xA6) the
    # result holds the varbinds, each @(oid, text, tag, valueStart, valueEnd),
    # and TrapOid, the value of snmpTrapOID.0. Other versions and PDU types
    # are returned with Version / PduType only.
    $r = @{ Version = -1; Community = ''; PduType = 0; PduOffset = -1; RequestId = 0; TrapOid = '';
        Varbinds = (New-Object System.Collections.ArrayList) }
    $msg = Read-BerExpected $Buf 0 ($Buf.Length) (0x30) 'message'
    $h = Read-BerExpected $Buf ($msg[1]) ($msg[2]) (0x02) 'version'
    $r.Version = ConvertFrom-BerInteger $Buf ($h[1]) ($h[2])
    if ($r.Version -ne 1) { return $r }
    $h = Read-BerExpected $Buf ($h[2]) ($msg[2]) (0x04) 'community'
    $r.Community = Format-BerOctets $Buf ($h[1]) ($h[2])
    $r.PduOffset = $h[2]
    $pdu = Read-BerHeader $Buf ($h[2]) ($msg[2])
    $r.PduType = $pdu[0]
    if ($pdu[0] -ne 0xA7 -and $pdu[0] -ne 0xA6) { return $r }
    $h = Read-BerExpected $Buf ($pdu[1]) ($pdu[2]) (0x02) 'request-id'
    $r.RequestId = ConvertFrom-BerInteger $Buf ($h[1]) ($h[2])
    $h = Read-BerExpected $Buf ($h[2]) ($pdu[2]) (0x02) 'error-status'
    $h = Read-BerExpected $Buf ($h[2]) ($pdu[2]) (0x02) 'error-index'
    $vbl = Read-BerExpected $Buf ($h[2]) ($pdu[2]) (0x30) 'varbind list'
    $pos = $vbl[1]
    while ($pos -lt $vbl[2]) {
        $vb = Read-BerExpected $Buf $pos ($vbl[2]) (0x30) 'varbind'
        $name = Read-BerExpected $Buf ($vb[1]) ($vb[2]) (0x06) 'varbind name'
        $oid = ConvertFrom-BerOid $Buf ($name[1]) ($name[2])
        $val = Read-BerHeader $Buf ($name[2]) ($vb[2])
        $text = Format-BerValue $Buf ($val[0]) ($val[1]) ($val[2])
        [void]$r.Varbinds.Add(@($oid, $text, $val[0], $val[1], $val[2]))
        if ($oid -eq $SnmpTrapOid -and $val[0] -eq 0x06) { $r.TrapOid = $text }
        $pos = $vb[2]
    }
    return $r
}

# --- the notification receiver -------------------------------------------------

function Get-NotificationName([string]$Oid) {
    if ($Oid -eq $RaisedOid) { return 'mdmAlertRaised' }
    if ($Oid -eq $ResolvedOid) { return 'mdmAlertResolved' }
    if ($Oid -eq $DiagnosisOid) { return 'mdmDiagnosis' }
    if ($Oid -eq '') { return '(no snmpTrapOID.0)' }
    return $Oid
}

function Get-VarbindName([string]$Oid) {
    # MIB name of a varbind of our notifications, e.g. mdmMonitorTarget.1.
    if ($Oid -eq $SysUpTimeOid) { return 'sysUpTime.0' }
    if ($Oid -eq $SnmpTrapOid) { return 'snmpTrapOID.0' }
    $tables = @(@(($MibRoot + '.1.2.1.'), $MonitorColumns), @(($MibRoot + '.1.3.1.'), $DiagColumns))
    foreach ($t in $tables) {
        $prefix = $t[0]
        $columns = $t[1]
        if ($Oid.StartsWith($prefix, [System.StringComparison]::Ordinal)) {
            $rest = $Oid.Substring($prefix.Length)
            if ($rest -match '^(\d{1,2})\.(.+)$') {
                $col = [int]$matches[1]
                if ($col -ge 1 -and $col -le $columns.Length) { return $columns[$col - 1] + '.' + $matches[2] }
            }
        }
    }
    return $Oid
}

function Receive-Notification([int]$WaitMs) {
    # Waits up to WaitMs (at most 1000) for one datagram; decodes, prints and
    # records it in $script:Received. Acknowledges informs.
    if ($WaitMs -lt 1) { $WaitMs = 1 }
    if ($WaitMs -gt 1000) { $WaitMs = 1000 }
    if (-not $script:Udp.Client.Poll($WaitMs * 1000, [System.Net.Sockets.SelectMode]::SelectRead)) { return }
    $remote = New-Object System.Net.IPEndPoint([System.Net.IPAddress]::Any, 0)
    try {
        $bytes = $script:Udp.Receive([ref]$remote)
    } catch {
        # An ICMP port unreachable from an earlier send surfaces here on Windows.
        return
    }
    $at = Get-Date
    try {
        $msg = ConvertFrom-SnmpMessage $bytes
    } catch {
        Write-Info ('{0:HH:mm:ss} {1} bytes from {2}: not an SNMP message this script can decode: {3}' -f $at, $bytes.Length, $remote, $_.Exception.Message)
        return
    }
    if ($msg.Version -ne 1) {
        Write-Info ('{0:HH:mm:ss} SNMP version field {1} from {2}: this script decodes SNMPv2c only (use a trap2sink or informsink line for the test)' -f $at, $msg.Version, $remote)
        return
    }
    if ($msg.PduType -ne 0xA7 -and $msg.PduType -ne 0xA6) {
        Write-Info ('{0:HH:mm:ss} SNMPv2c PDU type 0x{1:X2} from {2}: not a notification' -f $at, $msg.PduType, $remote)
        return
    }
    $kind = 'trap'
    if ($msg.PduType -eq 0xA6) {
        # The Response to an inform is the same message with the PDU tag
        # changed to GetResponse (RFC 3416 4.2.7: same request-id and
        # varbinds, error-status and error-index 0, as received).
        $kind = 'inform, acknowledged'
        $reply = [byte[]]$bytes.Clone()
        $reply[$msg.PduOffset] = 0xA2
        try { [void]$script:Udp.Send($reply, $reply.Length, $remote) } catch { $kind = 'inform, acknowledgement failed' }
    }
    $n = @{ Time = $at; TrapOid = $msg.TrapOid; Target = ''; State = ''; EventId = ''; RecordId = '';
        Description = ''; Used = $false }
    Write-Info ('{0:HH:mm:ss} received {1} ({2}) from {3}' -f $at, (Get-NotificationName $msg.TrapOid), $kind, $remote)
    foreach ($vb in $msg.Varbinds) {
        $vn = Get-VarbindName $vb[0]
        $value = $vb[1]
        $column = $vn
        if ($vn.IndexOf('.') -gt 0) { $column = $vn.Substring(0, $vn.IndexOf('.')) }
        if ($column -eq 'mdmMonitorLastChange' -or $column -eq 'mdmDiagLastRun') {
            $d = Format-DateAndTime $bytes ($vb[3]) ($vb[4])
            if ($d -ne '') { $value = $d }
        }
        if ($column -eq 'mdmMonitorTarget') { $n.Target = $value }
        if ($column -eq 'mdmMonitorLastEventId') { $n.EventId = $value }
        if ($column -eq 'mdmMonitorLastRecordId') { $n.RecordId = $value }
        if ($column -eq 'mdmMonitorLastDescription') { $n.Description = $value }
        if ($column -eq 'mdmMonitorState') {
            $n.State = $value
            if ($value -match '^[0-3]$') { $value = $value + ' (' + $MonitorStates[[int]$value] + ')' }
        }
        Write-Info ('      {0} = {1}' -f $vn, $value)
    }
    [void]$script:Received.Add($n)
}

function Receive-For([int]$Seconds) {
    # Receives (and prints) whatever arrives during Seconds.
    $deadline = (Get-Date).AddSeconds($Seconds)
    while ($true) {
        $left = [int](($deadline - (Get-Date)).TotalMilliseconds)
        if ($left -le 0) { return }
        Receive-Notification $left
    }
}

function Wait-Notification([string]$TrapOid, [string]$RecordId, [int]$Seconds) {
    # Returns the first notification not yet used with this snmpTrapOID.0 for
    # the event record RecordId of this computer, or $null after Seconds.
    $deadline = (Get-Date).AddSeconds($Seconds)
    while ($true) {
        foreach ($n in $script:Received) {
            if (-not $n.Used -and $n.TrapOid -eq $TrapOid -and $n.RecordId -eq $RecordId -and
                (Test-ThisComputer $n.Target)) {
                $n.Used = $true
                return $n
            }
        }
        $left = [int](($deadline - (Get-Date)).TotalMilliseconds)
        if ($left -le 0) { return $null }
        Receive-Notification $left
    }
}

# --- the service, the configuration, the event log ------------------------------

function Test-Administrator {
    $id = [System.Security.Principal.WindowsIdentity]::GetCurrent()
    $principal = New-Object System.Security.Principal.WindowsPrincipal($id)
    return $principal.IsInRole([System.Security.Principal.WindowsBuiltInRole]::Administrator)
}

function Test-ThisComputer([string]$Name) {
    # mdmhealth's rule: a NetBIOS name matches the first label of an FQDN.
    if ($Name -eq '') { return $false }
    $short = $Name.Split('.')[0]
    return ($short -eq $env:COMPUTERNAME -or $short -eq [System.Net.Dns]::GetHostName().Split('.')[0])
}

function Get-ServiceInfo {
    $filter = "Name='" + $ServiceName + "'"
    if (Get-Command Get-CimInstance -ErrorAction SilentlyContinue) {
        return Get-CimInstance -ClassName Win32_Service -Filter $filter
    }
    return Get-WmiObject -Class Win32_Service -Filter $filter
}

function Test-NetworkService([string]$Account) {
    if ($Account -eq '') { return $false }
    try {
        $nt = New-Object System.Security.Principal.NTAccount($Account)
        $sid = $nt.Translate([System.Security.Principal.SecurityIdentifier])
        return ($sid.Value -eq 'S-1-5-20')
    } catch {
        # The Service Control Manager also accepts names LSA does not translate.
        return (($Account -replace ' ', '') -eq 'NTAUTHORITY\NetworkService')
    }
}

function Read-ConfigLines([string]$Path) {
    # The directives of mdmhealth.conf: hashtables @{ Line; Name; Value }.
    # Throws when the file cannot be read.
    $list = New-Object System.Collections.ArrayList
    $number = 0
    foreach ($raw in [System.IO.File]::ReadAllLines($Path)) {
        $number = $number + 1
        $t = $raw.Trim()
        if ($t -eq '' -or $t.StartsWith('#')) { continue }
        $name = $t
        $value = ''
        if ($t -match '^(\S+)\s+(.*)$') {
            $name = $matches[1]
            $value = $matches[2]
        }
        [void]$list.Add(@{ Line = $number; Name = $name; Value = $value })
    }
    return , $list
}

function Get-Destination($Entry) {
    # The HOST[:PORT] of a notification line (never its community or passphrases), or ''.
    $n = $Entry.Name.ToLowerInvariant()
    $tokens = @($Entry.Value -split '\s+' | Where-Object { $_ -ne '' })
    if ($tokens.Length -eq 0) { return '' }
    if ($n -eq 'trap2sink' -or $n -eq 'informsink' -or $n -eq 'trapsink') { return $tokens[0] }
    if ($n -eq 'trapsess') { return $tokens[$tokens.Length - 1] }
    return ''
}

function Test-ListenerDestination([string]$Destination) {
    $d = $Destination.ToLowerInvariant()
    if ($d.StartsWith('udp:')) { $d = $d.Substring(4) }
    return ($d -eq ('127.0.0.1:' + $TrapPort) -or $d -eq ('localhost:' + $TrapPort))
}

function Invoke-Mdmhealth([string[]]$Arguments) {
    # Runs mdmhealth.exe; returns its standard output as one string (stderr
    # goes to the console) and leaves the exit status in $LASTEXITCODE (-1
    # when it cannot be started).
    try {
        $out = & $script:Exe $Arguments
    } catch {
        $global:LASTEXITCODE = -1
        return ('cannot run {0}: {1}' -f $script:Exe, $_.Exception.Message)
    }
    return [string]::Join("`n", [string[]]@($out))
}

function Get-ConfigArguments {
    if ($script:Conf -ne '' -and (Test-Path -LiteralPath $script:Conf)) { return @('-c', $script:Conf) }
    return @()
}

function Restart-Mdmhealth {
    # Restarts the service; returns '' when it runs afterwards, else why not.
    try {
        Restart-Service -Name $ServiceName -ErrorAction Stop -WarningAction SilentlyContinue
    } catch {
        return $_.Exception.Message
    }
    # A configuration error stops it right after the start.
    Start-Sleep -Seconds 3
    $s = Get-Service -Name $ServiceName
    if ($s.Status -ne 'Running') { return ('the service is ' + $s.Status + ' after the restart') }
    return ''
}

function Add-TrapSinkLine([string]$Path, [string]$Line) {
    # Backs up Path (the backup gets the file's DACL: it may hold SNMP
    # secrets), keeps its bytes for Restore-Config, appends Line.
    $existed = Test-Path -LiteralPath $Path
    $bytes = New-Object byte[] 0
    $backup = ''
    if ($existed) {
        $bytes = [System.IO.File]::ReadAllBytes($Path)
        $backup = $Path + '.smoke-' + (Get-Date -Format 'yyyyMMddHHmmss') + '.bak'
        [System.IO.File]::Copy($Path, $backup)
        try {
            $sddl = (Get-Acl -Path $Path).GetSecurityDescriptorSddlForm('Access')
            $acl = Get-Acl -Path $backup
            $acl.SetSecurityDescriptorSddlForm($sddl, 'Access')
            Set-Acl -Path $backup -AclObject $acl -ErrorAction Stop
        } catch {
            Remove-Item -LiteralPath $backup -Force
            Write-Info ('no backup file: cannot give it the permissions of the configuration ({0}); the original content is kept in memory and written back at the end' -f $_.Exception.Message)
            $backup = ''
        }
    }
    $script:ConfigBackup = @{ Path = $Path; Existed = $existed; Bytes = $bytes; BackupFile = $backup }
    $nl = "`r`n"
    $text = ''
    if ($bytes.Length -gt 0 -and $bytes[$bytes.Length - 1] -ne 10) { $text = $nl }
    $text = $text + '# added by windows-smoke.ps1 at ' + (Get-Date -Format 's') + '; removed when it ends' + $nl + $Line + $nl
    [System.IO.File]::AppendAllText($Path, $text, (New-Object System.Text.UTF8Encoding($false)))
    if ($backup -ne '') { Write-Info ('backup: ' + $backup) }
}

function Restore-Config {
    $b = $script:ConfigBackup
    if ($null -eq $b) { return }
    $script:ConfigBackup = $null
    Write-Step 'Restoring the configuration'
    try {
        if ($b.Existed) {
            # Rewriting the existing file keeps its permissions.
            [System.IO.File]::WriteAllBytes($b.Path, $b.Bytes)
        } else {
            Remove-Item -LiteralPath $b.Path -Force -ErrorAction Stop
        }
    } catch {
        $where = 'the original content is lost'
        if ($b.BackupFile -ne '') { $where = 'the original is in ' + $b.BackupFile }
        Add-Result 'FAIL' 'configuration restored' ('cannot write {0}: {1}; {2}' -f $b.Path, $_.Exception.Message, $where)
        return
    }
    if ($b.BackupFile -ne '') { Remove-Item -LiteralPath $b.BackupFile -Force -ErrorAction SilentlyContinue }
    $why = Restart-Mdmhealth
    if ($why -eq '') {
        Add-Result 'PASS' 'configuration restored' ('{0} as before the test; service restarted and running' -f $b.Path)
    } else {
        Add-Result 'FAIL' 'configuration restored' ('{0} as before the test, but the service did not restart: {1}' -f $b.Path, $why)
    }
}

# The queries below filter on the log and the event ID only, and compare the
# provider here: a ProviderName filter fails outright on some systems when the
# provider's metadata cannot be found.

function Get-LastStateEvent {
    # The newest 1003 or 1004 of "Device Manager" (the monitor's state), or $null.
    try {
        $events = @(Get-WinEvent -FilterHashtable @{ LogName = $LogName; Id = @(1003, 1004) } -MaxEvents 200 -ErrorAction Stop)
    } catch {
        return $null
    }
    foreach ($e in $events) {
        if ($e.ProviderName -ceq $SourceName) { return $e }
    }
    return $null
}

function Find-TestEvent([int]$Id, [string]$Text) {
    # The record of the event this script wrote with Text, or $null.
    for ($try = 0; $try -lt 10; $try++) {
        try {
            $events = @(Get-WinEvent -FilterHashtable @{ LogName = $LogName; Id = $Id } -MaxEvents 50 -ErrorAction Stop)
        } catch {
            $events = @()
        }
        foreach ($e in $events) {
            foreach ($p in $e.Properties) {
                if ([string]$p.Value -eq $Text) { return $e }
            }
        }
        Start-Sleep -Milliseconds 500
    }
    return $null
}

function Write-TestEvent([int]$Id, [string]$Text, [string]$Expression) {
    # Writes event Id, reads it back and checks the fields the pack matches.
    # Returns the record ID as a string ('' when it cannot be read back).
    $type = [System.Diagnostics.EventLogEntryType]::Information
    if ($Id -eq 1003) { $type = [System.Diagnostics.EventLogEntryType]::Error }
    $check = 'event ' + $Id + ' written'
    try {
        [System.Diagnostics.EventLog]::WriteEntry($SourceName, $Text, $type, $Id)
    } catch {
        Add-Result 'FAIL' $check ('cannot write to "{0}" as "{1}": {2}' -f $LogName, $SourceName, $_.Exception.Message)
        return ''
    }
    $e = Find-TestEvent $Id $Text
    if ($null -eq $e) {
        Add-Result 'FAIL' $check ('written at {0:HH:mm:ss}, but Get-WinEvent does not find it in "{1}"' -f (Get-Date), $LogName)
        return ''
    }
    $problems = @()
    if ($e.LogName -ne $LogName) { $problems += ('Channel is "' + $e.LogName + '"') }
    if ($e.ProviderName -cne $SourceName) { $problems += ('PublisherName is "' + $e.ProviderName + '"') }
    if (($e.Id -band 0xFFFF) -ne $Id) { $problems += ('EventDisplayNumber is ' + ($e.Id -band 0xFFFF)) }
    if (-not (Test-ThisComputer ([string]$e.MachineName))) { $problems += ('Computer is "' + $e.MachineName + '", not this computer') }
    $qualifiers = 0
    if ($null -ne $e.Qualifiers) { $qualifiers = [int]$e.Qualifiers }
    $fields = 'record {0}, Channel "{1}", PublisherName "{2}", EventID {3} (Qualifiers 0x{4:X4}), Level {5}, Computer {6}' -f $e.RecordId, $e.LogName, $e.ProviderName, $e.Id, $qualifiers, $e.Level, $e.MachineName
    if ($problems.Length -gt 0) {
        Add-Result 'FAIL' $check ($fields + ' - does not match the pack: ' + [string]::Join('; ', [string[]]$problems))
    } else {
        Add-Result 'PASS' $check ($fields + ' - matches the pack''s ' + $Expression)
    }
    return [string]$e.RecordId
}

function Show-AgentMessages {
    # mdmhealth's own messages (Application log, source mdmhealth) since the script started.
    try {
        $events = @(Get-WinEvent -FilterHashtable @{ LogName = 'Application'; ProviderName = $ServiceName; StartTime = $script:StartTime.AddMinutes(-1) } -MaxEvents 20 -ErrorAction Stop)
    } catch {
        Write-Info 'mdmhealth wrote nothing to the Application log since the script started.'
        return
    }
    Write-Info 'mdmhealth''s messages in the Application log since the script started (newest first):'
    foreach ($e in $events) {
        $text = ''
        try { $text = [string]$e.Message } catch { $text = '' }
        if ($text -eq '') {
            foreach ($p in $e.Properties) { $text = $text + [string]$p.Value + ' ' }
        }
        Write-Info ('  {0:HH:mm:ss} {1}' -f $e.TimeCreated, $text.Trim())
    }
}

function Show-NoNotificationHints([string]$What) {
    Write-Info ('Why no {0} may have arrived:' -f $What)
    Write-Info '- the destination line was added but the service was not restarted since;'
    Write-Info '- NetworkService cannot read the "Mobile Device Manager" log (the messages below say "access ... denied");'
    Write-Info '- the monitor was already in error (a 1003 then is a repeat and raises nothing): the 1004 written at the end made it healthy, run the script again;'
    Write-Info '- mdmhealth.conf sends SNMPv3 to this port (trapsess -v 3): use trap2sink or informsink for the test.'
    Show-AgentMessages
}

function ConvertFrom-JsonText([string]$Text) {
    if (Get-Command ConvertFrom-Json -ErrorAction SilentlyContinue) {
        return ConvertFrom-Json -InputObject $Text
    }
    # Windows PowerShell 2.0 has no ConvertFrom-Json; .NET 3.5 has this.
    Add-Type -AssemblyName System.Web.Extensions
    $serializer = New-Object System.Web.Script.Serialization.JavaScriptSerializer
    return , $serializer.DeserializeObject($Text)
}

function Get-JsonField($Obj, [string]$Name) {
    if ($null -eq $Obj) { return $null }
    if ($Obj -is [System.Collections.IDictionary]) { return $Obj[$Name] }
    $p = $Obj.PSObject.Properties[$Name]
    if ($null -eq $p) { return $null }
    return $p.Value
}

# --- main ----------------------------------------------------------------------

if ($Receiver -ne '' -and $AddTrapSink) {
    Write-Host 'windows-smoke.ps1: -Receiver and -AddTrapSink exclude each other (see Get-Help .\windows-smoke.ps1)'
    exit 2
}
if ($Receiver -ne '' -and $Receiver -notmatch '^\S+:\d{1,5}$') {
    Write-Host 'windows-smoke.ps1: -Receiver takes HOST:PORT, e.g. nms.contoso.com:162'
    exit 2
}
if (-not (Test-Administrator)) {
    Write-Host 'windows-smoke.ps1: run this from an elevated PowerShell (Run as administrator).'
    exit 1
}

Write-Host ('mdmhealth smoke test on {0}, {1:yyyy-MM-dd HH:mm:ss}, PowerShell {2}' -f $env:COMPUTERNAME, $script:StartTime, $PSVersionTable.PSVersion)
$runId = $env:COMPUTERNAME + '-' + $script:StartTime.ToString('yyyyMMddTHHmmss')
$script:Exe = $ExePath
$script:Conf = $ConfigPath
$serviceRunning = $false
$configOk = $true
$logOk = $false
$notifyMode = 'none'

try {
    # --- 1. the service ----------------------------------------------------------
    Write-Step 'The service'
    $svc = Get-ServiceInfo
    if ($null -eq $svc) {
        Add-Result 'FAIL' 'service exists' ('no service named "{0}" (install the MSI, or mdmhealth.exe service install)' -f $ServiceName)
    } else {
        Add-Result 'PASS' 'service exists' ('{0} ({1}): {2}' -f $svc.Name, $svc.DisplayName, $svc.PathName)
        $account = [string]$svc.StartName
        if (Test-NetworkService $account) {
            Add-Result 'PASS' 'service account' $account
        } else {
            Add-Result 'FAIL' 'service account' ('"{0}", not NT AUTHORITY\NetworkService' -f $account)
        }
        if ($svc.StartMode -eq 'Auto') {
            Add-Result 'PASS' 'service start type' 'automatic'
        } else {
            Add-Result 'FAIL' 'service start type' ('{0}, not automatic' -f $svc.StartMode)
        }
        if ($svc.State -eq 'Running') {
            Add-Result 'PASS' 'service running' ('process {0}' -f $svc.ProcessId)
            $serviceRunning = $true
        } else {
            Add-Result 'FAIL' 'service running' ('state {0} (Start-Service mdmhealth; its reasons are in the Application log, source mdmhealth)' -f $svc.State)
        }
        $pathName = [string]$svc.PathName
        if ($script:Exe -eq '') {
            if ($pathName -match '^\s*"([^"]+)"') { $script:Exe = $matches[1] }
            elseif ($pathName -match '^\s*(\S+)') { $script:Exe = $matches[1] }
        }
        if ($script:Conf -eq '') {
            if ($pathName -match '\s(?:-c|--config)\s+"([^"]+)"') { $script:Conf = $matches[1] }
            elseif ($pathName -match '\s(?:-c|--config)\s+(\S+)') { $script:Conf = $matches[1] }
        }
    }
    if ($script:Conf -eq '') { $script:Conf = Join-Path $env:ProgramData 'mdmhealth\mdmhealth.conf' }
    # .NET resolves relative paths against the process's directory, not PowerShell's.
    if (-not [System.IO.Path]::IsPathRooted($script:Conf)) { $script:Conf = Join-Path (Get-Location).Path $script:Conf }
    $exeOk = ($script:Exe -ne '' -and (Test-Path -LiteralPath $script:Exe))
    if ($exeOk) {
        Add-Result 'PASS' 'mdmhealth.exe' $script:Exe
    } else {
        Add-Result 'FAIL' 'mdmhealth.exe' ('not found ("{0}"); give it with -ExePath' -f $script:Exe)
    }

    # --- 2. the configuration -------------------------------------------------------
    Write-Step 'The configuration'
    $configLines = New-Object System.Collections.ArrayList
    $configReadable = $false
    if (Test-Path -LiteralPath $script:Conf) {
        try {
            $configLines = Read-ConfigLines $script:Conf
            $configReadable = $true
            Write-Info ('{0}: {1} directive(s)' -f $script:Conf, $configLines.Count)
        } catch {
            Add-Result 'WARN' 'configuration readable' ('cannot read {0} as {1}: {2}' -f $script:Conf, [Environment]::UserName, $_.Exception.Message)
        }
    } else {
        Write-Info ('{0} does not exist: the service runs with the built-in defaults, which send no notification' -f $script:Conf)
        $configReadable = $true
    }
    foreach ($l in $configLines) {
        $n = $l.Name.ToLowerInvariant()
        if ($n -eq 'source') {
            Add-Result 'FAIL' 'watches the Windows channel' ('line {0}: "source {1}": the service reads that file instead of the "{2}" log; remove the line on a DM server' -f $l.Line, $l.Value, $LogName)
            $configOk = $false
        }
        if ($n -eq 'channel' -and $l.Value -ne $LogName) {
            Add-Result 'WARN' 'channel' ('line {0}: the service watches "{1}"; the test events go to "{2}", the log the pack names' -f $l.Line, $l.Value, $LogName)
        }
        if ($n -eq 'pack') {
            Add-Result 'WARN' 'pack' ('line {0}: pack {1}: the test events are made for the built-in Enrollment Connection pack' -f $l.Line, $l.Value)
        }
        $dest = Get-Destination $l
        if ($dest -ne '') { Write-Info ('line {0}: {1} {2}' -f $l.Line, $l.Name, $dest) }
    }
    if ($exeOk) {
        $out = Invoke-Mdmhealth (@('check') + @(Get-ConfigArguments))
        $status = $LASTEXITCODE
        foreach ($line in $out.Split("`n")) { Write-Info ('  ' + $line) }
        if ($status -eq 0) {
            Add-Result 'PASS' 'mdmhealth check' 'the configuration and the pack are valid'
        } else {
            Add-Result 'FAIL' 'mdmhealth check' ('exit status {0} (the error is printed above)' -f $status)
            $configOk = $false
        }
    }

    # --- 3. the event log -----------------------------------------------------------
    Write-Step ('The "{0}" event log and the "{1}" source' -f $LogName, $SourceName)
    $logExists = $false
    $sourceExists = $false
    $lookupError = ''
    try {
        $logExists = [System.Diagnostics.EventLog]::Exists($LogName)
        $sourceExists = [System.Diagnostics.EventLog]::SourceExists($SourceName)
    } catch {
        $lookupError = $_.Exception.Message
    }
    if ($lookupError -ne '') {
        Add-Result 'FAIL' 'event log and source' ('cannot look up the event sources: ' + $lookupError)
    } elseif ($sourceExists) {
        $sourceLog = [System.Diagnostics.EventLog]::LogNameFromSourceName($SourceName, '.')
        if ($sourceLog -eq $LogName) {
            Add-Result 'PASS' 'event log and source' ('"{0}" is registered in "{1}"' -f $SourceName, $LogName)
            $logOk = $true
        } else {
            Add-Result 'FAIL' 'event log and source' ('"{0}" is registered in the "{1}" log, not in "{2}": its events would not reach the monitor' -f $SourceName, $sourceLog, $LogName)
        }
    } elseif ($NoCreateLog) {
        Add-Result 'FAIL' 'event log and source' ('the source "{0}" does not exist (log "{1}" exists: {2}); not created because of -NoCreateLog' -f $SourceName, $LogName, $logExists)
    } else {
        try {
            $creation = New-Object System.Diagnostics.EventSourceCreationData($SourceName, $LogName)
            [System.Diagnostics.EventLog]::CreateEventSource($creation)
            if ($logExists) {
                Add-Result 'PASS' 'event log and source' ('created the source "{0}" in the existing log "{1}"' -f $SourceName, $LogName)
            } else {
                Add-Result 'PASS' 'event log and source' ('created the log "{0}" with the source "{1}" (no MDM here?)' -f $LogName, $SourceName)
            }
            $logOk = $true
        } catch {
            Add-Result 'FAIL' 'event log and source' ('cannot create the source "{0}" in "{1}": {2}' -f $SourceName, $LogName, $_.Exception.Message)
        }
    }

    # --- 4. where the notifications go ------------------------------------------------
    Write-Step 'The notification receiver'
    if ($Receiver -ne '') {
        $notifyMode = 'receiver'
        $host0 = $Receiver.Substring(0, $Receiver.LastIndexOf(':'))
        $found = $false
        foreach ($l in $configLines) {
            $dest = Get-Destination $l
            if ($dest -ne '' -and $dest.ToLowerInvariant().Contains($host0.ToLowerInvariant())) { $found = $true }
        }
        if ($found) {
            Add-Result 'PASS' 'receiver configured' ('mdmhealth.conf sends to {0}' -f $host0)
        } elseif ($configReadable) {
            Add-Result 'WARN' 'receiver configured' ('no trap2sink / informsink / trapsess line names {0} in {1}' -f $host0, $script:Conf)
        }
    } else {
        try {
            $endpoint = New-Object System.Net.IPEndPoint([System.Net.IPAddress]::Loopback, $TrapPort)
            $script:Udp = New-Object System.Net.Sockets.UdpClient($endpoint)
            Add-Result 'PASS' 'receiver listening' ('udp 127.0.0.1:{0}' -f $TrapPort)
        } catch {
            Add-Result 'FAIL' 'receiver listening' ('cannot listen on udp 127.0.0.1:{0}: {1} (choose another -TrapPort)' -f $TrapPort, $_.Exception.Message)
        }
        $configured = $false
        foreach ($l in $configLines) {
            $dest = Get-Destination $l
            if ($dest -ne '' -and (Test-ListenerDestination $dest)) { $configured = $true }
        }
        $line = 'trap2sink 127.0.0.1:' + $TrapPort + ' ' + $Community
        if ($null -eq $script:Udp) {
            # Nothing to receive with.
        } elseif ($configured) {
            Add-Result 'PASS' 'receiver configured' ('mdmhealth.conf has a line for 127.0.0.1:{0}' -f $TrapPort)
            $notifyMode = 'listen'
            if ($serviceRunning) {
                try {
                    $proc = Get-Process -Id $svc.ProcessId -ErrorAction Stop
                    if ((Get-Item -LiteralPath $script:Conf).LastWriteTime -gt $proc.StartTime) {
                        Add-Result 'WARN' 'service restarted since' ('{0} changed after the service started ({1:yyyy-MM-dd HH:mm:ss}); restart it: Restart-Service mdmhealth' -f $script:Conf, $proc.StartTime)
                    }
                } catch {
                    Write-Info ('cannot compare the start time of the service with the configuration: ' + $_.Exception.Message)
                }
            }
        } elseif ($AddTrapSink) {
            if (-not $configReadable) {
                Add-Result 'FAIL' 'receiver configured' ('cannot add the line: {0} is not readable' -f $script:Conf)
            } elseif (-not $configOk) {
                Add-Result 'FAIL' 'receiver configured' 'not adding a line to a configuration that does not pass the checks above'
            } else {
                try {
                    Add-TrapSinkLine $script:Conf $line
                    Write-Info ('added "{0}" to {1}' -f $line, $script:Conf)
                    $null = Invoke-Mdmhealth (@('check') + @(Get-ConfigArguments))
                    if ($LASTEXITCODE -ne 0) {
                        Add-Result 'FAIL' 'receiver configured' ('mdmhealth check refuses the configuration with "{0}" (exit status {1})' -f $line, $LASTEXITCODE)
                    } else {
                        $why = Restart-Mdmhealth
                        if ($why -eq '') {
                            Add-Result 'PASS' 'receiver configured' ('added "{0}"; service restarted and running' -f $line)
                            $notifyMode = 'listen'
                            $serviceRunning = $true
                        } else {
                            Add-Result 'FAIL' 'receiver configured' ('added "{0}", but the service did not restart: {1}' -f $line, $why)
                        }
                    }
                } catch {
                    Add-Result 'FAIL' 'receiver configured' ('cannot change {0}: {1}' -f $script:Conf, $_.Exception.Message)
                }
            }
        } else {
            Add-Result 'FAIL' 'receiver configured' ('{0} has no trap2sink / informsink line for 127.0.0.1:{1}' -f $script:Conf, $TrapPort)
            Write-Info ('Add this line to {0}:' -f $script:Conf)
            Write-Info ('    ' + $line)
            Write-Info 'then restart the service (Restart-Service mdmhealth) and run the script again;'
            Write-Info 'or run it with -AddTrapSink, which does both and takes the line out at the end.'
        }
    }

    # --- 5. the events and the notifications ----------------------------------------
    Write-Step 'The monitor: events 1003 and 1004, and their notifications'
    $why = ''
    if (-not $serviceRunning) { $why = 'the service is not running' }
    elseif (-not $configOk) { $why = 'the configuration does not pass the checks above' }
    elseif (-not $logOk) { $why = 'the event log or its source is not usable' }
    elseif ($notifyMode -eq 'none') { $why = 'there is no way to observe the notifications (see above)' }
    if ($why -ne '') {
        Add-Result 'FAIL' 'monitor test' ('not run: ' + $why + '; no event written')
    } else {
        $last = Get-LastStateEvent
        $proceed = $true
        if ($null -ne $last -and $last.Id -eq 1003) {
            $lastText = 'the newest 1003/1004 event of "{0}" is a 1003 (record {1}, {2:yyyy-MM-dd HH:mm:ss}): the monitor is in error and its alert is open' -f $SourceName, $last.RecordId, $last.TimeCreated
            if ($Force) {
                Write-Info ($lastText + '; -Force: writing a 1004 first, which resolves that alert')
                $primeText = 'mdmhealth smoke test ' + $runId + ': event 1004 written first (-Force) to make the monitor healthy (scripts/windows-smoke.ps1; not a real recovery)'
                $null = Write-TestEvent 1004 $primeText 'FirstExpression (PublisherName "Device Manager" And EventDisplayNumber 1004)'
                if ($notifyMode -eq 'listen') { Receive-For $PauseSeconds } else { Start-Sleep -Seconds $PauseSeconds }
            } else {
                Add-Result 'FAIL' 'monitor test' ($lastText + '; a test 1003 would be a repeat and raise nothing. Resolve the real failure first, or use -Force (which resolves the open alert at every NMS)')
                $proceed = $false
            }
        } elseif ($null -ne $last) {
            Write-Info ('the newest 1003/1004 event is a 1004 (record {0}): the monitor is healthy' -f $last.RecordId)
        } else {
            Write-Info 'no 1003/1004 event in the log yet: the monitor is unknown'
        }
        if ($proceed) {
            if ($notifyMode -eq 'listen') {
                # Whatever arrived before the test event (a coldStart, an old alert) is shown, not counted.
                Receive-For 1
            }
            $failText = 'mdmhealth smoke test ' + $runId + ': simulated Enrollment Connection failure, event 1003 written by scripts/windows-smoke.ps1 (not a real failure)'
            $okText = 'mdmhealth smoke test ' + $runId + ': simulated recovery, event 1004 written by scripts/windows-smoke.ps1'
            $record1003 = ''
            $record1004 = ''
            $wrote1003 = $false
            $t0 = Get-Date
            $t1 = Get-Date
            try {
                $t0 = Get-Date
                $record1003 = Write-TestEvent 1003 $failText 'SecondExpression (PublisherName "Device Manager" And EventDisplayNumber 1003)'
                $wrote1003 = $true
                if ($notifyMode -eq 'listen') {
                    if ($record1003 -eq '') {
                        Add-Result 'FAIL' 'mdmAlertRaised received' 'the 1003 record could not be read back, so its notification cannot be recognised'
                    } else {
                        $n = Wait-Notification $RaisedOid $record1003 $TimeoutSeconds
                        if ($null -ne $n) {
                            Add-Result 'PASS' 'mdmAlertRaised received' ('{0:N1} s after event 1003: target {1}, state {2}, event {3}, record {4}' -f ($n.Time - $t0).TotalSeconds, $n.Target, $n.State, $n.EventId, $n.RecordId)
                        } else {
                            Add-Result 'FAIL' 'mdmAlertRaised received' ('none for record {0} of this computer within {1} s' -f $record1003, $TimeoutSeconds)
                            Show-NoNotificationHints 'mdmAlertRaised'
                        }
                    }
                    Write-Info ('pause of {0} s before event 1004' -f $PauseSeconds)
                    Receive-For $PauseSeconds
                } else {
                    Write-Info ('pause of {0} s before event 1004' -f $PauseSeconds)
                    Start-Sleep -Seconds $PauseSeconds
                }
            } finally {
                # Never leave the monitor in error: the 1004 is written even
                # when the wait above was interrupted.
                if ($wrote1003) {
                    $t1 = Get-Date
                    $record1004 = Write-TestEvent 1004 $okText 'FirstExpression (PublisherName "Device Manager" And EventDisplayNumber 1004)'
                }
            }
            if ($notifyMode -eq 'listen') {
                if ($record1004 -eq '') {
                    Add-Result 'FAIL' 'mdmAlertResolved received' 'the 1004 record could not be read back, so its notification cannot be recognised'
                } else {
                    $n = Wait-Notification $ResolvedOid $record1004 $TimeoutSeconds
                    if ($null -ne $n) {
                        Add-Result 'PASS' 'mdmAlertResolved received' ('{0:N1} s after event 1004: target {1}, state {2}, event {3}, record {4}' -f ($n.Time - $t1).TotalSeconds, $n.Target, $n.State, $n.EventId, $n.RecordId)
                    } else {
                        Add-Result 'FAIL' 'mdmAlertResolved received' ('none for record {0} of this computer within {1} s' -f $record1004, $TimeoutSeconds)
                        Show-NoNotificationHints 'mdmAlertResolved'
                    }
                }
            } else {
                Add-Result 'CHECK' ('mdmAlertRaised at ' + $Receiver) ('{0} ({1}) from {2} soon after {3:HH:mm:ss}, with mdmMonitorTarget {2} (or its DNS name), mdmMonitorState 3 (error), mdmMonitorLastEventId 1003, mdmMonitorLastRecordId {4}' -f 'mdmAlertRaised', $RaisedOid, $env:COMPUTERNAME, $t0, $record1003)
                Add-Result 'CHECK' ('mdmAlertResolved at ' + $Receiver) ('{0} ({1}) from {2} soon after {3:HH:mm:ss}, with mdmMonitorState 1 (healthy), mdmMonitorLastEventId 1004, mdmMonitorLastRecordId {4}; it clears the alarm above' -f 'mdmAlertResolved', $ResolvedOid, $env:COMPUTERNAME, $t1, $record1004)
                Write-Info 'The description of both is the test text ("mdmhealth smoke test ..."). With enrollment-server configured, an mdmDiagnosis'
                Write-Info ('({0}) follows the alert. If nothing arrived, see mdmhealth''s messages below and the NMS''s own log.' -f $DiagnosisOid)
                Show-AgentMessages
            }
        }
    }

    # --- 6. diagnose -----------------------------------------------------------------
    if (-not $NoDiagnose -and $exeOk) {
        Write-Step 'mdmhealth diagnose --json (the knowledge article''s checks, as this user)'
        $out = Invoke-Mdmhealth (@('diagnose', '--json') + @(Get-ConfigArguments))
        $status = $LASTEXITCODE
        $doc = $null
        if ($status -eq 0) {
            try { $doc = ConvertFrom-JsonText $out } catch { $doc = $null }
        }
        if ($null -eq $doc) {
            Add-Result 'FAIL' 'mdmhealth diagnose' ('exit status {0}; output: {1}' -f $status, $out)
        } else {
            $checks = @(Get-JsonField $doc 'checks')
            $diagnoses = @(Get-JsonField $doc 'diagnoses')
            $counts = @{}
            foreach ($c in $checks) {
                $s = [string](Get-JsonField $c 'status')
                if ($counts.ContainsKey($s)) { $counts[$s] = $counts[$s] + 1 } else { $counts[$s] = 1 }
                Write-Info ('{0,-22} {1,-6} {2}' -f (Get-JsonField $c 'name'), $s, (Get-JsonField $c 'detail'))
            }
            $summary = @()
            foreach ($k in @('pass', 'fail', 'warn', 'skip', 'error')) {
                if ($counts.ContainsKey($k)) { $summary += ('{0} {1}' -f $counts[$k], $k) }
            }
            Add-Result 'PASS' 'mdmhealth diagnose' ('{0} checks ran: {1}' -f $checks.Length, [string]::Join(', ', [string[]]$summary))
            if ($diagnoses.Length -eq 0) {
                Write-Info 'Diagnosis: none - no check points to a cause from the management pack''s table.'
            }
            foreach ($d in $diagnoses) {
                Add-Result 'WARN' 'diagnosis' ('{0} - resolver: {1} (because: {2})' -f (Get-JsonField $d 'diagnosis'), (Get-JsonField $d 'resolver'), (Get-JsonField $d 'because'))
            }
            Write-Info 'These checks ran as the current user; the service runs them as NetworkService (the ad-group check may differ).'
        }
    }
} finally {
    Restore-Config
    if ($null -ne $script:Udp) { $script:Udp.Close() }
}

# --- summary ---------------------------------------------------------------------
Write-Step 'Summary'
$failed = 0
foreach ($r in $script:Results) {
    if ($r.Status -eq 'FAIL') {
        $failed = $failed + 1
        Write-Host ('FAIL  {0}: {1}' -f $r.Name, $r.Detail) -ForegroundColor Red
    }
}
$passed = @($script:Results | Where-Object { $_.Status -eq 'PASS' }).Length
$toCheck = @($script:Results | Where-Object { $_.Status -eq 'CHECK' }).Length
if ($failed -eq 0) {
    $tail = ''
    if ($toCheck -gt 0) { $tail = ', ' + $toCheck + ' to verify at the NMS (CHECK lines above)' }
    Write-Host ('all {0} checks passed{1}' -f $passed, $tail) -ForegroundColor Green
    exit 0
}
Write-Host ('{0} passed, {1} failed' -f $passed, $failed) -ForegroundColor Red
exit 1
