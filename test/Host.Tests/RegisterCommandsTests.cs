// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

using System.Text.RegularExpressions;
using HyperDbgRemote.Agent.Session;
using HyperDbgRemote.Protocol;
using HyperDbgRemote.Script;
using HyperDbgRemote.VmxDriver;
using Iced.Intel;
using static Iced.Intel.AssemblerRegisters;

namespace HyperDbgRemote.Host.Tests;

/// <summary>
/// One register table: every name HyperDbg's scripts know, plus fs_base, gs_base, efer and xmm0-15, works in the
/// debugger's <c>r</c> (host and agent) and agrees with scripts; rdmsr and wrmsr. Through the real debugger process.
/// </summary>
[Category("EndToEnd")]
public sealed class RegisterCommandsTests
{
    private string _image = string.Empty;

    [OneTimeSetUp]
    public void BuildGuest()
    {
        // SSE enabled (CR4.OSFXSR), rax = 1122334455667788 copied into xmm3, r8 = 0x4142 (six instructions), then a spin
        // loop. The debugger pauses and steps six instructions: wherever the break-in landed, the setup has then run.
        var a = new Assembler(64);
        Label spin = a.CreateLabel();
        a.mov(rax, cr4);
        a.or(rax, 0x200);
        a.mov(cr4, rax);
        a.mov(rax, 0x1122334455667788);
        a.movq(xmm3, rax);
        a.mov(r8, 0x4142);
        a.Label(ref spin);
        a.jmp(spin);
        using var s = new MemoryStream();
        a.Assemble(new StreamCodeWriter(s), 0x100000);
        _image = Path.Combine(Path.GetTempPath(), $"hdr-regs-{Guid.NewGuid():N}.bin");
        File.WriteAllBytes(_image, s.ToArray());
    }

    [OneTimeTearDown]
    public void DeleteGuest() => File.Delete(_image);

    private (int Exit, string Output) Debug(params string[] commands)
    {
        var args = new List<string> { "--local", "--guest", $"flat64:{_image}@100000", "-c", "pause", "-c", "t 6" };
        foreach (string c in commands)
        {
            args.Add("-c");
            args.Add(c);
        }

        (int exit, string output, string errors) = HyperDbgProcess.Run(TimeSpan.FromSeconds(120), [.. args]);
        return (exit, output + errors);
    }

    [Test]
    public void EveryNameOfTheTable_ReadsInTheDebugger()
    {
        // Arrange: every script register, every full register the agent reports, every xmm register
        string[] names =
        [
            .. Enum.GetValues<ScriptRegister>().Where(r => r != ScriptRegister.None).Select(ScriptRegisterInfo.NameOf),
            .. RegisterNames.Full,
            .. Enumerable.Range(0, WireRegisters.XmmCount).Select(i => $"xmm{i}"),
        ];

        // Act
        (int exit, string output) = Debug([.. names.Distinct().Select(n => $"r {n}")]);

        // Assert
        Assert.That(exit, Is.Zero, output);
        foreach (string n in names)
        {
            Assert.That(output, Does.Match($"(?m)^{Regex.Escape(n)}=[0-9a-f]+$"), n);
        }
    }

    [Test]
    public void Parts_WriteAndReadBack_AsScriptsSeeThem()
    {
        (int exit, string output) = Debug(
            "r r8d = 1",
            "r r8h = ab",
            "r r8",
            "r cf = 1",
            "r cf",
            "? printf(\"script r8=%llx cf=%llx\\n\", @r8, @cf);",
            "r idtr",
            "? printf(\"script idtr=%llx\\n\", @idtr);");

        Assert.That(exit, Is.Zero, output);
        Assert.That(output, Does.Contain("r8=000000000000ab01"), "a part keeps the other bits");
        Assert.That(output, Does.Contain("cf=0000000000000001"));
        Assert.That(output, Does.Contain("script r8=ab01 cf=1"));
        ulong idtr = Convert.ToUInt64(Regex.Match(output, "(?m)^idtr=([0-9a-f]+)$").Groups[1].Value, 16);
        Assert.That(output, Does.Contain($"script idtr={idtr:x}"), "r and scripts read the same IDTR");
    }

    [Test]
    public void Xmm_ReadsWhatTheGuestWrote_AndWritesBack()
    {
        (int exit, string output) = Debug("r xmm3", "r xmm1 = 112233445566778899aabbccddeeff00", "r xmm1", "r xmm0 = 5");

        Assert.That(exit, Is.Zero, output);
        Assert.That(output, Does.Contain("xmm3=00000000000000001122334455667788"), "movq xmm3, rax zeroes the upper half");
        Assert.That(output, Does.Contain("xmm1=112233445566778899aabbccddeeff00"));
    }

    [TestCase("r xmm1 = 1122334455667788112233445566778899", "up to 32 digits")]
    [TestCase("r xmm16", "invalid register 'xmm16'")]
    [TestCase("r r8d = 100000000", "does not fit r8d (32 bits)")]
    [TestCase("r idtr = 1000", "idtr is read-only here")]
    [TestCase("rdmsr", "rdmsr needs one MSR")]
    [TestCase("rdmsr c0000080 core 7", "core 7 does not exist")]
    [TestCase("wrmsr c0000100", "wrmsr needs an MSR and a value")]
    [TestCase("rdmsr zz", "MSR")]
    public void BadInput_ClearError(string command, string message)
    {
        (int exit, string output) = Debug(command);

        Assert.That(exit, Is.EqualTo(1), output);
        Assert.That(output, Does.Contain(message));
    }

    [Test]
    public void Msr_ReadAndWrite_AgreeWithTheRegisters()
    {
        (int exit, string output) = Debug("r efer", "rdmsr c0000080", "wrmsr c0000100 abcd", "r fs_base", "rdmsr c0000100 core 0");

        Assert.That(exit, Is.Zero, output);
        ulong efer = Convert.ToUInt64(Regex.Match(output, "(?m)^efer=([0-9a-f]+)$").Groups[1].Value, 16);
        Assert.That(efer & 0x500, Is.EqualTo(0x500UL), "long mode: LME and LMA");
        Assert.That(output, Does.Contain($"core : 0x0 - msr[c0000080] = {efer >> 32:x8}`{efer & 0xFFFF_FFFF:x8}"));
        Assert.That(output, Does.Contain("fs_base=000000000000abcd"));
        Assert.That(output, Does.Contain("core : 0x0 - msr[c0000100] = 00000000`0000abcd"));
    }
}
