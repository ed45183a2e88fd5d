// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

using System.Collections.Concurrent;
using Iced.Intel;
using static Iced.Intel.AssemblerRegisters;

namespace HyperDbgRemote.VmxDriver.Tests;

/// <summary>Memory monitors on the engine's memory hooks: exact ranges, the state before the access, bad ranges.</summary>
public sealed class MemoryMonitorTests
{
    private static readonly TimeSpan s_wait = TimeSpan.FromSeconds(20);

    /// <summary>Records each access and halts on it; the test resumes.</summary>
    private sealed class HaltingHandler(VirtualMachine vm) : IVmExitHandler
    {
        public ConcurrentQueue<(MemoryAccessKinds Kind, ulong Context, ulong Rip, ulong Memory, ulong Value)> Accesses { get; } = [];

        public void OnIoExit(IoExit ioExit)
        {
        }

        public void OnMemoryAccess(MemoryAccessExit access)
        {
            Span<byte> now = stackalloc byte[8];
            access.Core.ReadVirtual(access.Matches[0].Address & ~7UL, now);
            Accesses.Enqueue((access.Kind, access.Matches[0].Address, access.Rip, BitConverter.ToUInt64(now), access.Value));
            vm.Halt(access.Core, access, "monitor");
        }
    }

    private static (TestVm Vm, ulong[] Labels, BlockingCollection<VmHaltInfo> Halts) Start(Func<Assembler, IReadOnlyList<Label>> program)
    {
        TestVm t = TestVm.Create64(program, out ulong[] labels);
        var halts = new BlockingCollection<VmHaltInfo>();
        t.Vm.Halted += (_, h) => halts.Add(h);
        t.Vm.Start(initialBreak: true);
        Assert.That(halts.TryTake(out VmHaltInfo? first, s_wait) && first!.Reason == HaltReason.InitialBreak, Is.True);
        return (t, labels, halts);
    }

    [Test]
    public void WriteMonitor_HaltsBeforeTheStoreWithRipAtTheWriter_AndOnlyInsideTheRange()
    {
        // Arrange: writes at DataAddress+0x100 (outside), +0x208 (inside), then reads +0x208 (not watched for reads).
        (TestVm t, ulong[] labels, BlockingCollection<VmHaltInfo> halts) = Start(a =>
        {
            Label writer = a.CreateLabel();
            a.mov(rdi, TestVm.DataAddress);
            a.mov(rax, 0x1111);
            a.mov(__qword_ptr[rdi + 0x100], rax);
            a.mov(rax, 0x2222);
            a.Label(ref writer);
            a.mov(__qword_ptr[rdi + 0x208], rax);
            a.mov(rbx, __qword_ptr[rdi + 0x208]);
            a.hlt();
            return [writer];
        });
        using TestVm owned = t;
        var handler = new HaltingHandler(t.Vm);
        t.Vm.ExitHandler = handler;
        MemoryMonitor m = VirtualMachine.CreateMemoryMonitor(t.Core0, TestVm.DataAddress + 0x200, TestVm.DataAddress + 0x20f, MemoryAccessKinds.Write);
        t.Vm.AddMemoryMonitor(m);

        // Act
        t.Vm.Resume();
        Assert.That(halts.TryTake(out VmHaltInfo? halt, s_wait), Is.True, "halted on the write");

        // Assert: one access, the write at +0x208, memory still old, RIP at the writer; then it completes on resume.
        Assert.That(halt!.Access, Is.Not.Null);
        Assert.That(handler.Accesses.Single(), Is.EqualTo((MemoryAccessKinds.Write, TestVm.DataAddress + 0x208, labels[0], 0UL, 0x2222UL)));
        Assert.That(t.Core0.ReadRegister(GuestRegister.Rip), Is.EqualTo(labels[0]));
        t.Vm.Resume();
        Assert.That(t.Vm.WaitForStop(s_wait)?.Reason, Is.EqualTo(VmStopReason.AllCoresHalted));
        Assert.That(t.Core0.ReadRegister(GuestRegister.Rbx), Is.EqualTo(0x2222UL));
        Assert.That(handler.Accesses, Has.Count.EqualTo(1));
    }

    [Test]
    public void ReadAndExecuteMonitors_HaltOnTheReaderAndBeforeTheInstruction()
    {
        // Arrange
        (TestVm t, ulong[] labels, BlockingCollection<VmHaltInfo> halts) = Start(a =>
        {
            Label reader = a.CreateLabel();
            Label target = a.CreateLabel();
            a.mov(rdi, TestVm.DataAddress);
            a.Label(ref reader);
            a.mov(rbx, __qword_ptr[rdi + 0x10]);
            a.Label(ref target);
            a.mov(ecx, 7);
            a.hlt();
            return [reader, target];
        });
        using TestVm owned = t;
        var handler = new HaltingHandler(t.Vm);
        t.Vm.ExitHandler = handler;
        t.Vm.AddMemoryMonitor(VirtualMachine.CreateMemoryMonitor(t.Core0, TestVm.DataAddress + 0x10, TestVm.DataAddress + 0x10, MemoryAccessKinds.Read));
        t.Vm.AddMemoryMonitor(VirtualMachine.CreateMemoryMonitor(t.Core0, labels[1], labels[1], MemoryAccessKinds.Execute));

        // Act / Assert: the read (context = the first watched byte), then the execution, before ecx is set.
        t.Vm.Resume();
        Assert.That(halts.TryTake(out VmHaltInfo? _, s_wait), Is.True);
        t.Vm.Resume();
        Assert.That(halts.TryTake(out VmHaltInfo? _, s_wait), Is.True);
        Assert.That(t.Core0.ReadRegister(GuestRegister.Rcx), Is.Zero);
        Assert.That(t.Core0.ReadRegister(GuestRegister.Rip), Is.EqualTo(labels[1]));
        t.Vm.Resume();
        Assert.That(t.Vm.WaitForStop(s_wait)?.Reason, Is.EqualTo(VmStopReason.AllCoresHalted));
        Assert.That(handler.Accesses.Select(x => (x.Kind, x.Context, x.Rip)), Is.EqualTo(new[]
        {
            (MemoryAccessKinds.Read, TestVm.DataAddress + 0x10, labels[0]),
            (MemoryAccessKinds.Execute, labels[1], labels[1]),
        }));
        Assert.That(t.Core0.ReadRegister(GuestRegister.Rcx), Is.EqualTo(7UL));
    }

    [Test]
    public void CreateMemoryMonitor_BadRanges_SayWhy()
    {
        using TestVm t = TestVm.Create64(a => a.hlt());
        Assert.That(() => VirtualMachine.CreateMemoryMonitor(t.Core0, 0x2000, 0x1000, MemoryAccessKinds.Write),
            Throws.ArgumentException.With.Message.Contains("reversed"));
        Assert.That(() => VirtualMachine.CreateMemoryMonitor(t.Core0, 0, VirtualMachine.MaxMonitorBytes, MemoryAccessKinds.Write),
            Throws.ArgumentException.With.Message.Contains("at most"));
        Assert.That(() => VirtualMachine.CreateMemoryMonitor(t.Core0, 0x7fff_0000_0000, 0x7fff_0000_0010, MemoryAccessKinds.Read),
            Throws.ArgumentException.With.Message.Contains("does not map"));
        Assert.That(() => VirtualMachine.CreateMemoryMonitor(t.Core0, 0x1000, 0x1000, MemoryAccessKinds.None),
            Throws.ArgumentException.With.Message.Contains("at least one"));
    }
}
