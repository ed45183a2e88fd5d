// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

using System.Diagnostics.CodeAnalysis;
using System.Globalization;

namespace HyperDbgRemote.Protocol;

/// <summary>
/// A parsed connection string: <c>serial:PATH?baud=N</c> (PATH is com1–com4 or an absolute device path; baud defaults to
/// 115200 and must be one of HyperDbg's rates), <c>pipe:NAME</c> (<c>\\.\pipe\NAME</c> accepted), <c>pipe:/abs/path.sock</c>,
/// <c>tcp://HOST:PORT</c>, <c>grpc://HOST:PORT</c>, <c>grpc+unix:/abs/path.sock</c>.
/// </summary>
/// <param name="Kind">The transport.</param>
/// <param name="Target">Serial device as given, pipe name (normalised) or socket path, or host name.</param>
/// <param name="Port">TCP port for tcp/grpc, else 0.</param>
/// <param name="BaudRate">Baud rate for serial, else 0.</param>
/// <param name="IsUnixSocket">True for <c>pipe:/abs/path</c> and <c>grpc+unix:</c>.</param>
public sealed record ConnectionUri(ConnectionKind Kind, string Target, int Port, int BaudRate, bool IsUnixSocket)
{
    private const string Expected = "expected serial:PATH?baud=N, pipe:NAME, pipe:/abs/path.sock, tcp://HOST:PORT, grpc://HOST:PORT or grpc+unix:/abs/path.sock";
    private const int MaxPort = 65535;

    /// <summary>Parses a connection string; false with an error naming the bad part.</summary>
    public static bool TryParse(string text, [NotNullWhen(true)] out ConnectionUri? uri, [NotNullWhen(false)] out string? error)
    {
        ArgumentNullException.ThrowIfNull(text);
        uri = null;
        int colon = text.IndexOf(':', StringComparison.Ordinal);
        if (colon <= 0)
        {
            error = $"invalid connection '{text}': {Expected}.";
            return false;
        }

        string scheme = text[..colon].ToLowerInvariant();
        string rest = text[(colon + 1)..];
        switch (scheme)
        {
            case "serial":
                return TryParseSerial(text, rest, out uri, out error);
            case "pipe":
                if (!NamedPipeTransport.TryNormalizeName(rest, out string? name, out bool isSocket, out string? pipeError))
                {
                    error = $"invalid connection '{text}': {pipeError}";
                    return false;
                }

                uri = new ConnectionUri(ConnectionKind.Pipe, name, 0, 0, isSocket);
                error = null;
                return true;
            case "tcp":
            case "grpc":
                return TryParseHostPort(text, rest, scheme == "tcp" ? ConnectionKind.Tcp : ConnectionKind.Grpc, out uri, out error);
            case "grpc+unix":
                if (!rest.StartsWith('/') || rest.StartsWith("//", StringComparison.Ordinal))
                {
                    error = $"invalid connection '{text}': grpc+unix needs an absolute socket path, e.g. grpc+unix:/tmp/agent.sock.";
                    return false;
                }

                uri = new ConnectionUri(ConnectionKind.GrpcUnix, rest, 0, 0, true);
                error = null;
                return true;
            default:
                error = $"unknown scheme '{text[..colon]}' in '{text}': {Expected}.";
                return false;
        }
    }

    /// <summary>Parses or throws <see cref="FormatException"/> with the error of <see cref="TryParse"/>.</summary>
    public static ConnectionUri Parse(string text) =>
        TryParse(text, out ConnectionUri? uri, out string? error) ? uri : throw new FormatException(error);

    /// <summary>Opens the client side of a byte-stream connection (serial, pipe, tcp).</summary>
    /// <exception cref="InvalidOperationException">The connection is gRPC, which is not a byte stream.</exception>
    /// <exception cref="IOException">The connection failed.</exception>
    public async Task<ITransport> OpenAsync(TimeSpan timeout, CancellationToken cancellationToken = default) => Kind switch
    {
        ConnectionKind.Serial => SerialTransport.Open(Target, BaudRate),
        ConnectionKind.Pipe => await NamedPipeTransport.ConnectAsync(Target, timeout, cancellationToken).ConfigureAwait(false),
        ConnectionKind.Tcp => await TcpTransport.ConnectAsync(Target, Port, timeout, cancellationToken).ConfigureAwait(false),
        _ => throw new InvalidOperationException($"{this} is a gRPC endpoint, not a byte stream; use a gRPC channel."),
    };

    /// <inheritdoc/>
    public override string ToString() => Kind switch
    {
        ConnectionKind.Serial => $"serial:{Target}?baud={BaudRate}",
        ConnectionKind.Pipe => $"pipe:{Target}",
        ConnectionKind.Tcp => $"tcp://{FormatHost(Target)}:{Port}",
        ConnectionKind.Grpc => $"grpc://{FormatHost(Target)}:{Port}",
        _ => $"grpc+unix:{Target}",
    };

    private static string FormatHost(string host) => host.Contains(':', StringComparison.Ordinal) ? $"[{host}]" : host;

    private static bool TryParseSerial(string text, string rest, [NotNullWhen(true)] out ConnectionUri? uri, [NotNullWhen(false)] out string? error)
    {
        uri = null;
        int query = rest.IndexOf('?', StringComparison.Ordinal);
        string path = query < 0 ? rest : rest[..query];
        int baud = ProtocolConstants.DefaultBaudRate;
        if (query >= 0)
        {
            foreach (string pair in rest[(query + 1)..].Split('&'))
            {
                string[] kv = pair.Split('=', 2);
                if (kv.Length != 2 || !kv[0].Equals("baud", StringComparison.OrdinalIgnoreCase))
                {
                    error = $"invalid connection '{text}': unknown option '{pair}' (only baud=N is supported).";
                    return false;
                }

                // HyperDbg takes the baud rate in decimal digits only (spec 7.2).
                if (kv[1].Length == 0 || !kv[1].All(char.IsAsciiDigit) || !int.TryParse(kv[1], NumberStyles.None, CultureInfo.InvariantCulture, out baud))
                {
                    error = $"invalid connection '{text}': baud '{kv[1]}' is not a decimal number.";
                    return false;
                }
            }
        }

        if (!SerialTransport.IsSupportedBaudRate(baud))
        {
            error = $"invalid connection '{text}': baud rate {baud} is not one of {string.Join(", ", ProtocolConstants.SupportedBaudRates)}.";
            return false;
        }

        if (!SerialTransport.TryResolvePortName(path, out _, out string? portError))
        {
            error = $"invalid connection '{text}': {portError}";
            return false;
        }

        uri = new ConnectionUri(ConnectionKind.Serial, path, 0, baud, false);
        error = null;
        return true;
    }

    private static bool TryParseHostPort(string text, string rest, ConnectionKind kind, [NotNullWhen(true)] out ConnectionUri? uri, [NotNullWhen(false)] out string? error)
    {
        uri = null;
        if (!rest.StartsWith("//", StringComparison.Ordinal))
        {
            error = $"invalid connection '{text}': expected {text[..text.IndexOf(':', StringComparison.Ordinal)]}://HOST:PORT.";
            return false;
        }

        string authority = rest[2..].TrimEnd('/');
        if (authority.Contains('/', StringComparison.Ordinal) || authority.Contains('?', StringComparison.Ordinal))
        {
            error = $"invalid connection '{text}': no path or query is allowed after HOST:PORT.";
            return false;
        }

        int portColon = authority.LastIndexOf(':');
        string host = portColon < 0 ? authority : authority[..portColon];
        if (host.StartsWith('[') && host.EndsWith(']'))
        {
            host = host[1..^1];
        }

        if (portColon < 0 || host.Length == 0)
        {
            error = $"invalid connection '{text}': expected HOST:PORT, e.g. 127.0.0.1:50000.";
            return false;
        }

        string portText = authority[(portColon + 1)..];
        if (!int.TryParse(portText, NumberStyles.None, CultureInfo.InvariantCulture, out int port) || port < 1 || port > MaxPort)
        {
            error = $"invalid connection '{text}': port '{portText}' is not a number from 1 to {MaxPort}.";
            return false;
        }

        uri = new ConnectionUri(kind, host, port, 0, false);
        error = null;
        return true;
    }
}
