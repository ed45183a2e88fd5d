// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

using System.Globalization;
using System.Text;
using HyperDbgRemote.Tests.Shared;
using HyperDbgRemote.VmxDriver.Guests.Linux;
using Iced.Intel;
using Microsoft.Extensions.Time.Testing;
using static Iced.Intel.AssemblerRegisters;

namespace HyperDbgRemote.VmxDriver.Tests.Linux;

/// <summary>
/// The kernel-panic watch on small 64-bit guests that play a kernel: a function named <c>panic</c> in a System.map
/// (parsed from text) takes its format string in RDI and prints what Linux's <c>panic()</c> prints on COM1 (or nothing),
/// then spins as Linux does with <c>panic=0</c>.
/// </summary>
public sealed class LinuxPanicWatchTests
{
    private const ushort Com1 = 0x3F8;

    [Test]
    public void Panic_ReportEndsOnCom1_HaltsAfterTheLastLineWithTheMessage_TrapIsNotABreakpoint()
    {
        // Arrange: panic() prints the first line, a stack line and the end line, then spins
        string report = "[    1.000000] Kernel panic - not syncing: test: no init found\r\n" +
            "[    1.000001] Call Trace:\r\n" +
            "[    1.000002] ---[ end Kernel panic - not syncing: test: no init found ]---\r\n";
        using TestVm t = PanicGuest(report, out ulong panic, out _);
        LinuxPanicWatch watch = LinuxPanicWatch.Attach(t.Vm, t.Devices, MapWithPanicAt(panic))!;
        var halts = new List<VmHaltInfo>();
        t.Vm.Halted += (_, h) => halts.Add(h);

        // Act
        t.Vm.Start();
        Eventually.Until(() => t.Vm.IsHalted, "the guest halts");

        // Assert: halted by the watch, after the whole report
        VmHaltInfo halt = t.Vm.CurrentHalt!;
        Assert.That(halt.Reason, Is.EqualTo(HaltReason.KernelPanic));
        Assert.That(halt.Tag, Is.EqualTo(new KernelPanicReport("test: no init found", Complete: true)));
        Assert.That(t.Devices.Com1.Transmitted.Text(), Is.EqualTo(report));
        Assert.That(watch.HasPanicked, Is.True);
        Assert.That(watch.PanicAddress, Is.EqualTo(panic));

        // the trap is hidden: no breakpoint is listed, and continuing does not halt again
        Assert.That(t.Vm.CodeBreakpoints, Is.Empty);
        Assert.That(t.Vm.Resume(), Is.True);
        Assert.That(t.Vm.Pause(TimeSpan.FromSeconds(30)), Is.True);
        Assert.That(t.Vm.CurrentHalt!.Reason, Is.EqualTo(HaltReason.BreakIn));
        Assert.That(halts.Count(h => h.Reason == HaltReason.KernelPanic), Is.EqualTo(1));
    }

    [Test]
    public void Panic_NoReportOnTheConsole_HaltsWhenTheGuestTimeBudgetRunsOut_WithTheFormatString()
    {
        // Arrange: panic() prints nothing (its console is elsewhere) and spins; guest time is driven by hand
        var time = new FakeTimeProvider();
        using TestVm t = PanicGuest(string.Empty, out ulong panic, out _, time);
        LinuxPanicWatch watch = LinuxPanicWatch.Attach(t.Vm, t.Devices, MapWithPanicAt(panic), TimeSpan.FromSeconds(5))!;
        t.Devices.Clock.DiscountsCoreStalls = false; // each big step of the fake clock would read as a stall of the spinning core

        // PIT channel 0 one-shot with a count of 1: it reaches its terminal count at once and arms nothing after it, so
        // no PIT tick the running core owes holds guest time back while the host's time is advanced in big steps
        // (VirtualClock's remarks).
        t.Vm.Ports.Write(0x43, 1, 0x30);
        t.Vm.Ports.Write(0x40, 1, 0x01);
        t.Vm.Ports.Write(0x40, 1, 0x00);
        time.Advance(TimeSpan.FromMicroseconds(1));
        t.Vm.Start();
        Eventually.Until(() => watch.HasPanicked, "the guest enters panic()");

        // Act: less than the budget passes, then the rest
        time.Advance(TimeSpan.FromSeconds(4));
        bool haltedEarly = t.Vm.IsHalted;
        time.Advance(TimeSpan.FromSeconds(1));
        Eventually.Until(() => t.Vm.IsHalted, "the guest halts");

        // Assert
        Assert.That(haltedEarly, Is.False);
        Assert.That(t.Vm.CurrentHalt!.Reason, Is.EqualTo(HaltReason.KernelPanic));
        Assert.That(t.Vm.CurrentHalt!.Tag, Is.EqualTo(new KernelPanicReport("panic(\"boom: %s\") (no 'Kernel panic' line reached a COM port)", Complete: false)));
    }

    [Test]
    public void Attach_WithoutPanicInTheMap_SetsNothing()
    {
        using TestVm t = PanicGuest(string.Empty, out _, out _);
        Assert.That(LinuxPanicWatch.Attach(t.Vm, t.Devices, SystemMap.Parse("ffffffff81000000 T start_kernel\n", "System.map")), Is.Null);
        Assert.That(LinuxPanicWatch.Attach(t.Vm, t.Devices, null), Is.Null);
    }

    [Test]
    public void Panic_EnteredTwice_HaltsOnce()
    {
        // Arrange: the guest calls panic() twice (a nested panic returns at once in Linux; here it only re-enters)
        string report = "Kernel panic - not syncing: first\r\n---[ end Kernel panic - not syncing: first ]---\r\n";
        using TestVm t = PanicGuest(report, out ulong panic, out _, calls: 2);
        _ = LinuxPanicWatch.Attach(t.Vm, t.Devices, MapWithPanicAt(panic));
        int halts = 0;
        t.Vm.Halted += (_, h) =>
        {
            if (h.Reason == HaltReason.KernelPanic)
            {
                Interlocked.Increment(ref halts);
            }
        };

        // Act
        t.Vm.Start();
        Eventually.Until(() => t.Vm.IsHalted, "the guest halts");
        t.Vm.Resume();
        Eventually.Until(() => t.Devices.Com1.Transmitted.Total == 2 * report.Length, "the second pass printed");
        Assert.That(t.Vm.Pause(TimeSpan.FromSeconds(30)), Is.True);

        // Assert: the first report's end halted the guest; the second pass printed it again without a halt
        Assert.That(Volatile.Read(ref halts), Is.EqualTo(1));
        Assert.That(t.Devices.Com1.Transmitted.Text(), Is.EqualTo(report + report));
    }

    private static SystemMap MapWithPanicAt(ulong address) =>
        SystemMap.Parse(string.Create(CultureInfo.InvariantCulture, $"{address:x16} T panic\n"), "System.map");

    /// <summary>main: RDI = the format, call panic (<paramref name="calls"/> times), then spin. panic: print
    /// <paramref name="report"/> on COM1 byte by byte and return (the last call spins in the caller).</summary>
    private static TestVm PanicGuest(string report, out ulong panic, out ulong spin, FakeTimeProvider? time = null, int calls = 1)
    {
        byte[] text = Encoding.ASCII.GetBytes(report);
        TestVm t = TestVm.Create64(
            a =>
            {
                Label panicLabel = a.CreateLabel("panic");
                Label spinLabel = a.CreateLabel("spin");
                Label format = a.CreateLabel("format");
                Label message = a.CreateLabel("message");
                Label print = a.CreateLabel("print");
                Label done = a.CreateLabel("done");
                a.mov(rsp, 0x9000);
                for (int i = 0; i < calls; i++)
                {
                    a.lea(rdi, __[format]);
                    a.call(panicLabel);
                }

                a.Label(ref spinLabel);
                a.jmp(spinLabel);

                a.Label(ref panicLabel);
                a.lea(rsi, __[message]);
                a.mov(ecx, text.Length);
                a.mov(edx, (uint)Com1);
                a.Label(ref print);
                a.test(ecx, ecx);
                a.jz(done);
                a.lodsb();
                a.@out(dx, al);
                a.dec(ecx);
                a.jmp(print);
                a.Label(ref done);
                a.ret();

                a.Label(ref format);
                a.db(Encoding.ASCII.GetBytes("boom: %s\n\0"));
                a.Label(ref message);
                a.db([.. text, 0]);
                return [panicLabel, spinLabel];
            },
            out ulong[] labels,
            time);
        panic = labels[0];
        spin = labels[1];
        return t;
    }
}
