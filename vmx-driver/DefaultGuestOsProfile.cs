// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

namespace HyperDbgRemote.VmxDriver;

/// <summary>
/// For guests whose OS we do not know: each address space is a process, so the pid is CR3's page-frame number
/// (CR3 &gt;&gt; 12; 0 without paging), the tid is the core index and the name is "cr3:&lt;hex&gt;".
/// </summary>
public sealed class DefaultGuestOsProfile : IGuestOsProfile
{
    private const int PageShift = 12;

    /// <inheritdoc/>
    public string Description => "CR3-based (pid = CR3 >> 12, tid = core)";

    /// <inheritdoc/>
    public GuestProcess Current(Vcpu core)
    {
        ArgumentNullException.ThrowIfNull(core);
        ulong cr0 = core.ReadRegister(GuestRegister.Cr0);
        ulong cr3 = (cr0 & (1UL << 31)) != 0 ? core.ReadRegister(GuestRegister.Cr3) : 0;
        return new GuestProcess((uint)(cr3 >> PageShift), (uint)core.Index, $"cr3:{cr3:x}");
    }
}
