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

    public IReadOnlyList<string> Syntax => [".connect grpc://HOST:PORT|grpcs://HOST:PORT|grpc+unix:/abs/path.sock|tcp://HOST:PORT|pipe:NAME|serial:PATH?baud=N [token] [--tls-ca PEM]"];

    public IReadOnlyList<string> Examples => [".connect grpc://127.0.0.1:50051", ".connect grpc+unix:/tmp/agent.sock"];

    public async Task RunAsync(CommandContext context, IReadOnlyList<Token> arguments)
    {
        List<Token> rest = [.. arguments];
        string? tlsCa = null;
        int option = rest.FindIndex(a => a.Value == "--tls-ca");
        if (option >= 0)
        {
            if (option + 1 >= rest.Count)
            {
                throw new CommandException("--tls-ca needs the PEM file of the CA that signed the agent's certificate.");
            }

            tlsCa = rest[option + 1].Value;
            rest.RemoveRange(option, 2);
        }

        if (rest.Count is 0 or > 2)
        {
            throw new CommandException($"incorrect use of '.connect'.\nsyntax: {Syntax[0]}");
        }

        string? token = rest.Count == 2 ? rest[1].Value : Environment.GetEnvironmentVariable("HYPERDBG_TOKEN");
        await ConnectAsync(context, rest[0].Value, token, tlsCa).ConfigureAwait(false);
    }

    /// <summary>Connects to <paramref name="uri"/>: gRPC, or the framed link (serial:, pipe:, tcp://).</summary>
    public static async Task ConnectAsync(CommandContext context, string uri, string? token, string? tlsCa = null)
    {
        try
        {
            await context.Session.AttachAsync(await Open(uri, token, tlsCa).ConfigureAwait(false)).ConfigureAwait(false);
        }
        catch (ConnectionException ex)
        {
            throw new CommandException(ex.Message, ex);
        }
    }

    /// <summary>Opens a connection of the kind the URI names, one that re-establishes itself when the link is lost; with
    /// <paramref name="tlsCa"/> a grpcs:// agent's certificate may chain to a CA of that PEM file (<see cref="TlsTrust"/>).</summary>
    /// <exception cref="ConnectionException">The agent cannot be reached, or the CA file cannot be used.</exception>
    public static async Task<IDebuggeeConnection> Open(string uri, string? token, string? tlsCa = null)
    {
        TlsTrust? trust = tlsCa is null ? null : TlsTrust.FromPemFile(tlsCa);
        if (trust is not null && !uri.StartsWith("grpcs://", StringComparison.OrdinalIgnoreCase))
        {
            throw new ConnectionException($"--tls-ca applies to grpcs:// agents, not to '{uri}'.");
        }

        return await ReconnectingConnection.ConnectAsync(async (resume, ct) =>
            uri.StartsWith("grpc", StringComparison.OrdinalIgnoreCase)
                ? await GrpcDebuggeeConnection.ConnectAsync(uri, token, resume: resume, cancellationToken: ct, acknowledge: true, trust: trust).ConfigureAwait(false)
                : await LinkDebuggeeConnection.ConnectAsync(uri, token, resume: resume, cancellationToken: ct, acknowledge: true).ConfigureAwait(false)).ConfigureAwait(false);
    }
}
