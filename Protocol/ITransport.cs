// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

namespace HyperDbgRemote.Protocol;

/// <summary>
/// A raw byte stream to the peer (serial line, named pipe, Unix socket, TCP). Framing, checksums and resends are the
/// <see cref="ReliableLink{TSend, TReceive}"/>'s, so a transport only moves bytes. Reads and writes may run concurrently
/// with each other, but not with themselves.
/// </summary>
public interface ITransport : IAsyncDisposable
{
    /// <summary>What this is connected to, for messages (e.g. "serial /dev/pts/3 at 115200 baud").</summary>
    string Description { get; }

    /// <summary>True when the medium neither loses nor corrupts bytes (pipe, socket): the link may run acknowledgement-free.</summary>
    bool IsReliable { get; }

    /// <summary>Line rate in bytes per second, or 0 when unknown or not rate-limited.</summary>
    int BytesPerSecond { get; }

    /// <summary>Reads at least one byte; 0 means the peer closed the stream.</summary>
    ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken);

    /// <summary>Writes all bytes.</summary>
    ValueTask WriteAsync(ReadOnlyMemory<byte> data, CancellationToken cancellationToken);

    /// <summary>Closes the transport; idempotent. Pending reads end with 0 or an exception.</summary>
    ValueTask CloseAsync();
}
