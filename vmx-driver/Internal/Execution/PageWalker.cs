// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

using static HyperDbgRemote.VmxDriver.PageTableBits;

namespace HyperDbgRemote.VmxDriver.Internal.Execution;

/// <summary>
/// The one page walker of the project: linear-to-physical translation through the guest's paging structures as the
/// CPU does it (SDM Vol. 3A, chapter "Paging"), with the engine's choices where the SDM leaves room, so that it agrees
/// with the engine's own translation on every address (held by <c>PageWalkerDifferentialTests</c>):
/// <list type="bullet">
/// <item>no paging (CR0.PG = 0): linear = physical, truncated to 32 bits outside long mode;</item>
/// <item>4-level paging (EFER.LMA): 4 KiB, 2 MiB and 1 GiB pages; a non-canonical address raises #GP;</item>
/// <item>PAE paging: the four PDPTEs are read from memory on every walk (as the engine does; a CPU caches them at
/// MOV to CR3), 4 KiB and 2 MiB pages;</item>
/// <item>32-bit paging: 4 KiB pages and, with CR4.PSE, 4 MiB pages whose bits 20:13 give physical bits 39:32 (PSE-36);</item>
/// <item>rights: R/W, U/S and XD combined over all levels; CR0.WP; EFER.NXE (XD is a reserved bit without it);
/// CR4.SMEP and CR4.SMAP; protection keys are not modelled;</item>
/// <item>reserved bits: physical-address bits 40 to 51 (the engine's MAXPHYADDR is 40), PS in a PML4E, the low
/// address bits of a large page, bit 21 of a 4 MiB PDE, the high bits of a PAE PDPTE;</item>
/// <item>accessed and dirty flags, when asked to act as the CPU: A in every entry used (in upper levels even when the
/// walk then faults, as the engine does), D in the leaf on a write.</item>
/// </list>
/// There is no TLB: the walker reads the structures as they are in memory, which is what the CPU sees after a CR3
/// load or INVLPG.
/// </summary>
internal static partial class PageWalker
{
    /// <summary>The engine's physical-address width (QEMU's TCG_PHYS_ADDR_BITS for x86-64).</summary>
    public const int PhysicalAddressBits = 40;

    private const ulong HighReserved = FrameMask & ~((1UL << PhysicalAddressBits) - 1);
    private const ulong PaePdpteHighReserved = 0x7FF0_0000_0000_0000;
    private const ulong Pse36Bits = 0x1F_E000;
    private const ulong Pse36Reserved = 1UL << 21;
    private const ulong FourKiB = 4096;
    private const ulong TwoMiB = 2UL << 20;
    private const ulong FourMiB = 4UL << 20;
    private const ulong OneGiB = 1UL << 30;

    /// <summary>The most entries a walk uses.</summary>
    public const int MaxEntries = 4;

    /// <summary>
    /// Translates <paramref name="linear"/> for an access. <paramref name="entries"/> (at least <see cref="MaxEntries"/>
    /// long, or empty) receives the entries read, top level first. With <paramref name="setAccessedDirty"/> the walk
    /// sets the accessed and dirty flags in guest memory as the CPU does for a real access; without, it changes nothing
    /// (a debugger's view).
    /// </summary>
    public static Translation Translate(
        GuestMemory memory,
        in PagingState state,
        ulong linear,
        PageAccess access,
        AccessPrivilege privilege,
        bool setAccessedDirty,
        Span<PageTableEntry> entries,
        out int entryCount)
    {
        var walk = new Walk(memory, entries, setAccessedDirty);
        Translation result = Run(ref walk, state, linear, access, privilege);
        entryCount = walk.Count;
        return result;
    }

    private static Translation Run(ref Walk walk, in PagingState state, ulong linear, PageAccess access, AccessPrivilege privilege)
    {
        if (state.Mode == PagingMode.None)
        {
            ulong physical = (state.Efer & PagingState.EferLma) != 0 ? linear : (uint)linear;
            return Translation.Mapped(physical, FourKiB, writable: true, user: true, executable: true);
        }

        ulong reserved = HighReserved;
        if ((state.Efer & PagingState.EferNxe) == 0)
        {
            reserved |= ExecuteDisable;
        }

        // Rights are combined as the engine does: XD inverted while walking so that AND-ing keeps "executable".
        ulong rights;
        if (state.Mode == PagingMode.FourLevel)
        {
            long upper = (long)linear >> 47;
            if (upper is not 0 and not -1)
            {
                return Translation.NonCanonical;
            }

            rights = ExecuteDisable | User | Writable;
            ulong pml4eAddress = (state.Cr3 & ~0xFFFUL) + (((linear >> 39) & 0x1FF) * 8);
            ulong pml4e = walk.Read(PageTableLevel.Pml4e, pml4eAddress);
            if ((pml4e & Present) == 0)
            {
                return Fault(state, access, privilege, PageFaultErrorCode.None);
            }

            if ((pml4e & (reserved | LargePage)) != 0)
            {
                return Fault(state, access, privilege, PageFaultErrorCode.ReservedBit | PageFaultErrorCode.Present);
            }

            walk.SetFlags(pml4eAddress, pml4e, Accessed);
            rights &= pml4e ^ ExecuteDisable;
            ulong pdpteAddress = (pml4e & FrameMask) + (((linear >> 30) & 0x1FF) * 8);
            ulong pdpte = walk.Read(PageTableLevel.Pdpte, pdpteAddress);
            if ((pdpte & Present) == 0)
            {
                return Fault(state, access, privilege, PageFaultErrorCode.None);
            }

            if ((pdpte & reserved) != 0)
            {
                return Fault(state, access, privilege, PageFaultErrorCode.ReservedBit | PageFaultErrorCode.Present);
            }

            rights &= pdpte ^ ExecuteDisable;
            pdpte = walk.SetFlags(pdpteAddress, pdpte, Accessed);
            if ((pdpte & LargePage) != 0)
            {
                return Leaf(ref walk, state, linear, access, privilege, rights, reserved, pdpte, pdpteAddress, OneGiB, entry32: false);
            }

            return Directory(ref walk, state, linear, access, privilege, rights, reserved, pdpte & FrameMask);
        }

        if (state.Mode == PagingMode.Pae)
        {
            ulong pdpteAddress = (state.Cr3 & ~0x1FUL) + (((linear >> 30) & 3) * 8);
            ulong pdpte = walk.Read(PageTableLevel.Pdpte, pdpteAddress);
            if ((pdpte & Present) == 0)
            {
                return Fault(state, access, privilege, PageFaultErrorCode.None);
            }

            reserved |= PaePdpteHighReserved;
            if ((pdpte & (reserved | ExecuteDisable)) != 0)
            {
                return Fault(state, access, privilege, PageFaultErrorCode.ReservedBit | PageFaultErrorCode.Present);
            }

            rights = ExecuteDisable | User | Writable;
            return Directory(ref walk, state, linear, access, privilege, rights, reserved, pdpte & FrameMask);
        }

        // 32-bit paging: 4-byte entries, no XD (everything is executable), no reserved bits but PSE-36's bit 21.
        ulong pdeAddress = (state.Cr3 & ~0xFFFUL) + (((linear >> 22) & 0x3FF) * 4);
        ulong pde = walk.Read32(PageTableLevel.Pde, pdeAddress);
        if ((pde & Present) == 0)
        {
            return Fault(state, access, privilege, PageFaultErrorCode.None);
        }

        rights = pde | ExecuteDisable;
        if ((pde & LargePage) != 0 && (state.Cr4 & PagingState.Cr4Pse) != 0)
        {
            // A 4 MiB page: PDE bits 20:13 are physical-address bits 39:32 (PSE-36); bit 21 is reserved.
            ulong leaf = pde | ((pde & Pse36Bits) << (32 - 13));
            return Leaf(ref walk, state, linear, access, privilege, rights, Pse36Reserved, leaf, pdeAddress, FourMiB, entry32: true);
        }

        pde = walk.SetFlags32(pdeAddress, pde, Accessed);
        ulong pteAddress = (pde & ~0xFFFUL & 0xFFFF_FFFF) + (((linear >> 12) & 0x3FF) * 4);
        ulong pte = walk.Read32(PageTableLevel.Pte, pteAddress);
        if ((pte & Present) == 0)
        {
            return Fault(state, access, privilege, PageFaultErrorCode.None);
        }

        rights &= pte | ExecuteDisable;
        return Leaf(ref walk, state, linear, access, privilege, rights, 0, pte, pteAddress, FourKiB, entry32: true);
    }

    /// <summary>The page directory and page table of PAE and 4-level paging.</summary>
    private static Translation Directory(ref Walk walk, in PagingState state, ulong linear, PageAccess access, AccessPrivilege privilege, ulong rights, ulong reserved, ulong directory)
    {
        ulong pdeAddress = directory + (((linear >> 21) & 0x1FF) * 8);
        ulong pde = walk.Read(PageTableLevel.Pde, pdeAddress);
        if ((pde & Present) == 0)
        {
            return Fault(state, access, privilege, PageFaultErrorCode.None);
        }

        if ((pde & reserved) != 0)
        {
            return Fault(state, access, privilege, PageFaultErrorCode.ReservedBit | PageFaultErrorCode.Present);
        }

        rights &= pde ^ ExecuteDisable;
        if ((pde & LargePage) != 0)
        {
            return Leaf(ref walk, state, linear, access, privilege, rights, reserved, pde, pdeAddress, TwoMiB, entry32: false);
        }

        pde = walk.SetFlags(pdeAddress, pde, Accessed);
        ulong pteAddress = (pde & FrameMask) + (((linear >> 12) & 0x1FF) * 8);
        ulong pte = walk.Read(PageTableLevel.Pte, pteAddress);
        if ((pte & Present) == 0)
        {
            return Fault(state, access, privilege, PageFaultErrorCode.None);
        }

        if ((pte & reserved) != 0)
        {
            return Fault(state, access, privilege, PageFaultErrorCode.ReservedBit | PageFaultErrorCode.Present);
        }

        rights &= pte ^ ExecuteDisable;
        return Leaf(ref walk, state, linear, access, privilege, rights, reserved, pte, pteAddress, FourKiB, entry32: false);
    }

    /// <summary>The entry that maps the page: its reserved bits, the access rights, then the accessed/dirty flags.
    /// <paramref name="entry32"/>: a 32-bit paging entry (4 bytes; its reserved bits are given).</summary>
    private static Translation Leaf(
        ref Walk walk,
        in PagingState state,
        ulong linear,
        PageAccess access,
        AccessPrivilege privilege,
        ulong rights,
        ulong reserved,
        ulong leaf,
        ulong leafAddress,
        ulong pageSize,
        bool entry32)
    {
        if (!entry32)
        {
            // The address bits below a large page's size are reserved, except its PAT bit (bit 12).
            reserved |= (pageSize - 1) & FrameMask & ~LargePagePat;
        }

        if ((leaf & reserved) != 0)
        {
            return Fault(state, access, privilege, PageFaultErrorCode.ReservedBit | PageFaultErrorCode.Present);
        }

        rights ^= ExecuteDisable;
        bool userPage = (rights & User) != 0;
        bool isUser = privilege == AccessPrivilege.User;
        if (isUser && !userPage)
        {
            return Fault(state, access, privilege, PageFaultErrorCode.Present);
        }

        bool readable = privilege != AccessPrivilege.SupervisorSmap || !userPage;
        bool writable = readable && ((rights & Writable) != 0 || (!isUser && (state.Cr0 & PagingState.Cr0Wp) == 0));
        bool executable = (rights & ExecuteDisable) == 0 && (isUser || (state.Cr4 & PagingState.Cr4Smep) == 0 || !userPage);
        bool allowed = access switch
        {
            PageAccess.Read => readable,
            PageAccess.Write => writable,
            _ => executable,
        };
        if (!allowed)
        {
            return Fault(state, access, privilege, PageFaultErrorCode.Present);
        }

        ulong flags = access == PageAccess.Write ? Accessed | Dirty : Accessed;
        if (entry32)
        {
            walk.SetFlags32(leafAddress, leaf, flags);
        }
        else
        {
            walk.SetFlags(leafAddress, leaf, flags);
        }

        ulong frame = leaf & FrameMask & ~(pageSize - 1);
        return Translation.Mapped(frame | (linear & (pageSize - 1)), pageSize, writable, userPage, executable);
    }

    /// <summary>A page fault's error code: the reason, then W/R, U/S and I/D as the engine reports them.</summary>
    private static Translation Fault(in PagingState state, PageAccess access, AccessPrivilege privilege, PageFaultErrorCode reason)
    {
        PageFaultErrorCode code = reason;
        if (access == PageAccess.Write)
        {
            code |= PageFaultErrorCode.Write;
        }

        if (privilege == AccessPrivilege.User)
        {
            code |= PageFaultErrorCode.User;
        }

        bool reportsFetch = ((state.Efer & PagingState.EferNxe) != 0 && (state.Cr4 & PagingState.Cr4Pae) != 0) || (state.Cr4 & PagingState.Cr4Smep) != 0;
        if (access == PageAccess.Execute && reportsFetch)
        {
            code |= PageFaultErrorCode.InstructionFetch;
        }

        return Translation.Faulted(code);
    }

    /// <summary>Reads the entries of one walk, records them and, when acting as the CPU, sets their flags.</summary>
    private ref struct Walk
    {
        private readonly GuestMemory _memory;
        private readonly Span<PageTableEntry> _entries;
        private readonly bool _setFlags;

        public Walk(GuestMemory memory, Span<PageTableEntry> entries, bool setFlags)
        {
            _memory = memory;
            _entries = entries;
            _setFlags = setFlags;
            Count = 0;
        }

        public int Count { get; private set; }

        /// <summary>An 8-byte entry; an address outside guest RAM reads as a not-present entry.</summary>
        public ulong Read(PageTableLevel level, ulong address)
        {
            _memory.TryRead(address, out ulong value);
            Record(level, address, value);
            return value;
        }

        /// <summary>A 4-byte entry of 32-bit paging.</summary>
        public ulong Read32(PageTableLevel level, ulong address)
        {
            _memory.TryRead(address, out uint value);
            Record(level, address, value);
            return value;
        }

        /// <summary>Sets <paramref name="flags"/> in an 8-byte entry when acting as the CPU; returns the entry as the CPU
        /// continues with it.</summary>
        public ulong SetFlags(ulong address, ulong entry, ulong flags)
        {
            if (_setFlags && (entry & flags) != flags)
            {
                entry |= flags;
                _memory.TryWrite(address, entry);
            }

            return entry;
        }

        /// <summary>Sets flags in the low 32 bits of an entry (a 32-bit paging entry, as the engine stores them).</summary>
        public ulong SetFlags32(ulong address, ulong entry, ulong flags)
        {
            if (_setFlags && (entry & flags) != flags)
            {
                entry |= flags;
                _memory.TryWrite(address, (uint)entry);
            }

            return entry;
        }

        private void Record(PageTableLevel level, ulong address, ulong value)
        {
            if (Count < _entries.Length)
            {
                _entries[Count] = new PageTableEntry(level, address, value);
            }

            Count++;
        }
    }
}
