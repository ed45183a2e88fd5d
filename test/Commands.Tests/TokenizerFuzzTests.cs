// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

using System.Diagnostics;
using System.Text;
using HyperDbgRemote.Commands.Extension;
using HyperDbgRemote.Commands.Parsing;

namespace HyperDbgRemote.Commands.Tests;

/// <summary>
/// 100,000 seeded random command lines. The tokenizer accepts every input, as HyperDbg's does (an unclosed block runs
/// to the end), so the check goes one step further: every line that names !ioout or !ioin is either turned into an
/// event request or refused with a CommandException naming the problem; nothing else is thrown, nothing hangs.
/// </summary>
public sealed class TokenizerFuzzTests
{
    private const int Inputs = 100_000;
    private const int Seed = 20261126;

    private static readonly string[] s_pieces =
    [
        "{", "}", "\\{", "\\}", "\"", "\\\"", "//", "/*", "*/", "\n", " ", "\t", "!ioout", "script", "asm", "code", "condition",
        "0x", "0n", "`", "3f8", "printf(\"%c\", @al);", "'", "\\", "\r\n", "file:", "output", "{a,b}", "ä", "\0",
    ];

    [Test]
    public void TryTokenize_RandomInputs_AcceptedOrRefusedWithAnError()
    {
        var random = new Random(Seed);
        var clock = Stopwatch.StartNew();
        int accepted = 0;
        int refused = 0;
        var commands = new[] { new IoEventCommand(isIn: false), new IoEventCommand(isIn: true) };
        var text = new StringBuilder();
        for (int i = 0; i < Inputs; i++)
        {
            text.Clear();
            int n = random.Next(1, 24);
            for (int k = 0; k < n; k++)
            {
                text.Append(random.Next(4) == 0 ? (char)random.Next(0x20, 0x7F) : s_pieces[random.Next(s_pieces.Length)]);
            }

            string input = (random.Next(2) == 0 ? "!ioout " : "!ioin ") + text;
            _ = Tokenizer.IsIncomplete(input);
            Assert.That(Tokenizer.TryTokenize(input, out List<Token> tokens, out string? error), Is.True, error);
            IoEventCommand command = commands[tokens[0].Value == "!ioin" ? 1 : 0];
            try
            {
                command.Parse([.. tokens.Skip(1)], input);
                accepted++;
            }
            catch (CommandException ex)
            {
                refused++;
                Assert.That(ex.Message, Does.StartWith(tokens[0].Value + ":").Or.StartWith(tokens[0].Value.TrimStart('!')), input);
            }
        }

        Assert.That(accepted, Is.GreaterThan(0), "the alphabet produces valid commands");
        Assert.That(refused, Is.GreaterThan(0), "the alphabet produces invalid commands");
        Assert.That(clock.Elapsed, Is.LessThan(TimeSpan.FromMinutes(2)), "no input makes the tokenizer crawl");
    }
}
