// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

using HyperDbgRemote.VmxDriver.Internal.Engine;
using HyperDbgRemote.VmxDriver.Internal.Execution;
using Iced.Intel;
using static Iced.Intel.AssemblerRegisters;

namespace HyperDbgRemote.VmxDriver.Tests;

/// <summary>
/// Instruction intercepts (<see cref="IExecutionContext.SetIntercepts"/>, <see cref="CoreIntercepts"/>) on small 64-bit
/// guests: a requester's handler sees each intercepted instruction before it runs, RIP at it, with its kind and SVM exit
/// code; the model then performs the instruction (or the handler does), and instructions that are not requested are
/// not seen.
/// </summary>
public sealed class InterceptTests
{
    private const ulong Idt = TestVm.DataAddress;
    private const ulong Idtr = TestVm.DataAddress + 0x1000;
    private const ulong Handlers = TestVm.DataAddress + 0x2000;
    private const ulong Results = TestVm.DataAddress + 0x3000;

    [Test]
    public void CrAndDrMoves_Requested_HandlerSeesEachAtItsRip_ThenTheModelPerformsIt()
    {
        // Arrange: read CR3 into RBX, write CR4 back from RAX with a REX prefix register (R9), write and read DR7 (R10, R11).
        ulong[] at = [];
        using TestVm t = TestVm.Create64(a =>
        {
            Label readCr3 = a.CreateLabel(), writeCr4 = a.CreateLabel(), writeDr7 = a.CreateLabel(), readDr7 = a.CreateLabel();
            a.mov(r9, cr4);
            a.or(r9, 0x200);
            a.Label(ref readCr3);
            a.mov(rbx, cr3);
            a.Label(ref writeCr4);
            a.mov(cr4, r9);
            a.mov(r10, 0x401);
            a.Label(ref writeDr7);
            a.mov(dr7, r10);
            a.Label(ref readDr7);
            a.mov(r11, dr7);
            a.hlt();
            return [readCr3, writeCr4, writeDr7, readDr7];
        }, out at);
        var exits = new List<InterceptExit>();
        t.Core0.Intercepts.Request(new InstructionIntercepts { CrReads = 1 << 3, CrWrites = 1 << 4, DrReads = 1 << 7, DrWrites = 1 << 7 }, exit =>
        {
            exits.Add(exit);
            return false;
        });

        // Act
        t.Run();

        // Assert: the CR4 read (not requested) was not seen; each requested move was, at its RIP, and performed.
        Assert.That(exits.Select(e => (e.Kind, e.Index, e.Rip, e.ExitCode)), Is.EqualTo(new[]
        {
            (InterceptKind.CrRead, 3, at[0], 0x03),
            (InterceptKind.CrWrite, 4, at[1], 0x14),
            (InterceptKind.DrWrite, 7, at[2], 0x37),
            (InterceptKind.DrRead, 7, at[3], 0x27),
        }));
        Assert.That(t.Core0.ReadRegister(GuestRegister.Rbx), Is.EqualTo(t.Core0.ReadRegister(GuestRegister.Cr3)), "MOV RBX, CR3 performed");
        Assert.That(t.Core0.ReadRegister(GuestRegister.Cr4) & 0x200, Is.Not.Zero, "MOV CR4, R9 performed (REX.B)");
        Assert.That(t.Core0.ReadRegister(GuestRegister.R11), Is.EqualTo(0x401), "DR7 written then read back through R10/R11");
    }

    [Test]
    public void Msr_Requested_HandlerSeesRdmsrAndWrmsrWithEcx_ModelPerformsThem()
    {
        // Arrange: write LSTAR, read it back into RAX:RDX; STAR is not requested.
        ulong[] at = [];
        using TestVm t = TestVm.Create64(a =>
        {
            Label write = a.CreateLabel(), read = a.CreateLabel();
            a.mov(ecx, 0xC000_0082);
            a.mov(eax, 0x1234_5678);
            a.mov(edx, 0xFFFF_8000);
            a.Label(ref write);
            a.wrmsr();
            a.xor(eax, eax);
            a.xor(edx, edx);
            a.Label(ref read);
            a.rdmsr();
            a.mov(r8, rax);
            a.mov(r9, rdx);
            a.mov(ecx, 0xC000_0081);
            a.rdmsr();
            a.hlt();
            return [write, read];
        }, out at);
        var exits = new List<InterceptExit>();
        t.Core0.Intercepts.Request(new InstructionIntercepts { Msrs = new MsrPermissionMap().Intercept(0xC000_0082) }, exit =>
        {
            exits.Add(exit);
            return false;
        });

        // Act
        t.Run();

        // Assert
        Assert.That(exits.Select(e => (e.Kind, e.Msr, e.Rip, e.ExitCode)), Is.EqualTo(new[]
        {
            (InterceptKind.Wrmsr, 0xC000_0082u, at[0], 0x7C),
            (InterceptKind.Rdmsr, 0xC000_0082u, at[1], 0x7C),
        }));
        Assert.That((t.Core0.ReadRegister(GuestRegister.R9) << 32) | t.Core0.ReadRegister(GuestRegister.R8), Is.EqualTo(0xFFFF_8000_1234_5678UL));
    }

    [Test]
    public void Handler_PerformsTheInstructionItself_ItsResultStands()
    {
        // Arrange: RDTSC, whose handler answers 42 and skips it.
        using TestVm t = TestVm.Create64(a =>
        {
            a.rdtsc();
            a.hlt();
        });
        t.Core0.Intercepts.Request(new InstructionIntercepts { Rdtsc = true }, exit =>
        {
            t.Core0.WriteRegister(GuestRegister.Rax, 42);
            t.Core0.WriteRegister(GuestRegister.Rdx, 0);
            t.Core0.WriteRegister(GuestRegister.Rip, exit.Rip + 2);
            return true;
        });

        // Act
        t.Run();

        // Assert
        Assert.That(t.Core0.ReadRegister(GuestRegister.Rax), Is.EqualTo(42));
        Assert.That(t.Core0.Intercepts.Exits, Is.EqualTo(1));
    }

    [Test]
    public void Rdtsc_PerformedByTheModel_ReadsTheGuestsCounter()
    {
        // Arrange: RDTSC intercepted (the model performs it), then one that is not; both read the same counter.
        using TestVm t = TestVm.Create64(a =>
        {
            a.rdtsc();
            a.shl(rdx, 32);
            a.or(rdx, rax);
            a.mov(r8, rdx);
            a.rdtsc();
            a.shl(rdx, 32);
            a.or(rdx, rax);
            a.mov(r9, rdx);
            a.hlt();
        });
        int seen = 0;
        t.Core0.Intercepts.Request(new InstructionIntercepts { Rdtsc = true }, exit =>
        {
            seen++;
            t.Core0.Intercepts.Request(InstructionIntercepts.None, null); // from inside the exit: the second runs in the engine
            return false;
        });

        // Act
        t.Run();

        // Assert: the engine's RDTSC (second) is not earlier than the model's (first): one counter, one offset.
        ulong first = t.Core0.ReadRegister(GuestRegister.R8);
        ulong second = t.Core0.ReadRegister(GuestRegister.R9);
        Assert.That(seen, Is.EqualTo(1), "the second RDTSC was no longer intercepted");
        Assert.That(first, Is.Not.Zero);
        Assert.That(second, Is.GreaterThanOrEqualTo(first));
    }

    [Test]
    public void Rdpmc_Requested_HandlerSeesIt_ThenTheModelPerformsIt()
    {
        // Arrange
        using TestVm t = TestVm.Create64(a =>
        {
            a.mov(rax, -1);
            a.mov(rdx, -1);
            a.xor(ecx, ecx);
            a.rdpmc();
            a.hlt();
        });
        var exits = new List<InterceptExit>();
        t.Core0.Intercepts.Request(new InstructionIntercepts { Rdpmc = true }, exit =>
        {
            exits.Add(exit);
            return false;
        });

        // Act
        t.Run();

        // Assert: seen once, then performed (counter 0 reads 0, the upper halves cleared).
        Assert.That(exits.Select(e => (e.Kind, e.ExitCode)), Is.EqualTo(new[] { (InterceptKind.Rdpmc, 0x6F) }));
        Assert.That((t.Core0.ReadRegister(GuestRegister.Rax), t.Core0.ReadRegister(GuestRegister.Rdx)), Is.EqualTo((0UL, 0UL)));
    }

    [Test]
    public void Invlpg_Requested_HandlerSeesItAtItsRip_ThenTheModelPerformsIt()
    {
        // Arrange: an INVLPG with a SIB and a displacement (the model skips its whole length), then a marker.
        ulong[] at = [];
        using TestVm t = TestVm.Create64(a =>
        {
            Label invlpg = a.CreateLabel();
            a.mov(esi, 0x4000);
            a.Label(ref invlpg);
            a.invlpg(__[rsi + (rsi * 2) + 0x1000]);
            a.mov(ebx, 0x55);
            a.hlt();
            return [invlpg];
        }, out at);
        var exits = new List<InterceptExit>();
        t.Core0.Intercepts.Request(new InstructionIntercepts { Invlpg = true }, exit =>
        {
            exits.Add(exit);
            return false;
        });

        // Act
        t.Run();

        // Assert
        Assert.That(exits.Select(e => (e.Kind, e.ExitCode, e.Rip)), Is.EqualTo(new[] { (InterceptKind.Invlpg, 0x79, at[0]) }));
        Assert.That(t.Core0.ReadRegister(GuestRegister.Rbx), Is.EqualTo(0x55UL), "RIP went on after the INVLPG");
    }

    [Test]
    public void ExitAfterAnIntN_ReportsItsOwnRip()
    {
        // Arrange: INT 0x80 (a handler that returns), then a NOP and an intercepted RDTSC: the engine's INT n record,
        // cleared after the delivery, must not move the exit's RIP to after the INT.
        ulong[] at = [];
        using TestVm t = TestVm.Create64(a =>
        {
            Label rdtsc = a.CreateLabel();
            a.lidt(__[Idtr]);
            a.@int(0x80);
            a.nop();
            a.Label(ref rdtsc);
            a.rdtsc();
            a.hlt();
            return [rdtsc];
        }, out at);
        (byte[] iret, _) = TestVm.Assemble(64, Handlers, a =>
        {
            a.iretq();
            return [];
        });
        t.Vm.Memory.Write(Handlers, iret);
        InterruptTests.WriteIdtGate(t, Idt, Idtr, 0x80, Handlers);
        var rips = new List<ulong>();
        t.Core0.Intercepts.Request(new InstructionIntercepts { Rdtsc = true }, exit =>
        {
            rips.Add(exit.Rip);
            return false;
        });

        // Act
        t.Run();

        // Assert
        Assert.That(rips, Is.EqualTo(new[] { at[0] }));
    }

    [Test]
    public void NothingRequested_OnlyThePlatformsInterceptsExit()
    {
        // Arrange: CR, DR, RDTSC and an implemented MSR: the DR read and RDTSC exit (the platform intercepts unimplemented
        // MSRs, every MOV DR because the model keeps the debug registers, and RDTSC because the machine has a guest time
        // base: the TSC is read from its clock).
        using TestVm t = TestVm.Create64(a =>
        {
            a.mov(rax, cr3);
            a.mov(rax, dr7);
            a.rdtsc();
            a.mov(ecx, 0xC000_0080);
            a.rdmsr();
            a.hlt();
        });

        // Act
        t.Run();

        // Assert
        Assert.That(t.Core0.Intercepts.Exits, Is.EqualTo(2));
        Assert.That(t.Core0.Context.Intercepts.Rdtsc, Is.True);
        Assert.That((t.Core0.Context.Intercepts.DrReads, t.Core0.Context.Intercepts.DrWrites), Is.EqualTo((0xFF, 0xFF)));
        Assert.That(t.Core0.Context.Intercepts.CrReads, Is.Zero);
        Assert.That(t.Core0.Context.Intercepts, Is.SameAs(t.Core0.Context.Intercepts));
        Assert.That(t.Core0.Context.Intercepts.Msrs!.Intercepts(0xC000_0080, write: false), Is.False);
    }

    [TestCase(0x1234_5678u, false, Description = "outside the permission map's ranges")]
    [TestCase(0xC000_0082u, true, Description = "in the map")]
    [TestCase(0x0000_0000u, true, Description = "the first of the first range")]
    [TestCase(0xC001_1FFFu, true, Description = "the last of the third range")]
    public void MsrPermissionMap_Intercepts_AsAmdsLayout(uint msr, bool inMap)
    {
        var map = new MsrPermissionMap().Intercept(msr, read: true, write: false);

        Assert.That(MsrPermissionMap.InMap(msr), Is.EqualTo(inMap));
        Assert.That(map.Intercepts(msr, write: false), Is.True);
        Assert.That(map.Intercepts(msr, write: true), Is.EqualTo(!inMap), "write: only when outside (always intercepted)");
        Assert.That(new MsrPermissionMap().Intercepts(msr, write: false), Is.EqualTo(!inMap));
    }

    internal static void WriteRecordingHandler(TestVm t, int vector, bool hasErrorCode)
    {
        ulong at = Handlers + ((ulong)vector * 0x80);
        (byte[] code, _) = TestVm.Assemble(64, at, a =>
        {
            int frame = hasErrorCode ? 8 : 0;
            a.mov(__qword_ptr[Results], vector);
            if (hasErrorCode)
            {
                a.mov(rax, __qword_ptr[rsp]);
            }
            else
            {
                a.mov(rax, -1);
            }

            a.mov(__qword_ptr[Results + 8], rax);
            a.mov(rax, __qword_ptr[rsp + frame]);
            a.mov(__qword_ptr[Results + 16], rax);
            a.hlt();
            return [];
        });
        t.Vm.Memory.Write(at, code);
        InterruptTests.WriteIdtGate(t, Idt, Idtr, vector, at);
    }

    internal static ulong Read(TestVm t, ulong address)
    {
        Assert.That(t.Vm.Memory.TryRead(address, out ulong value), Is.True, $"0x{address:X} is in RAM");
        return value;
    }
}
