// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

namespace HyperDbgRemote.Script;

/// <summary>
/// How one run ended. A runtime error ends only that run (spec 3.5); <see cref="Error"/> names the failing function
/// and the bad value, e.g. <c>poi: cannot read 8 bytes at 0xdead</c>.
/// </summary>
public readonly struct ScriptRunResult
{
    private ScriptRunResult(string? error, long operations)
    {
        Error = error;
        Operations = operations;
    }

    /// <summary>True when the script ran to its end (or a top-level <c>return</c>).</summary>
    public bool Success => Error is null;

    /// <summary>The runtime error, or null on success.</summary>
    public string? Error { get; }

    /// <summary>How many operations the run executed, counted as HyperDbg's evaluator counts its instructions (bounded by
    /// <see cref="ScriptLimits.MaxOperations"/>; docs/script-language.md, "What counts as an operation").</summary>
    public long Operations { get; }

    internal static ScriptRunResult Succeeded(long operations) => new(null, operations);

    internal static ScriptRunResult Failed(string error, long operations) => new(error, operations);

    /// <inheritdoc />
    public override string ToString() => Error ?? "success";
}
