// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

using HyperDbgRemote.VmxDriver.Guests;
using static Iced.Intel.AssemblerRegisters;

namespace HyperDbgRemote.VmxDriver.Tests.Paging;

/// <summary>
/// A guest that remaps a page it has just read (its TLB holds the old translation): after INVLPG of that address, or
/// a CR3 load, its next read goes through the new entry; without either it still reads the old page, as the SDM
/// allows and the engine's TLB does. The debugger's walker has no TLB: it reads the new mapping at once (documented in
/// docs/vmx-driver.md).
/// </summary>
public sealed class InvlpgTests
{
    private const ulong Results = TestVm.DataAddress + 0x3000;
    private const ulong Linear = 0x4000_0000;
    private const ulong PageTable = 0x60000;
    private const ulong OldPage = 0x70000;
    private const ulong NewPage = 0x50000;
    private const ulong OldValue = 0x0AAA_AAAA_AAAA_AAAA, NewValue = 0x0BBB_BBBB_BBBB_BBBB;

    [TestCase("invlpg", NewValue, Description = "INVLPG of the address: the new page")]
    [TestCase("cr3", NewValue, Description = "MOV CR3, CR3 flushes the non-global translations: the new page")]
    [TestCase("none", OldValue, Description = "no invalidation: the engine's TLB keeps the old translation")]
    public void RemapAfterRead_NextReadUsesTheNewEntryOnlyAfterInvalidation(string invalidation, ulong expected)
    {
        // Arrange: linear 1 GiB through the test's page table, page 0 at OldPage.
        using TestVm t = TestVm.Create64(a =>
        {
            a.mov(rsi, Linear);
            a.mov(rax, __qword_ptr[rsi]);
            a.mov(__qword_ptr[Results], rax);
            a.mov(rax, NewPage | 3);
            a.mov(__qword_ptr[PageTable], rax);
            switch (invalidation)
            {
                case "invlpg":
                    a.invlpg(__[rsi]);
                    break;
                case "cr3":
                    a.mov(rax, cr3);
                    a.mov(cr3, rax);
                    break;
            }

            a.mov(rax, __qword_ptr[rsi]);
            a.mov(__qword_ptr[Results + 8], rax);
            a.hlt();
        });
        t.Vm.Memory.TryWrite(PageTable, OldPage | 3);
        Assert.That(t.Vm.Memory.TryRead(t.Vm.Memory.RamSize - IdentityMap.TablesSize, out ulong pml4e), Is.True);
        Assert.That(t.Vm.Memory.TryRead((pml4e & ~0xFFFUL) + 8, out ulong pdpte1), Is.True);
        t.Vm.Memory.TryWrite(pdpte1 & 0x000F_FFFF_FFFF_F000, PageTable | 3);
        t.Vm.Memory.TryWrite(OldPage, OldValue);
        t.Vm.Memory.TryWrite(NewPage, NewValue);

        // Act
        t.Run();

        // Assert
        Assert.That(t.Vm.Memory.TryRead(Results, out ulong first) && first == OldValue, Is.True, "the first read: the old page");
        Assert.That(t.Vm.Memory.TryRead(Results + 8, out ulong second), Is.True);
        Assert.That(second, Is.EqualTo(expected), "the read after the remap");
        Assert.That(t.Core0.TryTranslate(Linear, out ulong physical) && physical == NewPage, Is.True, "the walker: the new entry");
        Span<byte> bytes = stackalloc byte[8];
        Assert.That(t.Core0.ReadVirtual(Linear, bytes), Is.EqualTo(8));
        Assert.That(BitConverter.ToUInt64(bytes), Is.EqualTo(NewValue), "db reads the new page");
    }
}
