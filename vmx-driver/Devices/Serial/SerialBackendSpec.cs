// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

using System.Diagnostics.CodeAnalysis;
using System.Globalization;

namespace HyperDbgRemote.VmxDriver.Devices.Serial;

/// <summary>
/// A serial backend specification: <c>stdio</c>, <c>file:PATH</c>, <c>pty</c>, <c>unix:PATH</c> or
/// <c>tcp://127.0.0.1:PORT</c> (also <c>tcp://localhost:PORT</c>; port 0 picks a free one). TCP listens on the
/// loopback interface only.
/// </summary>
/// <param name="Kind">The backend.</param>
/// <param name="Path">For file and unix: the path exactly as given.</param>
/// <param name="Port">For tcp: the port (0 = any free port).</param>
public sealed record SerialBackendSpec(SerialBackendKind Kind, string? Path = null, int Port = 0)
{
    /// <summary>The accepted forms, for help and errors.</summary>
    public const string Syntax = "stdio | file:PATH | pty | unix:PATH | tcp://127.0.0.1:PORT";

    /// <summary>Parses a specification.</summary>
    /// <exception cref="FormatException">Not one of the forms; the message says which are accepted.</exception>
    public static SerialBackendSpec Parse(string text) =>
        TryParse(text, out SerialBackendSpec? spec, out string? error) ? spec : throw new FormatException(error);

    /// <summary>Parses a specification; on failure <paramref name="error"/> says what is wrong.</summary>
    public static bool TryParse(string? text, [NotNullWhen(true)] out SerialBackendSpec? spec, [NotNullWhen(false)] out string? error)
    {
        spec = null;
        string s = text?.Trim() ?? string.Empty;
        if (s.Equals("stdio", StringComparison.OrdinalIgnoreCase))
        {
            spec = new SerialBackendSpec(SerialBackendKind.Stdio);
        }
        else if (s.Equals("pty", StringComparison.OrdinalIgnoreCase))
        {
            spec = new SerialBackendSpec(SerialBackendKind.Pty);
        }
        else if (s.StartsWith("file:", StringComparison.OrdinalIgnoreCase) || s.StartsWith("unix:", StringComparison.OrdinalIgnoreCase))
        {
            string path = s[5..];
            if (path.Length == 0 || path.Contains('\0', StringComparison.Ordinal))
            {
                error = $"serial backend '{text}': {s[..4]}: needs a path";
                return false;
            }

            spec = new SerialBackendSpec(s.StartsWith('f') || s.StartsWith('F') ? SerialBackendKind.File : SerialBackendKind.Unix, path);
        }
        else if (s.StartsWith("tcp://", StringComparison.OrdinalIgnoreCase))
        {
            string rest = s[6..].TrimEnd('/');
            int colon = rest.LastIndexOf(':');
            string host = colon < 0 ? rest : rest[..colon];
            if (!(host is "127.0.0.1" or "localhost"))
            {
                error = $"serial backend '{text}': TCP listens on the loopback address only (tcp://127.0.0.1:PORT), not '{host}'";
                return false;
            }

            if (colon < 0 || !int.TryParse(rest[(colon + 1)..], NumberStyles.None, CultureInfo.InvariantCulture, out int port) || port > 65535)
            {
                error = $"serial backend '{text}': needs a port from 0 to 65535 (tcp://127.0.0.1:PORT)";
                return false;
            }

            spec = new SerialBackendSpec(SerialBackendKind.Tcp, Port: port);
        }
        else
        {
            error = $"unknown serial backend '{text}': use {Syntax}";
            return false;
        }

        error = null;
        return true;
    }
}
