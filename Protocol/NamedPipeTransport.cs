// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

using System.Diagnostics.CodeAnalysis;
using System.IO.Pipes;
using System.Net.Sockets;
using System.Text;

namespace HyperDbgRemote.Protocol;

/// <summary>
/// A named pipe, or a Unix domain socket given by absolute path (a QEMU/VMware "serial port as a pipe" on Linux).
/// <c>\\.\pipe\NAME</c> is reduced to <c>NAME</c> (.NET on Linux does not translate it, transports notes section 2), which
/// .NET maps to a socket at <c>$TMPDIR/CoreFxPipe_NAME</c> on Linux. The server side is <see cref="NamedPipeListener"/>.
/// </summary>
public sealed class NamedPipeTransport : StreamTransport
{
    /// <summary>The Windows pipe prefix that is stripped.</summary>
    public const string WindowsPipePrefix = @"\\.\pipe\";

    private const int MaxSocketPathBytes = 107;

    private NamedPipeTransport(Stream stream, string description)
        : base(stream, description, isReliable: true)
    {
    }

    /// <summary>Normalises a pipe name: strips the Windows prefix; an absolute path (not on Windows) is a Unix socket path.</summary>
    public static bool TryNormalizeName(string name, [NotNullWhen(true)] out string? normalized, out bool isSocketPath, [NotNullWhen(false)] out string? error)
    {
        ArgumentNullException.ThrowIfNull(name);
        normalized = null;
        isSocketPath = false;
        string trimmed = name.StartsWith(WindowsPipePrefix, StringComparison.OrdinalIgnoreCase) ? name[WindowsPipePrefix.Length..] : name;
        if (trimmed.Length == 0)
        {
            error = $"empty pipe name in '{name}'.";
            return false;
        }

        if (!OperatingSystem.IsWindows() && trimmed.StartsWith('/'))
        {
            if (Encoding.UTF8.GetByteCount(trimmed) > MaxSocketPathBytes)
            {
                error = $"socket path '{trimmed}' is longer than {MaxSocketPathBytes} bytes.";
                return false;
            }

            isSocketPath = true;
        }
        else if (trimmed.Contains('/', StringComparison.Ordinal) || trimmed.Contains('\\', StringComparison.Ordinal))
        {
            error = $"invalid pipe name '{name}': a pipe name has no path separators (use an absolute path for a Unix socket).";
            return false;
        }

        normalized = trimmed;
        error = null;
        return true;
    }

    /// <summary>Connects as a client.</summary>
    /// <exception cref="ArgumentException">The name is invalid.</exception>
    /// <exception cref="IOException">Nobody listens within <paramref name="timeout"/>, or the connection failed.</exception>
    public static async Task<NamedPipeTransport> ConnectAsync(string name, TimeSpan timeout, CancellationToken cancellationToken = default)
    {
        string normalized = Normalize(name, out bool isSocketPath);
        if (isSocketPath)
        {
            var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
            try
            {
                using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
                deadline.CancelAfter(timeout);
                await socket.ConnectAsync(new UnixDomainSocketEndPoint(normalized), deadline.Token).ConfigureAwait(false);
                return new NamedPipeTransport(new NetworkStream(socket, ownsSocket: true), $"unix socket {normalized}");
            }
            catch (Exception ex) when (ex is SocketException or OperationCanceledException && !cancellationToken.IsCancellationRequested)
            {
                socket.Dispose();
                throw new IOException($"cannot connect to unix socket '{normalized}': {ex.Message}", ex);
            }
        }

        var pipe = new NamedPipeClientStream(".", normalized, PipeDirection.InOut, PipeOptions.Asynchronous);
        try
        {
            await pipe.ConnectAsync((int)timeout.TotalMilliseconds, cancellationToken).ConfigureAwait(false);
            return new NamedPipeTransport(pipe, $"named pipe {normalized}");
        }
        catch (Exception ex) when (ex is TimeoutException or IOException)
        {
            await pipe.DisposeAsync().ConfigureAwait(false);
            throw new IOException($"cannot connect to named pipe '{normalized}' within {timeout.TotalMilliseconds:F0} ms: {ex.Message}", ex);
        }
    }

    /// <summary>Wraps an accepted stream (<see cref="NamedPipeListener"/>).</summary>
    internal static NamedPipeTransport FromStream(Stream stream, string description) => new(stream, description);

    private static string Normalize(string name, out bool isSocketPath) =>
        TryNormalizeName(name, out string? normalized, out isSocketPath, out string? error) ? normalized : throw new ArgumentException(error, nameof(name));
}
