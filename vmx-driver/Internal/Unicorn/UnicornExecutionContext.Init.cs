// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

namespace HyperDbgRemote.VmxDriver.Internal.Unicorn;

/// <content>
/// INIT: the engine has no reset call, so the CPU state saved when the engine was opened (before any guest instruction
/// ran) is restored; the TLB is flushed (the restored CR3 and paging mode are not those the cached translations came
/// from), the register API follows the restored mode, and the intercepts and the TSC offset, which live in the CPU
/// state, are written again.
/// </content>
internal sealed unsafe partial class UnicornExecutionContext
{
    /// <summary>The CPU state of the freshly opened engine (see <see cref="ResetToInitState"/>).</summary>
    private readonly UcContext _resetState;

    /// <inheritdoc/>
    public void ResetToInitState()
    {
        lock (_apiGate)
        {
            _resetState.Restore(_engine);
            _engine.FlushTlb();
            _guestSce = 0;
            _ = FollowLongMode(); // back to the engine's own API mode: EFER.LMA is clear
            ApplyIntercepts();
        }
    }
}
