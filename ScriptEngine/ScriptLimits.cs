// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

namespace HyperDbgRemote.Script;

/// <summary>
/// Every limit of the script engine, in one place (spec 3.5 and 8, with our chosen sizes where HyperDbg's do not apply).
/// The constants are fixed by the engine's design; the instance properties are the limits a host application chooses per
/// run (<see cref="CompiledScript.Run(IScriptTarget, ScriptGlobals, in ScriptRunContext, ScriptLimits, CancellationToken)"/>).
/// Each limit has a test that exceeds it and gets an error naming it.
/// </summary>
public sealed class ScriptLimits
{
    /// <summary>Largest accepted script source, in characters (64 KiB).</summary>
    public const int MaxSourceLength = 64 * 1024;

    /// <summary>Deepest nesting of blocks, parentheses, operators, calls, indexing and member access together. A chain of
    /// operators of one precedence (<c>1+1+...+1</c>) is one level however long it is; every compiler pass is bounded by
    /// this, so no script can exhaust the host's stack.</summary>
    public const int MaxNesting = 200;

    /// <summary>Deepest chain of nested <c>#include</c> files.</summary>
    public const int MaxIncludeDepth = 16;

    /// <summary>All <c>#include</c>d text together may be this many times <see cref="MaxSourceLength"/>.</summary>
    public const int MaxIncludedSources = 16;

    /// <summary>HyperDbg's infinite-loop guard: executed bytecode instructions per run (<c>MAX_EXECUTION_COUNT</c>,
    /// spec 3.5). The default of <see cref="MaxOperations"/>.</summary>
    public const long DefaultMaxOperations = 1_000_000;

    /// <summary>Global variable slots shared by every script, event and core (spec 6.2).</summary>
    public const int GlobalSlots = 512;

    /// <summary>Per-run stack: locals, parameters and temporaries, 8 bytes each. HyperDbg has 256; we allow more
    /// room for recursion (docs/differences.md).</summary>
    public const int StackSlots = 1024;

    /// <summary>Nested user-function calls per run (recursion included) before a stack-overflow error.</summary>
    public const int MaxCallDepth = 256;

    /// <summary>One <c>printf</c> message, in characters (HyperDbg's 4,096-byte output buffer, spec 6.9).</summary>
    public const int PrintfBufferLength = 4096;

    /// <summary>Longest string (in characters) the string functions and <c>%s</c> scan before giving up.</summary>
    public const int MaxStringScan = 1 << 20;

    /// <summary>Longest <c>microsleep</c>, in microseconds (a typo must not freeze an agent).</summary>
    public const long MaxMicrosleep = 1_000_000;

    private readonly long _maxOperations = DefaultMaxOperations;

    /// <summary>HyperDbg's limits: <see cref="DefaultMaxOperations"/> operations per run.</summary>
    public static ScriptLimits Default { get; } = new();

    /// <summary>
    /// Operations one run may execute, counted as HyperDbg's evaluator counts its instructions (docs/script-language.md,
    /// "Runtime limits"); the run fails on the first operation beyond it. 0 means no limit: only the run's cancellation
    /// token stops it (for runs a user can interrupt, such as <c>?</c> on a halted core).
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">A negative value.</exception>
    public long MaxOperations
    {
        get => _maxOperations;
        init
        {
            ArgumentOutOfRangeException.ThrowIfNegative(value);
            _maxOperations = value;
        }
    }

    /// <summary>Where a user changes <see cref="MaxOperations"/> (e.g. an agent option); runtime errors about the limit
    /// name it. Null when it cannot be changed.</summary>
    public string? MaxOperationsSetting { get; init; }
}
