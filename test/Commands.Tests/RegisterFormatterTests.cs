// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

using HyperDbgRemote.Commands.Formatting;

namespace HyperDbgRemote.Commands.Tests;

public sealed class RegisterFormatterTests
{
    [Test]
    public void FormatAll_HyperDbgLayout()
    {
        var values = new Dictionary<string, ulong>
        {
            ["rax"] = 0x41,
            ["rbx"] = 2,
            ["rcx"] = 3,
            ["rdx"] = 0x3F8,
            ["rsi"] = 5,
            ["rdi"] = 6,
            ["rip"] = 0x100010,
            ["rsp"] = 0x8000,
            ["rbp"] = 0,
            ["r8"] = 8,
            ["r9"] = 9,
            ["r10"] = 10,
            ["r11"] = 11,
            ["r12"] = 12,
            ["r13"] = 13,
            ["r14"] = 14,
            ["r15"] = 15,
            ["rflags"] = 0x3246,
            ["cs"] = 8,
            ["ss"] = 0x10,
            ["ds"] = 0x10,
            ["es"] = 0x10,
            ["fs"] = 0,
            ["gs"] = 0,
        };

        string text = RegisterFormatter.FormatAll(n => values[n]);

        Assert.That(text.Split('\n'), Is.EqualTo(new[]
        {
            "RAX=0000000000000041 RBX=0000000000000002 RCX=0000000000000003",
            "RDX=00000000000003f8 RSI=0000000000000005 RDI=0000000000000006",
            "RIP=0000000000100010 RSP=0000000000008000 RBP=0000000000000000",
            "R8 =0000000000000008 R9 =0000000000000009 R10=000000000000000a",
            "R11=000000000000000b R12=000000000000000c R13=000000000000000d",
            "R14=000000000000000e R15=000000000000000f IOPL=03",
            "OF 0 DF 0 IF 1 SF 0  ZF 1 PF 1 CF 0 AXF 0",
            "CS 0008 SS 0010 DS 0010 ES 0010 FS 0000 GS 0000",
            "RFLAGS=0000000000003246",
            string.Empty,
        }));
        Assert.That(RegisterFormatter.FormatOne("RAX", 0x41), Is.EqualTo("rax=0000000000000041"));
    }
}
