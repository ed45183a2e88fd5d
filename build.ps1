# HyperDbgRemote build script (Windows). Verbs: deps, build, test, demo, bench [prefix], conformance [DIR], format — as build.sh.
# The CPU engine on Windows: unicorn.dll of Unicorn 2.1 or later (x64) on PATH or next to the built programs; the
# programs refuse Unicorn 2.0 (it ignores guest paging). HYPERDBG_UNICORN_LIBRARY may name the file instead.
# The Linux guest's files (.cache\linux) and QEMU are not fetched on Windows: deps says what to provide.
param(
    [Parameter(Position = 0)][string]$Verb = "build",
    [Parameter(Position = 1, ValueFromRemainingArguments = $true)][string[]]$Rest = @()
)
$ErrorActionPreference = "Stop"
Set-Location $PSScriptRoot
$Config = if ($env:CONFIGURATION) { $env:CONFIGURATION } else { "Release" }
$env:DOTNET_CLI_TELEMETRY_OPTOUT = "1"
$env:DOTNET_NOLOGO = "1"

function Invoke-Deps {
    if (-not (Get-Command dotnet -ErrorAction SilentlyContinue)) { throw "The .NET SDK (dotnet) is not installed." }
    if (-not $env:HYPERDBG_UNICORN_LIBRARY -and -not (Get-Command unicorn.dll -ErrorAction SilentlyContinue)) {
        Write-Warning "unicorn.dll (Unicorn 2.1 or later, x64) was not found on PATH; the VMX driver needs it (Unicorn 2.0 is refused)."
    }
    Test-LinuxGuest
    dotnet restore HyperDbgRemote.sln --verbosity quiet
    if ($LASTEXITCODE -ne 0) { throw "restore failed" }
}

# The Linux guest (--guest linux) and the QEMU oracle tests. build.sh fetches Debian's kernel and busybox with apt and
# builds the initramfs; Windows has no apt, so the user provides these files.
function Test-LinuxGuest {
    $dir = Join-Path $PSScriptRoot ".cache\linux"
    $missing = @("vmlinuz", "initramfs.cpio.gz", "System.map") | Where-Object { -not (Test-Path (Join-Path $dir $_)) }
    if ($missing.Count -gt 0) {
        Write-Warning ("The Linux guest files are missing from $dir ($($missing -join ', ')). Run './build.sh deps' on a " +
            "Debian 12 machine and copy its .cache/linux folder here, or start the guest with " +
            "--guest linux:PATH\vmlinuz,initrd=PATH\initramfs.cpio.gz. The Linux tests are skipped until then.")
    }
    if (-not (Get-Command qemu-system-x86_64 -ErrorAction SilentlyContinue)) {
        Write-Warning "qemu-system-x86_64 (QEMU 7.2) is not on PATH; the QEMU oracle tests are skipped."
    }
}

function Invoke-Build {
    Invoke-Deps
    dotnet build HyperDbgRemote.sln -c $Config --no-restore --verbosity quiet -nologo
    if ($LASTEXITCODE -ne 0) { throw "build failed" }
    New-Item -ItemType Directory -Force -Path "$PSScriptRoot\bin" | Out-Null
    Set-Content "$PSScriptRoot\bin\hyperdbg-agent.cmd" "@dotnet `"$PSScriptRoot\Debuggee.Agent\bin\$Config\net10.0\HyperDbgRemote.Agent.dll`" %*"
    if (Test-Path "$PSScriptRoot\Debugger.Host\bin\$Config\net10.0\HyperDbgRemote.Host.dll") {
        Set-Content "$PSScriptRoot\bin\hyperdbg.cmd" "@dotnet `"$PSScriptRoot\Debugger.Host\bin\$Config\net10.0\HyperDbgRemote.Host.dll`" %*"
    }
}

function Invoke-Tests {
    $results = Join-Path ([System.IO.Path]::GetTempPath()) ("hdr-tests-" + [guid]::NewGuid())
    $out = dotnet test HyperDbgRemote.sln -c $Config --no-build --verbosity quiet -nologo --logger trx --results-directory $results @Rest 2>&1 | Tee-Object -Variable lines
    $status = $LASTEXITCODE
    python "$PSScriptRoot\.ci\failed_tests.py" $results
    Remove-Item -Recurse -Force $results -ErrorAction SilentlyContinue
    $p = 0; $f = 0; $s = 0
    foreach ($line in $lines) {
        if ("$line" -match '^(Passed|Failed)!\s+-\s+Failed:\s+(\d+),\s+Passed:\s+(\d+),\s+Skipped:\s+(\d+)') {
            $f += [int]$Matches[2]; $p += [int]$Matches[3]; $s += [int]$Matches[4]
        }
    }
    if ($status -ne 0 -and $f -eq 0) { $f = 1 }
    if ($p -eq 0 -and $f -eq 0) { Write-Error "no test ran"; $f = 1 }
    Write-Output "($s skipped)"
    Write-Output "$p passed, $f failed"
    if ($f -ne 0) { exit 1 }
}

function Invoke-Conformance {
    $dir = if ($Rest.Count -gt 0) { $Rest[0] } else { Join-Path $PSScriptRoot "..\shared\conformance" }
    if (-not (Test-Path $dir -PathType Container)) { Write-Error "conformance folder '$dir' does not exist"; exit 2 }
    $results = Join-Path ([System.IO.Path]::GetTempPath()) ("hdr-conformance-" + [guid]::NewGuid().ToString("N"))
    $env:HYPERDBG_CONFORMANCE_DIR = (Resolve-Path $dir).Path
    dotnet test HyperDbgRemote.sln -c $Config --no-build --verbosity quiet -nologo --filter "TestCategory=Conformance" --logger trx --results-directory $results | Out-Null
    $status = $LASTEXITCODE
    Remove-Item Env:HYPERDBG_CONFORMANCE_DIR
    python "$PSScriptRoot\.ci\conformance_summary.py" $results
    $summary = $LASTEXITCODE
    Remove-Item -Recurse -Force $results
    if ($status -ne 0 -or $summary -ne 0) { exit 1 }
}

switch ($Verb) {
    "deps" { Invoke-Deps }
    "build" { Invoke-Build }
    "test" { Invoke-Build; Invoke-Tests }
    "demo" {
        Invoke-Build
        & "$PSScriptRoot\bin\hyperdbg-agent.cmd" --guest demo --run-seconds 2 --trap 3f8,80,70,71,40,43
        & "$PSScriptRoot\bin\hyperdbg.cmd" --guest demo --initial-break --script "$PSScriptRoot\examples\demo\session.ds" @Rest
    }
    "conformance" { Invoke-Build; Invoke-Conformance }
    "bench" { Invoke-Build; dotnet run --project bench/HyperDbgRemote.Bench.csproj -c $Config --no-build -- @Rest }
    "format" { Invoke-Deps; dotnet format HyperDbgRemote.sln --verify-no-changes --no-restore }
    default { Write-Error "usage: .\build.ps1 deps|build|test|demo|bench [prefix]|conformance [DIR]|format"; exit 2 }
}
