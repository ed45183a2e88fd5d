// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

using HyperDbgRemote.VmxDriver.Guests;
using HyperDbgRemote.VmxDriver.Internal.Engine;
using Iced.Intel;
using static HyperDbgRemote.VmxDriver.Tests.Privilege.RingGuest;
using static Iced.Intel.AssemblerRegisters;

namespace HyperDbgRemote.VmxDriver.Tests.Privilege;

/// <summary>
/// SMSW and LMSW with CR0 reads and writes intercepted (a requester of CR0 accesses; the model performs them, SDM Vol. 2B
/// SMSW, Vol. 2A LMSW): SMSW's stores by operand size, #GP(0) under CR4.UMIP at CPL 3, and the #PF (CR2, error code,
/// through the guest's IDT) of a memory operand that does not map or, for SMSW, is not writable.
/// </summary>
public sealed class MachineStatusWordTests
{
    /// <summary>Linear 1 GiB + 0x1230: a 2 MiB page whose PDE each test writes (as <see cref="PageFaultTableTests"/>).</summary>
    private const ulong Target = 0x4000_0000 + 0x1230;
    private const ulong Record = Results + 0x300;
    private const ulong Done = Results + 0x380;
    private const ulong Stored = Results + 0x400;
    private const ulong P = 1, W = 2, U = 4, Large = 0x80;
    private const ulong Frame = 0x40_0000;
    private const ulong NoFault = ulong.MaxValue;

    private static void InterceptCr0(TestVm t) =>
        t.Core0.Intercepts.Request(new InstructionIntercepts { CrReads = 1, CrWrites = 1 }, _ => false);

    /// <summary>A #PF handler recording the error code, CR2 and the RIP pushed, then HLT.</summary>
    private static void RecordPageFault(TestVm t) => Handler(t, 14, 0x8E, dpl: 0, ist: 0, a =>
    {
        a.mov(rax, __qword_ptr[rsp]);
        a.mov(__qword_ptr[Record], rax);
        a.mov(rax, cr2);
        a.mov(__qword_ptr[Record + 8], rax);
        a.mov(rax, __qword_ptr[rsp + 8]);
        a.mov(__qword_ptr[Record + 16], rax);
        a.hlt();
    });

    /// <summary>Writes the PDEs of linear 1 GiB (<paramref name="first"/>) and 1 GiB + 2 MiB (<paramref name="second"/>);
    /// 0: not present.</summary>
    private static void MapTarget(TestVm t, ulong first, ulong second)
    {
        GuestMemory memory = t.Vm.Memory;
        memory.TryWrite(Record, NoFault);
        ulong pml4e = Read(memory, memory.RamSize - IdentityMap.TablesSize);
        ulong pdpte1At = (pml4e & ~0xFFFUL) + 8;
        memory.TryWrite(pdpte1At, Read(memory, pdpte1At) | U | W);
        ulong pd = Read(memory, pdpte1At) & 0x000F_FFFF_FFFF_F000;
        memory.TryWrite(pd, first == 0 ? 0 : Frame | Large | first);
        memory.TryWrite(pd + 8, second == 0 ? 0 : (Frame + 0x20_0000) | Large | second);
    }

    [Test]
    public void Smsw_StoresCr0ByOperandSize_MemoryTakesTheLowWordOnly()
    {
        // Arrange: CR0 read with MOV, then SMSW to r16 (over all ones), r32, r64 and m16 (over a pattern)
        using TestVm t = TestVm.Create64(a =>
        {
            a.mov(rdx, cr0);
            a.mov(rax, -1);
            a.mov(rbx, -1);
            a.mov(rcx, -1);
            a.mov(rsi, 0x1111_2222_3333_4444);
            a.mov(__qword_ptr[TestVm.DataAddress], rsi);
            a.smsw(ax);
            a.smsw(ebx);
            a.smsw(rcx);
            a.smsw(__word_ptr[TestVm.DataAddress]);
            a.hlt();
        });
        InterceptCr0(t);

        // Act
        t.Run();

        // Assert
        ulong machine = t.Core0.ReadRegister(GuestRegister.Rdx);
        Assert.That(machine & 0x8000_0001, Is.EqualTo(0x8000_0001UL), "PG and PE: CR0 has bits above 15 to tell the forms apart");
        Assert.That(t.Core0.ReadRegister(GuestRegister.Rax), Is.EqualTo(0xFFFF_FFFF_FFFF_0000 | (machine & 0xFFFF)), "r16: the low word, the rest kept");
        Assert.That(t.Core0.ReadRegister(GuestRegister.Rbx), Is.EqualTo(machine & 0xFFFF_FFFF), "r32: CR0[31:0] zero-extended");
        Assert.That(t.Core0.ReadRegister(GuestRegister.Rcx), Is.EqualTo(machine), "r64: CR0 zero-extended");
        Assert.That(Read(t.Vm.Memory, TestVm.DataAddress), Is.EqualTo(0x1111_2222_3333_0000 | (machine & 0xFFFF)), "m16: a word, not more");
        Assert.That(t.Core0.Intercepts.Exits, Is.EqualTo(5), "the MOV and each SMSW through the intercept");
    }

    [TestCase(false)]
    [TestCase(true)]
    public void Smsw_AtCpl3_GeneralProtectionWithCr4UmipSet_StoresWithItClear(bool umip)
    {
        // The user program stores what SMSW gave and a marker, then ends with HLT (#GP at CPL 3).
        using TestVm t = RingGuest.Create(
            a =>
            {
                a.mov(rax, -1);
                a.smsw(rax);
                a.mov(__qword_ptr[RingGuest.Results], rax);
                a.mov(__qword_ptr[RingGuest.Results + 8], 1);
                a.hlt();
            },
            a =>
            {
                if (umip)
                {
                    a.mov(rax, cr4);
                    a.or(rax, 0x800);
                    a.mov(cr4, rax);
                }

                a.mov(rax, cr4);
                a.mov(__qword_ptr[Stored], rax);
                a.mov(__qword_ptr[RingGuest.Results], 0x99);
            });
        InterceptCr0(t);

        t.Run();

        Assert.That(Read(t.Vm.Memory, Stored) & 0x800, Is.EqualTo(umip ? 0x800UL : 0), "CR4.UMIP as the kernel set it");
        Assert.That(Read(t.Vm.Memory, RingGuest.Results + 0xF08), Is.EqualTo((ulong)UserCs), "#GP from ring 3");
        Assert.That(Read(t.Vm.Memory, RingGuest.Results + 0xF00), Is.Zero, "error code 0");
        Assert.That(Read(t.Vm.Memory, RingGuest.Results + 8), Is.EqualTo(umip ? 0UL : 1UL), umip ? "the SMSW faulted" : "SMSW ran, then the HLT faulted");
        ulong stored = Read(t.Vm.Memory, RingGuest.Results);
        Assert.That(umip ? stored : stored & 0xFFFF_FFFF_8000_0001, Is.EqualTo(umip ? 0x99UL : 0x8000_0001UL), umip ? "nothing stored" : "CR0 (PG, PE), zero-extended");
    }

    /// <summary>LMSW reads and SMSW writes a word at <see cref="Target"/> (or the last byte of its 2 MiB page, so the
    /// word straddles into the next) from ring 0 with CR0.WP set; a marker after it.</summary>
    [TestCase("lmsw", 0UL, 0UL, 0L, 0x0UL, Description = "LMSW, not present: a read, 0")]
    [TestCase("smsw", 0UL, 0UL, 0L, 0x2UL, Description = "SMSW, not present: a write, W")]
    [TestCase("smsw", P | U, P | W | U, 0L, 0x3UL, Description = "SMSW, a read-only page with WP=1: P, W")]
    [TestCase("lmsw", P | U, P | W | U, 0L, NoFault, Description = "LMSW of a read-only page: no fault")]
    [TestCase("smsw", P | W, P | W, 0L, NoFault, Description = "SMSW of a writable page: no fault")]
    [TestCase("smsw", P | W, 0UL, 1L, 0x2UL, Description = "SMSW straddling into a page that is not present: CR2 there")]
    [TestCase("lmsw", P | W, 0UL, 1L, 0x0UL, Description = "LMSW straddling into a page that is not present: CR2 there")]
    public void MemoryOperand_FaultsThroughTheGuestIdt_WithCr2AndTheErrorCode(string instruction, ulong firstPde, ulong secondPde, long straddle, ulong expected)
    {
        // Arrange
        ulong address = straddle != 0 ? 0x4000_0000 + 0x20_0000 - 1 : Target;
        using TestVm t = RingGuest.Create(
            a => a.hlt(),
            a =>
            {
                a.mov(rax, cr0);
                a.or(eax, 0x1_0000);
                a.mov(cr0, rax);
                a.mov(rsi, address);
                a.mov(rdx, cr0);
                a.mov(__qword_ptr[Stored], rdx);
                if (instruction == "lmsw")
                {
                    a.lmsw(__word_ptr[rsi]);
                }
                else
                {
                    a.smsw(__word_ptr[rsi]);
                }

                a.mov(__qword_ptr[Done], 1);
            });
        RecordPageFault(t);
        MapTarget(t, firstPde, secondPde);
        t.Vm.Memory.Write(Frame + 0x1230, [0x0B, 0x00]); // LMSW reads PE|MP|TS (PE already set)
        InterceptCr0(t);

        // Act
        VmStopInfo stop = t.Run();

        // Assert
        Assert.That(stop.Reason, Is.EqualTo(VmStopReason.AllCoresHalted), stop.ToString());
        GuestMemory memory = t.Vm.Memory;
        Assert.That(Read(memory, Record), Is.EqualTo(expected), expected == NoFault ? "no #PF" : "the #PF's error code");
        if (expected == NoFault)
        {
            Assert.That(Read(memory, Done), Is.EqualTo(1), "the access completed and the code after it ran");
            if (instruction == "smsw")
            {
                Assert.That(memory.TryRead(Frame + 0x1230, out ushort word) ? word : -1, Is.EqualTo((int)(Read(memory, Stored) & 0xFFFF)), "CR0's low word stored");
            }

            return;
        }

        Assert.That(Read(memory, Record + 8), Is.EqualTo(straddle != 0 ? 0x4000_0000 + 0x20_0000 : Target), "CR2: the first byte that faults");
        Assert.That(Read(memory, Done), Is.Zero, "the instruction did not complete");
    }
}
