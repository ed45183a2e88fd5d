// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

using HyperDbgRemote.Script.Internal;

namespace HyperDbgRemote.Script;

/// <summary>
/// A checked, compiled script. Immutable and thread-safe: one instance may run on several threads at once; each run
/// has its own locals (zeroed per run, spec 3.5) while <see cref="ScriptGlobals"/> are shared. A run does not
/// allocate on the common path (no errors, no disassembly).
/// </summary>
public sealed class CompiledScript
{
    private readonly ScriptProgramImage _image;
    private volatile GlobalBinding? _binding;

    internal CompiledScript(string source, ScriptProgramImage image)
    {
        Source = source;
        _image = image;
    }

    /// <summary>The source the script was compiled from.</summary>
    public string Source { get; }

    /// <summary>Names of the globals (<c>.name</c>, without the dot) the script uses.</summary>
    public IReadOnlyList<string> GlobalNames => _image.GlobalNames;

    /// <summary>
    /// What compiles but probably does not do what its author meant (today: assigning to a bare register name, which
    /// writes the guest register), each shaped like a compile error (<c>warning: line L, column C: ...</c>, the
    /// source line, a caret).
    /// </summary>
    public IReadOnlyList<string> Warnings => _image.Warnings;

    /// <summary>Number of interpreter instructions (a size measure for tests and limits).</summary>
    public int InstructionCount => _image.Code.Length;

    internal ScriptProgramImage Image => _image;

    /// <summary>The code generator's work for this script (see <see cref="ScriptProgramImage.CompileWork"/>).</summary>
    internal long CompileWork => _image.CompileWork;

    /// <summary>
    /// Runs the script once against <paramref name="target"/> with HyperDbg's limits (<see cref="ScriptLimits.Default"/>).
    /// A runtime error (bad memory access, division by zero, stack overflow, more than
    /// <see cref="ScriptLimits.DefaultMaxOperations"/> operations, a full global table) ends this run only and comes back
    /// in <see cref="ScriptRunResult.Error"/>. Exceptions thrown by the target propagate.
    /// </summary>
    public ScriptRunResult Run(IScriptTarget target, ScriptGlobals globals, in ScriptRunContext context) =>
        Run(target, globals, context, ScriptLimits.Default, CancellationToken.None);

    /// <summary>
    /// Runs the script once with <paramref name="limits"/> (<see cref="ScriptLimits.MaxOperations"/>). When
    /// <paramref name="cancellationToken"/> is cancelled the run ends within a few thousand operations with an error
    /// saying it was interrupted (a built-in that waits, such as <c>microsleep</c> or a spinlock, wakes at once).
    /// </summary>
    public ScriptRunResult Run(IScriptTarget target, ScriptGlobals globals, in ScriptRunContext context, ScriptLimits limits, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(target);
        ArgumentNullException.ThrowIfNull(globals);
        ArgumentNullException.ThrowIfNull(limits);
        GlobalBinding? binding = _binding;
        if (binding is null || !ReferenceEquals(binding.Globals, globals) || binding.Version != globals.Version)
        {
            binding = Bind(globals, out string? error);
            if (binding is null)
            {
                return ScriptRunResult.Failed(error!, 0);
            }

            _binding = binding;
        }

        RunState state = RunState.Rent();
        try
        {
            return state.Interpreter.Run(_image, target, globals.Values, binding.Slots, context, limits, cancellationToken);
        }
        finally
        {
            RunState.Return(state);
        }
    }

    /// <summary>Runs with an empty event context (what <c>?</c> and <c>print</c> see).</summary>
    public ScriptRunResult Run(IScriptTarget target, ScriptGlobals globals) => Run(target, globals, default);

    private GlobalBinding? Bind(ScriptGlobals globals, out string? error)
    {
        int version = globals.Version;
        int[] slots = new int[_image.GlobalNames.Length];
        for (int i = 0; i < slots.Length; i++)
        {
            if (!globals.TryGetOrAddSlot(_image.GlobalNames[i], out slots[i], out error))
            {
                return null;
            }
        }

        error = null;
        return new GlobalBinding(globals, version, slots);
    }

    /// <summary>Which global slot each of the script's global names uses in one <see cref="ScriptGlobals"/>.</summary>
    private sealed record GlobalBinding(ScriptGlobals Globals, int Version, int[] Slots);
}
