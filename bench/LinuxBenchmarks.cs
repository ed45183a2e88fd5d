// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

using HyperDbgRemote.Tests.Shared;
using HyperDbgRemote.VmxDriver.Guests.Linux;

namespace HyperDbgRemote.Bench;

/// <summary>
/// Booting Debian's kernel with the initramfs of ./build.sh deps to its marker line: QEMU 7.2 TCG, the anchor a user
/// would otherwise choose (<c>qemu.boot_to_marker_s</c>, median of 3 after a warm-up).
/// </summary>
internal static class LinuxBenchmarks
{
    private const string Marker = "HYPERDBG-INIT-OK";
    private const int Runs = 3;

    public static IEnumerable<(string Name, Func<double> Run)> All()
    {
        yield return ("qemu.boot_to_marker_s", () => Measure.Median(QemuBootToMarker, Runs));
    }

    private static double QemuBootToMarker()
    {
        string dir = LinuxGuestFiles.FindDirectory() ?? throw new InvalidOperationException("the Linux guest files are missing: run ./build.sh deps");
        QemuBootResult result = QemuOracle.BootLinuxAsync(
            Path.Combine(dir, LinuxGuestFiles.KernelFile),
            Path.Combine(dir, LinuxGuestFiles.InitramfsFile),
            LinuxGuest.DefaultCommandLine,
            Marker,
            TimeSpan.FromMinutes(3)).GetAwaiter().GetResult();
        return result.MarkerAt?.TotalSeconds ?? throw new InvalidOperationException($"QEMU did not reach {Marker}: {result.Errors}");
    }
}
