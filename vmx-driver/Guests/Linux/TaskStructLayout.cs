// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

using System.Diagnostics.CodeAnalysis;

namespace HyperDbgRemote.VmxDriver.Guests.Linux;

/// <summary>
/// Where a kernel keeps what a debugger asks of a task (include/linux/sched.h, <c>struct task_struct</c>): the thread id
/// (<c>pid</c>), the process id (<c>tgid</c>) and the name (<c>char comm[TASK_COMM_LEN]</c>), as byte offsets taken
/// from the kernel's own BTF; and the per-CPU offset of <c>pcpu_hot.current_task</c> when the kernel has that structure
/// (6.2 and later; 6.1 has a per-CPU variable <c>current_task</c> of its own).
/// </summary>
public sealed record TaskStructLayout(long PidOffset, long TgidOffset, long CommOffset, int CommLength, long? PcpuHotCurrentTask)
{
    /// <summary>The longest name accepted (TASK_COMM_LEN is 16; 64 leaves room without trusting the guest).</summary>
    public const int MaximumCommLength = 64;

    /// <summary>The largest task_struct accepted (about 9.5 KiB in Debian 6.1).</summary>
    public const uint MaximumTaskStructBytes = 1024 * 1024;

    /// <summary>Reads the layout from <paramref name="btf"/>; false with the reason when a member is missing or not what it should be.</summary>
    public static bool TryFrom(Btf btf, [NotNullWhen(true)] out TaskStructLayout? layout, [NotNullWhen(false)] out string? error)
    {
        ArgumentNullException.ThrowIfNull(btf);
        layout = null;
        if (!btf.TryFindStruct("task_struct", out int task))
        {
            error = "BTF has no struct task_struct";
            return false;
        }

        uint size = btf.SizeOf(task);
        if (size is 0 or > MaximumTaskStructBytes)
        {
            error = $"BTF: struct task_struct has the size {size}";
            return false;
        }

        if (!Integer(btf, task, "pid", size, out long pid, out error) || !Integer(btf, task, "tgid", size, out long tgid, out error))
        {
            return false;
        }

        if (!btf.TryFindMember(task, "comm", out long comm, out int commType)
            || !btf.TryCharArray(commType, out uint commLength) || commLength is 0 or > MaximumCommLength || comm + commLength > size)
        {
            error = "BTF: task_struct.comm is missing or not a char array of 1 to 64 bytes inside the structure";
            return false;
        }

        long? hot = btf.TryFindStruct("pcpu_hot", out int pcpuHot) && btf.TryFindMember(pcpuHot, "current_task", out long at, out _)
            && at + 8 <= btf.SizeOf(pcpuHot) ? at : null;
        layout = new TaskStructLayout(pid, tgid, comm, (int)commLength, hot);
        error = null;
        return true;
    }

    private static bool Integer(Btf btf, int task, string name, uint size, out long offset, [NotNullWhen(false)] out string? error)
    {
        if (!btf.TryFindMember(task, name, out offset, out int type) || !btf.IsInteger(type, 4) || offset + 4 > size)
        {
            error = $"BTF: task_struct.{name} is missing or not a 4-byte integer inside the structure";
            return false;
        }

        error = null;
        return true;
    }
}
