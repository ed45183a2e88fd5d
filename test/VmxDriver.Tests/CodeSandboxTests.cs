// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

using HyperDbgRemote.VmxDriver.Sandbox;
using Iced.Intel;
using static Iced.Intel.AssemblerRegisters;

namespace HyperDbgRemote.VmxDriver.Tests;

public sealed class CodeSandboxTests
{
    private static byte[] Code(Action<Assembler> body)
    {
        var a = new Assembler(64);
        body(a);
        using var s = new MemoryStream();
        a.Assemble(new StreamCodeWriter(s), 0x10000);
        return s.ToArray();
    }

    [Test]
    public void RunCondition_ComparesGuestRaxAndContext_ReturnsRax()
    {
        // condition: (GUEST_REGS.rax & 0xFF) == 0x41 && context == 0x3F8
        byte[] code = Code(a =>
        {
            var no = a.CreateLabel();
            a.xor(eax, eax);
            a.cmp(__byte_ptr[rcx], 0x41);
            a.jne(no);
            a.cmp(rdx, 0x3F8);
            a.jne(no);
            a.mov(eax, 1);
            a.Label(ref no);
            a.ret();
        });
        using var sandbox = new CodeSandbox();
        var regs = new ulong[16];
        regs[0] = 0x41;

        Assert.That(sandbox.RunCondition(code, regs, 0x3F8).Rax, Is.EqualTo(1));
        Assert.That(sandbox.RunCondition(code, regs, 0x80).Rax, Is.Zero);
        regs[0] = 0x42;
        Assert.That(sandbox.RunCondition(code, regs, 0x3F8), Is.EqualTo(new SandboxResult(true, 0, null, 0)));
    }

    [Test]
    public void RunCode_WritesGuestRegsAndBuffer_ChangesComeBack()
    {
        // code: regs.rbx = context; buffer[0]++; regs.r15 = code address (r9)
        byte[] code = Code(a =>
        {
            a.mov(__qword_ptr[rdx + 0x18], r8);
            a.inc(__byte_ptr[rcx]);
            a.mov(__qword_ptr[rdx + 0x78], r9);
            a.ret();
        });
        using var sandbox = new CodeSandbox();
        var regs = new ulong[16];
        var buffer = new byte[16];

        SandboxResult first = sandbox.RunCode(code, regs, buffer, 0x80);
        sandbox.RunCode(code, regs, buffer, 0x80);

        Assert.That(first.Completed, Is.True, first.Error);
        Assert.That(regs[3], Is.EqualTo(0x80));
        Assert.That(regs[15], Is.EqualTo(0x10000));
        Assert.That(buffer[0], Is.EqualTo(2), "the buffer persists across runs");
    }

    [Test]
    public void RunCode_WithoutBuffer_RcxIsZero()
    {
        byte[] code = Code(a =>
        {
            a.mov(__qword_ptr[rdx], rcx);
            a.ret();
        });
        using var sandbox = new CodeSandbox();
        var regs = new ulong[16];
        regs[0] = 99;
        sandbox.RunCode(code, regs, Span<byte>.Empty, 0);
        Assert.That(regs[0], Is.Zero);
    }

    [Test]
    public void Run_MovToDr7_IsRefused_ProcessSurvives()
    {
        // Unicorn's own MOV to DR7 of an execute breakpoint killed the process (GuestHardwareBreakpointTests).
        byte[] code = Code(a =>
        {
            Label start = a.CreateLabel();
            a.Label(ref start);
            a.lea(rax, __[start]);
            a.mov(dr0, rax); // offset 7: DR0 is refused already
            a.mov(eax, 1);
            a.mov(dr7, rax);
            a.mov(eax, 7);
            a.ret();
        });
        using var sandbox = new CodeSandbox();
        var regs = new ulong[16];

        SandboxResult r = sandbox.RunCondition(code, regs, 0);
        Assert.That(r.Completed, Is.False);
        Assert.That(r.Error, Does.Contain("MOV to a debug register").And.Contain("offset 0x7"));
    }

    [Test]
    public void Run_Fault_ReportsAndSandboxStaysUsable()
    {
        byte[] bad = Code(a =>
        {
            a.mov(rax, __qword_ptr[0xDEAD_0000]);
            a.ret();
        });
        byte[] good = Code(a =>
        {
            a.mov(eax, 7);
            a.ret();
        });
        using var sandbox = new CodeSandbox();
        var regs = new ulong[16];

        SandboxResult r = sandbox.RunCondition(bad, regs, 0);
        Assert.That(r.Completed, Is.False);
        Assert.That(r.Error, Does.Contain("read").And.Contain("offset 0x0"));
        SandboxResult after = sandbox.RunCondition(good, regs, 0);
        Assert.That(after.Rax, Is.EqualTo(7), after.Error);
    }

    [Test]
    public void Run_RunawayLoop_StoppedByBudget()
    {
        byte[] loop = Code(a =>
        {
            var l = a.CreateLabel();
            a.Label(ref l);
            a.jmp(l);
        });
        using var sandbox = new CodeSandbox();
        SandboxResult r = sandbox.RunCode(loop, new ulong[16], Span<byte>.Empty, 0, budget: 10_000);
        Assert.That(r.Completed, Is.False);
        Assert.That(r.Error, Does.Contain("budget"));
    }

    [Test]
    public void Run_BadArguments_Throw()
    {
        using var sandbox = new CodeSandbox();
        Assert.That(() => sandbox.RunCondition([], new ulong[16], 0), Throws.ArgumentException.With.Message.Contains("1 to"));
        Assert.That(() => sandbox.RunCode([0xC3], new ulong[16], new byte[CodeSandbox.MaxBufferSize + 1], 0), Throws.ArgumentException.With.Message.Contains("buffer"));
    }
}
