// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

using HyperDbgRemote.VmxDriver.Internal.Engine;
using HyperDbgRemote.VmxDriver.Internal.Execution;

namespace HyperDbgRemote.VmxDriver.Tests.Fakes;

/// <summary>A CPU engine without a CPU: each core's run plays a scripted sequence of traps (see
/// <see cref="FakeExecutionContext"/>), so the VMX model is tested without Unicorn.</summary>
internal sealed class FakeCpuEngine : ICpuEngine
{
    private readonly Func<FakeExecutionContext, RunResult> _program;

    /// <summary>Every core runs <paramref name="program"/> once per run; returning <see cref="RunResult.Ended"/> is an HLT.</summary>
    public FakeCpuEngine(Func<FakeExecutionContext, RunResult> program)
    {
        _program = program;
    }

    public List<FakeExecutionContext> Contexts { get; } = [];

    public ulong ReadHostTimeStampCounter() => 0;

    public IExecutionContext Open(int coreIndex, CoreStartMode mode, IoInstructions io, IExecutionCallbacks callbacks, CodeCoherence coherence)
    {
        var context = new FakeExecutionContext(mode == CoreStartMode.Long64, io, callbacks, _program);
        Contexts.Add(context);
        return context;
    }
}
