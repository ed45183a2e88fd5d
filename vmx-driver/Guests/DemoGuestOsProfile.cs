// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

namespace HyperDbgRemote.VmxDriver.Guests;

/// <summary>
/// The demo guest's process table: <c>current_pid[core]</c> (a qword per core) holds the running pid; pid 0 is the
/// kernel, 1 "shell", 2 "logger", 3 "worker". The tid is 0x100 + pid.
/// </summary>
public sealed class DemoGuestOsProfile : IGuestOsProfile
{
    private static readonly string[] s_names = ["kernel", "shell", "logger", "worker"];
    private const uint ThreadBase = 0x100;
    private readonly ulong _currentPid;

    public DemoGuestOsProfile(ulong currentPidAddress)
    {
        _currentPid = currentPidAddress;
    }

    /// <inheritdoc/>
    public string Description => "demo (current_pid per core)";

    /// <inheritdoc/>
    public GuestProcess Current(Vcpu core)
    {
        ArgumentNullException.ThrowIfNull(core);
        core.Machine.Memory.TryRead(_currentPid + ((ulong)core.Index * 8), out ulong pid);
        string name = pid < (ulong)s_names.Length ? s_names[pid] : $"pid{pid}";
        return new GuestProcess((uint)pid, ThreadBase + (uint)pid, name);
    }
}
