// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

using static HyperDbgRemote.VmxDriver.Tests.Privilege.RingGuest;
using static Iced.Intel.AssemblerRegisters;

namespace HyperDbgRemote.VmxDriver.Tests.Privilege;

/// <summary>
/// Ring 3 to ring 0 and back on the real engine (SDM Vol. 3A, "Interrupt and Exception Handling", "64-Bit Mode Stack
/// Frame", "Interrupt Stack Table"): an INT n or an exception at CPL 3 switches to RSP0 (or the gate's IST stack),
/// pushes SS, RSP, RFLAGS, CS, RIP (and the error code), runs the handler at CPL 0, and the handler's IRETQ returns to
/// ring 3. Each ring-0 handler reads CR3, which faults at CPL 3, so a handler that ran at the wrong privilege never
/// records its frame.
/// </summary>
public sealed class RingTransitionTests
{
    private const ulong Frame = Results;
    private const ulong User = Results + 0x100;
    private const ulong UserStackAtInt = UserStack - 8;

    [TestCase((byte)0x8E, 0, Rsp0, 0UL, Description = "interrupt gate: RSP0, IF cleared")]
    [TestCase((byte)0x8F, 0, Rsp0, 0x200UL, Description = "trap gate: RSP0, IF kept")]
    [TestCase((byte)0x8E, 1, Ist1, 0UL, Description = "interrupt gate with IST 1: the IST stack, not RSP0")]
    public void IntN_FromRing3_EntersRing0OnTheTssStack_IretqReturnsToRing3(byte type, int ist, ulong stackTop, ulong ifInHandler)
    {
        // Arrange: user: push a marker, INT 80h, record; handler: record the frame and IRETQ.
        using TestVm t = Create(a =>
        {
            a.push(0x1234);
            a.@int(0x80);
            RecordUserAndEnd(a, User);
        });
        Handler(t, 0x80, type, dpl: 3, ist: ist, a =>
        {
            RecordFrame(a, Frame, errorCode: false);
            a.iretq();
        });

        // Act
        t.Run();

        // Assert: the frame on the ring-0 stack, slot by slot.
        ulong F(int slot) => Read(t.Vm.Memory, Frame + (ulong)(slot * 8));
        Assert.That(F(0), Is.EqualTo(stackTop - 40), "RSP in the handler: 5 slots below the TSS stack's top");
        Assert.That(F(1), Is.EqualTo(UserCode + 7), "RIP pushed: after push imm32 (5 bytes) and INT 80h");
        Assert.That(F(2), Is.EqualTo(UserCs), "CS pushed: the user's, RPL 3");
        Assert.That(F(3), Is.EqualTo(UserFlags), "RFLAGS pushed: the user's, IF set");
        Assert.That(F(4), Is.EqualTo(UserStackAtInt), "RSP pushed: the user's");
        Assert.That(F(5), Is.EqualTo(UserSs), "SS pushed: the user's, RPL 3");
        Assert.That(F(6), Is.EqualTo(t.Core0.ReadRegister(GuestRegister.Cr3)), "CR3 read at CPL 0");
        Assert.That(F(7), Is.EqualTo(KernelCs), "CS in the handler: the gate's, RPL 0");
        Assert.That(F(8), Is.Zero, "SS in the handler: a null selector with RPL 0");
        Assert.That(F(9) & 0x200, Is.EqualTo(ifInHandler), "RFLAGS.IF in the handler");
        ulong U(int slot) => Read(t.Vm.Memory, User + (ulong)(slot * 8));
        Assert.That(U(0), Is.EqualTo(UserCs), "CS back in ring 3");
        Assert.That(U(1), Is.EqualTo(UserSs), "SS back in ring 3");
        Assert.That(U(2), Is.EqualTo(UserStackAtInt), "RSP back in ring 3");
        Assert.That(U(3) & 0x200, Is.EqualTo(0x200), "IF back on");
        Assert.That(Read(t.Vm.Memory, Results + 0xF00), Is.Zero, "the final HLT at CPL 3 raised #GP(0)");
        Assert.That(Read(t.Vm.Memory, Results + 0xF08), Is.EqualTo(UserCs), "from ring 3");
    }

    [Test]
    public void Exception_FromRing3_PushesTheErrorCodeOnRsp0()
    {
        // Arrange: a user read of a supervisor page (only the first 2 MiB are user pages): #PF with error code U/S | P = 5.
        using TestVm t = Create(a =>
        {
            a.mov(rsi, 0x20_0000UL + 0x10);
            a.mov(rax, __qword_ptr[rsi]);
            RecordUserAndEnd(a, User);
        });
        Handler(t, 14, 0x8E, dpl: 0, ist: 0, a =>
        {
            RecordFrame(a, Frame, errorCode: true);
            a.add(rsp, 8);
            a.add(__qword_ptr[rsp], 3); // skip mov rax, [rsi]
            a.iretq();
        });

        // Act
        t.Run();

        // Assert
        ulong F(int slot) => Read(t.Vm.Memory, Frame + (ulong)(slot * 8));
        Assert.That(F(0), Is.EqualTo(Rsp0 - 48), "RSP: six slots below RSP0");
        Assert.That(F(10), Is.EqualTo(5), "error code: P (a supervisor page is present) and U/S");
        Assert.That(F(2), Is.EqualTo(UserCs));
        Assert.That(F(4), Is.EqualTo(UserStack));
        Assert.That(F(5), Is.EqualTo(UserSs));
        Assert.That(t.Core0.ReadRegister(GuestRegister.Cr2), Is.EqualTo(0x20_0010));
        Assert.That(Read(t.Vm.Memory, User), Is.EqualTo(UserCs), "IRETQ returned to ring 3");
    }

    [Test]
    public void IntN_FromRing3_ThroughADpl0Gate_RaisesGpWithTheIdtErrorCode()
    {
        using TestVm t = Create(a =>
        {
            a.@int(0x80);
            a.hlt();
        });
        Handler(t, 0x80, 0x8E, dpl: 0, ist: 0, a => a.hlt());

        t.Run();

        Assert.That(Read(t.Vm.Memory, Results + 0xF00), Is.EqualTo((0x80 * 8) + 2), "#GP(vector × 8 + IDT)");
        Assert.That(Read(t.Vm.Memory, Results + 0xF08), Is.EqualTo(UserCs));
    }

    [Test]
    public void IstBeyondTheTssLimit_RaisesTsWithTheTssSelector()
    {
        // TSS limit 2Fh: RSP0 and IST1 fit, IST2 (at 2Ch) does not: #TS(30h), delivered on RSP0.
        using TestVm t = Create(a => a.@int(0x80), tssLimit: 0x2F);
        Handler(t, 0x80, 0x8E, dpl: 3, ist: 2, a => a.hlt());
        Handler(t, 10, 0x8E, dpl: 0, ist: 0, a =>
        {
            RecordFrame(a, Frame, errorCode: true);
            a.hlt();
        });

        t.Run();

        Assert.That(Read(t.Vm.Memory, Frame + 0x50), Is.EqualTo(TssSelector), "#TS error code: the TSS selector, EXT clear (INT n)");
        Assert.That(Read(t.Vm.Memory, Frame), Is.EqualTo(Rsp0 - 48));
    }

    [Test]
    public void NonCanonicalRsp0_RaisesSs()
    {
        // RSP0 is not canonical: #SS(0) (INT n: EXT clear), delivered on IST1.
        using TestVm t = Create(a => a.@int(0x80), rsp0: 0x0000_8000_0000_0040);
        Handler(t, 0x80, 0x8E, dpl: 3, ist: 0, a => a.hlt());
        Handler(t, 12, 0x8E, dpl: 0, ist: 1, a =>
        {
            RecordFrame(a, Frame, errorCode: true);
            a.hlt();
        });

        t.Run();

        Assert.That(Read(t.Vm.Memory, Frame), Is.EqualTo(Ist1 - 48));
        Assert.That(Read(t.Vm.Memory, Frame + 0x50), Is.Zero, "#SS error code");
        Assert.That(Read(t.Vm.Memory, Frame + 16), Is.EqualTo(UserCs), "raised from ring 3");
    }

    [Test]
    public void EngineFact_AlignmentCheck_NotRaisedAtCpl3WithCr0AmAndEflagsAc()
    {
        // Measured on Unicorn 2.1.1: the engine does not check alignment, so a misaligned load at CPL 3 with CR0.AM and
        // EFLAGS.AC set runs instead of raising #AC (17). docs/differences.md states it; a handler for 17 records if it
        // ever changes.
        using TestVm t = Create(
            a =>
            {
                a.pushfq();
                a.or(__qword_ptr[rsp], 0x4_0000);
                a.popfq();
                a.mov(rax, __qword_ptr[rsp - 13]);
                RecordUserAndEnd(a, User);
            },
            a =>
            {
                a.mov(rax, cr0);
                a.or(eax, 0x4_0000);
                a.mov(cr0, rax);
            });
        Handler(t, 17, 0x8E, dpl: 0, ist: 0, a =>
        {
            RecordFrame(a, Frame, errorCode: true);
            a.hlt();
        });

        t.Run();

        Assert.That(Read(t.Vm.Memory, Frame), Is.Zero, "no #AC was raised");
        Assert.That(Read(t.Vm.Memory, User + 24) & 0x4_0000, Is.Not.Zero, "EFLAGS.AC was set at the load");
        Assert.That(Read(t.Vm.Memory, Results + 0xF08), Is.EqualTo(UserCs), "the program ran on to its HLT at CPL 3");
    }
}
