// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

using HyperDbgRemote.Commands.Debugging;
using HyperDbgRemote.Commands.Parsing;
using HyperDbgRemote.Protocol.Messages;

namespace HyperDbgRemote.Commands.Tests;

/// <summary><c>bp</c>'s options (HyperDbg's <c>bp Address [pid P] [core C]</c> plus <c>script</c>): what is sent, and
/// every mistake refused before anything is sent.</summary>
public sealed class BreakpointCommandParseTests
{
    private static (BreakpointRequest Request, string Address) Parse(string line)
    {
        Assert.That(Tokenizer.TryTokenize(line, out List<Token> tokens, out string? error), Is.True, error);
        return new BreakpointCommand().Parse(tokens.Skip(1).ToList());
    }

    private static string Refused(string line) => Assert.Throws<CommandException>(() => Parse(line))!.Message;

    [Test]
    public void Parse_AddressOnly_NoFilters()
    {
        (BreakpointRequest r, string address) = Parse("bp fffff801`63a4c6e0");
        Assert.That((address, r.Action, r.HasPid, r.HasCore, r.Script), Is.EqualTo(("fffff80163a4c6e0", BreakpointAction.Set, false, false, string.Empty)));
    }

    [Test]
    public void Parse_EveryOption_AnyOrderAnyCase()
    {
        (BreakpointRequest r, string address) = Parse("bp PID 0n10 demo!print_name Core 1 script { printf(\"%x\\n\", $pid); }");
        Assert.That((address, r.Pid, r.Core, r.Script), Is.EqualTo(("demo!print_name", 10u, 1u, " printf(\"%x\\n\", $pid); ")));
    }

    [TestCase("bp", "bp: the address is missing.")]
    [TestCase("bp 100169 pid", "bp: pid needs a value.")]
    [TestCase("bp 100169 pid 100000000", "bp: pid '100000000' is invalid: a number from 0 to ffffffff (hex by default, 0n for decimal).")]
    [TestCase("bp 100169 core -1", "bp: core '-1' is invalid: a number from 0 to ffffffff (hex by default, 0n for decimal).")]
    [TestCase("bp 100169 100170", "bp: unknown parameter '100170'.")]
    [TestCase("bp 100169 condition { 90 }", "bp: unknown parameter 'condition'.")]
    [TestCase("bp 100169 tid 4", "bp: tid is not supported: our guests' threads are not known to the engine (filter by pid or core).")]
    [TestCase("bp 100169 script", "bp: script needs a { ... } block.")]
    [TestCase("bp 100169 script { }", "bp: the script is empty.")]
    [TestCase("bp 100169 script {file:/nonexistent/bp-script}", "bp: script file '/nonexistent/bp-script' was not found or is empty.")]
    public void Parse_Mistakes_AreRefusedWithTheSyntax(string line, string error)
    {
        Assert.That(Refused(line), Is.EqualTo(error + "\nsyntax: bp [Address] [pid Pid] [core Core] [script { Script }] [script {file:Path}]"));
    }

    [Test]
    public void Parse_ScriptSyntaxError_IsRefusedWithTheCompilersMessage()
    {
        Assert.That(Refused("bp 100169 script { x = ; }"), Does.StartWith("bp: the script does not compile: "));
    }
}
