// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

namespace HyperDbgRemote.VmxDriver.Internal.Execution;

/// <summary>The instructions <see cref="InstructionWatch"/> decodes.</summary>
internal enum InstructionKind
{
    /// <summary>None of them.</summary>
    None,

    /// <summary><c>0F 32</c>.</summary>
    Rdmsr,

    /// <summary><c>0F 30</c>.</summary>
    Wrmsr,

    /// <summary><c>0F 31</c>.</summary>
    Rdtsc,

    /// <summary><c>0F 01 F9</c>.</summary>
    Rdtscp,

    /// <summary><c>0F 33</c>.</summary>
    Rdpmc,

    /// <summary><c>0F 22 /r</c>: MOV CRn, r.</summary>
    MovToCr,

    /// <summary><c>0F 21 /r</c>: MOV r, DRn.</summary>
    MovFromDr,

    /// <summary><c>0F 23 /r</c>: MOV DRn, r.</summary>
    MovToDr,
}
