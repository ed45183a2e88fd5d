// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

using System.Diagnostics;
using System.Text;
using HyperDbgRemote.Agent.Events;
using HyperDbgRemote.Agent.Session;
using HyperDbgRemote.Agent.Wire;
using HyperDbgRemote.Protocol;
using HyperDbgRemote.Protocol.Messages;
using HyperDbgRemote.Tests.Shared;
using HyperDbgRemote.VmxDriver;
using HyperDbgRemote.VmxDriver.Devices;
using HyperDbgRemote.VmxDriver.Guests;
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
    private const string SeaBios = "/usr/share/seabios/bios.bin";
    private const string BootingFrom = "Booting from";

    /// <summary>The README's console event: every character the kernel writes to COM1, REP OUTSB included.</summary>
    private const string ConsoleScript = "op = db(@rip); if (op == 0xf3) { op = db(@rip + 1); } if (op == 0x6e) { printf(\"%c\", db(@rsi)); } else { printf(\"%c\", @al); }";
    private static readonly TimeSpan s_limit = TimeSpan.FromMinutes(3);

    public static IEnumerable<(string Name, Func<double> Run)> All()
    {
        // Ours and QEMU's come from interleaved series, so that a machine whose speed drifts affects them alike.
        var linux = new Lazy<double[]>(() => Measure.Interleaved([() => OursTo(RunInit), TracedToRunInit, () => QemuTo(RunInit)], Runs));
        yield return ("linux.boot_to_run_init_s", () => linux.Value[0]);
        yield return ("linux.boot_traced_to_run_init_s", () => linux.Value[1]);
        yield return ("qemu.boot_to_run_init_s", () => linux.Value[2]);
        var marker = new Lazy<double[]>(() => Measure.Interleaved([() => OursTo(Marker), () => QemuTo(Marker)], Runs));
        yield return ("linux.boot_to_marker_s", () => marker.Value[0]);
        yield return ("qemu.boot_to_marker_s", () => marker.Value[1]);
        if (File.Exists(SeaBios))
        {
            var bios = new Lazy<double[]>(() => Measure.Interleaved([OursSeaBios, QemuSeaBios], Runs));
            yield return ("seabios.boot_to_booting_s", () => bios.Value[0]);
            yield return ("qemu.seabios_to_booting_s", () => bios.Value[1]);
        }
    }

    /// <summary>
    /// <c>seabios_linux.boot_to_marker_s</c> and <c>seabios_linux.qemu_boot_to_marker_s</c>: the kernel booted as QEMU's
    /// <c>-bios bios.bin -kernel -initrd -append</c> does (SeaBIOS finds it in fw_cfg and runs linuxboot_dma.bin), ours
    /// and QEMU 7.2's, to the initramfs's marker line, interleaved in one run (median of 3 after a warm-up round);
    /// <c>seabios_linux.boot_vs_qemu</c> is ours ÷ QEMU's.
    /// </summary>
    public static IEnumerable<(string Name, Func<double> Run)> SeaBiosLinux()
    {
        if (!File.Exists(SeaBios) || !File.Exists(FwCfgLinuxBoot.DefaultOptionRomPath))
        {
            yield break;
        }

        var series = new Lazy<double[]>(() => Measure.Interleaved([OursSeaBiosLinux, () => QemuTo(Marker, ["-bios", SeaBios])], Runs));
        yield return ("seabios_linux.boot_to_marker_s", () => series.Value[0]);
        yield return ("seabios_linux.qemu_boot_to_marker_s", () => series.Value[1]);
    }

    /// <summary>Ours, in process: from reading the kernel and initramfs to the end of the marker line, through SeaBIOS
    /// and QEMU's option ROM.</summary>
    private static double OursSeaBiosLinux()
    {
        string dir = GuestDirectory();
        long start = Stopwatch.GetTimestamp();
        BiosKernel kernel = BiosKernel.FromFiles(Path.Combine(dir, LinuxGuestFiles.KernelFile), Path.Combine(dir, LinuxGuestFiles.InitramfsFile), LinuxGuest.DefaultCommandLine);
        using var vm = new VirtualMachine(new VmConfiguration { MemoryBytes = LinuxGuest.DefaultRamBytes });
        StandardDevices devices = StandardDevices.Attach(vm, new StandardDevicesOptions { SerialPorts = 1 });
        using var watcher = new LineWatcher(Marker);
        devices.Com1.Transmitted.MirrorTo(watcher);
        vm.AddCores(BiosGuest.FromFile(SeaBios, kernel).Load(vm));
        vm.Start();
        WaitFor(watcher, vm, start, Marker);
        double seconds = Stopwatch.GetElapsedTime(start).TotalSeconds;
        vm.Stop();
        return seconds;
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
        WaitFor(watcher, vm, start, RunInit);
        double seconds = Stopwatch.GetElapsedTime(start).TotalSeconds;
        vm.Stop();
        return seconds;
    }

    /// <summary>
    /// Ours as a user traces it: a headless agent's session with the README's console event
    /// (<c>!ioout 3f8 script { ... } imm no</c>) registered over gRPC on 127.0.0.1 by a host that reads every
    /// notification, from reading the kernel file to the <c>Run /init</c> line.
    /// </summary>
    private static double TracedToRunInit() => TracedToRunInitAsync().GetAwaiter().GetResult();

    private static async Task<double> TracedToRunInitAsync()
    {
        string dir = GuestDirectory();
        long start = Stopwatch.GetTimestamp();
        LinuxGuest guest = LinuxGuest.FromFiles(Path.Combine(dir, LinuxGuestFiles.KernelFile), Path.Combine(dir, LinuxGuestFiles.InitramfsFile));
        using var session = new DebuggeeSession(guest, new VmConfiguration { MemoryBytes = guest.DefaultMemoryBytes ?? (256UL << 20) }, serialPorts: 1);
        await using var hub = new NotificationHub(session);
        var dispatcher = new RequestDispatcher(session, AgentScripts.Create(session));
        (IAsyncDisposable server, string address) = await WireBenchmarks.Serve(session, hub, dispatcher, "grpc://127.0.0.1:0");
        await using (server)
        {
            await using IDebuggeeConnection c = await WireBenchmarks.Connect(address);
            using var cts = new CancellationTokenSource(s_limit);
            long texts = 0;
            Task reader = Task.Run(async () =>
            {
                await foreach (Notification n in c.NotificationsAsync(cts.Token))
                {
                    texts += n.BodyCase == Notification.BodyOneofCase.ScriptOutput ? n.ScriptOutput.Texts.Count : 0;
                }
            });
            await BenchAgent.RegisterAsync(c, new EventRegistration { Direction = IoDirection.Out, Port = 0x3F8, Immediate = false, Script = ConsoleScript });
            using var watcher = new LineWatcher(RunInit);
            session.Devices.Com1.Transmitted.MirrorTo(watcher);
            session.Start();
            WaitFor(watcher, session.Vm, start, RunInit);
            double seconds = Stopwatch.GetElapsedTime(start).TotalSeconds;
            session.Vm.Stop();
            await cts.CancelAsync();
            try
            {
                await reader;
            }
            catch (Exception ex) when (ex is OperationCanceledException or Grpc.Core.RpcException)
            {
            }

            if (texts == 0)
            {
                throw new InvalidOperationException("the traced boot delivered no script output to the host");
            }

            return seconds;
        }
    }

    /// <summary>SeaBIOS (Debian's bios.bin) on our machine, in process, to its first <c>Booting from</c> line on the
    /// debug console (port 0x402): the end of POST, where both machines then look for a boot disk.</summary>
    private static double OursSeaBios()
    {
        long start = Stopwatch.GetTimestamp();
        using var vm = new VirtualMachine(new VmConfiguration { MemoryBytes = 256UL << 20 });
        StandardDevices devices = StandardDevices.Attach(vm, new StandardDevicesOptions { SerialPorts = 1 });
        using var watcher = new LineWatcher(BootingFrom);
        devices.DebugConsole.Output.MirrorTo(watcher);
        vm.AddCores(BiosGuest.FromFile(SeaBios).Load(vm));
        vm.Start();
        WaitFor(watcher, vm, start, BootingFrom);
        double seconds = Stopwatch.GetElapsedTime(start).TotalSeconds;
        vm.Stop();
        return seconds;
    }

    /// <summary>QEMU 7.2 TCG with the same firmware, its debug console on stdout, to the same line.</summary>
    private static double QemuSeaBios()
    {
        string qemu = QemuOracle.Find() ?? throw new InvalidOperationException("qemu-system-x86_64 is not installed");
        var psi = new ProcessStartInfo(qemu) { RedirectStandardOutput = true, RedirectStandardError = true, RedirectStandardInput = true };
        foreach (string arg in new[] { "-M", "pc", "-cpu", "qemu64", "-m", "256", "-bios", SeaBios, "-nographic", "-no-reboot", "-net", "none", "-serial", "none", "-monitor", "none", "-chardev", "stdio,id=dc", "-device", "isa-debugcon,iobase=0x402,chardev=dc" })
        {
            psi.ArgumentList.Add(arg);
        }

        long start = Stopwatch.GetTimestamp();
        using Process p = Process.Start(psi)!;
        try
        {
            while (p.StandardOutput.ReadLine() is string line)
            {
                if (line.Contains(BootingFrom, StringComparison.Ordinal))
                {
                    return Stopwatch.GetElapsedTime(start).TotalSeconds;
                }

                if (Stopwatch.GetElapsedTime(start) > s_limit)
                {
                    break;
                }
            }

            throw new InvalidOperationException($"QEMU's SeaBIOS printed no '{BootingFrom}' line: {p.StandardError.ReadToEnd()}");
        }
        finally
        {
            p.Kill(entireProcessTree: true);
            p.WaitForExit();
        }
    }

    private static void WaitFor(LineWatcher watcher, VirtualMachine vm, long start, string line)
    {
        while (!watcher.Seen.Wait(TimeSpan.FromMilliseconds(100)))
        {
            if (vm.HasStopped || Stopwatch.GetElapsedTime(start) > s_limit)
            {
                throw new InvalidOperationException($"our machine did not reach '{line}': {vm.StopInfo?.Report ?? "time limit"}");
            }
        }
    }

    private static double QemuTo(string marker, IReadOnlyList<string>? extraArguments = null)
    {
        string dir = GuestDirectory();
        QemuBootResult result = QemuOracle.BootLinuxAsync(
            Path.Combine(dir, LinuxGuestFiles.KernelFile),
            Path.Combine(dir, LinuxGuestFiles.InitramfsFile),
            LinuxGuest.DefaultCommandLine,
            marker,
            s_limit,
            extraArguments: extraArguments).GetAwaiter().GetResult();
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
