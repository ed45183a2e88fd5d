// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

using HyperDbgRemote.VmxDriver.Internal.Execution;

namespace HyperDbgRemote.VmxDriver;

/// <summary>Addresses: the core's paging, through the project's one page walker (<see cref="PageWalker"/>).</summary>
public sealed partial class Vcpu
{
    /// <summary>The control registers paging depends on, read now.</summary>
    public PagingState ReadPagingState() => new(
        ReadRegister(GuestRegister.Cr0),
        ReadRegister(GuestRegister.Cr3),
        ReadRegister(GuestRegister.Cr4),
        ReadRegister(GuestRegister.Efer));

    /// <summary>
    /// Translates a guest-linear address through the core's paging structures as a debugger sees memory: a
    /// supervisor-mode read that changes nothing (no accessed flags). False for a not-present page, a reserved bit or
    /// a non-canonical address.
    /// </summary>
    public bool TryTranslate(ulong linear, out ulong physical) => TryTranslate(ReadPagingState(), linear, out physical);

    /// <summary>
    /// The translation of <paramref name="linear"/> with every paging-structure entry it uses, and the page fault an
    /// access of <paramref name="access"/> by <paramref name="privilege"/> would raise. Changes nothing in the guest.
    /// </summary>
    public PageWalk WalkPageTables(ulong linear, PageAccess access = PageAccess.Read, AccessPrivilege privilege = AccessPrivilege.Supervisor)
    {
        PagingState state = ReadPagingState();
        Span<PageTableEntry> entries = stackalloc PageTableEntry[PageWalker.MaxEntries];
        Translation t = PageWalker.Translate(_vm.Memory, state, linear, access, privilege, setAccessedDirty: false, entries, out int count);
        return new PageWalk
        {
            Linear = linear,
            Mode = state.Mode,
            Entries = entries[..Math.Min(count, entries.Length)].ToArray(),
            Physical = t.IsMapped ? t.Physical : null,
            PageSize = t.PageSize,
            Fault = t.IsMapped || t.IsNonCanonical ? null : t.ErrorCode,
            IsNonCanonical = t.IsNonCanonical,
            IsWritable = t.IsWritable,
            IsUser = t.IsUser,
            IsExecutable = t.IsExecutable,
        };
    }

    /// <summary>Translates for an access made by the CPU itself (the model's pushes and reads during delivery): the
    /// rights are checked and, when <paramref name="setAccessedDirty"/>, the accessed and dirty flags set.</summary>
    internal Translation Translate(ulong linear, PageAccess access, AccessPrivilege privilege, bool setAccessedDirty) =>
        PageWalker.Translate(_vm.Memory, ReadPagingState(), linear, access, privilege, setAccessedDirty, [], out _);

    /// <summary>Reads guest-linear (virtual) memory through this core's paging, as a debugger does (see
    /// <see cref="TryTranslate(ulong, out ulong)"/>); returns the bytes read, up to the first unmapped page.</summary>
    public int ReadVirtual(ulong linear, Span<byte> destination)
    {
        PagingState state = ReadPagingState();
        int done = 0;
        while (done < destination.Length)
        {
            ulong a = linear + (ulong)done;
            if (!TryTranslate(state, a, out ulong pa))
            {
                break;
            }

            int chunk = (int)Math.Min((ulong)(destination.Length - done), GuestMemory.PageSize - (a & (GuestMemory.PageSize - 1)));
            int n = _vm.Memory.Read(pa, destination.Slice(done, chunk));
            done += n;
            if (n < chunk)
            {
                break;
            }
        }

        return done;
    }

    /// <summary>Writes guest-linear (virtual) memory through this core's paging, as a debugger does: the page's R/W
    /// flag does not stop it (a kernel debugger patches read-only code). Returns the bytes written.</summary>
    public int WriteVirtual(ulong linear, ReadOnlySpan<byte> source)
    {
        PagingState state = ReadPagingState();
        int done = 0;
        while (done < source.Length)
        {
            ulong a = linear + (ulong)done;
            if (!TryTranslate(state, a, out ulong pa))
            {
                break;
            }

            int chunk = (int)Math.Min((ulong)(source.Length - done), GuestMemory.PageSize - (a & (GuestMemory.PageSize - 1)));
            int n = _vm.WritePhysical(pa, source.Slice(done, chunk));
            done += n;
            if (n < chunk)
            {
                break;
            }
        }

        return done;
    }

    private bool TryTranslate(in PagingState state, ulong linear, out ulong physical)
    {
        Translation t = PageWalker.Translate(_vm.Memory, state, linear, PageAccess.Read, AccessPrivilege.Supervisor, setAccessedDirty: false, [], out _);
        physical = t.Physical;
        return t.IsMapped;
    }

    /// <summary>
    /// The linear addresses the core's paging maps to <paramref name="physical"/> (as a debugger reads them), lowest
    /// first, at most <paramref name="max"/>; <paramref name="truncated"/> when more may exist. Changes nothing.
    /// </summary>
    public IReadOnlyList<ulong> FindVirtualAddresses(ulong physical, int max, out bool truncated) =>
        PageWalker.FindLinear(_vm.Memory, ReadPagingState(), physical, max, out truncated);
}
