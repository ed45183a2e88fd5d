// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

using HyperDbgRemote.Tests.Shared;

namespace HyperDbgRemote.Agent.Tests;

/// <content>Debian's gdb on a guest halted in real mode: the stub serves the i386 description and layout.</content>
public sealed partial class GdbEndToEndTests
{
    /// <summary>Code loaded at 07C0:0000 (linear 7C00): mov ax,1234h; mov bx,5678h; mov cx,9ABCh; add ax,bx; jmp $.</summary>
    private static readonly byte[] s_bootSector = [0xB8, 0x34, 0x12, 0xBB, 0x78, 0x56, 0xB9, 0xBC, 0x9A, 0x01, 0xD8, 0xEB, 0xFE];

    [Test]
    public void Gdb_RealModeGuest_GetsTheI386LayoutAndDisassemblesAsI8086()
    {
        // Arrange: the guest halts at its first instruction, in real mode with CS = 7C0h, IP = 0.
        if (!File.Exists(Gdb))
        {
            Assert.Ignore("skipped: /usr/bin/gdb is not installed (./build.sh deps installs it)");
        }

        string image = Path.Combine(Path.GetTempPath(), $"gdb-real-mode-{Guid.NewGuid():N}.bin");
        File.WriteAllBytes(image, s_bootSector);
        try
        {
            using AgentProcess agent = AgentProcess.Start("--guest", $"flat16:{image}@7c0:0", "--initial-break", "--listen", "gdb://127.0.0.1:0");
            int port = int.Parse(agent.Listen.Single(l => l.StartsWith("gdb://", StringComparison.Ordinal)).Split(':')[2], System.Globalization.CultureInfo.InvariantCulture);

            // Act: no architecture set by hand (with QEMU, which says i386, 16-bit code cannot be disassembled).
            string output = RunGdb(port,
            [
                "show architecture", "info registers eip cs", "x/5i $cs*16+$pc", "stepi", "stepi",
                "info registers eip eax ebx", "set $ecx = 0x11223344", "info registers ecx", "detach",
            ], architecture: null);

            // Assert: i8086 with the 32-bit layout (a 64-bit g reply would not match the description and gdb would reject it)
            Assert.That(output, Does.Contain("currently \"i8086\""), output);
            Assert.That(output, Does.Match(@"eip\s+0x0\s"), output);
            Assert.That(output, Does.Match(@"cs\s+0x7c0\s"), output);

            // 16-bit decoding of the guest's bytes at CS*16+IP, as README says (as 32-bit code the first would be
            // mov $0x78bb1234,%eax).
            Assert.That(output, Does.Contain("0x7c00:\tmov    $0x1234,%ax"), output);
            Assert.That(output, Does.Contain("mov    $0x1234,%ax"), output);
            Assert.That(output, Does.Contain("mov    $0x5678,%bx"), output);
            Assert.That(output, Does.Contain("add    %bx,%ax"), output);
            Assert.That(output, Does.Contain("jmp    0x7c0b"), output);

            // Two steps later, and a register written through the layout.
            Assert.That(output, Does.Match(@"eip\s+0x6\s"), output);
            Assert.That(output, Does.Match(@"eax\s+0x1234\s"), output);
            Assert.That(output, Does.Match(@"ebx\s+0x5678\s"), output);
            Assert.That(output, Does.Match(@"ecx\s+0x11223344\s"), output);
            Assert.That(output, Does.Contain("detached"), output);
        }
        finally
        {
            File.Delete(image);
        }
    }
}
