// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

namespace HyperDbgRemote.VmxDriver;

/// <summary>Tells who runs on a core: the pid/tid filter of events and $pid, $tid, $pname use it.</summary>
public interface IGuestOsProfile
{
    /// <summary>The process and thread running on <paramref name="core"/> (called on the core's thread or while halted).</summary>
    GuestProcess Current(Vcpu core);

    /// <summary>One line for the user: what the profile reads, or why it answers as it does (<c>.status</c> shows it).</summary>
    string Description => "CR3-based";
}
