// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

using System.Diagnostics;
using System.Text;
using HyperDbgRemote.Tests.Shared;
using HyperDbgRemote.VmxDriver;
using HyperDbgRemote.VmxDriver.Devices;
using HyperDbgRemote.VmxDriver.Guests.Linux;

namespace HyperDbgRemote.Bench;

/// <summary>
/// Booting Debian's kernel with the initramfs of ./build.sh deps. <c>linux.boot_to_run_init_s</c> (our machine) and
/// <c>qemu.boot_to_run_init_s</c> (QEMU 7.2 TCG, the anchor a user would otherwise choose) to the kernel's
/// <c>Run /init as init process</c> line, taken in alternation in one run (median of 3 after a warm-up round), and
/// <c>linux.boot_to_run_init_vs_qemu</c>, ours ÷ QEMU's; <c>linux.boot_to_marker_s</c> and <c>qemu.boot_to_marker_s</c>
/// to the initramfs's own marker line, which /init prints in user mode (a second interleaved series), and
/// <c>linux.boot_vs_qemu</c>, ours ÷ QEMU's to the marker.
/// </summary>
internal static class LinuxBenchmarks
{
    private const string Marker = "HYPERDBG-INIT-OK";
    private const string RunInit = "Run /init as init process";
    private const int Runs = 3;
    private static readonly TimeSpan s_limit = TimeSpan.FromMinutes(3);

    public static IEnumerable<(string Name, Func<double> Run)> All()
    {
        // Both medians come from one interleaved series, so that a machine whose speed drifts affects them alike.
        var pair = new Lazy<double[]>(() => Measure.Interleaved([() => OursTo(RunInit), () => QemuTo(RunInit)], Runs));
        yield return ("linux.boot_to_run_init_s", () => pair.Value[0]);
        yield return ("qemu.boot_to_run_init_s", () => pair.Value[1]);
        var marker = new Lazy<double[]>(() => Measure.Interleaved([() => OursTo(Marker), () => QemuTo(Marker)], Runs));
        yield return ("linux.boot_to_marker_s", () => marker.Value[0]);
        yield return ("qemu.boot_to_marker_s", () => marker.Value[1]);
    }

    /// <summary>Ours, in process: from reading the kernel file (<see cref="LinuxGuest.FromFiles"/>) to the end of the
    /// first console line containing <paramref name="line"/>.</summary>
    private static double OursTo(string line)
    {
        string dir = GuestDirectory();
        long start = Stopwatch.GetTimestamp();
        LinuxGuest guest = LinuxGuest.FromFiles(Path.Combine(dir, LinuxGuestFiles.KernelFile), Path.Combine(dir, LinuxGuestFiles.InitramfsFile));
        using var vm = new VirtualMachine(new VmConfiguration { MemoryBytes = guest.DefaultMemoryBytes ?? (256UL << 20) });
        StandardDevices devices = StandardDevices.Attach(vm, new StandardDevicesOptions { SerialPorts = 1 });
        using var watcher = new LineWatcher(line);
        devices.Com1.Transmitted.MirrorTo(watcher);
        vm.AddCores(guest.Load(vm));
        vm.Start();
        while (!watcher.Seen.Wait(TimeSpan.FromMilliseconds(100)))
        {
            if (vm.HasStopped || Stopwatch.GetElapsedTime(start) > s_limit)
            {
                throw new InvalidOperationException($"our machine did not reach '{line}': {vm.StopInfo?.Report ?? "time limit"}");
            }
        }

        double seconds = Stopwatch.GetElapsedTime(start).TotalSeconds;
        vm.Stop();
        return seconds;
    }

    private static double QemuTo(string marker)
    {
        string dir = GuestDirectory();
        QemuBootResult result = QemuOracle.BootLinuxAsync(
            Path.Combine(dir, LinuxGuestFiles.KernelFile),
            Path.Combine(dir, LinuxGuestFiles.InitramfsFile),
            LinuxGuest.DefaultCommandLine,
            marker,
            s_limit).GetAwaiter().GetResult();
        return result.MarkerAt?.TotalSeconds ?? throw new InvalidOperationException($"QEMU did not reach {marker}: {result.Errors}");
    }

    private static string GuestDirectory() =>
        LinuxGuestFiles.FindDirectory() ?? throw new InvalidOperationException("the Linux guest files are missing: run ./build.sh deps");

    /// <summary>A write-only stream the console is mirrored to: sets <see cref="Seen"/> at the end of the first line
    /// that contains the marker (the capture flushes at every newline).</summary>
    private sealed class LineWatcher(string marker) : Stream
    {
        private readonly StringBuilder _line = new();

        public ManualResetEventSlim Seen { get; } = new();

        public override bool CanRead => false;

        public override bool CanSeek => false;

        public override bool CanWrite => true;

        public override long Length => throw new NotSupportedException();

        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

        public override void WriteByte(byte value)
        {
            if (value != (byte)'\n')
            {
                _line.Append((char)value);
                return;
            }

            if (_line.ToString().Contains(marker, StringComparison.Ordinal))
            {
                Seen.Set();
            }

            _line.Clear();
        }

        public override void Write(byte[] buffer, int offset, int count)
        {
            for (int i = 0; i < count; i++)
            {
                WriteByte(buffer[offset + i]);
            }
        }

        public override void Flush()
        {
        }

        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        protected override void Dispose(bool disposing)
        {
            if (disposing)
            {
                Seen.Dispose();
            }

            base.Dispose(disposing);
        }
    }
}
