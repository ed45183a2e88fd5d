// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

using HyperDbgRemote.VmxDriver.Internal.Unicorn;
using Iced.Intel;
using static Iced.Intel.AssemblerRegisters;

namespace HyperDbgRemote.VmxDriver.Tests;

/// <summary>
/// Code a guest patches runs patched, however many writes reached its page before: the engine alone keeps a stale
/// translation after a second write to a page (EngineFactsTests), which made Debian's kernel oops now and then after
/// patching itself at boot; <see cref="CodeWriteGuard"/> closes that.
/// </summary>
public sealed class SelfModifyingCodeTests
{
    [Test]
    public void Guard_IsInstalledOnLinuxX64()
    {
        if (!OperatingSystem.IsLinux() || !Environment.Is64BitProcess)
        {
            Assert.Ignore("The guard is installed on Linux x86-64 only.");
        }

        Assert.That(CodeWriteGuard.Failure, Is.Null);
    }

    [TestCase(false, false)]
    [TestCase(true, false)]
    [TestCase(false, true)]
    [TestCase(true, true)]
    public void PatchedFunction_RunsItsNewCode_AfterAnotherWriteToItsPage(bool writeOtherCodeFirst, bool patchFromAnotherPage)
    {
        // Arrange: F (mov eax, 1; ret) and G (mov eax, 2; ret) on one page, both run once; then G's and F's immediates
        // are patched (G first, optionally) and F runs again. The patching code is on F's page or on the page before.
        // The addresses go through RDI: Iced's `__byte_ptr[label] + 1` does not add 1 to the label's address (it names
        // another label), so such an operand would patch the wrong bytes.
        using TestVm t = TestVm.Create64(a =>
        {
            Label f = a.CreateLabel();
            Label g = a.CreateLabel();
            a.call(f);
            a.call(g);
            if (writeOtherCodeFirst)
            {
                a.lea(rdi, __[g]);
                a.mov(__byte_ptr[rdi + 1], 5);
            }

            a.lea(rdi, __[f]);
            a.mov(__byte_ptr[rdi + 1], 7);
            a.movzx(ebx, __byte_ptr[rdi + 1]);
            a.call(f);
            a.hlt();
            if (patchFromAnotherPage)
            {
                a.db(new byte[4096]);
            }

            a.Label(ref f);
            a.mov(eax, 1);
            a.ret();
            a.Label(ref g);
            a.mov(eax, 2);
            a.ret();
        });

        // Act
        t.Run();

        // Assert: the patched immediate is in memory and is what F returned, as on the CPU
        Assert.Multiple(() =>
        {
            Assert.That(t.Core0.ReadRegister(GuestRegister.Rbx), Is.EqualTo(7UL));
            Assert.That(t.Core0.ReadRegister(GuestRegister.Rax), Is.EqualTo(7UL));
        });
    }
}
