// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

using static HyperDbgRemote.VmxDriver.Tests.Privilege.RingGuest32;
using static Iced.Intel.AssemblerRegisters;

namespace HyperDbgRemote.VmxDriver.Tests.Privilege;

/// <summary>
/// Delivery from ring 3 in 32-bit protected mode (<see cref="RingGuest32"/>) beyond the 32-bit TSS and gates: a 16-bit
/// TSS (SS0:SP0) and a 16-bit interrupt gate (a frame of words); #NP for a gate or a handler's code segment that is not
/// present, with its error code (IDT flag, EXT); #SS for an SS0 that is not present; and what the VM does not model, a
/// task gate and delivery from virtual-8086 mode, reported as such (the VM stops, no triple fault).
/// </summary>
public sealed class ProtectedModeFaultTests
{
    private const ulong Recorded = Results;
    private const ulong Handler16 = 0xC000;
    private const ushort Sp0 = 0xE000;
    private const uint UserEsp = 0x3_FFF0;

    [Test]
    public void IntN_FromRing3_Through16BitGate_With16BitTss_SwitchesToSs0Sp0_AndPushesWords()
    {
        // Arrange: a 16-bit TSS (SS0 10h, SP0 E000h) and a DPL-3 16-bit interrupt gate for INT 80h to code segment 08h
        // at C000h (a 16-bit gate holds a 16-bit offset). The user program sets ESP and raises INT 80h.
        using TestVm t = Create(
            a =>
            {
                a.mov(esp, UserEsp);
                a.@int(0x80);
                a.hlt();
            },
            esp0: Sp0,
            tss16: true);
        (byte[] code, _) = TestVm.Assemble(32, Handler16, a =>
        {
            a.mov(__dword_ptr[(uint)Recorded], esp);
            a.pushfd();
            a.pop(__dword_ptr[(uint)Recorded + 4]);
            a.mov(eax, 0);
            a.mov(ax, cs);
            a.mov(__dword_ptr[(uint)Recorded + 8], eax);
            a.mov(ax, ss);
            a.mov(__dword_ptr[(uint)Recorded + 12], eax);
            a.mov(eax, cr0);
            a.mov(__dword_ptr[(uint)Recorded + 16], eax);
            for (int i = 0; i < 6; i++)
            {
                a.movzx(eax, __word_ptr[esp + (i * 2)]);
                a.mov(__dword_ptr[(uint)Recorded + 20 + (uint)(i * 4)], eax);
            }

            a.hlt();
            return [];
        });
        t.Vm.Memory.Write(Handler16, code);
        Gate(t, 0x80, 0x86, dpl: 3, KernelCs, Handler16);

        // Act
        t.Run();

        // Assert: ring 0 on SS0:SP0 of the 16-bit TSS, five words pushed (SS, SP, FLAGS, CS, IP: EIP and ESP truncated
        // to 16 bits, as a 16-bit gate does), IF cleared by the interrupt gate.
        Assert.That(Read(t, Recorded), Is.EqualTo(Sp0 - 10u), "ESP: SP0 less five words");
        Assert.That(Read(t, Recorded + 4) & 0x200, Is.Zero, "IF cleared");
        Assert.That(Read(t, Recorded + 8), Is.EqualTo(KernelCs), "CS");
        Assert.That(Read(t, Recorded + 12), Is.EqualTo(KernelSs), "SS: SS0 of the 16-bit TSS");
        Assert.That(Read(t, Recorded + 16) & 1, Is.EqualTo(1u), "MOV from CR0 ran: CPL 0");
        uint[] words = [.. Enumerable.Range(0, 5).Select(i => Read(t, Recorded + 20 + (ulong)(i * 4)))];
        Assert.That(words, Is.EqualTo(new uint[] { (uint)(UserCode + 7) & 0xFFFF, UserCs, UserFlags, UserEsp & 0xFFFF, UserSs }), "IP, CS, FLAGS, SP, SS");
        Assert.That(t.Core0.Context.ReadPrivilegeLevel(), Is.Zero);
    }

    [TestCase(false, 0x82, (byte)0x6E, KernelCs, (0x82u * 8) + 2, Description = "INT n through a gate not present: #NP(vector x 8 + 2)")]
    [TestCase(false, 0x83, (byte)0xEE, NotPresentCs, (uint)NotPresentCs, Description = "INT n to a handler's code segment not present: #NP(selector)")]
    [TestCase(true, 6, (byte)0x0E, KernelCs, (6u * 8) + 2 + 1, Description = "#UD (an exception: EXT set) through a gate not present")]
    public void Delivery_NotPresent_RaisesNpWithItsErrorCode(bool ud2, int vector, byte access, ushort selector, uint errorCode)
    {
        // Arrange: the user program raises INT n (or #UD with UD2) through a gate whose P is clear, or whose code segment
        // is not present; the #NP handler records its frame at ring 0 and halts.
        using TestVm t = Create(a =>
        {
            if (ud2)
            {
                a.ud2();
            }
            else
            {
                a.@int((byte)vector);
            }

            a.hlt();
        });
        Gate(t, vector, access, dpl: 0, selector, Handlers + 0x7000);
        RingGuest32.Handler(t, 11, 0x8E, dpl: 0, a =>
        {
            a.mov(__dword_ptr[(uint)Recorded], esp);
            for (int i = 0; i < 6; i++)
            {
                a.mov(eax, __dword_ptr[esp + (i * 4)]);
                a.mov(__dword_ptr[(uint)Recorded + 4 + (uint)(i * 4)], eax);
            }

            a.hlt();
        });

        // Act
        t.Run();

        // Assert: #NP from ring 3 at the instruction, on ESP0: error code, EIP, CS, EFLAGS, ESP, SS.
        uint[] frame = [.. Enumerable.Range(0, 6).Select(i => Read(t, Recorded + 4 + (ulong)(i * 4)))];
        Assert.That(frame, Is.EqualTo(new uint[] { errorCode, (uint)UserCode, UserCs, UserFlags, (uint)UserStack, UserSs }), "error code, EIP, CS, EFLAGS, ESP, SS");
        Assert.That(Read(t, Recorded), Is.EqualTo((uint)Esp0 - 24), "on ESP0");
    }

    [Test]
    public void IntN_FromRing3_Ss0NotPresent_RaisesSsWithTheSelector()
    {
        // Arrange: SS0 is 38h, a data segment not present. INT 80h to ring 0 raises #SS(38h); its gate leads to a
        // conforming code segment, so #SS is delivered at CPL 3 on the user's stack (no stack switch). The #SS handler
        // records its frame, repairs SS0 in the TSS (user-accessible here) and ends with HLT, whose #GP then reaches
        // the ring-0 handler through the repaired SS0.
        using TestVm t = Create(
            a =>
            {
                a.@int(0x80);
                a.hlt();
            },
            ss0: NotPresentSs);
        RingGuest32.Handler(t, 0x80, 0x8E, dpl: 3, a => a.hlt());
        (byte[] code, _) = TestVm.Assemble(32, Handlers + 0x7000, a =>
        {
            a.mov(__dword_ptr[(uint)Recorded], esp);
            for (int i = 0; i < 4; i++)
            {
                a.mov(eax, __dword_ptr[esp + (i * 4)]);
                a.mov(__dword_ptr[(uint)Recorded + 4 + (uint)(i * 4)], eax);
            }

            a.mov(eax, 0);
            a.mov(ax, cs);
            a.mov(__dword_ptr[(uint)Recorded + 20], eax);
            a.mov(__dword_ptr[(uint)Tss + 8], KernelSs);
            a.hlt();
            return [];
        });
        t.Vm.Memory.Write(Handlers + 0x7000, code);
        Gate(t, 12, 0x8E, dpl: 0, ConformingCs, Handlers + 0x7000);

        // Act
        t.Run();

        // Assert: #SS(SS0 selector, EXT clear: INT n), at the INT, on the user's stack (error code, EIP, CS, EFLAGS).
        uint[] frame = [.. Enumerable.Range(0, 4).Select(i => Read(t, Recorded + 4 + (ulong)(i * 4)))];
        Assert.That(frame, Is.EqualTo(new uint[] { NotPresentSs, (uint)UserCode, UserCs, UserFlags }), "error code, EIP, CS, EFLAGS");
        Assert.That(Read(t, Recorded), Is.EqualTo((uint)UserStack - 16), "on the user's stack");
        Assert.That(Read(t, Recorded + 20), Is.EqualTo(ConformingCs | 3u), "CS: the conforming segment at CPL 3");

        // Assert: the handler's HLT raised #GP(0) at CPL 3, delivered on the repaired SS0:ESP0.
        Assert.That(Read(t, GpFrame), Is.EqualTo((uint)Esp0 - 24), "#GP on ESP0");
        Assert.That(Read(t, GpFrame + 4), Is.Zero, "#GP error code");
        Assert.That(Read(t, GpFrame + 12), Is.EqualTo(ConformingCs | 3u), "#GP from the conforming segment at CPL 3");
    }

    [Test]
    public void IntN_ThroughATaskGate_StopsTheVmWithAClearReport()
    {
        // Arrange: INT 84h through a DPL-3 task gate naming the TSS.
        using TestVm t = Create(a =>
        {
            a.@int(0x84);
            a.hlt();
        });
        Gate(t, 0x84, 0x85, dpl: 3, TssSelector, 0);

        // Act
        t.Vm.Start();
        VmStopInfo? info = t.Vm.WaitForStop(TimeSpan.FromSeconds(10));

        // Assert: the VM stops (not a triple fault), naming the vector, the task gate and where to read more; ring 3
        // and the user's stack are untouched.
        Assert.That(info, Is.Not.Null);
        Assert.That(info!.Reason, Is.EqualTo(VmStopReason.Fault));
        Assert.That(info.Report, Is.EqualTo($"core 0: vector 132 (0x84) at RIP 0x{UserCode + 2:X} cannot be delivered: the IDT gate is a task gate (TSS selector 0x0028): "
            + "hardware task switches are not supported by the VM; the VM stops here (not a triple fault; see docs/differences.md)."));
        Assert.That(t.Core0.ReadRegister(GuestRegister.Cs), Is.EqualTo(UserCs));
        Assert.That(t.Core0.ReadRegister(GuestRegister.Rsp), Is.EqualTo(UserStack));
    }

    [Test]
    public void Fault_InVirtual8086Mode_StopsTheVmWithAClearReport()
    {
        // Arrange: the kernel IRETDs to virtual-8086 mode (EFLAGS.VM) at 0000:6000h, where HLT raises #GP(0) (CPL 3).
        using TestVm t = Create(
            _ => { },
            a =>
            {
                a.push(0); // GS, FS, DS, ES
                a.push(0);
                a.push(0);
                a.push(0);
                a.push(0); // SS:SP 0000:6F00
                a.push(0x6F00);
                a.push(0x2_0002); // VM
                a.push(0); // CS:IP 0000:6000
                a.push(0x6000);
                a.iretd();
            });
        t.Vm.Memory.Write(0x6000, [0xF4]);

        // Act
        t.Vm.Start();
        VmStopInfo? info = t.Vm.WaitForStop(TimeSpan.FromSeconds(10));

        // Assert
        Assert.That(info, Is.Not.Null);
        Assert.That(info!.Reason, Is.EqualTo(VmStopReason.Fault));
        Assert.That(info.Report, Is.EqualTo("core 0: vector 13 (0x0D) at RIP 0x6000 cannot be delivered: the core is in virtual-8086 mode (EFLAGS.VM set): "
            + "delivery from virtual-8086 mode is not supported by the VM; the VM stops here (not a triple fault; see docs/differences.md)."));
    }
}
