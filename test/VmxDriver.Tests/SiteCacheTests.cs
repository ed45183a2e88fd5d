// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

using HyperDbgRemote.VmxDriver.Guests;
using static Iced.Intel.AssemblerRegisters;

namespace HyperDbgRemote.VmxDriver.Tests;

public sealed class SiteCacheTests
{
    [Test]
    public void Exit_CodeRewrittenInPlace_ReportsTheNewInstruction()
    {
        // Arrange: a loop whose I/O instruction is rewritten from "out 0x80, al" (E6 80) to "out dx, al; nop" (EE 90)
        // by the guest itself after the first pass.
        var handler = new RecordingExitHandler();
        const ulong site = TestVm.LoadAddress + 14;
        using TestVm t = TestVm.Create64(a =>
        {
            var loop = a.CreateLabel();
            a.mov(dx, 0x80);
            a.mov(ecx, 2);
            a.mov(ebx, 0x90EE);
            a.Label(ref loop);
            a.@out(0x80, al);
            a.mov(__word_ptr[site], bx);
            a.dec(ecx);
            a.jnz(loop);
            a.hlt();
        });
        t.Vm.ExitHandler = handler;
        t.Core0.Controls.SetPort(0x80, true);

        // Act
        t.Run();

        // Assert
        Assert.That(handler.Exits.Select(e => e.Text), Is.EqualTo(new[] { "out 80h,al", "out dx,al" }));
        Assert.That(handler.Exits.Select(e => e.Qualification.IsImmediate), Is.EqualTo(new[] { true, false }));
        Assert.That(handler.Exits.Select(e => e.Rip), Is.All.EqualTo(site));
    }

    [Test]
    public void Run_UnmappedGuestPhysicalMemory_StopsWithReportNamingAddress()
    {
        using TestVm t = TestVm.Create64(a =>
        {
            a.mov(rax, __qword_ptr[0x3000_0000]);
            a.hlt();
        });

        t.Vm.Start();
        VmStopInfo? info = t.Vm.WaitForStop(TimeSpan.FromSeconds(10));

        Assert.That(info?.Reason, Is.EqualTo(VmStopReason.Fault));
        Assert.That(info!.Report, Does.Contain("core 0").And.Contain("0x30000000").And.Contain("read"));
    }

    [Test]
    public void WritePhysical_CodePatchedWhileHalted_RunsAsPatched()
    {
        // Arrange: a loop printing the immediate of "mov al, imm8" to 0xE9; halt on the first trapped OUT to 0x80.
        const ulong immediate = TestVm.LoadAddress + 6; // mov ecx,3 (5 bytes), then B0 imm8
        using TestVm t = TestVm.Create64(a =>
        {
            var loop = a.CreateLabel();
            a.mov(ecx, 4);
            a.Label(ref loop);
            a.mov(al, (byte)'A');
            a.@out(0xE9, al);
            a.@out(0x80, al);
            a.dec(ecx);
            a.jnz(loop);
            a.hlt();
        });
        int exits = 0;
        t.Vm.ExitHandler = new RecordingExitHandler(e =>
        {
            // Halt on the second pass, when the loop's block has been translated and run once already.
            if (++exits == 2)
            {
                t.Vm.Halt(e.Core, HaltReason.Event, e);
            }
        });
        t.Vm.Halted += (_, _) => Task.Run(() =>
        {
            t.Vm.WritePhysical(immediate, "B"u8);
            t.Vm.Resume();
        });
        t.Core0.Controls.SetPort(0x80, true);

        // Act
        t.Run();

        // Assert
        Assert.That(t.Devices.BochsPort.Output.Text(), Is.EqualTo("AABB"));
    }

    [Test]
    public void WritePhysical_CodeMappedElsewhere_RunsAsPatchedAndLeavesTheGuestsTranslationsAlone()
    {
        // Arrange: the loop's code is at physical 0x200000 and runs at linear 0x40000000 (a page directory of its own);
        // linear 0x200000 is made not present, so the physical address means nothing as a linear one.
        const ulong physical = 0x20_0000;
        const ulong linear = 0x4000_0000;
        const ulong directory = TestVm.DataAddress + 0x4000;
        using TestVm t = TestVm.Create64(a =>
        {
            a.mov(rax, linear);
            a.jmp(rax);
        });
        (byte[] loop, _) = TestVm.Assemble(64, linear, a =>
        {
            var again = a.CreateLabel();
            a.mov(ecx, 4);
            a.Label(ref again);
            a.mov(al, (byte)'A'); // at +5; its immediate at +6
            a.@out(0xE9, al);
            a.@out(0x80, al);
            a.dec(ecx);
            a.jnz(again);
            a.mov(rsi, physical);
            a.mov(rbx, __qword_ptr[rsi]); // linear 0x200000 is not present: #PF, and no IDT: the run stops there
            a.hlt();
            return [];
        });
        t.Vm.Memory.Write(physical, loop);
        ulong pml4 = t.Vm.Memory.RamSize - IdentityMap.TablesSize; // where the flat64 loader builds its tables
        Assert.That(t.Vm.Memory.TryRead(pml4, out ulong pml4e), Is.True);
        ulong pdpt = pml4e & ~0xFFFUL;
        Assert.That(t.Vm.Memory.TryRead(pdpt, out ulong pdpte0), Is.True);
        t.Vm.Memory.TryWrite(pdpt + 8, directory | 3); // PDPT[1] (linear 1 GiB) -> our directory
        t.Vm.Memory.TryWrite(directory, physical | 0x83); // its first 2 MiB page -> physical 0x200000
        t.Vm.Memory.TryWrite((pdpte0 & ~0xFFFUL) + 8, 0UL); // linear 0x200000-0x3FFFFF: not present
        int exits = 0;
        t.Vm.ExitHandler = new RecordingExitHandler(e =>
        {
            if (++exits == 2)
            {
                t.Vm.Halt(e.Core, HaltReason.Event, e);
            }
        });
        ulong cr2AfterPatch = ulong.MaxValue;
        t.Vm.Halted += (_, _) => Task.Run(() =>
        {
            t.Vm.WritePhysical(physical + 6, "B"u8);
            cr2AfterPatch = t.Core0.ReadRegister(GuestRegister.Cr2);
            t.Vm.Resume();
        });
        t.Core0.Controls.SetPort(0x80, true);

        // Act
        t.Vm.Start();
        VmStopInfo? info = t.Vm.WaitForStop(TimeSpan.FromSeconds(10));

        // Assert: the patch took effect, did not touch CR2, and left no identity translation of 0x200000 behind.
        Assert.That(t.Devices.BochsPort.Output.Text(), Is.EqualTo("AABB"), info?.Report);
        Assert.That(cr2AfterPatch, Is.Zero);
        Assert.That(info?.Reason, Is.EqualTo(VmStopReason.Fault));
        Assert.That(info!.Report, Does.Contain("vector 14"));
        Assert.That(t.Core0.ReadRegister(GuestRegister.Cr2), Is.EqualTo(physical));
    }
}
