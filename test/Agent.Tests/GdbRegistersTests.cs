// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

using HyperDbgRemote.Agent.Gdb;

namespace HyperDbgRemote.Agent.Tests;

/// <summary>The gdb register layouts: which one a core's code gets, and the i386 one in gdb's order.</summary>
public sealed class GdbRegistersTests
{
    [TestCase(64, "i386:x86-64")]
    [TestCase(32, "i386")]
    [TestCase(16, "i8086")]
    public void ForBitness_PicksTheArchitectureOfTheCode(int bitness, string architecture)
    {
        GdbRegisters registers = GdbRegisters.ForBitness(bitness);

        Assert.That(registers.Architecture, Is.EqualTo(architecture));
        Assert.That(registers.TargetXml, Does.Contain($"<architecture>{architecture}</architecture>"));
    }

    [Test]
    public void I386_HasGdbsI386OrderAndWidths()
    {
        IReadOnlyList<GdbRegisters.Entry> layout = GdbRegisters.I386.Layout;

        // gdb's 32bit-core.xml (eax, ecx, edx, ebx: not amd64's rax, rbx, rcx, rdx) then 32bit-sse.xml.
        Assert.That(layout.Take(16).Select(e => e.Name), Is.EqualTo(new[] { "eax", "ecx", "edx", "ebx", "esp", "ebp", "esi", "edi", "eip", "eflags", "cs", "ss", "ds", "es", "fs", "gs" }));
        Assert.That(layout.Take(16).Select(e => e.Source), Is.EqualTo(new[] { "rax", "rcx", "rdx", "rbx", "rsp", "rbp", "rsi", "rdi", "rip", "rflags", "cs", "ss", "ds", "es", "fs", "gs" }));
        Assert.That(layout.Skip(16).Take(8).Select(e => e.Name), Is.EqualTo(Enumerable.Range(0, 8).Select(i => $"st{i}")));
        Assert.That(layout.Skip(32).Select(e => e.Name), Is.EqualTo(Enumerable.Range(0, 8).Select(i => $"xmm{i}").Append("mxcsr")));
        Assert.That(layout.Sum(e => e.Bytes), Is.EqualTo((16 * 4) + (8 * 10) + (8 * 4) + (8 * 16) + 4), "the g packet's size");
        Assert.That(GdbRegisters.I8086.Layout.Select(e => e.Name), Is.EqualTo(layout.Select(e => e.Name)));
    }
}
