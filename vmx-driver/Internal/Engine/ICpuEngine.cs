// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

using HyperDbgRemote.VmxDriver.Internal.Execution;

namespace HyperDbgRemote.VmxDriver.Internal.Engine;

/// <summary>A CPU engine: opens one <see cref="IExecutionContext"/> per core. Unicorn today
/// (<see cref="Unicorn.UnicornCpuEngine"/>); a hardware backend (KVM) would be another implementation.</summary>
internal interface ICpuEngine
{
    /// <summary>Opens a core's context for a guest starting in <paramref name="mode"/>: its IN, OUT, INS and OUTS
    /// go to <paramref name="io"/>, every other trap to <paramref name="callbacks"/>; its translated code is kept coherent
    /// with the other cores' writes through <paramref name="coherence"/> (one per machine).</summary>
    /// <exception cref="CpuEngineUnavailableException">The engine cannot be used here; the message says why.</exception>
    IExecutionContext Open(int coreIndex, CoreStartMode mode, IoInstructions io, IExecutionCallbacks callbacks, CodeCoherence coherence);

    /// <summary>The host's time-stamp counter, in the unit of the guests' (<see cref="IExecutionContext.TscOffset"/>).</summary>
    ulong ReadHostTimeStampCounter();
}
