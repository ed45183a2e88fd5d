// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

using System.Text;

namespace HyperDbgRemote.VmxDriver.Guests;

/// <summary>
/// The demo guest's processes, found by the core's CR3 in the guest's own <c>process_table</c>: entries of 0x40 bytes
/// (CR3, pid, address of the NUL-terminated name, ...) ended by a CR3 of 0. The processes are 1 "shell" and 2 "logger"
/// (ring 3) and 3 "worker" (core 1, ring 0); any other address space is the kernel, pid 0. The tid is 0x100 + pid.
/// </summary>
public sealed class DemoGuestOsProfile : IGuestOsProfile
{
    /// <summary>The bytes of one process_table entry.</summary>
    public const ulong EntrySize = 0x40;

    /// <summary>At most this many entries are read (the demo has three).</summary>
    public const int MaximumProcesses = 16;

    /// <summary>At most this many bytes of a name are read.</summary>
    public const int MaximumNameLength = 16;

    private const string KernelName = "kernel";
    private const uint ThreadBase = 0x100;
    private const ulong PagingEnabled = 1UL << 31;
    private const ulong Cr3Frame = 0x000F_FFFF_FFFF_F000;
    private readonly ulong _table;

    /// <summary>A profile reading the process table at <paramref name="processTable"/> (a physical address).</summary>
    public DemoGuestOsProfile(ulong processTable)
    {
        _table = processTable;
    }

    /// <inheritdoc/>
    public string Description => "demo (CR3 in its process_table)";

    /// <inheritdoc/>
    public GuestProcess Current(Vcpu core)
    {
        ArgumentNullException.ThrowIfNull(core);
        GuestMemory memory = core.Machine.Memory;
        if ((core.ReadRegister(GuestRegister.Cr0) & PagingEnabled) != 0)
        {
            ulong cr3 = core.ReadRegister(GuestRegister.Cr3) & Cr3Frame;
            for (int i = 0; i < MaximumProcesses; i++)
            {
                ulong entry = _table + ((ulong)i * EntrySize);
                if (!memory.TryRead(entry, out ulong entryCr3) || entryCr3 == 0)
                {
                    break;
                }

                if ((entryCr3 & Cr3Frame) == cr3 && memory.TryRead(entry + 8, out ulong pid) && memory.TryRead(entry + 16, out ulong name))
                {
                    return new GuestProcess((uint)pid, ThreadBase + (uint)pid, Name(memory, name, pid));
                }
            }
        }

        return new GuestProcess(0, ThreadBase, KernelName);
    }

    private static string Name(GuestMemory memory, ulong address, ulong pid)
    {
        Span<byte> bytes = stackalloc byte[MaximumNameLength];
        int read = memory.Read(address, bytes);
        int end = bytes[..read].IndexOf((byte)0);
        ReadOnlySpan<byte> name = bytes[..(end < 0 ? read : end)];
        return name.IsEmpty || name.ContainsAnyExceptInRange((byte)0x21, (byte)0x7E) ? $"pid{pid}" : Encoding.ASCII.GetString(name);
    }
}
