// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

using System.Text;
using HyperDbgRemote.VmxDriver.Devices;

namespace HyperDbgRemote.VmxDriver.Guests.Linux;

/// <summary>
/// Halts a Linux guest whose kernel panics, once the kernel has said why, as kgdb stops on a panic: a hidden execution
/// trap (<see cref="VirtualMachine.AddExecutionTrap"/>, not a breakpoint, so <c>bl</c> does not list it) on System.map's
/// <c>panic</c> marks the kernel as panicking; the guest then runs on while <c>panic()</c> prints its report on the
/// console, and when a COM port has sent the report's last line, <c>---[ end Kernel panic - not syncing: MESSAGE ]---</c>,
/// the VM halts (<see cref="HaltReason.KernelPanic"/>, tagged with a <see cref="KernelPanicReport"/>). The report is
/// given <see cref="DefaultReportBudget"/> of guest time (which stands still while the VM is halted): a kernel whose
/// console is elsewhere, or that hangs in its report, is halted when it runs out, with the message of the
/// <c>Kernel panic - not syncing:</c> line if one was seen, else <c>panic()</c>'s format string read from the guest.
/// <para>A kernel told to reboot on panic (<c>panic=-1</c>) resets before it prints the last line, and the reset ends
/// the run as before; one told to wait (<c>panic=N</c>) prints the last line after its countdown, so the budget halts it
/// during the countdown. The watch halts once per run.</para>
/// </summary>
public sealed class LinuxPanicWatch
{
    /// <summary>Guest time the kernel has from entering <c>panic()</c> to the end of its report.</summary>
    public static readonly TimeSpan DefaultReportBudget = TimeSpan.FromSeconds(10);

    /// <summary>The longest console line kept: <c>panic()</c> formats its message into a 1,024-byte buffer.</summary>
    public const int MaximumLineLength = 1024;

    /// <summary>The longest format string read from the guest at <c>panic()</c>'s entry.</summary>
    public const int MaximumFormatLength = 256;

    /// <summary>What <c>panic()</c> prints first (kernel/panic.c: <c>pr_emerg("Kernel panic - not syncing: %s\n", buf)</c>).</summary>
    public const string PanicLinePrefix = "Kernel panic - not syncing: ";

    /// <summary>What <c>panic()</c> prints last, before it spins (<c>"---[ end Kernel panic - not syncing: %s ]---\n"</c>).</summary>
    public const string EndLinePrefix = "---[ end Kernel panic - not syncing: ";

    private const string EndLineSuffix = " ]---";
    private const int Watching = 0;
    private const int Panicking = 1;
    private const int Done = 2;

    private readonly VirtualMachine _vm;
    private readonly VirtualClock _clock;
    private readonly VirtualTimer _budgetTimer;
    private readonly TimeSpan _budget;
    private readonly Lock _gate = new();
    private readonly StringBuilder[] _lines;
    private int _state;
    private string? _message;
    private string? _format;

    private LinuxPanicWatch(VirtualMachine vm, StandardDevices devices, ulong panicAddress, TimeSpan budget)
    {
        _vm = vm;
        _clock = devices.Clock;
        _budget = budget;
        PanicAddress = panicAddress;
        _budgetTimer = _clock.CreateTimer(() => Finish(complete: false));
        _lines = [.. devices.Uarts.Select(_ => new StringBuilder())];
        for (int i = 0; i < devices.Uarts.Count; i++)
        {
            StringBuilder line = _lines[i];
            devices.Uarts[i].Transmitted.Emitted += b => OnConsoleByte(line, b);
        }

        vm.AddExecutionTrap(panicAddress, OnPanic);
    }

    /// <summary>Where the trap is: <c>panic</c>'s address.</summary>
    public ulong PanicAddress { get; }

    /// <summary>True once the kernel has entered <c>panic()</c>.</summary>
    public bool HasPanicked => Volatile.Read(ref _state) != Watching;

    /// <summary>
    /// Watches <paramref name="vm"/>'s kernel for a panic when <paramref name="map"/> has <c>panic</c>; null (nothing
    /// set) without a map or without the symbol. Call it before the VM starts, after its devices are attached.
    /// </summary>
    public static LinuxPanicWatch? Attach(VirtualMachine vm, StandardDevices devices, SystemMap? map, TimeSpan? reportBudget = null)
    {
        ArgumentNullException.ThrowIfNull(vm);
        ArgumentNullException.ThrowIfNull(devices);
        return map is not null && map.Symbols.TryGetValue("panic", out ulong panic)
            ? new LinuxPanicWatch(vm, devices, panic, reportBudget ?? DefaultReportBudget)
            : null;
    }

    private void OnPanic(Vcpu core)
    {
        if (Interlocked.CompareExchange(ref _state, Panicking, Watching) != Watching)
        {
            return; // a second panic (another core, or this one resumed at the trap) changes nothing
        }

        // panic(const char *fmt, ...): the format string is the first argument (System V AMD64: RDI).
        string? format = ReadFormat(core, core.ReadRegister(GuestRegister.Rdi));
        lock (_gate)
        {
            _format = format;
        }

        _budgetTimer.ArmAt(_clock.NowNanoseconds + (long)(_budget.Ticks * 100));
    }

    private void OnConsoleByte(StringBuilder line, byte value)
    {
        if (Volatile.Read(ref _state) != Panicking)
        {
            return; // the whole boot's console passes here: nothing is kept until the kernel panics
        }

        string? text = null;
        lock (_gate)
        {
            if (value == (byte)'\n')
            {
                text = line.ToString();
                line.Clear();
            }
            else if (value != (byte)'\r' && line.Length < MaximumLineLength)
            {
                line.Append(value is >= 0x20 and < 0x7F ? (char)value : '?');
            }
        }

        if (text is null)
        {
            return;
        }

        int end = text.IndexOf(EndLinePrefix, StringComparison.Ordinal);
        if (end >= 0)
        {
            string message = text[(end + EndLinePrefix.Length)..];
            lock (_gate)
            {
                _message = message.EndsWith(EndLineSuffix, StringComparison.Ordinal) ? message[..^EndLineSuffix.Length] : message;
            }

            Finish(complete: true);
            return;
        }

        int start = text.IndexOf(PanicLinePrefix, StringComparison.Ordinal);
        if (start >= 0)
        {
            lock (_gate)
            {
                _message ??= text[(start + PanicLinePrefix.Length)..];
            }
        }
    }

    private void Finish(bool complete)
    {
        if (Interlocked.CompareExchange(ref _state, Done, Panicking) != Panicking)
        {
            return;
        }

        _budgetTimer.Cancel();
        string message;
        lock (_gate)
        {
            message = _message
                ?? (_format is string f ? $"panic(\"{f}\") (no 'Kernel panic' line reached a COM port)" : "panic() was called (no 'Kernel panic' line reached a COM port)");
        }

        _vm.RequestHalt(HaltReason.KernelPanic, new KernelPanicReport(message, complete));
    }

    private static string? ReadFormat(Vcpu core, ulong address)
    {
        Span<byte> bytes = stackalloc byte[MaximumFormatLength];
        int n = core.ReadVirtual(address, bytes);
        if (n == 0)
        {
            return null;
        }

        var text = new StringBuilder();
        foreach (byte b in bytes[..n])
        {
            if (b == 0)
            {
                break;
            }

            text.Append(b is >= 0x20 and < 0x7F ? (char)b : b == '\n' ? ' ' : '?');
        }

        return text.ToString().TrimEnd();
    }
}
