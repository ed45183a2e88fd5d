// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

using System.Diagnostics;

namespace HyperDbgRemote.Host.Tests;

/// <content>
/// A headless agent whose Linux guest panics (<c>rdinit=/nonexistent</c>, no debugger attached) halts it by itself and
/// keeps it for a debugger: one attached over gRPC (a Unix socket) while the kernel boots hears the halt as a
/// notification (HALT_REASON_KERNEL_PANIC with the panic message) and looks at the guest.
/// </content>
public sealed partial class RemoteSessionTests
{
    [Test]
    public void Linux_HeadlessAgentsGuestPanics_GuestHalts_DebuggerOverGrpcHearsWhyAndLooks()
    {
        // Arrange
        LinuxProcessesTests.SkipWithoutLinuxFiles();
        string dir = Directory.CreateTempSubdirectory("hdr-linux-panic-").FullName;
        string socket = Path.Combine(dir, "agent.sock");
        using Process agent = StartAgentFor("linux,append=rdinit=/nonexistent", "grpc+unix:" + socket);
        try
        {
            // Act: 'r rip' waits for the halt (or finds it, when the panic came before the debugger)
            (int exit, string output) = RunHostWith(["--wait", "600"], ".connect grpc+unix:" + socket, "r rip", "k", ".status");

            // Assert
            Assert.That(exit, Is.Zero, output);
            Assert.That(output, Does.Contain("kernel panic: VFS: Unable to mount root fs on unknown-block(0,0); the guest is halted (core 0)"), output);
            Assert.That(output, Does.Match(@"rip=ffffffff[0-9a-f]{8}\n"), output);
            Assert.That(output, Does.Match(@"linux!panic\+0x[0-9a-f]+"), output);
            Assert.That(output, Does.Contain("debuggee: halted"), output);
        }
        finally
        {
            Kill(agent);
            Directory.Delete(dir, recursive: true);
        }
    }
}
