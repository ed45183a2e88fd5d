// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

using HyperDbgRemote.VmxDriver.Guests;
using Iced.Intel;
using static Iced.Intel.AssemblerRegisters;

namespace HyperDbgRemote.VmxDriver.Tests;

/// <summary>
/// String I/O through real, non-identity page tables, untrapped and with every port trapped: linear 1 GiB is mapped by
/// a page table of the test's own, page 0 to physical 0x70000, page 1 to physical 0x50000 (below page 0), page 2 not
/// present. A REP OUTSB whose buffer crosses from page 0 into page 1 sends the bytes of both physical pages, and the
/// exits name each element's linear address; one that runs into page 2 raises #PF at the OUTSB with RSI and RCX at the
/// element that faulted, as the SDM leaves them.
/// </summary>
public sealed class StringIoPagingTests
{
    private const ulong Idt = TestVm.DataAddress;
    private const ulong Idtr = TestVm.DataAddress + 0x1000;
    private const ulong Handler = TestVm.DataAddress + 0x2000;
    private const ulong Results = TestVm.DataAddress + 0x3000;
    private const ulong Linear = 0x4000_0000;
    private const ulong PageTable = 0x60000;
    private const ulong Page0 = 0x70000;
    private const ulong Page1 = 0x50000;

    [TestCase(false)]
    [TestCase(true)]
    public void RepOutsb_BufferCrossingIntoAnotherPhysicalPage_SendsTheBytesTheCpuReads(bool trap)
    {
        // Arrange
        using TestVm t = Create(Linear + 0xFFE, trap, out RecordingExitHandler? exits);
        t.Vm.Memory.Write(Page0 + 0xFFE, "ab"u8);
        t.Vm.Memory.Write(Page1, "cd"u8);
        t.Vm.Memory.Write(Page0 + 0x1000, "XY"u8); // what an identity-minded walker would read after page 0

        // Act
        t.Run();

        // Assert
        Assert.That(t.Devices.BochsPort.Output.Text(), Is.EqualTo("abcd"));
        Assert.That(t.Core0.ReadRegister(GuestRegister.Rsi), Is.EqualTo(Linear + 0x1002));
        Assert.That(t.Core0.ReadRegister(GuestRegister.Rcx), Is.Zero);
        if (exits is not null)
        {
            Assert.That(exits.Exits.Select(e => e.Value), Is.EqualTo(new uint[] { 'a', 'b', 'c', 'd' }));
            Assert.That(exits.Exits.Select(e => e.LinearAddress), Is.EqualTo(new[] { Linear + 0xFFE, Linear + 0xFFF, Linear + 0x1000, Linear + 0x1001 }));
        }
    }

    [TestCase(false)]
    [TestCase(true)]
    public void RepOutsb_IntoANotPresentPage_RaisesPageFaultAtTheInstructionWithRsiAndRcxAtTheFaultingElement(bool trap)
    {
        // Arrange
        using TestVm t = Create(Linear + 0x1FFE, trap, out _);
        t.Vm.Memory.Write(Page1 + 0xFFE, "ef"u8);

        // Act
        t.Run();

        // Assert
        Assert.That(t.Devices.BochsPort.Output.Text(), Is.EqualTo("ef"), "the elements before the fault were sent");
        ulong[] r = new ulong[5];
        for (int i = 0; i < r.Length; i++)
        {
            Assert.That(t.Vm.Memory.TryRead(Results + ((ulong)i * 8), out r[i]), Is.True);
        }

        Assert.That(r[0], Is.Zero, "error code: a supervisor read of a not-present page");
        Assert.That(r[1], Is.EqualTo(Linear + 0x2000), "CR2");
        Assert.That(t.Vm.Memory.TryRead(r[2], out ushort instruction) && instruction == 0x6EF3, Is.True, $"RIP 0x{r[2]:X} is the REP OUTSB");
        Assert.That(r[3], Is.EqualTo(Linear + 0x2000), "RSI at the element that faulted");
        Assert.That(r[4], Is.EqualTo(2), "RCX counts the elements left");
    }

    /// <summary>A guest that sends 4 bytes from <paramref name="buffer"/> to port E9h with REP OUTSB, with the test's page
    /// table at linear 1 GiB and a #PF handler that records the error code, CR2, RIP, RSI and RCX, then halts.</summary>
    private static TestVm Create(ulong buffer, bool trap, out RecordingExitHandler? exits)
    {
        var t = TestVm.Create64(a =>
        {
            a.lidt(__[Idtr]);
            a.mov(rsi, buffer);
            a.mov(ecx, 4);
            a.mov(dx, 0xE9);
            a.cld();
            a.rep.outsb();
            a.hlt();
        });
        t.Vm.Memory.TryWrite(PageTable, Page0 | 3);
        t.Vm.Memory.TryWrite(PageTable + 8, Page1 | 3);
        Assert.That(t.Vm.Memory.TryRead(t.Vm.Memory.RamSize - IdentityMap.TablesSize, out ulong pml4e), Is.True);
        Assert.That(t.Vm.Memory.TryRead((pml4e & ~0xFFFUL) + 8, out ulong pdpte1), Is.True);
        t.Vm.Memory.TryWrite(pdpte1 & 0x000F_FFFF_FFFF_F000, PageTable | 3);

        (byte[] code, _) = TestVm.Assemble(64, Handler, a =>
        {
            a.mov(rax, __qword_ptr[rsp]);
            a.mov(__qword_ptr[Results], rax);
            a.mov(rax, cr2);
            a.mov(__qword_ptr[Results + 8], rax);
            a.mov(rax, __qword_ptr[rsp + 8]);
            a.mov(__qword_ptr[Results + 16], rax);
            a.mov(__qword_ptr[Results + 24], rsi);
            a.mov(__qword_ptr[Results + 32], rcx);
            a.hlt();
            return [];
        });
        t.Vm.Memory.Write(Handler, code);
        InterruptTests.WriteIdtGate(t, Idt, Idtr, 14, Handler);
        exits = null;
        if (trap)
        {
            exits = new RecordingExitHandler();
            t.Core0.Controls.SetAll(true);
            t.Vm.ExitHandler = exits;
        }

        return t;
    }
}
