// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

using HyperDbgRemote.Commands.Parsing;
using HyperDbgRemote.Protocol;

namespace HyperDbgRemote.Commands.Meta;

/// <summary><c>.connect URI</c>: connect to an agent's gRPC service.</summary>
internal sealed class ConnectCommand : IDebuggerCommand
{
    public IReadOnlyList<string> Names => [".connect"];

    public string Description => "connect to an agent (gRPC, or the framed link on TCP, a pipe or a serial line)";

    public IReadOnlyList<string> Syntax => [".connect grpc://HOST:PORT|grpcs://HOST:PORT|grpc+unix:/abs/path.sock|tcp://HOST:PORT|pipe:NAME|serial:PATH?baud=N [token]"];

    public IReadOnlyList<string> Examples => [".connect grpc://127.0.0.1:50051", ".connect grpc+unix:/tmp/agent.sock"];

    public async Task RunAsync(CommandContext context, IReadOnlyList<Token> arguments)
    {
        if (arguments.Count is 0 or > 2)
        {
            throw new CommandException($"incorrect use of '.connect'.\nsyntax: {Syntax[0]}");
        }

        string? token = arguments.Count == 2 ? arguments[1].Value : Environment.GetEnvironmentVariable("HYPERDBG_TOKEN");
        await ConnectAsync(context, arguments[0].Value, token).ConfigureAwait(false);
    }

    /// <summary>Connects to <paramref name="uri"/>: gRPC, or the framed link (serial:, pipe:, tcp://).</summary>
    public static async Task ConnectAsync(CommandContext context, string uri, string? token)
    {
        try
        {
            await context.Session.AttachAsync(await Open(uri, token).ConfigureAwait(false)).ConfigureAwait(false);
        }
        catch (ConnectionException ex)
        {
            throw new CommandException(ex.Message, ex);
        }
    }

    /// <summary>Opens a connection of the kind the URI names, one that re-establishes itself when the link is lost.</summary>
    public static async Task<IDebuggeeConnection> Open(string uri, string? token) =>
        await ReconnectingConnection.ConnectAsync(async (resume, ct) =>
            uri.StartsWith("grpc", StringComparison.OrdinalIgnoreCase)
                ? await GrpcDebuggeeConnection.ConnectAsync(uri, token, resume: resume, cancellationToken: ct, acknowledge: true).ConfigureAwait(false)
                : await LinkDebuggeeConnection.ConnectAsync(uri, token, resume: resume, cancellationToken: ct, acknowledge: true).ConfigureAwait(false)).ConfigureAwait(false);
}
