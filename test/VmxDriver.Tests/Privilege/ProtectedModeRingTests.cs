// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

using static HyperDbgRemote.VmxDriver.Tests.Privilege.RingGuest32;
using static Iced.Intel.AssemblerRegisters;

namespace HyperDbgRemote.VmxDriver.Tests.Privilege;

/// <summary>
/// Delivery from ring 3 in 32-bit protected mode with paging (SDM Vol. 2A, "INT n", INTER-PRIVILEGE-LEVEL-INTERRUPT):
/// the stack switch to SS0:ESP0 of the TSS, the five-doubleword frame, CS and SS loaded with their descriptors (read
/// through the GDT's linear alias), the gate's DPL checked for INT n, and the engine's own IRETD back to ring 3; the
/// faults a bad TSS raises, reported when they make delivery impossible.
/// </summary>
public sealed class ProtectedModeRingTests
{
    private const ulong Handler = Results;
    private const ulong User = Results + 0x100;

    /// <summary>Seven MOV r32, imm32 (5 bytes each), then INT 80h (2 bytes).</summary>
    private const ulong AfterInt = UserCode + (7 * 5) + 2;

    [TestCase((byte)0x8E, 0u, Description = "interrupt gate: IF cleared in the handler")]
    [TestCase((byte)0x8F, 0x200u, Description = "trap gate: IF kept")]
    public void IntN_FromRing3_SwitchesToSs0Esp0_AndIretdReturnsToRing3(byte gateType, uint handlerIf)
    {
        // Arrange: the user program sets every general register, INT 80h (a DPL-3 gate), then records its registers and
        // ends with HLT (#GP at CPL 3). The handler records ESP, the frame, CR0 (privileged), CS, SS and EFLAGS.
        using TestVm t = Create(a =>
        {
            a.mov(eax, 0x1111_1111);
            a.mov(ebx, 0x2222_2222);
            a.mov(ecx, 0x3333_3333);
            a.mov(edx, 0x4444_4444);
            a.mov(esi, 0x5555_5555);
            a.mov(edi, 0x6666_6666);
            a.mov(ebp, 0x7777_7777);
            a.@int(0x80);
            RingGuest32.StoreRegisters(a, User);
            a.hlt();
        });
        RingGuest32.Handler(t, 0x80, gateType, dpl: 3, a =>
        {
            a.mov(__dword_ptr[(uint)Handler], esp);
            a.pushfd();
            a.pop(__dword_ptr[(uint)Handler + 0x24]);
            a.push(eax);
            for (int i = 0; i < 5; i++)
            {
                a.mov(eax, __dword_ptr[esp + 4 + (i * 4)]);
                a.mov(__dword_ptr[(uint)Handler + 4 + (uint)(i * 4)], eax);
            }

            a.mov(eax, cr0);
            a.mov(__dword_ptr[(uint)Handler + 0x18], eax);
            a.mov(eax, 0);
            a.mov(ax, cs);
            a.mov(__dword_ptr[(uint)Handler + 0x1C], eax);
            a.mov(ax, ss);
            a.mov(__dword_ptr[(uint)Handler + 0x20], eax);
            a.pop(eax);
            a.iretd();
        });

        // Act
        t.Run();

        // Assert: the handler ran at ring 0 on SS0:ESP0 with the five-doubleword frame.
        Assert.That(Read(t, Handler), Is.EqualTo((uint)Esp0 - 20), "ESP in the handler: ESP0 less SS, ESP, EFLAGS, CS, EIP");
        Assert.That(Read(t, Handler + 4), Is.EqualTo((uint)AfterInt), "EIP pushed: after INT 80h");
        Assert.That(Read(t, Handler + 8), Is.EqualTo(UserCs), "CS pushed");
        Assert.That(Read(t, Handler + 12), Is.EqualTo(UserFlags), "EFLAGS pushed");
        Assert.That(Read(t, Handler + 16), Is.EqualTo((uint)UserStack), "ESP pushed");
        Assert.That(Read(t, Handler + 20), Is.EqualTo(UserSs), "SS pushed");
        Assert.That(Read(t, Handler + 0x18) & 0x8000_0001, Is.EqualTo(0x8000_0001), "MOV from CR0 ran: CPL 0, paging on");
        Assert.That(Read(t, Handler + 0x1C), Is.EqualTo(KernelCs), "CS in the handler");
        Assert.That(Read(t, Handler + 0x20), Is.EqualTo(KernelSs), "SS in the handler: SS0");
        Assert.That(Read(t, Handler + 0x24) & 0x200, Is.EqualTo(handlerIf), "IF in the handler");

        // Assert: IRETD went back to ring 3 with every register as it was.
        uint[] expected = [0x1111_1111, 0x2222_2222, 0x3333_3333, 0x4444_4444, 0x5555_5555, 0x6666_6666, 0x7777_7777, (uint)UserStack, UserFlags, UserCs, UserSs];
        RingGuest32.AssertRegisters(t, User, expected, "after IRETD");

        // Assert: the final HLT at CPL 3 raised #GP(0), also delivered on SS0:ESP0 (error code, EIP, CS, EFLAGS, ESP, SS).
        Assert.That(Read(t, GpFrame), Is.EqualTo((uint)Esp0 - 24), "the #GP frame is on ESP0");
        Assert.That(Read(t, GpFrame + 4), Is.Zero, "#GP error code");
        Assert.That(Read(t, GpFrame + 12), Is.EqualTo(UserCs), "#GP from ring 3");
        Assert.That(Read(t, GpFrame + 20), Is.EqualTo((uint)UserStack));
        Assert.That(Read(t, GpFrame + 24), Is.EqualTo(UserSs));
        Assert.That(t.Core0.Context.ReadPrivilegeLevel(), Is.Zero, "halted in the ring-0 #GP handler");
    }

    [Test]
    public void IntN_FromRing3_ThroughADpl0Gate_RaisesGpAtTheInstruction()
    {
        // Arrange: INT 81h through a DPL-0 gate.
        using TestVm t = Create(a =>
        {
            a.@int(0x81);
            a.hlt();
        });
        RingGuest32.Handler(t, 0x81, 0x8E, dpl: 0, a => a.hlt());

        // Act
        t.Run();

        // Assert: #GP(vector × 8 + 2), EXT clear, with CS:EIP at the INT instruction, delivered from ring 3.
        Assert.That(Read(t, GpFrame + 4), Is.EqualTo((0x81 * 8) + 2), "#GP error code");
        Assert.That(Read(t, GpFrame + 8), Is.EqualTo((uint)UserCode), "EIP pushed: the INT instruction");
        Assert.That(Read(t, GpFrame + 12), Is.EqualTo(UserCs));
    }

    [TestCase(KernelSs, 0x07u, "the stack at offset 0x4 of the TSS (TR 0x0028, limit 0x7) is beyond its limit (#TS, error code 0x28)", Description = "TSS limit below ESP0")]
    [TestCase((ushort)0, TssLimit, "the TSS's SS0 is null (#TS, error code 0x0)", Description = "null SS0")]
    [TestCase(KernelCs, TssLimit, "the TSS's SS0 0x0008 is not a writable data segment with RPL and DPL 0", Description = "SS0 a code segment: #TS(SS0)")]
    [TestCase((ushort)(UserSs & 0xFFFC), TssLimit, "the TSS's SS0 0x0020 is not a writable data segment with RPL and DPL 0 (descriptor 0x00CFF2000000FFFF) (#TS, error code 0x20)", Description = "SS0 of DPL 3: #TS(SS0)")]
    public void IntN_FromRing3_BadTssStack_RaisesItsFaultAndReportsTheShutdown(ushort ss0, uint tssLimit, string first)
    {
        // Arrange: every delivery to ring 0 needs the broken stack, so #TS, then #DF, cannot be delivered either.
        using TestVm t = Create(a => a.@int(0x80), ss0: ss0, tssLimit: tssLimit);
        RingGuest32.Handler(t, 0x80, 0x8E, dpl: 3, a => a.hlt());

        // Act
        t.Vm.Start();
        VmStopInfo? info = t.Vm.WaitForStop(TimeSpan.FromSeconds(10));

        // Assert: a triple fault whose report gives each fault with its error code.
        Assert.That(info, Is.Not.Null);
        Assert.That(info!.Reason, Is.EqualTo(VmStopReason.Fault));
        Assert.That(info.Report, Does.Contain("triple fault").And.Contain($"vector 128: {first}"));
        Assert.That(info.Report, Does.Contain("then vector 10: ").And.Contain("then vector 8: "));
    }
}
