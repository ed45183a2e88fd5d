// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

using HyperDbgRemote.Commands.Extension;
using HyperDbgRemote.Commands.Parsing;
using HyperDbgRemote.Protocol.Messages;

namespace HyperDbgRemote.Commands.Tests;

/// <summary><c>!cpuid</c>, <c>!exception</c>, <c>!interrupt</c>, <c>!syscall</c>: HyperDbg's syntax, the options of
/// <c>!ioout</c>, the value ranges.</summary>
public sealed class GuestEventCommandTests
{
    private static EventRegistration Parse(GuestEventKind kind, string line)
    {
        Assert.That(Tokenizer.TryTokenize(line, out List<Token> tokens, out string? error), Is.True, error);
        return new GuestEventCommand(kind).Parse(tokens.Skip(1).ToList(), line, out _);
    }

    [TestCase(GuestEventKind.Cpuid, "!cpuid")]
    [TestCase(GuestEventKind.Exception, "!exception")]
    [TestCase(GuestEventKind.Syscall, "!syscall")]
    [TestCase(GuestEventKind.Sysret, "!sysret")]
    public void Parse_NoValue_AllOfTheKind_HyperDbgDefaults(GuestEventKind kind, string line)
    {
        EventRegistration r = Parse(kind, line);

        Assert.That((r.GuestEvent, r.HasGuestEventFilter, r.HasPort, r.Direction), Is.EqualTo((kind, false, false, IoDirection.Unspecified)));
        Assert.That((r.Immediate, r.ShortCircuit, r.Stage), Is.EqualTo((true, false, EventStage.Pre)));
    }

    [TestCase(GuestEventKind.Cpuid, "!cpuid 40000000", 0x4000_0000UL)]
    [TestCase(GuestEventKind.Cpuid, "!cpuid ffffffff", 0xFFFF_FFFFUL)]
    [TestCase(GuestEventKind.Exception, "!exception e", 0xEUL)]
    [TestCase(GuestEventKind.Exception, "!exception 0x1f", 0x1FUL)]
    [TestCase(GuestEventKind.Interrupt, "!interrupt 0x20", 0x20UL)]
    [TestCase(GuestEventKind.Interrupt, "!interrupt ff", 0xFFUL)]
    [TestCase(GuestEventKind.Syscall, "!syscall 0n60", 0x3CUL)]
    [TestCase(GuestEventKind.Syscall, "!syscall 0x55", 0x55UL)] // HyperDbg's own example
    [TestCase(GuestEventKind.Syscall, "!syscall 55", 0x55UL)]
    [TestCase(GuestEventKind.Syscall, "!syscall 0`0000003c", 0x3CUL)]
    [TestCase(GuestEventKind.Syscall, "!syscall ffffffffffffffff", ulong.MaxValue)]
    public void Parse_Value_IsTheFilter(GuestEventKind kind, string line, ulong expected)
    {
        Assert.That(Parse(kind, line).GuestEventFilter, Is.EqualTo(expected));
    }

    [Test]
    public void Parse_Sysret_TakesTheOptionsOfSyscall()
    {
        EventRegistration r = Parse(GuestEventKind.Sysret, "!sysret pid 2 core 0 stage all script { printf(\"%llx\\n\", $context); }");

        Assert.That((r.GuestEvent, r.HasGuestEventFilter, r.Pid, r.Core, r.Stage), Is.EqualTo((GuestEventKind.Sysret, false, 2u, 0u, EventStage.All)));
        Assert.That(Parse(GuestEventKind.Sysret, "!sysret sc on").ShortCircuit, Is.True);
    }

    [Test]
    public void Parse_EveryIoOption_AnyOrder()
    {
        EventRegistration r = Parse(GuestEventKind.Exception, "!exception stage all core 1 e pid 0n7 imm no buffer 10 script { printf(\"%llx\\n\", $context); }");

        Assert.That((r.GuestEventFilter, r.Stage, r.Core, r.Pid, r.Immediate, r.BufferSize), Is.EqualTo((0xEUL, EventStage.All, 1u, 7u, false, 0x10u)));
        Assert.That(r.Script, Does.Contain("$context"));
        Assert.That(Parse(GuestEventKind.Cpuid, "!cpuid 1 sc on asm code { nop }").ShortCircuit, Is.True);
    }

    [TestCase(GuestEventKind.Exception, "!exception 20", "vector '20' is invalid: a number from 0 to 1f")]
    [TestCase(GuestEventKind.Interrupt, "!interrupt 100", "vector '100' is invalid: a number from 0 to ff")]
    [TestCase(GuestEventKind.Interrupt, "!interrupt 1f", "is an exception, not an external interrupt")]
    [TestCase(GuestEventKind.Interrupt, "!interrupt", "give the vector (20 to ff)")]
    [TestCase(GuestEventKind.Cpuid, "!cpuid 100000000", "leaf '100000000' is invalid")]
    [TestCase(GuestEventKind.Syscall, "!syscall 1 2", "unknown parameter '2'")]
    [TestCase(GuestEventKind.Syscall, "!syscall frobnicate", "system call number 'frobnicate' is invalid")]
    [TestCase(GuestEventKind.Syscall, "!syscall @rax", "system call number '@rax' is invalid: a number")]
    [TestCase(GuestEventKind.Syscall, "!syscall 1+2", "system call number '1+2' is invalid: a number")]
    [TestCase(GuestEventKind.Syscall, "!syscall 10000000000000000", "system call number '10000000000000000' is invalid: a number from 0 to ffffffffffffffff")]
    [TestCase(GuestEventKind.Syscall, "!syscall 0x55 pid", "pid")]
    [TestCase(GuestEventKind.Sysret, "!sysret 3c", "unknown parameter '3c'")]
    [TestCase(GuestEventKind.Sysret, "!sysret pid 1 2", "unknown parameter '2'")]
    [TestCase(GuestEventKind.Cpuid, "!cpuid sc on stage post", "sc on cannot be used with stage post")]
    [TestCase(GuestEventKind.Exception, "!exception e stage sideways", "stage 'sideways' is invalid")]
    public void Parse_BadInput_ClearErrorWithTheSyntax(GuestEventKind kind, string line, string message)
    {
        CommandException? ex = Assert.Throws<CommandException>(() => Parse(kind, line));

        Assert.That(ex!.Message, Does.Contain(message));
        Assert.That(ex.Message, Does.Contain("syntax: " + line.Split(' ')[0]));
    }
}
