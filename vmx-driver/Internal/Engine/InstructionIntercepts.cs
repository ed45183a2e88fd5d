// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

namespace HyperDbgRemote.VmxDriver.Internal.Engine;

/// <summary>
/// Which instructions a core's engine reports (<see cref="IExecutionCallbacks.OnIntercept"/>) instead of executing, as
/// a VMM's intercept controls do: RDMSR/WRMSR of the MSRs in <see cref="Msrs"/>, MOV from/to the control and debug
/// registers whose bits are set (bit n = CRn/DRn), RDTSC (and RDTSCP, which the engine's CPU does not have: it is #UD),
/// RDPMC. Instructions that are not intercepted run at full speed: the engine checks only inside the helpers of these
/// instructions. Immutable; combine with <see cref="Union"/>.
/// </summary>
/// <example>The cheap trigger of an instruction event (HyperDbg's <c>!msrread 0xC0000082</c>, <c>!crwrite 3</c>,
/// <c>!tsc</c>): <c>new InstructionIntercepts { Msrs = new MsrPermissionMap().Intercept(0xC000_0082, write: false) }</c>,
/// <c>new InstructionIntercepts { CrWrites = 1 &lt;&lt; 3 }</c>, <c>new InstructionIntercepts { Rdtsc = true }</c>,
/// given to <see cref="Execution.CoreIntercepts.Request"/> with a handler.</example>
internal sealed record InstructionIntercepts
{
    /// <summary>Nothing intercepted.</summary>
    public static InstructionIntercepts None { get; } = new();

    /// <summary>The MSRs whose RDMSR/WRMSR are intercepted; null for none.</summary>
    public MsrPermissionMap? Msrs { get; init; }

    /// <summary>MOV from CRn (bit n; the engine has CR0–CR4 and CR8).</summary>
    public ushort CrReads { get; init; }

    /// <summary>MOV to CRn (bit n), LMSW and CLTS (CR0).</summary>
    public ushort CrWrites { get; init; }

    /// <summary>MOV from DRn (bit n, 0–7).</summary>
    public byte DrReads { get; init; }

    /// <summary>MOV to DRn (bit n, 0–7).</summary>
    public byte DrWrites { get; init; }

    /// <summary>RDTSC.</summary>
    public bool Rdtsc { get; init; }

    /// <summary>RDPMC (which the engine does not implement: not intercepted, it raises #UD).</summary>
    public bool Rdpmc { get; init; }

    /// <summary>INVLPG (the engine's CPL check comes first: at CPL above 0 it raises #GP without an exit).</summary>
    public bool Invlpg { get; init; }

    /// <summary>True when nothing is intercepted.</summary>
    public bool IsEmpty => Msrs is null && CrReads == 0 && CrWrites == 0 && DrReads == 0 && DrWrites == 0 && !Rdtsc && !Rdpmc && !Invlpg;

    /// <summary>What either intercepts.</summary>
    public InstructionIntercepts Union(InstructionIntercepts other)
    {
        ArgumentNullException.ThrowIfNull(other);
        return new InstructionIntercepts
        {
            Msrs = Msrs is null ? other.Msrs : other.Msrs is null ? Msrs : Msrs.Union(other.Msrs),
            CrReads = (ushort)(CrReads | other.CrReads),
            CrWrites = (ushort)(CrWrites | other.CrWrites),
            DrReads = (byte)(DrReads | other.DrReads),
            DrWrites = (byte)(DrWrites | other.DrWrites),
            Rdtsc = Rdtsc || other.Rdtsc,
            Rdpmc = Rdpmc || other.Rdpmc,
            Invlpg = Invlpg || other.Invlpg,
        };
    }

    /// <summary>True when this set intercepts <paramref name="exit"/> (for an MSR: in either direction, since the
    /// engine reports RDMSR and WRMSR alike; <see cref="InterceptExit.Kind"/> is refined by the model).</summary>
    public bool Covers(InterceptExit exit) => exit.Kind switch
    {
        InterceptKind.Msr => Msrs is not null,
        InterceptKind.Rdmsr => Msrs?.Intercepts(exit.Msr, write: false) == true,
        InterceptKind.Wrmsr => Msrs?.Intercepts(exit.Msr, write: true) == true,
        InterceptKind.CrRead => (CrReads & (1 << exit.Index)) != 0,
        InterceptKind.CrWrite => (CrWrites & (1 << exit.Index)) != 0,
        InterceptKind.DrRead => (DrReads & (1 << exit.Index)) != 0,
        InterceptKind.DrWrite => (DrWrites & (1 << exit.Index)) != 0,
        InterceptKind.Rdtsc => Rdtsc,
        InterceptKind.Rdpmc => Rdpmc,
        InterceptKind.Invlpg => Invlpg,
        _ => false,
    };
}
