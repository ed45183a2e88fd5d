// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

using HyperDbgRemote.VmxDriver.Internal.Execution;

namespace HyperDbgRemote.VmxDriver;

/// <content>The core's INTR input (see <see cref="ExternalInterrupts"/>).</content>
public sealed partial class Vcpu
{
    /// <summary>External interrupts (from the interrupt controller) this core has taken.</summary>
    public long ExternalInterruptsTaken => _interrupts.Taken;

    internal ExternalInterrupts Interrupts => _interrupts;

    /// <summary>Set when the core goes idle in HLT: true when INTR can wake it (IF set, a controller connected).
    /// Guarded by the VM's gate.</summary>
    internal bool IdleInterruptible { get; set; }
}
