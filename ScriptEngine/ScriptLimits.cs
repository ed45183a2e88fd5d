// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

namespace HyperDbgRemote.Script;

/// <summary>The engine's fixed limits (spec 3.5 and 8, with our chosen sizes where HyperDbg's do not apply).</summary>
public static class ScriptLimits
{
    /// <summary>Largest accepted script source, in characters (64 KiB).</summary>
    public const int MaxSourceLength = 64 * 1024;

    /// <summary>Executed interpreter operations per run before the run fails (HyperDbg's infinite-loop guard, spec 3.5).</summary>
    public const long MaxOperations = 1_000_000;

    /// <summary>Global variable slots shared by every script, event and core (spec 6.2).</summary>
    public const int GlobalSlots = 512;

    /// <summary>Per-run stack: locals, parameters and temporaries, 8 bytes each. HyperDbg has 256; we allow more
    /// room for recursion (docs/differences.md).</summary>
    public const int StackSlots = 1024;

    /// <summary>Nested user-function calls per run before a stack-overflow error.</summary>
    public const int MaxCallDepth = 256;

    /// <summary>One <c>printf</c> message, in characters (HyperDbg's 4,096-byte output buffer, spec 6.9).</summary>
    public const int PrintfBufferLength = 4096;
}
