// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

using HyperDbgRemote.Commands.Extension;
using HyperDbgRemote.Commands.Parsing;
using HyperDbgRemote.Protocol.Messages;

namespace HyperDbgRemote.Commands.Tests;

/// <summary><c>!epthook</c>/<c>!epthook2</c>: an execute trap of one address with the event options; mistakes are
/// refused before anything is sent.</summary>
public sealed class EptHookCommandTests
{
    private static (string Address, EventRegistration Registration) Parse(string line, bool detour = false)
    {
        Assert.That(Tokenizer.TryTokenize(line, out List<Token> tokens, out string? error), Is.True, error);
        return new EptHookCommand(detour).Parse(tokens.Skip(1).ToList(), line, out _);
    }

    [TestCase(false)]
    [TestCase(true)]
    public void Parse_AddressAndOptions_AnExecuteTrapWithTheEventOptions(bool detour)
    {
        string name = detour ? "!epthook2" : "!epthook";
        (string address, EventRegistration r) = Parse($"{name} fffff801`63a4c6e0 pid 4 core 1 imm no script {{ printf(\"%llx\\n\", $context); }}", detour);
        Assert.That((address, r.MonitorAccess, r.Direction, r.Pid, r.Core, r.Immediate, r.Stage), Is.EqualTo(("fffff80163a4c6e0", 4u, IoDirection.Unspecified, 4u, 1u, false, EventStage.Pre)));
        Assert.That(r.CommandText, Does.StartWith(name + " fffff801`63a4c6e0"));
    }

    [TestCase("!epthook", "!epthook: the address is missing (it comes first).")]
    [TestCase("!epthook pid 4 100169", "!epthook: the address is missing (it comes first).")]
    [TestCase("!epthook 100169 100170", "!epthook: unknown parameter '100170' (one address only).")]
    [TestCase("!epthook 100169 stage post", "!epthook: only stage pre is supported: the hook runs before the instruction at the address executes.")]
    [TestCase("!epthook 100169 sc on", "!epthook: sc on is not supported: the engine cannot skip the instruction at the address (see docs/differences.md).")]
    [TestCase("!epthook 100169 core", "!epthook: core needs a value.")]
    public void Parse_Mistakes_AreRefusedWithTheSyntax(string line, string error)
    {
        CommandException ex = Assert.Throws<CommandException>(() => Parse(line))!;
        Assert.That(ex.Message, Does.StartWith(error + "\nsyntax: !epthook [Address] [pid Pid|all] [core Core]"));
    }

    [Test]
    public void Parse_ScriptSyntaxError_IsRefused()
    {
        CommandException ex = Assert.Throws<CommandException>(() => Parse("!epthook2 100169 script { x = ; }", detour: true))!;
        Assert.That(ex.Message, Does.StartWith("!epthook2: the script does not compile: "));
    }
}
