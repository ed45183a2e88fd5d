// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

using HyperDbgRemote.VmxDriver;

namespace HyperDbgRemote.Agent.Events;

/// <summary>Which instructions an event traps.</summary>
internal enum IoEventDirection
{
    /// <summary>IN, INS (<c>!ioin</c>).</summary>
    In,

    /// <summary>OUT, OUTS (<c>!ioout</c>).</summary>
    Out,
}

/// <summary>A <c>!monitor</c> event's range: [From, To] (inclusive) and what it traps.</summary>
internal sealed record MonitorRange(ulong From, ulong To, MemoryAccessKinds Access);

/// <summary>A guest event's kind (<c>!cpuid</c> ... <c>!mode</c>) and what it watches (leaf, vector, system call number,
/// MSR, control register, mode; null: all).</summary>
internal sealed record GuestEventFilter(GuestEventKinds Kind, ulong? Value)
{
    /// <summary>HyperDbg's mode values (<c>!mode k|ku|u</c>; DEBUGGER_EVENT_MODE_TYPE): the event's value, and for kernel
    /// and user mode also the $context of a mode change.</summary>
    public const ulong ModeKernel = 0, ModeKernelAndUser = 1, ModeUser = 3;

    /// <summary><c>!crwrite</c>: the bits whose change it traps (HyperDbg's CR0/CR4 guest/host mask); null: all.</summary>
    public ulong? Mask { get; init; }

    /// <summary>Whether <paramref name="exit"/> is one this filter watches: the kind and value, and for <c>!crwrite</c> a
    /// write that changes a bit of the mask (VT-x exits on a MOV to CR0/CR4 only then, SDM Vol. 3C 26.1.3), for
    /// <c>!mode ku</c> either mode.</summary>
    public bool Matches(GuestEventExit exit) => Kind == exit.Kind && (Kind switch
    {
        GuestEventKinds.CrWrite => Value == exit.Context && ((exit.NewValue ^ exit.OldValue) & (Mask ?? ulong.MaxValue)) != 0,
        GuestEventKinds.Mode => Value == ModeKernelAndUser || Value == exit.Context,
        _ => Value is not ulong v || v == exit.Context,
    });
}

/// <summary>When an event runs relative to the emulation of the instruction.</summary>
internal enum IoEventStage
{
    Pre,
    Post,
    All,
}

/// <summary>
/// A validated request to register an <c>!ioout</c>/<c>!ioin</c> event (what the host sends, after the agent has
/// checked it again). Null filters mean "all".
/// </summary>
internal sealed record IoEventSpec
{
    public required IoEventDirection Direction { get; init; }

    public ushort? Port { get; init; }

    public uint? ProcessId { get; init; }

    public int? Core { get; init; }

    public bool Immediate { get; init; } = true;

    public bool ShortCircuit { get; init; }

    public IoEventStage Stage { get; init; } = IoEventStage.Pre;

    public int BufferSize { get; init; }

    public IEventScript? Script { get; init; }

    public byte[]? Condition { get; init; }

    public byte[]? Code { get; init; }

    public IReadOnlyList<string> Outputs { get; init; } = [];

    public string CommandText { get; init; } = string.Empty;

    /// <summary>For <c>!monitor</c>: the accesses and the linear range watched (<see cref="Direction"/> is then unused).</summary>
    public MonitorRange? Monitor { get; init; }

    /// <summary>For <c>!cpuid</c>, <c>!exception</c>, <c>!interrupt</c>, <c>!syscall</c>: the kind and its filter
    /// (<see cref="Direction"/> is then unused).</summary>
    public GuestEventFilter? GuestEvent { get; init; }

    /// <summary>True when the event breaks (no script and no code): HyperDbg's rule (spec 3.1).</summary>
    public bool Breaks => Script is null && Code is null;
}
