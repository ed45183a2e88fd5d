// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

using HyperDbgRemote.VmxDriver.Internal.Engine;
using HyperDbgRemote.VmxDriver.Internal.Execution;

namespace HyperDbgRemote.VmxDriver.Internal.Unicorn;

/// <summary>The Unicorn CPU engine (2.1 or later, <see cref="UcLibrary"/>): one engine instance per core.</summary>
internal sealed class UnicornCpuEngine : ICpuEngine
{
    /// <summary>The one instance; the library and its calibration are per process.</summary>
    public static UnicornCpuEngine Instance { get; } = new();

    private UnicornCpuEngine()
    {
    }

    /// <inheritdoc/>
    public IExecutionContext Open(int coreIndex, CoreStartMode mode, IoInstructions io, IExecutionCallbacks callbacks, CodeCoherence coherence) =>
        new UnicornExecutionContext(coreIndex, mode, io, callbacks, coherence);

    /// <inheritdoc/>
    public ulong ReadHostTimeStampCounter() => HostTsc.Read();
}
