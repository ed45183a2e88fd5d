// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

using HyperDbgRemote.Commands.Extension;
using HyperDbgRemote.Commands.Parsing;
using HyperDbgRemote.Protocol.Messages;

namespace HyperDbgRemote.Commands.Tests;

/// <summary><c>!msrread</c>, <c>!msrwrite</c>, <c>!crwrite</c>, <c>!dr</c>, <c>!tsc</c>, <c>!pmc</c>, <c>!mode</c>:
/// HyperDbg's syntax, the options of <c>!ioout</c>, and bad values refused with the reason.</summary>
public sealed class InstructionEventCommandTests
{
    private static EventRegistration Parse(GuestEventKind kind, string line)
    {
        Assert.That(Tokenizer.TryTokenize(line, out List<Token> tokens, out string? error), Is.True, error);
        return new InstructionEventCommand(kind).Parse(tokens.Skip(1).ToList(), line, out _);
    }

    [TestCase(GuestEventKind.MsrRead, "!msrread")]
    [TestCase(GuestEventKind.MsrWrite, "!msrwrite")]
    [TestCase(GuestEventKind.DebugRegister, "!dr")]
    [TestCase(GuestEventKind.Tsc, "!tsc")]
    [TestCase(GuestEventKind.Pmc, "!pmc")]
    public void Parse_NoValue_AllOfTheKind_HyperDbgDefaults(GuestEventKind kind, string line)
    {
        EventRegistration r = Parse(kind, line);

        Assert.That((r.GuestEvent, r.HasGuestEventFilter, r.HasGuestEventMask, r.HasPort, r.Direction), Is.EqualTo((kind, false, false, false, IoDirection.Unspecified)));
        Assert.That((r.Immediate, r.ShortCircuit, r.Stage), Is.EqualTo((true, false, EventStage.Pre)));
    }

    [TestCase(GuestEventKind.MsrRead, "!msrread 0xc0000082", 0xC000_0082UL)] // HyperDbg's own example
    [TestCase(GuestEventKind.MsrRead, "!msrread c0000082 pid 2", 0xC000_0082UL)]
    [TestCase(GuestEventKind.MsrWrite, "!msrwrite 0n16 sc on", 0x10UL)]
    [TestCase(GuestEventKind.CrWrite, "!crwrite 0", 0UL)]
    [TestCase(GuestEventKind.CrWrite, "!crwrite 4 pid 400", 4UL)]
    [TestCase(GuestEventKind.Mode, "!mode u pid 1c0", 3UL)]
    [TestCase(GuestEventKind.Mode, "!mode k pid 1c0", 0UL)]
    [TestCase(GuestEventKind.Mode, "!mode KU pid 1c0", 1UL)]
    [TestCase(GuestEventKind.Mode, "!mode uk core 2 pid 400", 1UL)]
    public void Parse_Value_IsTheFilter(GuestEventKind kind, string line, ulong expected)
    {
        EventRegistration r = Parse(kind, line);
        Assert.That((r.GuestEvent, r.GuestEventFilter), Is.EqualTo((kind, expected)));
    }

    [Test]
    public void Parse_CrWriteWithMask_BothValues()
    {
        EventRegistration r = Parse(GuestEventKind.CrWrite, "!crwrite 0 0x10000 script { printf(\"%llx\\n\", $context); }");

        Assert.That((r.GuestEventFilter, r.HasGuestEventMask, r.GuestEventMask), Is.EqualTo((0UL, true, 0x10000UL)));
        Assert.That(Parse(GuestEventKind.CrWrite, "!crwrite 4").HasGuestEventMask, Is.False, "no mask: every bit");
    }

    [TestCase(GuestEventKind.MsrRead, "!msrread c000008g", "msr 'c000008g' is invalid: a number from 0 to ffffffff")]
    [TestCase(GuestEventKind.MsrRead, "!msrread 100000000", "msr '100000000' is invalid: a number from 0 to ffffffff")]
    [TestCase(GuestEventKind.MsrWrite, "!msrwrite 10 20", "unknown parameter '20'")]
    [TestCase(GuestEventKind.CrWrite, "!crwrite", "give the control register: 0 for CR0 or 4 for CR4")]
    [TestCase(GuestEventKind.CrWrite, "!crwrite 3", "control register '3' is not supported: 0 for CR0 or 4 for CR4")]
    [TestCase(GuestEventKind.CrWrite, "!crwrite 8 pid 1", "control register '8' is not supported: 0 for CR0 or 4 for CR4")]
    [TestCase(GuestEventKind.CrWrite, "!crwrite 0 xyz", "mask 'xyz' is invalid")]
    [TestCase(GuestEventKind.CrWrite, "!crwrite 0 1 2", "unknown parameter '2'")]
    [TestCase(GuestEventKind.DebugRegister, "!dr 7", "unknown parameter '7'")]
    [TestCase(GuestEventKind.Tsc, "!tsc 1", "unknown parameter '1'")]
    [TestCase(GuestEventKind.Pmc, "!pmc 0", "unknown parameter '0'")]
    [TestCase(GuestEventKind.Mode, "!mode pid 2", "give the mode: u (user), k (kernel) or ku (both)")]
    [TestCase(GuestEventKind.Mode, "!mode x pid 2", "mode 'x' is invalid: use u, k, ku, uk")]
    [TestCase(GuestEventKind.Mode, "!mode u", "give the process: !mode applies to one process (pid Pid)")]
    [TestCase(GuestEventKind.Mode, "!mode u pid all", "give the process")]
    [TestCase(GuestEventKind.Mode, "!mode u pid 2 stage post", "a mode change has only the pre stage")]
    public void Parse_BadInput_ErrorNamesIt(GuestEventKind kind, string line, string message)
    {
        CommandException? ex = Assert.Throws<CommandException>(() => Parse(kind, line));
        Assert.That(ex!.Message, Does.Contain(message));
        Assert.That(ex.Message, Does.Contain("syntax: " + line.Split(' ')[0]));
    }
}
