// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

using HyperDbgRemote.VmxDriver.Guests;
using Iced.Intel;
using static Iced.Intel.AssemblerRegisters;

namespace HyperDbgRemote.VmxDriver.Tests;

/// <content>A data breakpoint watches a linear address (SDM Vol. 3B 18.2.4): its page follows the guest's paging.
/// Linear <see cref="Linear"/> maps through a 4 KiB page table of the test's: to <see cref="OldPage"/> in the loader's
/// tables, to <see cref="NewPage"/> in a second set (<see cref="OtherCr3"/>); both keep the loader's identity map, so
/// each page is also written through its own physical address.</content>
public sealed partial class GuestHardwareBreakpointTests
{
    private const ulong Linear = 0x4000_0000;
    private const ulong PageTable = 0x60000;
    private const ulong OldPage = 0x70000;
    private const ulong NewPage = 0x50000;
    private const ulong OtherCr3 = 0x80000; // PML4, then its PDPT, page directory and page table in the next pages

    [Test]
    public void DataBreakpoint_AfterACr3Switch_WatchesTheNewPage_NotTheOldOne()
    {
        // Arrange
        using TestVm t = Create(out ulong[] at, a =>
        {
            Label afterFirst = a.CreateLabel();
            Label afterOld = a.CreateLabel();
            Label afterSecond = a.CreateLabel();
            a.mov(eax, (uint)Linear);
            a.mov(dr0, rax);
            a.mov(eax, (uint)Dr7Write4);
            a.mov(dr7, rax);
            a.mov(esi, (uint)Linear);
            a.mov(__dword_ptr[rsi], 1); // the loader's tables: the old page
            a.Label(ref afterFirst);
            a.mov(eax, (uint)OtherCr3);
            a.mov(cr3, rax);
            a.mov(__dword_ptr[OldPage], 2); // the old page through the identity map: another linear address
            a.Label(ref afterOld);
            a.mov(__dword_ptr[rsi], 3); // the new page
            a.Label(ref afterSecond);
            a.hlt();
            return [afterFirst, afterOld, afterSecond];
        });
        MapLinear(t, OldPage);
        BuildOtherTables(t);

        // Act
        t.Run();

        // Assert
        Assert.That(InterceptTests.Read(t, Count), Is.EqualTo(2), "the write through the identity map did not hit");
        Assert.That((InterceptTests.Read(t, Hits), InterceptTests.Read(t, Hits + 8)), Is.EqualTo((at[0], at[2])));
        Assert.That((InterceptTests.Read(t, OldPage) & uint.MaxValue, InterceptTests.Read(t, NewPage) & uint.MaxValue), Is.EqualTo((2UL, 3UL)));
    }

    [TestCase("invlpg", Description = "INVLPG of the address")]
    [TestCase("cr3", Description = "MOV CR3, CR3")]
    public void DataBreakpoint_OnAnUnmappedAddress_ArmsOnceItMaps(string invalidation)
    {
        // Arrange: DR0 set while the address does not map; the guest maps it, invalidates, writes.
        using TestVm t = Create(out ulong[] at, a =>
        {
            Label after = a.CreateLabel();
            a.mov(eax, (uint)Linear);
            a.mov(dr0, rax);
            a.mov(eax, (uint)Dr7Write4);
            a.mov(dr7, rax);
            a.mov(esi, (uint)Linear);
            a.mov(eax, (uint)(OldPage | 3));
            a.mov(__qword_ptr[PageTable], rax);
            if (invalidation == "invlpg")
            {
                a.invlpg(__[rsi]);
            }
            else
            {
                a.mov(rax, cr3);
                a.mov(cr3, rax);
            }

            a.mov(__dword_ptr[rsi], 1);
            a.Label(ref after);
            a.hlt();
            return [after];
        });
        MapLinear(t, 0);

        // Act
        t.Run();

        // Assert
        Assert.That((InterceptTests.Read(t, Count), InterceptTests.Read(t, LastRip)), Is.EqualTo((1UL, at[0])));
        Assert.That(InterceptTests.Read(t, OldPage) & uint.MaxValue, Is.EqualTo(1UL));
    }

    /// <summary>In the loader's tables, <see cref="Linear"/>'s 2 MiB goes through <see cref="PageTable"/>, whose first
    /// entry is <paramref name="entry"/> (0: not present).</summary>
    private static void MapLinear(TestVm t, ulong entry)
    {
        GuestMemory memory = t.Vm.Memory;
        memory.TryWrite(PageTable, entry == 0 ? 0 : entry | 3);
        memory.TryWrite(LoaderDirectory(t), PageTable | 3);
    }

    /// <summary>A copy of the loader's tables at <see cref="OtherCr3"/>, with <see cref="Linear"/> on <see cref="NewPage"/>.</summary>
    private static void BuildOtherTables(TestVm t)
    {
        GuestMemory memory = t.Vm.Memory;
        ulong pml4 = memory.RamSize - IdentityMap.TablesSize;
        Assert.That(memory.TryRead(pml4, out ulong pml4e), Is.True);
        ulong pdpt = pml4e & 0x000F_FFFF_FFFF_F000;
        Assert.That(memory.TryRead(pdpt + 8, out ulong pdpte1), Is.True);
        ulong directory = pdpte1 & 0x000F_FFFF_FFFF_F000;
        const ulong Page = GuestMemory.PageSize;
        CopyPage(memory, pml4, OtherCr3);
        CopyPage(memory, pdpt, OtherCr3 + Page);
        CopyPage(memory, directory, OtherCr3 + (2 * Page));
        memory.TryWrite(OtherCr3, (OtherCr3 + Page) | 3);
        memory.TryWrite(OtherCr3 + Page + 8, (OtherCr3 + (2 * Page)) | 3);
        memory.TryWrite(OtherCr3 + (2 * Page), (OtherCr3 + (3 * Page)) | 3);
        memory.TryWrite(OtherCr3 + (3 * Page), NewPage | 3);
    }

    private static ulong LoaderDirectory(TestVm t)
    {
        Assert.That(t.Vm.Memory.TryRead(t.Vm.Memory.RamSize - IdentityMap.TablesSize, out ulong pml4e), Is.True); // the loader's PML4
        Assert.That(t.Vm.Memory.TryRead((pml4e & ~0xFFFUL) + 8, out ulong pdpte1), Is.True);
        return pdpte1 & 0x000F_FFFF_FFFF_F000;
    }

    private static void CopyPage(GuestMemory memory, ulong from, ulong to)
    {
        for (ulong i = 0; i < GuestMemory.PageSize; i += 8)
        {
            Assert.That(memory.TryRead(from + i, out ulong entry), Is.True);
            memory.TryWrite(to + i, entry);
        }
    }
}
