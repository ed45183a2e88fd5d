// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

using HyperDbgRemote.Tests.Shared;

namespace HyperDbgRemote.Host.Tests;

/// <summary><c>k</c>, <c>kq</c> through bin/hyperdbg on the demo guest, which keeps no frame pointers (RBP is 0):
/// the scan that says it is a best effort finds print_hex16's two callers.</summary>
[Category("EndToEnd")]
public sealed class CallStackCommandTests
{
    [Test]
    public void CallStack_InPrintHex16_NamesBothCallersAndSaysItScanned()
    {
        // Act
        (int exit, string output, string error) = HyperDbgProcess.Run(
            "--guest", "demo", "--initial-break",
            "-c", "bp demo!hex_digit",
            "-c", "g",
            "-c", "k",
            "-c", "kq l 20",
            "-c", "k base @rsp+8",
            "-c", "k l 0");

        // Assert (the prompt for 'k' comes before the break is shown): [rsp] returns into sys_call (after 'call print_hex16'), [rsp+8] into syscall_entry (after 'call sys_call')
        Assert.That(exit, Is.EqualTo(1), "the last command fails: " + output + error);
        const string Scan = "the frame-pointer chain (rbp=0) gives no frame: scanning the stack for return addresses (best effort)\n";
        Assert.That(output, Does.Match(Scan.Replace("(", @"\(").Replace(")", @"\)") +
            @"\[\$\+000\]   00000000001[0-9a-f]{5}    \(from demo!name_done\+0x[0-9a-f]+ <00000000001[0-9a-f]{5}>\)\n" +
            @"\[\$\+008\]   00000000001[0-9a-f]{5}    \(from demo!syscall_entry\+0x[0-9a-f]+ <00000000001[0-9a-f]{5}>\)\n0: k"));
        Assert.That(output, Does.Match(@"> kq l 20\n.*\n\[\$\+000\]   .*name_done.*\n\[\$\+008\]   .*syscall_entry.*\n\[\$\+010\]      [0-9a-f]{16}\n\[\$\+018\]      [0-9a-f]{16}\n"));
        Assert.That(output, Does.Match(@"> k base @rsp\+8\n.*\n\[\$\+000\]   .*demo!syscall_entry\+"));
        Assert.That(output + error, Does.Contain("the length must be at least 1."));
    }
}
