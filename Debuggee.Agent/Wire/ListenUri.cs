// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

using System.Globalization;
using System.Net;

namespace HyperDbgRemote.Agent.Wire;

/// <summary>
/// A place the agent listens: <c>grpc://HOST:PORT</c>, <c>grpc+unix:/abs/path.sock</c>, <c>tcp://HOST:PORT</c>,
/// <c>pipe:NAME</c>, <c>pipe:/abs/path.sock</c>, <c>serial:PATH?baud=N</c> or <c>gdb://HOST:PORT</c> (the GDB remote
/// serial protocol).
/// </summary>
internal sealed record ListenUri(string Scheme, string Host, int Port, string Path, int Baud, string Text)
{
    /// <summary>The accepted forms.</summary>
    public const string Syntax = "grpc://HOST:PORT | grpc+unix:/abs/path.sock | tcp://HOST:PORT | pipe:NAME | pipe:/abs/path.sock | serial:PATH?baud=N | gdb://HOST:PORT";

    /// <summary>True when the address is a loopback address (or a local socket).</summary>
    public bool IsLocal => Scheme is "grpc+unix" or "pipe" or "serial" || Host is "localhost" || (IPAddress.TryParse(Host.Trim('[', ']'), out IPAddress? ip) && IPAddress.IsLoopback(ip));

    /// <summary>Parses a listen URI; errors name the URI and the expected forms.</summary>
    public static ListenUri Parse(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        int colon = text.IndexOf(':', StringComparison.Ordinal);
        string scheme = colon < 0 ? string.Empty : text[..colon].ToLowerInvariant();
        string rest = colon < 0 ? string.Empty : text[(colon + 1)..];
        switch (scheme)
        {
            case "grpc" or "tcp" or "gdb":
                {
                    if (!rest.StartsWith("//", StringComparison.Ordinal))
                    {
                        throw Bad(text, $"{scheme} needs //HOST:PORT");
                    }

                    string hostPort = rest[2..].TrimEnd('/');
                    int c = hostPort.LastIndexOf(':');
                    if (c <= 0 || !int.TryParse(hostPort[(c + 1)..], NumberStyles.None, CultureInfo.InvariantCulture, out int port) || port > 65535)
                    {
                        throw Bad(text, "the port must be a number from 0 to 65535");
                    }

                    return new ListenUri(scheme, hostPort[..c], port, string.Empty, 0, text);
                }

            case "grpc+unix":
                if (!System.IO.Path.IsPathRooted(rest))
                {
                    throw Bad(text, "a Unix socket needs an absolute path");
                }

                return new ListenUri(scheme, string.Empty, 0, rest, 0, text);
            case "pipe":
                if (rest.Length == 0)
                {
                    throw Bad(text, "a pipe needs a name or an absolute socket path");
                }

                return new ListenUri(scheme, string.Empty, 0, rest, 0, text);
            case "serial":
                {
                    int q = rest.IndexOf('?', StringComparison.Ordinal);
                    string path = q < 0 ? rest : rest[..q];
                    int baud = 115200;
                    if (q >= 0)
                    {
                        string query = rest[(q + 1)..];
                        if (!query.StartsWith("baud=", StringComparison.Ordinal) || !int.TryParse(query[5..], NumberStyles.None, CultureInfo.InvariantCulture, out baud))
                        {
                            throw Bad(text, "the query must be baud=N");
                        }
                    }

                    if (path.Length == 0)
                    {
                        throw Bad(text, "a serial line needs a device path");
                    }

                    return new ListenUri(scheme, string.Empty, 0, path, baud, text);
                }

            default:
                throw Bad(text, "unknown scheme");
        }
    }

    private static FormatException Bad(string text, string why) => new($"listen address '{text}' is invalid ({why}); use {Syntax}.");
}
