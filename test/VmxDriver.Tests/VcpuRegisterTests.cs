// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

using static Iced.Intel.AssemblerRegisters;

namespace HyperDbgRemote.VmxDriver.Tests;

/// <summary>Register access through the engine: every register readable in every engine mode, CR8 as the guest sees it.</summary>
public sealed class VcpuRegisterTests
{
    [TestCase(64)]
    [TestCase(16)]
    public void ReadRegister_EveryRegisterWhileHalted_NeverThrows(int bitness)
    {
        // Arrange: a guest halted in an exit, as the debugger sees it when a halt notification is built.
        using TestVm t = bitness == 64
            ? TestVm.Create64(a =>
            {
                a.@out(0x80, al);
                a.hlt();
            })
            : TestVm.Create16(a =>
            {
                a.@out(0x80, al);
                a.hlt();
            });
        t.Core0.Controls.SetPort(0x80, true);
        var failures = new List<string>();
        t.Vm.ExitHandler = new RecordingExitHandler(e =>
        {
            foreach (GuestRegister r in Enum.GetValues<GuestRegister>())
            {
                try
                {
                    _ = e.Core.ReadRegister(r);
                }
                catch (UnicornException ex)
                {
                    failures.Add($"{r}: {ex.Message}");
                }
            }
        });

        // Act
        t.Run();

        // Assert
        Assert.That(failures, Is.Empty);
    }

    [Test]
    public void ReadRegister_Cr8_IsWhatTheGuestReads()
    {
        // Arrange: the guest writes 5 to CR8 and reads it back. The engine has no task-priority register: the write is
        // lost and the read gives 0 (if a future engine implements CR8, this fails and Vcpu must read the real one).
        using TestVm t = TestVm.Create64(a =>
        {
            a.mov(rax, 5);
            a.mov(cr8, rax);
            a.mov(rbx, cr8);
            a.hlt();
        });

        // Act
        t.Run();

        // Assert
        Assert.That(t.Core0.ReadRegister(GuestRegister.Rbx), Is.Zero, "the guest read CR8 as 0");
        Assert.That(t.Core0.ReadRegister(GuestRegister.Cr8), Is.EqualTo(t.Core0.ReadRegister(GuestRegister.Rbx)));
    }

    [Test]
    public void WriteRegister_Cr8NonZero_RefusedWithTheReason()
    {
        using TestVm t = TestVm.Create64(a => a.hlt());

        Assert.That(() => t.Core0.WriteRegister(GuestRegister.Cr8, 2), Throws.InvalidOperationException.With.Message.Contains("task-priority register"));
        Assert.That(() => t.Core0.WriteRegister(GuestRegister.Cr8, 0), Throws.Nothing);
    }
}
