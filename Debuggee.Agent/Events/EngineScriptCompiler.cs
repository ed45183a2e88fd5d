// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

using System.Text;
using HyperDbgRemote.Script;
using HyperDbgRemote.VmxDriver;

namespace HyperDbgRemote.Agent.Events;

/// <summary>
/// The agent's script engine: compiles event scripts once (HyperDbgRemote.Script) and runs them on the exiting core,
/// or once on a halted core for <c>?</c> and <c>print</c>. Globals (<c>.name</c>) are one set shared by every event,
/// every core and the evaluations, as in HyperDbg. Symbols (<c>nt!Name</c>) come from the guest.
/// </summary>
internal sealed class EngineScriptCompiler : IScriptCompiler, IScriptSymbolResolver
{
    private readonly VirtualMachine _vm;
    private readonly EventManager _events;
    private readonly IReadOnlyDictionary<string, ulong> _symbols;
    private readonly ScriptGlobals _globals = new();
    private readonly ScriptCompileOptions _options;
    private readonly ScriptLimits _eventLimits;
    private readonly ScriptLimits _evaluationLimits;

    /// <summary>Creates the engine; null limits are the agent options' defaults (<see cref="AgentScripts"/>).</summary>
    public EngineScriptCompiler(VirtualMachine vm, EventManager events, IReadOnlyDictionary<string, ulong> symbols, ScriptLimits? eventLimits = null, ScriptLimits? evaluationLimits = null)
    {
        _vm = vm;
        _events = events;
        _symbols = symbols;
        _eventLimits = eventLimits ?? AgentScripts.EventLimits(null);
        _evaluationLimits = evaluationLimits ?? AgentScripts.EvaluationLimits(null);
        _options = new ScriptCompileOptions { SymbolResolver = this };
    }

    /// <summary>The globals every script shares.</summary>
    public ScriptGlobals Globals => _globals;

    /// <inheritdoc/>
    public IEventScript Compile(string source, IReadOnlyDictionary<string, string>? includes = null, CancellationToken cancellationToken = default) =>
        new EventScript(CompileChecked(source, includes, cancellationToken), _globals, _eventLimits, _vm, _events);

    /// <inheritdoc/>
    public string Evaluate(string source, Vcpu core, HaltContext context, IReadOnlyDictionary<string, string>? includes = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(core);
        ArgumentNullException.ThrowIfNull(context);
        CompiledScript script = CompileChecked(source, includes, cancellationToken);
        var output = new StringBuilder();
        var target = new VcpuScriptTarget(core, _events);
        target.BeginEvaluation(output);
        ScriptRunResult result;
        try
        {
            var run = new ScriptRunContext
            {
                Context = context.Context,
                EventId = context.EventId is int id ? (ulong)id : 0,
                EventStage = (ulong)context.Stage,
                Buffer = 0,
            };
            result = script.Run(target, _globals, run, _evaluationLimits, cancellationToken);
        }
        finally
        {
            target.End();
        }

        if (!result.Success)
        {
            output.Append("script error: ").Append(result.Error);
            throw new ScriptException(output.ToString());
        }

        return output.ToString();
    }

    /// <inheritdoc/>
    public bool TryResolve(string qualifiedName, out ulong address) => _symbols.TryGetValue(qualifiedName, out address);

    private CompiledScript CompileChecked(string source, IReadOnlyDictionary<string, string>? includes, CancellationToken cancellationToken)
    {
        try
        {
            ScriptCompileOptions options = includes is null || includes.Count == 0
                ? _options
                : new ScriptCompileOptions { SymbolResolver = this, IncludeResolver = new SentIncludes(includes) };
            return ScriptCompiler.Compile(source, options, cancellationToken);
        }
        catch (ScriptCompileException ex)
        {
            throw new ScriptException(ex.Message, ex);
        }
    }

    /// <summary>The included files' texts the debugger sent with the script (the agent reads no files for scripts).</summary>
    private sealed class SentIncludes(IReadOnlyDictionary<string, string> files) : IScriptIncludeResolver
    {
        public string? Resolve(string fileName) => files.TryGetValue(fileName, out string? text) ? text : null;
    }

    /// <summary>One event's compiled script: a target per core, reused for every trigger on that core.</summary>
    private sealed class EventScript : IEventScript
    {
        private readonly CompiledScript _script;
        private readonly ScriptGlobals _globals;
        private readonly ScriptLimits _limits;
        private readonly VcpuScriptTarget[] _targets;

        public EventScript(CompiledScript script, ScriptGlobals globals, ScriptLimits limits, VirtualMachine vm, EventManager events)
        {
            _script = script;
            _globals = globals;
            _limits = limits;
            _targets = [.. vm.Cores.Select(c => new VcpuScriptTarget(c, events))];
        }

        public string? Run(EventInvocation invocation)
        {
            // Each core runs its own exits one at a time, so a target per core is never shared by two runs.
            VcpuScriptTarget target = _targets[invocation.Core.Index];
            target.BeginEvent(invocation);
            try
            {
                var context = new ScriptRunContext
                {
                    Context = invocation.Context,
                    Buffer = invocation.Event.Buffer.Length > 0 ? VcpuScriptTarget.BufferAddress : 0,
                    EventId = (ulong)invocation.Event.Id,
                    EventStage = (ulong)invocation.StageNumber,
                };
                return _script.Run(target, _globals, context, _limits).Error;
            }
            finally
            {
                target.End();
            }
        }
    }
}
