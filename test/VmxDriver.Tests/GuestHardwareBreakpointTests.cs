// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

using System.Collections.Concurrent;
using Iced.Intel;
using static Iced.Intel.AssemblerRegisters;

namespace HyperDbgRemote.VmxDriver.Tests;

/// <summary>
/// The guest's own hardware breakpoints (SDM Vol. 3B 18.2, 18.3): it sets DR0 and DR7 with MOV DR, which the model
/// performs on its own copy of the debug registers (Unicorn's own MOV to DR7 killed the process), and the model arms
/// them on the debugger's machinery: an execute breakpoint raises #DB before the instruction (RF honoured), a data or
/// I/O breakpoint raises #DB after the access, and DR6 says which. With <c>!dr</c> the MOV event fires first.
/// </summary>
public sealed partial class GuestHardwareBreakpointTests
{
    private const ulong Idt = TestVm.DataAddress;
    private const ulong Idtr = TestVm.DataAddress + 0x1000;
    private const ulong Handler = TestVm.DataAddress + 0x2000;
    private const ulong Results = TestVm.DataAddress + 0x3000;
    private const ulong Count = Results;
    private const ulong LastDr6 = Results + 8;
    private const ulong LastRip = Results + 16;
    private const ulong LastFlags = Results + 24;
    private const ulong Hits = Results + 0x400; // the pushed RIP of #DB n (1-16) at Hits + 8 (n - 1)
    private const ulong Variable = Results + 0x200;
    private const ulong Execute = 0b00_00; // LEN = 00, R/W = 00
    private const ulong Write4 = 0b11_01; // LEN = 11 (4 bytes), R/W = 01
    private const ulong ReadWrite4 = 0b11_11;
    private const ulong Io1 = 0b00_10;
    private const ulong Dr7Execute = 1; // L0, R/W0 = 00, LEN0 = 00
    private const ulong Dr7Write4 = 1 | (Write4 << 16);
    private const ulong Dr7ReadWrite4 = 1 | (ReadWrite4 << 16);
    private const ulong Dr7Io1 = 1 | (Io1 << 16);
    private static readonly TimeSpan s_wait = TimeSpan.FromSeconds(20);

    private sealed class NoAction : IVmExitHandler
    {
        public int Events { get; private set; }

        public void OnIoExit(IoExit ioExit)
        {
        }

        public void OnGuestEvent(GuestEventExit guestEvent) => Events++;
    }

    [TestCase(false, Description = "no !dr")]
    [TestCase(true, Description = "!dr: both MOVs fire the event first, then take effect")]
    public void ExecuteBreakpoint_RaisesDebugExceptionBeforeTheInstruction_IretWithRfRunsIt(bool drEvent)
    {
        // Arrange
        using TestVm t = Create(out ulong[] at, a =>
        {
            Label target = a.CreateLabel();
            a.lea(rax, __[target]);
            a.mov(dr0, rax);
            a.mov(eax, (uint)Dr7Execute);
            a.mov(dr7, rax);
            a.nop();
            a.Label(ref target);
            a.mov(ebx, 0x55);
            a.hlt();
            return [target];
        });
        var handler = new NoAction();
        if (drEvent)
        {
            t.Vm.ExitHandler = handler;
            t.Vm.TrappedGuestEvents = GuestEventKinds.DebugRegister;
        }

        // Act
        t.Run();

        // Assert
        Assert.That(handler.Events, Is.EqualTo(drEvent ? 3 : 0), "!dr saw both MOVs and the handler's read of DR6");
        Assert.That((t.Core0.ReadRegister(GuestRegister.Dr0), t.Core0.ReadRegister(GuestRegister.Dr7)), Is.EqualTo((at[0], Dr7Execute | 0x400)), "DR0 and DR7 as the guest wrote them");
        Assert.That(InterceptTests.Read(t, Count), Is.EqualTo(1), "one #DB: the IRET with RF set ran the instruction");
        Assert.That(InterceptTests.Read(t, LastRip), Is.EqualTo(at[0]), "fault-like: the pushed RIP is the instruction's");
        Assert.That(InterceptTests.Read(t, LastDr6), Is.EqualTo(0xFFFF_0FF1UL), "DR6.B0");
        Assert.That(t.Core0.ReadRegister(GuestRegister.Rbx), Is.EqualTo(0x55UL), "the instruction ran after the handler");
    }

    [TestCase(Dr7Write4, 1UL, Description = "write: the read does not hit, the write does")]
    [TestCase(Dr7ReadWrite4, 2UL, Description = "read/write: both hit")]
    public void DataBreakpoint_RaisesDebugExceptionAfterTheAccess(ulong control, ulong expected)
    {
        // Arrange: the breakpoint covers bytes 4-7 of an 8-byte variable (DR0 = its address + 5, aligned down to the length).
        using TestVm t = Create(out ulong[] at, a =>
        {
            Label afterRead = a.CreateLabel();
            Label afterWrite = a.CreateLabel();
            a.mov(eax, (uint)Variable + 5);
            a.mov(dr0, rax);
            a.mov(eax, (uint)control);
            a.mov(dr7, rax);
            a.mov(edx, (uint)Variable);
            a.mov(__dword_ptr[rdx], 1); // bytes 0-3: no hit
            a.mov(ecx, __dword_ptr[rdx + 4]);
            a.Label(ref afterRead);
            a.mov(__byte_ptr[rdx + 7], 2);
            a.Label(ref afterWrite);
            a.mov(ebx, 0x55);
            a.hlt();
            return [afterRead, afterWrite];
        });

        // Act
        t.Run();

        // Assert
        Assert.That(InterceptTests.Read(t, Count), Is.EqualTo(expected));
        Assert.That(InterceptTests.Read(t, LastRip), Is.EqualTo(at[1]), "trap-like: the pushed RIP is after the write");
        Assert.That(InterceptTests.Read(t, LastDr6), Is.EqualTo(0xFFFF_0FF1UL), "DR6.B0");
        Assert.That(t.Core0.ReadRegister(GuestRegister.Rbx), Is.EqualTo(0x55UL));
    }

    [Test]
    public void IoBreakpoint_WithCr4De_RaisesDebugExceptionAfterTheInstruction_OnDr1()
    {
        // Arrange
        using TestVm t = Create(out ulong[] at, a =>
        {
            Label after = a.CreateLabel();
            a.mov(rax, cr4);
            a.or(rax, 8); // CR4.DE
            a.mov(cr4, rax);
            a.mov(eax, 0x80);
            a.mov(dr1, rax);
            a.mov(eax, (uint)Dr7(1, Io1));
            a.mov(dr7, rax);
            a.@out(0x81, al);
            a.@out(0x80, al);
            a.Label(ref after);
            a.mov(ebx, 0x55);
            a.hlt();
            return [after];
        });

        // Act
        t.Run();

        // Assert
        Assert.That(InterceptTests.Read(t, Count), Is.EqualTo(1), "port 0x81 is not covered");
        Assert.That(InterceptTests.Read(t, LastRip), Is.EqualTo(at[0]));
        Assert.That(InterceptTests.Read(t, LastDr6), Is.EqualTo(0xFFFF_0FF2UL), "DR6.B1");
    }

    [Test]
    public void EnabledBreakpoints_NeverHit_RaiseNothing()
    {
        // Arrange: DR0 executes an address never reached, DR1 writes a variable only read.
        using TestVm t = Create(out _, a =>
        {
            Label never = a.CreateLabel();
            a.lea(rax, __[never]);
            a.mov(dr0, rax);
            a.mov(eax, (uint)Variable);
            a.mov(dr1, rax);
            a.mov(eax, (uint)(Dr7(0, Execute) | Dr7(1, Write4)));
            a.mov(dr7, rax);
            a.mov(ecx, __dword_ptr[Variable]);
            a.mov(ebx, 0x55);
            a.hlt();
            a.Label(ref never);
            a.mov(ebx, 0x66);
            a.hlt();
            return [];
        });

        // Act
        t.Run();

        // Assert
        Assert.That(InterceptTests.Read(t, Count), Is.Zero);
        Assert.That(t.Core0.ReadRegister(GuestRegister.Rbx), Is.EqualTo(0x55UL));
    }

    [Test]
    public void DebuggerBreakpoint_AtTheGuestsDr0_HaltsFirst_ThenTheGuestGetsItsDebugException()
    {
        // Arrange
        var halts = new BlockingCollection<VmHaltInfo>();
        using TestVm t = Create(out ulong[] at, a =>
        {
            Label target = a.CreateLabel();
            a.lea(rax, __[target]);
            a.mov(dr0, rax);
            a.mov(eax, (uint)Dr7Execute);
            a.mov(dr7, rax);
            a.nop();
            a.Label(ref target);
            a.mov(ebx, 0x55);
            a.hlt();
            return [target];
        });
        t.Vm.Halted += (_, h) => halts.Add(h);
        t.Vm.Start(initialBreak: true);
        Assert.That(Next(halts).Reason, Is.EqualTo(HaltReason.InitialBreak));
        t.Vm.AddCodeBreakpoint(at[0]);

        // Act / Assert: the debugger's halt, before the guest's #DB.
        t.Vm.Resume();
        VmHaltInfo first = Next(halts);
        Assert.That((first.Reason, first.Core.ReadRegister(GuestRegister.Rip)), Is.EqualTo((HaltReason.Breakpoint, at[0])));
        Assert.That(InterceptTests.Read(t, Count), Is.Zero, "no #DB yet");
        Assert.That(t.Vm.CodeBreakpoints, Is.EqualTo(new[] { at[0] }), "the guest's breakpoint is not the debugger's");

        // Continuing: the guest's #DB; its IRET returns to the instruction, where the debugger's breakpoint is reached again.
        t.Vm.Resume();
        VmHaltInfo second = Next(halts);
        Assert.That((second.Reason, second.Core.ReadRegister(GuestRegister.Rip)), Is.EqualTo((HaltReason.Breakpoint, at[0])));
        Assert.That(InterceptTests.Read(t, Count), Is.EqualTo(1), "the guest's #DB ran in between");
        t.Vm.Resume();
        VmStopInfo? stop = t.Vm.WaitForStop(s_wait);
        Assert.That(stop?.Reason, Is.EqualTo(VmStopReason.AllCoresHalted), stop?.Report);
        Assert.That((InterceptTests.Read(t, Count), t.Core0.ReadRegister(GuestRegister.Rbx)), Is.EqualTo((1UL, 0x55UL)), "RF let the instruction run once");
    }

    /// <summary>
    /// Hostile: each kind armed and hit without <c>!dr</c>, DR0 rewritten while enabled, then DR7 cleared. Unicorn 2.1.1's
    /// own MOV to DR7 of an execute breakpoint flushed its translated code from inside the helper and returned into
    /// zeroed code (SIGSEGV: the test host died). The VM must finish normally.
    /// </summary>
    [TestCase(Dr7Execute, 1UL, Description = "execute")]
    [TestCase(Dr7Write4, 1UL, Description = "write")]
    [TestCase(Dr7ReadWrite4, 2UL, Description = "read/write")]
    [TestCase(Dr7Io1, 1UL, Description = "I/O (CR4.DE)")]
    public void GuestArmsBreakpoint_WithoutDrEvent_ProcessSurvives(ulong control, ulong expected)
    {
        // Arrange
        bool io = ((control >> 16) & 3) == 2;
        using TestVm t = Create(out ulong[] at, a =>
        {
            Label target = a.CreateLabel();
            Label data = a.CreateLabel();
            void Address()
            {
                if (io)
                {
                    a.mov(eax, 0x80);
                }
                else
                {
                    a.lea(rax, __[control == Dr7Execute ? target : data]);
                }
            }

            if (io)
            {
                a.mov(rax, cr4);
                a.or(rax, 8);
                a.mov(cr4, rax);
            }

            Address();
            a.mov(dr0, rax);
            a.mov(rax, control | 0x400);
            a.mov(dr7, rax);
            a.mov(dr0, rax); // rewritten while enabled (Unicorn removed and inserted the breakpoint again)
            Address();
            a.mov(dr0, rax);
            a.Label(ref target);
            a.mov(ebx, 0x55);
            a.mov(__dword_ptr[data], ebx);
            a.mov(ecx, __dword_ptr[data]);
            a.@out(0x80, al);
            a.mov(rdx, dr7);
            a.mov(__qword_ptr[Results + 0x100], rdx);
            a.xor(eax, eax);
            a.mov(dr7, rax); // disabled (Unicorn removed the breakpoint)
            a.mov(__dword_ptr[data], ebx);
            a.@out(0x80, al);
            a.hlt();
            a.Label(ref data);
            a.dd(0);
            return [target, data];
        });

        // Act
        VmStopInfo info = t.Run();

        // Assert
        Assert.That(info.Reason, Is.Not.EqualTo(VmStopReason.Fault), info.Report);
        Assert.That(InterceptTests.Read(t, Results + 0x100), Is.EqualTo(control | 0x400), "DR7 as the guest wrote it");
        Assert.That(InterceptTests.Read(t, Count), Is.EqualTo(expected), "#DB only while enabled");
    }

    [Test]
    public void SingleStep_SetsBsInDr6()
    {
        // Arrange: POPF sets TF; the #DB comes after the instruction that follows (its handler clears TF in the image).
        using TestVm t = Create(out ulong[] at, a =>
        {
            Label after = a.CreateLabel();
            a.pushfq();
            a.or(__qword_ptr[rsp], 0x100);
            a.popfq();
            a.mov(ebx, 0x55);
            a.Label(ref after);
            a.nop();
            a.hlt();
            return [after];
        });

        // Act
        t.Run();

        // Assert
        Assert.That((InterceptTests.Read(t, Count), InterceptTests.Read(t, LastRip)), Is.EqualTo((1UL, at[0])));
        Assert.That(InterceptTests.Read(t, LastDr6), Is.EqualTo(0xFFFF_4FF0UL), "DR6.BS, B0-B3 clear");
    }

    [Test]
    public void SingleStep_OverAWriteThatHitsDr0_OneDebugExceptionWithBsAndB0()
    {
        // Arrange
        using TestVm t = Create(out ulong[] at, a =>
        {
            Label after = a.CreateLabel();
            a.mov(eax, (uint)Variable);
            a.mov(dr0, rax);
            a.mov(eax, (uint)Dr7Write4);
            a.mov(dr7, rax);
            a.pushfq();
            a.or(__qword_ptr[rsp], 0x100);
            a.popfq();
            a.mov(__dword_ptr[Variable], ebx);
            a.Label(ref after);
            a.nop();
            a.hlt();
            return [after];
        });

        // Act
        t.Run();

        // Assert
        Assert.That((InterceptTests.Read(t, Count), InterceptTests.Read(t, LastRip)), Is.EqualTo((1UL, at[0])));
        Assert.That(InterceptTests.Read(t, LastDr6), Is.EqualTo(0xFFFF_4FF1UL), "DR6.BS and B0");
    }

    /// <summary>DR7 enabling breakpoint <paramref name="index"/> (Ln) with <paramref name="lenRw"/> (LENn:R/Wn).</summary>
    private static ulong Dr7(int index, ulong lenRw) => (1UL << (index * 2)) | (lenRw << (16 + (index * 4)));

    private static VmHaltInfo Next(BlockingCollection<VmHaltInfo> halts)
    {
        Assert.That(halts.TryTake(out VmHaltInfo? h, s_wait), Is.True, "the VM halted");
        return h!;
    }

    /// <summary>A 64-bit guest whose #DB handler counts, keeps DR6, the pushed RIP (of each of the first 16 at
    /// <see cref="Hits"/>) and RFLAGS, runs <paramref name="handlerTail"/> (it may use RAX), sets RF in the pushed RFLAGS
    /// (SDM Vol. 3B 18.3.1.1: the handler's job for an instruction breakpoint), clears TF there and returns.</summary>
    private static TestVm Create(out ulong[] labels, Func<Assembler, IReadOnlyList<Label>> program, Action<Assembler>? handlerTail = null)
    {
        TestVm t = TestVm.Create64(a =>
        {
            a.lidt(__[Idtr]);
            return program(a);
        }, out labels);
        (byte[] code, _) = TestVm.Assemble(64, Handler, a =>
        {
            a.push(rcx);
            a.inc(__qword_ptr[Count]);
            a.mov(rax, dr6);
            a.mov(__qword_ptr[LastDr6], rax);
            a.mov(rax, __qword_ptr[rsp + 8]);
            a.mov(__qword_ptr[LastRip], rax);
            a.mov(rcx, __qword_ptr[Count]);
            a.dec(ecx);
            a.and(ecx, 15);
            a.mov(__qword_ptr[(rcx * 8) + (long)Hits], rax);
            a.mov(rax, __qword_ptr[rsp + 24]);
            a.mov(__qword_ptr[LastFlags], rax);
            handlerTail?.Invoke(a);
            a.or(__qword_ptr[rsp + 24], 0x10000);
            a.and(__qword_ptr[rsp + 24], ~0x100); // TF off: one single step is enough
            a.pop(rcx);
            a.iretq();
            return [];
        });
        t.Vm.Memory.Write(Handler, code);
        InterruptTests.WriteIdtGate(t, Idt, Idtr, 1, Handler);
        return t;
    }
}
