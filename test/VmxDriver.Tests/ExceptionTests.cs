// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

using HyperDbgRemote.VmxDriver.Guests;
using Iced.Intel;
using static Iced.Intel.AssemblerRegisters;

namespace HyperDbgRemote.VmxDriver.Tests;

/// <summary>
/// Exceptions raised by 64-bit guest code, delivered through the guest's IDT as the SDM says: #PF's error code rebuilt
/// from the walk and the faulting instruction, #UD for what the engine reports as an invalid instruction, #BP, #GP with
/// the IDT error code, and the double-fault rules up to the triple fault that stops the VM.
/// </summary>
public sealed class ExceptionTests
{
    private const ulong Idt = TestVm.DataAddress;
    private const ulong Idtr = TestVm.DataAddress + 0x1000;
    private const ulong Handler = TestVm.DataAddress + 0x2000;
    private const ulong Results = TestVm.DataAddress + 0x3000;

    /// <summary>Linear 1 GiB: the 2 MiB page whose PDE a test rewrites.</summary>
    private const ulong Target = 0x4000_0000 + 0x1230;

    private const ulong Present = 1;
    private const ulong Writable = 2;
    private const ulong Large = 0x80;
    private const ulong Xd = 1UL << 63;
    private const ulong Frame = 0x40_0000;

    [TestCase("read", 0UL, 0x0u, Description = "not present, supervisor read")]
    [TestCase("write", 0UL, 0x2u, Description = "not present, supervisor write")]
    [TestCase("fetch", 0UL, 0x10u, Description = "not present, fetch with EFER.NXE: I/D")]
    [TestCase("write", Present | Large, 0x3u, Description = "read-only page, CR0.WP: protection, write")]
    [TestCase("rmw", Present | Large, 0x3u, Description = "read-modify-write (add [rsi], eax) of a read-only page is a write")]
    [TestCase("stos", Present | Large, 0x3u, Description = "a string store (stosq: [rdi]) to a read-only page")]
    [TestCase("read", Present | Writable | Large | (1UL << 51), 0x9u, Description = "reserved bit 51 in the PDE: RSVD")]
    [TestCase("fetch", Present | Writable | Large | Xd, 0x11u, Description = "XD page with EFER.NXE, fetch: protection, I/D")]
    public void PageFault_ErrorCode_RebuiltAsTheCpuReportsIt(string access, ulong pdeFlags, uint expected)
    {
        // Arrange: CR0.WP and EFER.NXE on, RSI at the target, one access; the #PF handler records the error code, CR2 and
        // the RIP pushed, then halts.
        Label faulting = default;
        using TestVm t = TestVm.Create64(a =>
        {
            faulting = a.CreateLabel();
            a.lidt(__[Idtr]);
            a.mov(rax, cr0);
            a.or(rax, 0x1_0000);
            a.mov(cr0, rax);
            a.mov(ecx, 0xC000_0080);
            a.rdmsr();
            a.or(eax, 0x800);
            a.wrmsr();
            a.mov(rsi, Target);
            a.Label(ref faulting);
            switch (access)
            {
                case "read":
                    a.mov(rax, __qword_ptr[rsi]);
                    break;
                case "write":
                    a.mov(__qword_ptr[rsi], rax);
                    break;
                case "rmw":
                    a.add(__dword_ptr[rsi], eax);
                    break;
                case "stos":
                    a.mov(rdi, rsi);
                    a.stosq();
                    break;
                default:
                    a.jmp(rsi);
                    break;
            }

            a.hlt();
        });
        WriteRecordingHandler(t, 14, hasErrorCode: true);
        SetTargetPde(t, pdeFlags == 0 ? 0 : Frame | pdeFlags);

        // Act
        t.Run();

        // Assert
        ulong errorCode = Read(t, Results), cr2 = Read(t, Results + 8), rip = Read(t, Results + 16);
        Assert.That(errorCode, Is.EqualTo(expected), "error code");
        Assert.That(cr2, Is.EqualTo(Target), "CR2");
        if (access == "fetch")
        {
            Assert.That(rip, Is.EqualTo(Target), "a fetch fault's RIP is the target");
        }
    }

    [Test]
    public void InvalidInstruction_DeliveredAsUd_HandlerSkipsIt()
    {
        using TestVm t = TestVm.Create64(a =>
        {
            a.lidt(__[Idtr]);
            a.ud2();
            a.mov(al, (byte)'M');
            a.@out(0xE9, al);
            a.hlt();
        });
        WriteMarkingHandler(t, 6, 'U', skip: 2);

        t.Run();

        Assert.That(t.Devices.BochsPort.Output.Text(), Is.EqualTo("UM"));
        Assert.That(t.Core0.InterruptsDelivered, Is.EqualTo(1));
    }

    [TestCase(6, 'U', Description = "ud2: #UD through IVT[6]")]
    [TestCase(0, 'E', Description = "div by zero: #DE through IVT[0]")]
    public void RealMode_FaultsDeliveredThroughTheIvt_HandlerSkipsTheInstruction(int vector, char mark)
    {
        // Arrange: IVT[vector] -> 0000:handler; the handler prints the mark, moves the saved IP past the 2-byte faulting
        // instruction and IRETs; main prints 'M' afterwards.
        using TestVm t = TestVm.Create16(a =>
        {
            Label handler = a.CreateLabel();
            Label main = a.CreateLabel();
            a.jmp(main);
            a.Label(ref handler);
            a.mov(al, (byte)mark);
            a.@out(0xE9, al);
            a.mov(bp, sp);
            a.add(__word_ptr[bp], 2);
            a.iret();
            a.Label(ref main);
            a.xor(ax, ax);
            a.mov(ds, ax);
            a.mov(ss, ax);
            a.mov(sp, 0x7000);
            a.mov(__word_ptr[vector * 4], 0x7C02);
            a.mov(__word_ptr[(vector * 4) + 2], 0);
            a.xor(cl, cl);
            if (vector == 6)
            {
                a.ud2();
            }
            else
            {
                a.div(cl);
            }

            a.mov(al, (byte)'M');
            a.@out(0xE9, al);
            a.hlt();
        });

        // Act
        t.Run();

        // Assert
        Assert.That(t.Devices.BochsPort.Output.Text(), Is.EqualTo($"{mark}M"));
        Assert.That(t.Core0.InterruptsDelivered, Is.EqualTo(1));
    }

    [Test]
    public void Breakpoint_DeliveredAsBp_ReturnsAfterInt3()
    {
        using TestVm t = TestVm.Create64(a =>
        {
            a.lidt(__[Idtr]);
            a.int3();
            a.mov(al, (byte)'M');
            a.@out(0xE9, al);
            a.hlt();
        });
        WriteMarkingHandler(t, 3, 'B', skip: 0);

        t.Run();

        Assert.That(t.Devices.BochsPort.Output.Text(), Is.EqualTo("BM"));
    }

    [Test]
    public void IntN_GateBeyondTheIdtLimit_RaisesGpWithTheIdtErrorCode()
    {
        // An IDT of 32 gates; INT 40h is beyond its limit: #GP with error code 40h × 8 + 2 (IDT), EXT clear (software).
        using TestVm t = TestVm.Create64(a =>
        {
            a.lidt(__[Idtr]);
            a.@int(0x40);
            a.hlt();
        });
        WriteRecordingHandler(t, 13, hasErrorCode: true);
        t.Vm.Memory.TryWrite(Idtr, (ushort)((32 * 16) - 1));

        t.Run();

        Assert.That(Read(t, Results), Is.EqualTo((0x40 * 8) + 2));
    }

    [Test]
    public void NonCanonicalAccess_RaisesGpWithErrorCodeZeroAtTheInstruction()
    {
        using TestVm t = TestVm.Create64(a =>
        {
            a.lidt(__[Idtr]);
            a.mov(rsi, 0x0000_8000_0000_0000UL);
            a.mov(rax, __qword_ptr[rsi]);
            a.hlt();
        });
        WriteRecordingHandler(t, 13, hasErrorCode: true);
        t.Vm.Memory.TryWrite(Results, ulong.MaxValue);

        t.Run();

        Assert.That(Read(t, Results), Is.Zero, "error code");
        Assert.That(Read(t, Read(t, Results + 16)) & 0xFF_FFFF, Is.EqualTo(0x06_8B48), "RIP at mov rax, [rsi]");
    }

    [Test]
    public void PageFault_WithItsGateMissing_BecomesDoubleFault()
    {
        // #PF, then #GP for its empty gate (EXT set: delivering an exception): #PF followed by a contributory fault is #DF,
        // delivered with error code 0.
        using TestVm t = TestVm.Create64(a =>
        {
            a.lidt(__[Idtr]);
            a.mov(rsi, Target);
            a.mov(rax, __qword_ptr[rsi]);
            a.hlt();
        });
        SetTargetPde(t, 0);
        WriteRecordingHandler(t, 8, hasErrorCode: true);
        t.Vm.Memory.TryWrite(Results, ulong.MaxValue);

        t.Run();

        Assert.That(Read(t, Results), Is.Zero, "#DF pushes 0");
        Assert.That(Read(t, Results + 8), Is.EqualTo(Target), "CR2 from the #PF");
    }

    [Test]
    public void Fault_WithAStackThatCannotBePushed_IsATripleFaultThatStopsTheVm()
    {
        // #DE with RSP in a not-present page: its push raises #PF (delivered after a contributory fault), whose push
        // raises #PF again: #DF, whose push faults too: a triple fault, the VM stops (shutdown) with the chain.
        using TestVm t = TestVm.Create64(a =>
        {
            a.lidt(__[Idtr]);
            a.mov(rsp, Target);
            a.xor(ecx, ecx);
            a.div(rcx);
            a.hlt();
        });
        SetTargetPde(t, 0);
        WriteRecordingHandler(t, 0, hasErrorCode: false);
        WriteRecordingHandler(t, 14, hasErrorCode: true);
        WriteRecordingHandler(t, 8, hasErrorCode: true);

        t.Vm.Start();
        VmStopInfo? info = t.Vm.WaitForStop(TimeSpan.FromSeconds(10));

        Assert.That(info?.Reason, Is.EqualTo(VmStopReason.Fault));
        Assert.That(info!.Report, Does.Contain("triple fault (shutdown): vector 0 (0x00)"));
        Assert.That(info.Report, Does.Contain("vector 0: the stack at 0x").And.Contain("vector 14: the stack at 0x").And.Contain("vector 8: the stack at 0x"));
        Assert.That(t.Core0.InterruptsDelivered, Is.Zero);
    }

    /// <summary>Rewrites the PDE that maps linear 1 GiB (the flat64 loader's identity map, 2 MiB pages).</summary>
    private static void SetTargetPde(TestVm t, ulong pde)
    {
        ulong pml4e = Read(t, t.Vm.Memory.RamSize - IdentityMap.TablesSize);
        ulong pdpte1 = Read(t, (pml4e & ~0xFFFUL) + 8);
        t.Vm.Memory.TryWrite(pdpte1 & 0x000F_FFFF_FFFF_F000, pde);
    }

    private static ulong Read(TestVm t, ulong address)
    {
        Assert.That(t.Vm.Memory.TryRead(address, out ulong value), Is.True, $"0x{address:X} is in RAM");
        return value;
    }

    /// <summary>A handler for <paramref name="vector"/> at its own address that stores the error code (or 0), CR2 and the
    /// pushed RIP at <see cref="Results"/>, then halts.</summary>
    private static void WriteRecordingHandler(TestVm t, int vector, bool hasErrorCode)
    {
        ulong at = Handler + ((ulong)vector * 0x100);
        (byte[] code, _) = TestVm.Assemble(64, at, a =>
        {
            if (hasErrorCode)
            {
                a.mov(rax, __qword_ptr[rsp]);
                a.mov(rbx, __qword_ptr[rsp + 8]);
            }
            else
            {
                a.xor(eax, eax);
                a.mov(rbx, __qword_ptr[rsp]);
            }

            a.mov(__qword_ptr[Results], rax);
            a.mov(rax, cr2);
            a.mov(__qword_ptr[Results + 8], rax);
            a.mov(__qword_ptr[Results + 16], rbx);
            a.hlt();
            return [];
        });
        t.Vm.Memory.Write(at, code);
        InterruptTests.WriteIdtGate(t, Idt, Idtr, vector, at);
    }

    /// <summary>A handler that writes <paramref name="mark"/> to port E9h, moves the pushed RIP by <paramref name="skip"/>
    /// and returns.</summary>
    private static void WriteMarkingHandler(TestVm t, int vector, char mark, int skip)
    {
        ulong at = Handler + ((ulong)vector * 0x100);
        (byte[] code, _) = TestVm.Assemble(64, at, a =>
        {
            a.mov(al, (byte)mark);
            a.@out(0xE9, al);
            a.add(__qword_ptr[rsp], skip);
            a.iretq();
            return [];
        });
        t.Vm.Memory.Write(at, code);
        InterruptTests.WriteIdtGate(t, Idt, Idtr, vector, at);
    }
}
