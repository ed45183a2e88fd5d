#!/usr/bin/env bash
# HyperDbgRemote build script (POSIX). Verbs: deps, build, test, demo, bench [prefix], conformance [DIR], format.
# Every verb installs what is missing first (Debian packages, NuGet packages).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cd "$ROOT"
CONFIG="${CONFIGURATION:-Release}"
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1
APT_PACKAGES=(socat seabios python3-grpcio python3-grpc-tools python3-protobuf cpio qemu-system-x86 qemu-system-data gdb)
# The CPU engine: Debian 13's Unicorn 2.1 (it depends only on libc6 >= 2.34, so it runs on Debian 12), fetched by package
# name with a private apt configuration and extracted here; vmx-driver copies the library into every build output.
# Debian 12's Unicorn 2.0 (which ignores guest paging) is fetched the same way, only for the test that refuses it.
ENGINE_DIR="$ROOT/artifacts/engine"
ENGINE_PACKAGE=libunicorn2t64
ENGINE_SUITE=trixie
ENGINE_LIBRARY="$ENGINE_DIR/unicorn/usr/lib/x86_64-linux-gnu/libunicorn.so.2"
OLD_ENGINE_PACKAGE=libunicorn2
OLD_ENGINE_SUITE=bookworm
OLD_ENGINE_LIBRARY="$ENGINE_DIR/unicorn-too-old/usr/lib/x86_64-linux-gnu/libunicorn.so.2"
# The Linux guest: Debian's own kernel and busybox, downloaded as packages (never installed) into this git-ignored folder.
LINUX_DIR="$ROOT/.cache/linux"
LINUX_INIT="$ROOT/vmx-driver/Guests/Linux/init"

log() { printf '==> %s\n' "$*" >&2; }

missing_packages() {
    local missing=()
    for p in "${APT_PACKAGES[@]}"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
    done
    echo "${missing[@]:-}"
}

deps() {
    if ! command -v dotnet >/dev/null 2>&1; then
        echo "build.sh: the .NET SDK (dotnet) is not installed; see https://learn.microsoft.com/dotnet/core/install/linux-debian" >&2
        exit 1
    fi
    local missing
    missing="$(missing_packages)"
    if [ -n "${missing// /}" ]; then
        if command -v apt-get >/dev/null 2>&1; then
            local sudo=""
            [ "$(id -u)" -eq 0 ] || sudo="sudo"
            log "installing Debian packages: $missing"
            $sudo apt-get update -qq
            # shellcheck disable=SC2086
            DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq $missing >/dev/null
        else
            echo "build.sh: please install: $missing" >&2
            exit 1
        fi
    fi
    engine
    linux_guest
    log "restoring NuGet packages"
    dotnet restore HyperDbgRemote.sln --verbosity quiet
}

# Fetches and extracts the engine packages that are not extracted yet. The system's apt sources, lists and installed
# packages are left alone: sources list, lists and cache are private folders under $ENGINE_DIR. Without the engine the
# script stops; without the old one (a test fixture) it warns, and that test says what is missing.
engine() {
    [ -f "$ENGINE_LIBRARY" ] && [ -f "$OLD_ENGINE_LIBRARY" ] && return 0
    local fatal=1
    [ -f "$ENGINE_LIBRARY" ] && fatal=0
    if ! command -v apt-get >/dev/null 2>&1 || ! command -v dpkg >/dev/null 2>&1; then
        engine_failed "$fatal" "apt-get and dpkg are needed to fetch $ENGINE_PACKAGE ($ENGINE_SUITE) and $OLD_ENGINE_PACKAGE ($OLD_ENGINE_SUITE)"
        return 0
    fi
    local apt="$ENGINE_DIR/apt"
    mkdir -p "$apt/lists/partial" "$apt/cache/archives/partial" "$ENGINE_DIR/debs"
    printf 'deb http://deb.debian.org/debian %s main\n' "$ENGINE_SUITE" "$OLD_ENGINE_SUITE" >"$apt/sources.list"
    local options=(-o "Dir::Etc::sourcelist=$apt/sources.list" -o Dir::Etc::sourceparts=/nonexistent
        -o "Dir::State::Lists=$apt/lists" -o "Dir::Cache=$apt/cache" -o "APT::Sandbox::User=$(id -un)")
    log "fetching the CPU engine: $ENGINE_PACKAGE ($ENGINE_SUITE) and, for a test, $OLD_ENGINE_PACKAGE ($OLD_ENGINE_SUITE)"
    if ! apt-get "${options[@]}" -qq update >&2; then
        engine_failed "$fatal" "apt-get update of Debian's $ENGINE_SUITE and $OLD_ENGINE_SUITE suites failed (private lists in $apt)"
        return 0
    fi
    if [ ! -f "$ENGINE_LIBRARY" ] && ! fetch_engine "$ENGINE_PACKAGE/$ENGINE_SUITE" "$ENGINE_DIR/unicorn" "${options[@]}"; then
        engine_failed 1 "apt-get download $ENGINE_PACKAGE/$ENGINE_SUITE failed"
    fi
    if [ ! -f "$OLD_ENGINE_LIBRARY" ] && ! fetch_engine "$OLD_ENGINE_PACKAGE/$OLD_ENGINE_SUITE" "$ENGINE_DIR/unicorn-too-old" "${options[@]}"; then
        engine_failed 0 "apt-get download $OLD_ENGINE_PACKAGE/$OLD_ENGINE_SUITE failed"
    fi
    rm -rf "$apt" # the package lists (about 90 MB) are needed again only when a library is missing
}

# engine_failed FATAL WHAT: stops the script (FATAL=1) or warns that the test refusing Unicorn 2.0 cannot run.
engine_failed() {
    if [ "$1" -eq 1 ]; then
        echo "build.sh: $2; the CPU engine ($ENGINE_PACKAGE, Unicorn 2.1) is missing." \
            "Alternatively set HYPERDBG_UNICORN_LIBRARY to a libunicorn.so.2 of Unicorn 2.1 or later." >&2
        exit 1
    fi
    log "warning: $2; the test that refuses Unicorn 2.0 ($OLD_ENGINE_PACKAGE) will fail"
}

# fetch_engine PACKAGE/SUITE FOLDER APT-OPTIONS...: apt-get download into $ENGINE_DIR/debs, then dpkg -x into FOLDER.
fetch_engine() {
    local package="$1" folder="$2" deb
    shift 2
    rm -f "$ENGINE_DIR/debs/${package%%/*}"_*.deb
    (cd "$ENGINE_DIR/debs" && apt-get "$@" -qq download "$package" >&2) || return 1
    deb="$(echo "$ENGINE_DIR/debs/${package%%/*}"_*.deb)"
    rm -rf "$folder.tmp"
    dpkg -x "$deb" "$folder.tmp" || return 1
    rm -rf "$folder"
    mv "$folder.tmp" "$folder"
    log "extracted $(basename "$deb") into ${folder#"$ROOT"/}"
}

# Fetches Debian's kernel (the package linux-image-amd64 depends on) and busybox-static with `apt-get download`,
# extracts them into $LINUX_DIR without installing anything, and builds the initramfs. Results, stable names:
#   vmlinuz, config       the kernel package's /boot files
#   initramfs.cpio.gz     busybox + /init
#   System.map            the kernel's own /proc/kallsyms (booted once in QEMU with nokaslr), because the package's
#                         System.map is a placeholder that points at the -dbg package (850 MB)
linux_guest() {
    if [ -f "$LINUX_DIR/vmlinuz" ] && [ -f "$LINUX_DIR/System.map" ] && [ -f "$LINUX_DIR/initramfs.cpio.gz" ] \
        && [ "$LINUX_DIR/initramfs.cpio.gz" -nt "$LINUX_INIT" ] && [ "$LINUX_DIR/System.map" -nt "$LINUX_DIR/vmlinuz" ]; then
        return 0
    fi
    mkdir -p "$LINUX_DIR/debs"
    if [ ! -f "$LINUX_DIR/vmlinuz" ]; then
        local image
        image="$(kernel_package)"
        log "downloading Debian's kernel package $image (not installed; extracted into $LINUX_DIR)"
        if ! apt_download "$image"; then
            # Stale package lists: the kernel they name may be gone from the archive. Refresh and resolve again.
            apt_update
            image="$(kernel_package)"
            apt_download "$image" || { echo "build.sh: apt-get download $image failed (network? see /etc/apt/sources.list)" >&2; exit 1; }
        fi
        rm -rf "$LINUX_DIR/kernel"
        mkdir -p "$LINUX_DIR/kernel"
        # Only /boot: the modules (400 MB) are not needed, the initramfs has no module loader.
        dpkg-deb --fsys-tarfile "$LINUX_DIR/debs/${image}"_*.deb | tar -x -C "$LINUX_DIR/kernel" ./boot
        local vmlinuz
        vmlinuz="$(find "$LINUX_DIR/kernel/boot" -name 'vmlinuz-*' | head -n 1)"
        cp "$LINUX_DIR/kernel/boot/config-${vmlinuz##*/vmlinuz-}" "$LINUX_DIR/config"
        echo "$image $(dpkg-deb -f "$LINUX_DIR/debs/${image}"_*.deb Version)" >"$LINUX_DIR/VERSION"
        cp "$vmlinuz" "$LINUX_DIR/vmlinuz"
    fi
    if [ ! -x "$LINUX_DIR/busybox/bin/busybox" ]; then
        log "downloading Debian's busybox-static (not installed; extracted into $LINUX_DIR)"
        apt_download busybox-static || { apt_update; apt_download busybox-static; } || {
            echo "build.sh: apt-get download busybox-static failed (network? see /etc/apt/sources.list)" >&2
            exit 1
        }
        rm -rf "$LINUX_DIR/busybox"
        dpkg-deb -x "$LINUX_DIR"/debs/busybox-static_*.deb "$LINUX_DIR/busybox"
    fi
    if [ ! -f "$LINUX_DIR/initramfs.cpio.gz" ] || [ "$LINUX_INIT" -nt "$LINUX_DIR/initramfs.cpio.gz" ]; then
        make_initramfs "$LINUX_DIR/initramfs.cpio.gz"
    fi
    if [ ! -f "$LINUX_DIR/System.map" ] || [ "$LINUX_DIR/vmlinuz" -nt "$LINUX_DIR/System.map" ]; then
        make_system_map
    fi
}

# Boots the kernel once in QEMU with nokaslr; /init (hyperdbg.kallsyms=1) copies /proc/kallsyms to the second serial
# port, which has System.map's format ("ffffffff81000000 T _stext").
make_system_map() {
    log "System.map: booting the kernel once in QEMU to read its /proc/kallsyms (about 20 s)"
    local tmp
    tmp="$(mktemp -d)"
    timeout 600 qemu-system-x86_64 -M pc -cpu qemu64 -m 256 -display none -monitor none -no-reboot \
        -kernel "$LINUX_DIR/vmlinuz" -initrd "$LINUX_DIR/initramfs.cpio.gz" \
        -append "console=ttyS0 noapic nolapic acpi=off nokaslr quiet hyperdbg.kallsyms=1" \
        -serial "file:$tmp/console.txt" -serial "file:$tmp/kallsyms.txt" </dev/null || true
    if ! grep -q ' T start_kernel.\?$' "$tmp/kallsyms.txt" 2>/dev/null; then
        echo "build.sh: the kernel did not list its symbols; console output follows:" >&2
        tail -n 20 "$tmp/console.txt" >&2 || true
        rm -rf "$tmp"
        exit 1
    fi
    tr -d '\r' <"$tmp/kallsyms.txt" >"$LINUX_DIR/System.map"
    rm -rf "$tmp"
    log "System.map: $(wc -l <"$LINUX_DIR/System.map") symbols"
}

# The versioned kernel package linux-image-amd64 depends on (linux-image-6.1.0-57-amd64, ...).
kernel_package() {
    local image
    image="$(apt-cache depends linux-image-amd64 2>/dev/null | awk '/Depends: linux-image-[0-9]/ { print $2; exit }')"
    if [ -z "$image" ]; then
        echo "build.sh: apt does not know linux-image-amd64 (run apt-get update, or check /etc/apt/sources.list)" >&2
        exit 1
    fi
    echo "$image"
}

apt_update() {
    local sudo=""
    [ "$(id -u)" -eq 0 ] || sudo="sudo"
    $sudo apt-get update -qq
}

# Downloads a package's .deb into $LINUX_DIR/debs (apt-get download: nothing is installed); false on failure.
apt_download() {
    rm -f "$LINUX_DIR/debs/$1"_*.deb
    (cd "$LINUX_DIR/debs" && apt-get download -q -o APT::Sandbox::User=root "$1" >/dev/null 2>&1)
}

# The initramfs: busybox, /init (vmx-driver/Guests/Linux/init), empty mount points, and /dev/console (a character
# device 5:1, written as one hand-made cpio newc entry so no root rights are needed). cpio archives may be
# concatenated (the kernel unpacks each); timestamps are zeroed so the archive is reproducible.
make_initramfs() {
    local out="$1" tree
    tree="$(mktemp -d)"
    mkdir -p "$tree/bin" "$tree/dev" "$tree/proc" "$tree/sys" "$tree/tmp" "$tree/root"
    cp "$LINUX_DIR/busybox/bin/busybox" "$tree/bin/busybox"
    ln -s busybox "$tree/bin/sh"
    cp "$LINUX_INIT" "$tree/init"
    chmod 755 "$tree/init" "$tree/bin/busybox"
    find "$tree" -exec touch -h -d @0 {} +
    (
        cd "$tree"
        find . -mindepth 1 | LC_ALL=C sort | cpio --quiet -o -H newc --owner=0:0 --reproducible
        newc_entry "dev/console" 020600 5 1
        newc_entry "TRAILER!!!" 0 0 0
    ) | gzip -9 -n >"$out.tmp"
    mv "$out.tmp" "$out"
    rm -rf "$tree"
    log "initramfs: $out ($(stat -c %s "$out") bytes)"
}

# One cpio newc header (no data): name, octal mode, device major and minor; padded to 4 bytes.
newc_entry() {
    local name="$1" mode=$((8#$2)) major="$3" minor="$4"
    local namesize=$((${#name} + 1))
    printf '070701%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X' \
        0 "$mode" 0 0 1 0 0 0 0 "$major" "$minor" "$namesize" 0
    printf '%s\0' "$name"
    local pad=$(((4 - (110 + namesize) % 4) % 4))
    [ "$pad" -eq 0 ] || head -c "$pad" /dev/zero
}

build() {
    deps
    log "building ($CONFIG)"
    dotnet build HyperDbgRemote.sln -c "$CONFIG" --no-restore --verbosity quiet -nologo
    launchers
}

launchers() {
    mkdir -p "$ROOT/bin"
    write_launcher hyperdbg-agent "Debuggee.Agent/bin/$CONFIG/net10.0/HyperDbgRemote.Agent.dll"
    if [ -f "Debugger.Host/bin/$CONFIG/net10.0/HyperDbgRemote.Host.dll" ]; then
        write_launcher hyperdbg "Debugger.Host/bin/$CONFIG/net10.0/HyperDbgRemote.Host.dll"
    fi
}

write_launcher() {
    local name="$1" dll="$2"
    cat >"$ROOT/bin/$name" <<LAUNCHER
#!/usr/bin/env bash
exec dotnet "$ROOT/$dll" "\$@"
LAUNCHER
    chmod +x "$ROOT/bin/$name"
}

# Runs every test assembly and prints one closing line "N passed, N failed" (skipped tests on the line before).
run_tests() {
    local log_file status results
    log_file="$(mktemp)"
    results="$(mktemp -d)"
    set +e
    dotnet test HyperDbgRemote.sln -c "$CONFIG" --no-build --verbosity quiet -nologo \
        --logger "trx" --results-directory "$results" "$@" 2>&1 | tee "$log_file"
    status=${PIPESTATUS[0]}
    set -e
    python3 "$ROOT/.ci/failed_tests.py" "$results" || true
    rm -rf "$results"
    local summary
    summary="$(sed -e 's/\x1b\[[0-9;]*m//g' "$log_file" | awk '
        /^(Passed|Failed)! +- Failed: +[0-9]+, Passed: +[0-9]+/ {
            gsub(/,/, "");
            for (i = 1; i <= NF; i++) {
                if ($i == "Failed:") f += $(i + 1);
                if ($i == "Passed:") p += $(i + 1);
                if ($i == "Skipped:") s += $(i + 1);
            }
        }
        END { printf "%d %d %d\n", p, f, s }')"
    rm -f "$log_file"
    local passed failed skipped
    read -r passed failed skipped <<<"$summary"
    if [ "$status" -ne 0 ] && [ "$failed" -eq 0 ]; then
        failed=1 # a build or runner error counts as a failure
    fi
    if [ "$passed" -eq 0 ] && [ "$failed" -eq 0 ]; then
        echo "build.sh: no test ran (a filter that matches no test is a failure)" >&2
        failed=1
    fi
    echo "($skipped skipped)"
    echo "$passed passed, $failed failed"
    [ "$failed" -eq 0 ]
}

# Runs the conformance suites and prints one line per suite, "SUITE: N passed, N failed", counting cases: HyperDbg's
# suites found under $1 (the Conformance test category, pointed at that folder), and the semantic suites - HyperDbg's
# ($1/script-engine/semantic) and ours (test/Script.Tests/Data/semantic) - run file by file through bin/hyperdbg on the
# halted demo guest, each "test case N was successful/failed" line counted.
run_conformance() {
    local dir results status
    dir="$(cd "$1" && pwd)"
    results="$(mktemp -d)"
    set +e
    HYPERDBG_CONFORMANCE_DIR="$dir" dotnet test HyperDbgRemote.sln -c "$CONFIG" --no-build --verbosity quiet -nologo \
        --filter "TestCategory=Conformance&FullyQualifiedName!~Semantic" --logger "trx" --results-directory "$results" >"$results/log.txt" 2>&1
    status=$?
    python3 "$ROOT/.ci/conformance_summary.py" "$results" --debugger "$ROOT/bin/hyperdbg" \
        --semantic "script-engine/semantic=$dir/script-engine/semantic" \
        --semantic "hyperdbgremote/semantic=$ROOT/test/Script.Tests/Data/semantic"
    local summary=$?
    set -e
    rm -rf "$results"
    if [ "$summary" -ne 0 ] || [ "$status" -ne 0 ]; then
        return 1
    fi
}

case "${1:-build}" in
    deps) deps ;;
    build) build ;;
    test)
        shift
        build
        run_tests "$@"
        ;;
    demo)
        shift
        build
        log "the demo guest runs for 2 seconds with ports 3f8, 80, 70, 71, 40, 43 trapped"
        "$ROOT/bin/hyperdbg-agent" --guest demo --run-seconds 2 --trap 3f8,80,70,71,40,43
        log "a scripted debugging session (examples/demo/session.ds) against the embedded demo guest"
        "$ROOT/bin/hyperdbg" --guest demo --initial-break --script "$ROOT/examples/demo/session.ds" "$@"
        ;;
    conformance)
        shift
        build
        folder="${1:-$ROOT/../shared/conformance}"
        if [ ! -d "$folder" ]; then
            echo "build.sh: conformance folder '$folder' does not exist" >&2
            exit 2
        fi
        run_conformance "$folder"
        ;;
    bench)
        shift
        build
        dotnet run --project bench/HyperDbgRemote.Bench.csproj -c "$CONFIG" --no-build -- "$@"
        ;;
    format)
        deps
        dotnet format HyperDbgRemote.sln --verify-no-changes --no-restore
        ;;
    *)
        echo "usage: ./build.sh deps|build|test [dotnet test args]|demo|bench [prefix]|conformance [DIR]|format" >&2
        exit 2
        ;;
esac
