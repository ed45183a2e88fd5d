// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.
using System.Diagnostics;
using System.Text;

namespace HyperDbgRemote.Tests.Shared;

/// <summary>
/// QEMU 7.2 (Debian's qemu-system-x86) as the oracle for platform behaviour: boots a kernel with
/// <c>qemu-system-x86_64 -M pc -cpu qemu64 -m 256 -nographic -no-reboot -kernel K -initrd I -append CMDLINE</c> and
/// captures the serial console until a marker line (then stops QEMU) or until QEMU exits (a guest reset with
/// -no-reboot ends it). Shared by the tests and the benchmarks (linked into each).
/// </summary>
internal static class QemuOracle
{
    /// <summary>The emulator.</summary>
    public const string Executable = "qemu-system-x86_64";

    /// <summary>The path of the emulator, or null when it is not installed.</summary>
    public static string? Find() =>
        (Environment.GetEnvironmentVariable("PATH") ?? string.Empty).Split(Path.PathSeparator)
            .Select(dir => Path.Combine(dir, Executable))
            .FirstOrDefault(File.Exists);

    /// <summary>The arguments for a Linux boot, exactly as the comparison uses them.</summary>
    public static IReadOnlyList<string> LinuxArguments(string kernel, string? initrd, string commandLine, int memoryMiB = 256)
    {
        var args = new List<string> { "-M", "pc", "-cpu", "qemu64", "-m", memoryMiB.ToString(System.Globalization.CultureInfo.InvariantCulture), "-nographic", "-no-reboot", "-kernel", kernel };
        if (initrd is not null)
        {
            args.AddRange(["-initrd", initrd]);
        }

        args.AddRange(["-append", commandLine]);
        return args;
    }

    /// <summary>
    /// The arguments for the same boot through a given BIOS (-bios), without the VGA card and the NIC our machine does
    /// not have (-vga none -nic none, so neither SeaVGABIOS nor iPXE runs), with SeaBIOS's debug console (port 0x402)
    /// written to <paramref name="debugConsoleFile"/>.
    /// </summary>
    public static IReadOnlyList<string> BiosLinuxArguments(string bios, string kernel, string? initrd, string commandLine, string debugConsoleFile, int memoryMiB = 256) =>
        [.. LinuxArguments(kernel, initrd, commandLine, memoryMiB), "-bios", bios, "-vga", "none", "-nic", "none",
            "-chardev", $"file,id=debugcon,path={debugConsoleFile}", "-device", "isa-debugcon,iobase=0x402,chardev=debugcon"];

    /// <summary>
    /// Boots <see cref="BiosLinuxArguments"/> until the debug console has a line containing <paramref name="marker"/>
    /// (QEMU is then stopped), QEMU exits, or <paramref name="timeout"/>; returns the debug console and the serial console.
    /// </summary>
    /// <exception cref="InvalidOperationException">QEMU is not installed.</exception>
    public static async Task<(string DebugConsole, string Console)> BootBiosLinuxAsync(
        string bios, string kernel, string? initrd, string commandLine, string marker, TimeSpan timeout)
    {
        string qemu = Find() ?? throw new InvalidOperationException($"{Executable} is not installed (./build.sh deps installs qemu-system-x86)");
        string debugConsole = Path.Combine(Path.GetTempPath(), $"hyperdbg-qemu-debugcon-{Guid.NewGuid():N}.txt");
        var psi = new ProcessStartInfo(qemu) { RedirectStandardOutput = true, RedirectStandardError = true, RedirectStandardInput = true };
        foreach (string arg in BiosLinuxArguments(bios, kernel, initrd, commandLine, debugConsole))
        {
            psi.ArgumentList.Add(arg);
        }

        using Process process = Process.Start(psi)!;
        Task<string> stdout = process.StandardOutput.ReadToEndAsync();
        Task<string> stderr = process.StandardError.ReadToEndAsync();
        string Read() => File.Exists(debugConsole) ? File.ReadAllText(debugConsole) : string.Empty;
        try
        {
            await Eventually.UntilAsync(() => Read().Contains(marker + "\n", StringComparison.Ordinal) || process.HasExited, "QEMU's debug console reaches " + marker, timeout).ConfigureAwait(false);
        }
        finally
        {
            if (!process.HasExited)
            {
                process.Kill(entireProcessTree: true);
            }

            await process.WaitForExitAsync(CancellationToken.None).ConfigureAwait(false);
        }

        string text = Read();
        File.Delete(debugConsole);
        _ = await stderr.ConfigureAwait(false);
        return (text, await stdout.ConfigureAwait(false));
    }

    /// <summary>
    /// Boots and reads the console until a line containing <paramref name="marker"/> (QEMU is then stopped), until
    /// QEMU exits, or until <paramref name="timeout"/>. The log keeps everything up to and including the marker line.
    /// <paramref name="extraArguments"/> follow the usual ones (e.g. <c>-bios PATH</c>).
    /// </summary>
    /// <exception cref="InvalidOperationException">QEMU is not installed.</exception>
    public static async Task<QemuBootResult> BootLinuxAsync(
        string kernel, string? initrd, string commandLine, string? marker, TimeSpan timeout, int memoryMiB = 256, IReadOnlyList<string>? extraArguments = null,
        CancellationToken cancellationToken = default)
    {
        string qemu = Find() ?? throw new InvalidOperationException($"{Executable} is not installed (./build.sh deps installs qemu-system-x86)");
        var psi = new ProcessStartInfo(qemu) { RedirectStandardOutput = true, RedirectStandardError = true, RedirectStandardInput = true };
        foreach (string arg in LinuxArguments(kernel, initrd, commandLine, memoryMiB).Concat(extraArguments ?? []))
        {
            psi.ArgumentList.Add(arg);
        }

        var watch = Stopwatch.StartNew();
        using Process process = Process.Start(psi)!;
        Task<string> stderr = process.StandardError.ReadToEndAsync(cancellationToken);
        var log = new StringBuilder();
        TimeSpan? markerAt = null;
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(timeout);
        try
        {
            while (await process.StandardOutput.ReadLineAsync(deadline.Token).ConfigureAwait(false) is string line)
            {
                log.Append(line).Append('\n');
                if (marker is not null && line.Contains(marker, StringComparison.Ordinal))
                {
                    markerAt = watch.Elapsed;
                    break;
                }
            }

            if (markerAt is null)
            {
                // The console ended: QEMU is exiting (a reset with -no-reboot); its exit code follows the end of its
                // output, so wait for it rather than take it for a QEMU still running.
                await process.WaitForExitAsync(deadline.Token).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            // timeout: return what was read
        }

        bool exited = process.HasExited;
        if (!exited)
        {
            process.Kill(entireProcessTree: true);
        }

        await process.WaitForExitAsync(CancellationToken.None).ConfigureAwait(false);
        return new QemuBootResult(log.ToString(), markerAt, watch.Elapsed, exited ? process.ExitCode : null, await stderr.ConfigureAwait(false));
    }
}
