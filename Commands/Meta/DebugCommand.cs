// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

using HyperDbgRemote.Commands.Parsing;

namespace HyperDbgRemote.Commands.Meta;

/// <summary><c>.debug remote serial BAUD PORT</c>, <c>.debug remote namedpipe NAME</c>, <c>.debug close</c>
/// (spec 7.2).</summary>
internal sealed class DebugCommand : IDebuggerCommand
{
    /// <summary>The baud rates HyperDbg accepts (decimal).</summary>
    public static readonly int[] BaudRates = [110, 300, 600, 1200, 2400, 4800, 9600, 14400, 19200, 38400, 56000, 57600, 115200, 128000, 256000];

    public IReadOnlyList<string> Names => [".debug"];

    public string Description => "connect to a debuggee over a serial line or a named pipe, or close the connection";

    public IReadOnlyList<string> Syntax => [".debug remote [pause] serial Baud com1..com4|/dev/PATH", ".debug remote [pause] namedpipe \\\\.\\pipe\\Name|/abs/path.sock", ".debug close"];

    public IReadOnlyList<string> Examples => [".debug remote serial 115200 /dev/pts/3", ".debug remote namedpipe /tmp/vm-com1.sock", ".debug close"];

    public async Task RunAsync(CommandContext context, IReadOnlyList<Token> arguments)
    {
        if (arguments.Count == 1 && arguments[0].Is("close"))
        {
            context.Session.RequireConnection();
            await context.Session.DetachAsync().ConfigureAwait(false);
            context.Output.Line("connection closed");
            return;
        }

        List<Token> rest = [.. arguments.Where(a => !a.Is("pause"))];
        if (rest.Count < 3 || !rest[0].Is("remote"))
        {
            throw Usage();
        }

        string uri;
        if (rest[1].Is("serial"))
        {
            if (rest.Count != 4 || !int.TryParse(rest[2].Value, out int baud) || !BaudRates.Contains(baud))
            {
                throw new CommandException($"the baud rate '{(rest.Count > 2 ? rest[2].Value : string.Empty)}' is not one of {string.Join(", ", BaudRates)} (decimal).");
            }

            string port = rest[3].Value;
            if (!port.StartsWith('/') && !(port.Length == 4 && port.StartsWith("com", StringComparison.OrdinalIgnoreCase) && port[3] is >= '1' and <= '4'))
            {
                throw new CommandException($"the port '{port}' is not com1 to com4 or a device path.");
            }

            uri = $"serial:{port}?baud={baud}";
        }
        else if (rest[1].Is("namedpipe") && rest.Count == 3)
        {
            uri = "pipe:" + rest[2].Value;
        }
        else
        {
            throw Usage();
        }

        await ConnectCommand.ConnectAsync(context, uri, Environment.GetEnvironmentVariable("HYPERDBG_TOKEN")).ConfigureAwait(false);
        if (arguments.Any(a => a.Is("pause")) && context.Session.Halt is null)
        {
            await context.RunLineAsync("pause").ConfigureAwait(false);
        }
    }

    private CommandException Usage() => new($"incorrect use of '.debug'.\nsyntax: {string.Join("\n        ", Syntax)}");
}
