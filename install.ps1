# Installs ferry on Windows: downloads the windows-x64 release archive, checks its SHA-256 against
# the release's SHA256SUMS (Get-FileHash), and puts ferry.exe in a folder. The same steps as
# install.sh. Windows PowerShell 5.1 or PowerShell 7.
#
#   powershell -ExecutionPolicy Bypass -File install.ps1 [-Dir DIR] [-Version 0.1.0] [-BaseUrl URL]
#   irm <releases>/latest/download/install.ps1 | iex      (settings from the environment below)
#
#   -Dir      where to put ferry.exe (FERRY_INSTALL_DIR); default %LOCALAPPDATA%\Programs\ferry
#   -Version  the release to install (FERRY_INSTALL_VERSION); default: the latest
#   -BaseUrl  the folder holding SHA256SUMS and the archives (FERRY_INSTALL_BASE_URL);
#             default: the project's release of that version
param(
  [string]$Dir = $env:FERRY_INSTALL_DIR,
  [string]$Version = $env:FERRY_INSTALL_VERSION,
  [string]$BaseUrl = $env:FERRY_INSTALL_BASE_URL
)
$ErrorActionPreference = 'Stop'
Set-StrictMode -Version 2.0

# The project's releases (the same address as in install.sh): change it in both when the project is
# published under its final address.
$ReleasesUrl = 'https://github.com/OWNER/ferry/releases'

# Errors are thrown and reported once at the end: `exit` would also close the window of a user who
# ran this through `irm … | iex`.
class InstallError : System.Exception { InstallError([string]$Message) : base($Message) {} }
function Stop-Install([string]$Message) { throw [InstallError]::new($Message) }
function Say([string]$Message) { Write-Host "ferry install: $Message" }

function Install-Ferry {
  # --- which archive ------------------------------------------------------------------------------
  $machine = $env:PROCESSOR_ARCHITECTURE
  if ($env:PROCESSOR_ARCHITEW6432) { $machine = $env:PROCESSOR_ARCHITEW6432 } # 32-bit PowerShell on 64-bit Windows
  switch ($machine) {
    'AMD64' { $target = 'windows-x64' }
    'ARM64' {
      # Windows 11 on ARM runs x64 programs under its own emulation; there is no windows-arm64 build.
      $target = 'windows-x64'
      Say 'this is Windows on ARM64: installing the x64 build, which Windows runs under its x64 emulation'
    }
    default { Stop-Install "no ferry release for Windows on $machine`: the Windows release is x64 (use WSL with install.sh, or the container image)" }
  }

  if ($Version) {
    $Version = $Version.TrimStart('v')
    if ($Version -eq 'latest') { $Version = '' }
    elseif ($Version -notmatch '^[0-9A-Za-z.+_-]+$') { Stop-Install "'$Version' is not a version (e.g. 0.1.0)" }
  }
  if (-not $BaseUrl) {
    if ($ReleasesUrl -like '*/OWNER/*') {
      Stop-Install 'this install.ps1 has no release address yet: pass -BaseUrl (or FERRY_INSTALL_BASE_URL), the folder holding SHA256SUMS and the archives'
    }
    if ($Version) { $BaseUrl = "$ReleasesUrl/download/v$Version" } else { $BaseUrl = "$ReleasesUrl/latest/download" }
  }
  $BaseUrl = $BaseUrl.TrimEnd('/')
  if (-not $Dir) { $Dir = Join-Path $env:LOCALAPPDATA 'Programs\ferry' }
  $Dir = [System.IO.Path]::GetFullPath($Dir)

  # Windows PowerShell 5.1 may default to TLS 1.0.
  if ($PSVersionTable.PSVersion.Major -lt 6) {
    [Net.ServicePointManager]::SecurityProtocol = [Net.ServicePointManager]::SecurityProtocol -bor [Net.SecurityProtocolType]::Tls12
  }
  $ProgressPreference = 'SilentlyContinue' # Invoke-WebRequest's progress bar slows 5.1 down many times

  $tmp = Join-Path ([System.IO.Path]::GetTempPath()) ("ferry-install-" + [System.Guid]::NewGuid().ToString('N'))
  New-Item -ItemType Directory -Path $tmp | Out-Null
  try {
    function Get-Url([string]$Url, [string]$OutFile) {
      try { Invoke-WebRequest -Uri $Url -OutFile $OutFile -UseBasicParsing }
      catch { Stop-Install "cannot download $Url ($($_.Exception.Message))" }
    }

    # --- the release's checksums name the archive ---------------------------------------------------
    $sumsFile = Join-Path $tmp 'SHA256SUMS'
    Get-Url "$BaseUrl/SHA256SUMS" $sumsFile
    $entries = @(Get-Content -LiteralPath $sumsFile | ForEach-Object {
        if ($_ -match '^([0-9a-fA-F]{64}) [ *](ferry-\S+)$') { [pscustomobject]@{ Hash = $Matches[1].ToLower(); Name = $Matches[2] } }
      })
    if ($entries.Count -eq 0) { Stop-Install "$BaseUrl/SHA256SUMS lists no ferry archive" }
    if ($Version) {
      $found = @($entries | Where-Object { $_.Name -eq "ferry-$Version-$target.zip" })
    } else {
      $found = @($entries | Where-Object { $_.Name -match "^ferry-[0-9A-Za-z.+_-]+-$target\.zip$" })
      if ($found.Count -gt 1) { Stop-Install "$BaseUrl/SHA256SUMS lists several versions for $target`: pass -Version ($(($found | ForEach-Object Name) -join ' '))" }
    }
    if ($found.Count -eq 0) {
      $listed = ($entries | ForEach-Object Name) -join ' '
      if ($Version) { Stop-Install "no ferry $Version archive for $target at $BaseUrl (its SHA256SUMS lists: $listed)" }
      Stop-Install "no archive for $target at $BaseUrl (its SHA256SUMS lists: $listed)"
    }
    $archive = $found[0].Name
    $expected = $found[0].Hash
    $folder = $archive -replace '\.zip$', ''

    Say "downloading $archive from $BaseUrl"
    $archivePath = Join-Path $tmp $archive
    Get-Url "$BaseUrl/$archive" $archivePath
    $actual = (Get-FileHash -LiteralPath $archivePath -Algorithm SHA256).Hash.ToLower()
    if ($actual -ne $expected) {
      Stop-Install "checksum mismatch for $archive`: SHA256SUMS says $expected, the download is $actual; nothing was installed"
    }
    Say "checksum ok (sha256 $actual)"

    $unpacked = Join-Path $tmp 'x'
    Expand-Archive -LiteralPath $archivePath -DestinationPath $unpacked
    $exe = Join-Path $unpacked "$folder\ferry.exe"
    if (-not (Test-Path -LiteralPath $exe -PathType Leaf)) { Stop-Install "$archive has no $folder\ferry.exe" }

    # --- install: a copy beside the target, then a move over it -----------------------------------
    try { New-Item -ItemType Directory -Force -Path $Dir | Out-Null }
    catch { Stop-Install "cannot create $Dir`: pass another -Dir" }
    $dest = Join-Path $Dir 'ferry.exe'
    $partial = Join-Path $Dir "ferry.exe.install-$PID"
    try {
      Copy-Item -LiteralPath $exe -Destination $partial -Force
      Move-Item -LiteralPath $partial -Destination $dest -Force
    } catch {
      Remove-Item -LiteralPath $partial -Force -ErrorAction SilentlyContinue
      Stop-Install "cannot write $dest (is ferry running? stop it first): $($_.Exception.Message)"
    }

    $says = & $dest --version 2>&1 | Out-String
    if ($LASTEXITCODE -ne 0) { Stop-Install "installed $dest, but it does not run here: $($says.Trim())" }
    Say "installed $dest ($($says.Trim()))"

    $userPath = [Environment]::GetEnvironmentVariable('Path', 'User')
    $onPath = @(($env:Path -split ';') + ($userPath -split ';') | Where-Object { $_ -and ($_.TrimEnd('\') -ieq $Dir.TrimEnd('\')) })
    if ($onPath.Count -eq 0) {
      Write-Warning "$Dir is not on your PATH; add it for your user with:`n  [Environment]::SetEnvironmentVariable('Path', '$Dir;' + [Environment]::GetEnvironmentVariable('Path', 'User'), 'User')"
    }
  } finally {
    Remove-Item -LiteralPath $tmp -Recurse -Force -ErrorAction SilentlyContinue
  }
}

try {
  Install-Ferry
} catch {
  $message = $_.Exception.Message
  if ($_.Exception -isnot [InstallError]) { $message = "$message (at $($_.InvocationInfo.PositionMessage))" }
  Write-Host "ferry install: error: $message" -ForegroundColor Red
  if ($MyInvocation.MyCommand.Path) { exit 1 } # a script file; under iex, just stop
}
